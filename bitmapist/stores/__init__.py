"""Stores: where bitmaps live. `open_store` turns a URL or a client into one."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from ..bitops import SizedBitmap
from ..errors import InvalidInput
from .base import BitChange, Store
from .embedded import default_embedded_path

__all__ = [
    "BitChange",
    "SizedBitmap",
    "Store",
    "open_store",
    "default_store_url",
    "is_redis_like",
    "DEFAULT_STORE_URL",
    "REDIS_METHODS",
]

#: The redis-py methods bitmapist 3.x called on a system. An object that has them (a proxy
#: forwarding to a master and a replica, a wrapper class) is used through them only.
REDIS_METHODS = ("pipeline", "setbit", "getbit", "bitcount", "bitop", "get", "delete")

#: The store used when none is configured (overridden by the BITMAPIST_URL variable): the
#: embedded store at `default_embedded_path()` (`$BITMAPIST_HOME/bitmapist.db`, else
#: `$XDG_DATA_HOME/bitmapist/bitmapist.db`, else `~/.local/share/bitmapist/bitmapist.db`),
#: as it was when bitmapist was imported; `default_store_url()` looks again each time.
DEFAULT_STORE_URL = "file://" + str(default_embedded_path())

_REDIS_SCHEMES = ("redis", "rediss", "unix")
_EMBEDDED_SCHEMES = ("file", "memory")
_CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")


def default_store_url() -> str:
    """`BITMAPIST_URL` if set, else the embedded store at `default_embedded_path()`."""
    return os.environ.get("BITMAPIST_URL") or "file://" + str(default_embedded_path())


def is_redis_like(target: Any) -> bool:
    """Whether `target` has the Redis client methods bitmapist calls (duck typing, as 3.x)."""
    return all(callable(getattr(target, name, None)) for name in REDIS_METHODS)


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
    if is_redis_like(target):
        from .redis import RedisStore

        return RedisStore(target, bitop_ttl=bitop_ttl)
    raise InvalidInput(
        f"store {target!r} is not a URL, a bitmapist Store, or a Redis client "
        f"(a redis-py client, or any object with the methods {', '.join(REDIS_METHODS)})"
    )


def _open_url(url: str, *, bitop_ttl: float | None) -> Store:
    scheme = urlsplit(url).scheme.lower()
    if scheme in _EMBEDDED_SCHEMES or "://" not in url:
        from .embedded import EmbeddedStore

        return EmbeddedStore.from_url(url)
    if scheme in _CLUSTER_SCHEMES:
        from .cluster import RedisClusterStore

        return RedisClusterStore.from_url(url, bitop_ttl=bitop_ttl)
    if scheme in _REDIS_SCHEMES:
        from .redis import RedisStore

        return RedisStore.from_url(url, bitop_ttl=bitop_ttl)
    raise InvalidInput(
        f"store URL {url!r} has an unknown scheme {scheme!r}: expected one of "
        "file://, memory://, redis://, rediss://, unix://, redis+cluster://, rediss+cluster://"
    )
