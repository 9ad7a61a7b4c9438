"""Stores: where bitmaps live. `open_store` turns a URL or a client into one."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from ..errors import InvalidInput
from .base import BitChange, Store

__all__ = ["BitChange", "Store", "open_store", "default_store_url", "DEFAULT_STORE_URL"]

#: The store used when none is configured (overridden by the BITMAPIST_URL variable).
DEFAULT_STORE_URL = "redis://localhost:6379"

_REDIS_SCHEMES = ("redis", "rediss", "unix")
_CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")


def default_store_url() -> str:
    """`BITMAPIST_URL` if set, else `DEFAULT_STORE_URL`."""
    return os.environ.get("BITMAPIST_URL") or DEFAULT_STORE_URL


def open_store(target: str | Store | Any | None = None, *, bitop_ttl: float | None = 60.0) -> Store:
    """A store for a URL, a redis-py client or pipeline, or a `Store` (returned as is).

    None opens `default_store_url()`.
    """
    if target is None:
        target = default_store_url()
    if isinstance(target, Store):
        return target
    if isinstance(target, str):
        return _open_url(target, bitop_ttl=bitop_ttl)
    import redis  # the only client kinds left are redis-py's

    if isinstance(target, redis.Redis):
        from .redis import RedisStore

        return RedisStore(target, bitop_ttl=bitop_ttl)
    from redis.cluster import RedisCluster

    if isinstance(target, RedisCluster):
        from .cluster import RedisClusterStore

        return RedisClusterStore(target, bitop_ttl=bitop_ttl)
    raise InvalidInput(
        f"store {target!r} is not a URL, a redis-py client or a bitmapist Store"
    )


def _open_url(url: str, *, bitop_ttl: float | None) -> Store:
    scheme = urlsplit(url).scheme.lower()
    if scheme in _CLUSTER_SCHEMES:
        from .cluster import RedisClusterStore

        return RedisClusterStore.from_url(url, bitop_ttl=bitop_ttl)
    if scheme in _REDIS_SCHEMES:
        from .redis import RedisStore

        return RedisStore.from_url(url, bitop_ttl=bitop_ttl)
    raise InvalidInput(
        f"store URL {url!r} has an unknown scheme {scheme!r}: expected one of "
        "redis://, rediss://, unix://"
    )
