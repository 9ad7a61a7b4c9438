"""Named systems, as in bitmapist 3.x: `SYSTEMS`, `setup_redis`, `get_redis`.

A system is what a `system=` argument names: a configured name ("default" unless told
otherwise), a redis-py client or pipeline, a `Bitmapist` client, or (as in 3.x) any object
with the Redis methods bitmapist calls, such as a proxy or a wrapper around a client.
`get_client` turns any of them into a `Bitmapist`. "default" is created on first use from
`BITMAPIST_URL` or the default store.
"""

from __future__ import annotations

import sys
import threading
import weakref
from typing import Any

from .client import Bitmapist
from .errors import UnknownSystem, UnsupportedOperation
from .stores import REDIS_METHODS, is_redis_like


class _Systems(dict):
    """name -> redis-py client or `Bitmapist`; "default" appears on first use."""

    _lock = threading.Lock()

    def __missing__(self, name: str) -> Any:
        if name != "default":
            known = ", ".join(repr(k) for k in self) or "none yet"
            raise UnknownSystem(
                f"system {name!r} is not configured (configured: {known}); "
                "add it with setup_redis(name, host, port) or SYSTEMS[name] = client"
            )
        with self._lock:
            if "default" not in self:
                self["default"] = Bitmapist()
            return dict.__getitem__(self, "default")


SYSTEMS: dict[str, Any] = _Systems()

_wrappers: weakref.WeakKeyDictionary[Any, Bitmapist] = weakref.WeakKeyDictionary()
# Redis-like objects that cannot be weakly referenced (__slots__): id -> (object, client).
_pinned_wrappers: dict[int, tuple[Any, Bitmapist]] = {}


def _loaded_redis() -> Any:
    """redis-py if this process has imported it, else None.

    Only imported redis-py can have made a client, so code that never imports it (the
    server, the embedded store) never pays its ~17 MB and 70 ms of imports.
    """
    return sys.modules.get("redis")


def setup_redis(name: str, host: str, port: int, **kw: Any) -> None:
    """Register a Redis server as system `name` (extra keywords go to the client class).

    Example::

        setup_redis("stats", "localhost", 6380, db=1)
        mark_event("active", 1, system="stats")
    """
    redis_client = kw.pop("redis_client", None)
    if redis_client is None:
        import redis

        redis_client = redis.StrictRedis
    SYSTEMS[name] = redis_client(host=host, port=port, **kw)


def get_client(system: Any = "default") -> Bitmapist:
    """The `Bitmapist` client for a system name, redis-py client/pipeline, or client."""
    if isinstance(system, Bitmapist):
        return system
    target = SYSTEMS[system] if isinstance(system, str) else system
    if isinstance(target, Bitmapist):
        return target
    try:  # a client seen before; checked first as isinstance(x, redis.Redis) is slow (Protocol)
        client = _wrappers.get(target)
    except TypeError:  # not weak-referenceable: not a redis-py client either
        client = None
    if client is not None:
        return client
    redis = _loaded_redis()
    if redis is None or not isinstance(target, (redis.Redis, redis.RedisCluster)):
        if is_redis_like(target):
            return _redis_like_client(target)
        raise UnknownSystem(
            f"system {system!r} is not a system name, a Bitmapist client, a redis-py client, "
            f"or an object with the Redis methods bitmapist calls ({', '.join(REDIS_METHODS)})"
        )
    if isinstance(target, redis.client.Pipeline):
        # One client per pipeline, kept on the pipeline: 3.x bulk code passes the same one
        # thousands of times. (The weak map can't hold it: the client's store refers to the
        # pipeline, which would never be collected.)
        client = target.__dict__.get("_bitmapist_client")
        if client is None:
            client = target._bitmapist_client = Bitmapist(target)
        return client
    client = _wrappers.get(target)
    if client is None:
        client = _wrappers[target] = Bitmapist(target)
    return client


def _redis_like_client(target: Any) -> Bitmapist:
    """One client per Redis-like object, made on first use (as for redis-py clients)."""
    try:
        client = _wrappers.get(target)
        if client is None:
            client = _wrappers[target] = Bitmapist(target)
        return client
    except TypeError:  # not weak-referenceable
        pinned = _pinned_wrappers.get(id(target))
        if pinned is None:
            pinned = _pinned_wrappers[id(target)] = (target, Bitmapist(target))
        return pinned[1]


def get_redis(system: Any = "default") -> Any:
    """The redis-py client behind a system (a pipeline stays a pipeline).

    Raises `UnsupportedOperation` for systems on a store that is not Redis.
    """
    redis = _loaded_redis()
    if redis is not None and isinstance(system, redis.Redis):
        return system
    target = SYSTEMS[system] if isinstance(system, str) else system
    if redis is not None and isinstance(target, redis.Redis):
        return target
    client = get_client(target)
    store_redis = client.store.redis_client()
    if store_redis is None:
        raise UnsupportedOperation(
            f"system {system!r} uses the {client.store.kind} store, which has no Redis client; "
            "use the bitmapist API (or get_client(system).store) instead"
        )
    return store_redis
