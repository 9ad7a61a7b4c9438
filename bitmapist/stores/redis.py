"""`RedisStore`: bitmaps as Redis strings, in the exact layout of bitmapist 3.x.

Any server speaking RESP works: Redis, Valkey, or our own `bitmapist-server`.
Writes of one batch go in one MULTI/EXEC; an expression is evaluated in one round trip
(BITOPs into temporary keys that expire after `bitop_ttl`, then the read).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import redis
from pyroaring import BitMap
from redis.client import Pipeline

from ..bitbytes import iter_offsets, to_bitmap, to_redis_string
from ..errors import StoreError
from ..expressions import Expr, Key, ops_bottom_up
from .base import BitChange, Store

# A batch sets bits of one key by merging a prebuilt string (SET + BITOP OR) instead of
# one SETBIT per bit, when that string is small compared to the number of bits it carries.
_MERGE_MIN_BITS = 16
_MERGE_MAX_BYTES_PER_BIT = 64
_MERGE_SUFFIX = ":bitmapist-merge"  # lives only inside one MULTI/EXEC
_DELETE_CHUNK = 1000


@contextmanager
def redis_errors() -> Iterator[None]:
    """Turn redis-py's server errors into `StoreError` (connection errors pass through)."""
    try:
        yield
    except redis.exceptions.ResponseError as exc:
        raise StoreError(f"redis refused the operation: {exc}") from exc


def _binary_client(client: redis.Redis) -> redis.Redis:
    """`client` itself, or a twin on the same server when it decodes replies to str."""
    pool = client.connection_pool
    kwargs = dict(pool.connection_kwargs)
    if not kwargs.get("decode_responses"):
        return client
    kwargs["decode_responses"] = False
    return redis.Redis(
        connection_pool=pool.__class__(connection_class=pool.connection_class, **kwargs)
    )


class RedisStore(Store):
    """A store on one Redis (or RESP-compatible) server.

    `client` may be a `redis.Redis` or a `Pipeline`: with a pipeline, writes are queued
    in it for the caller to execute (the 3.x `use_pipeline=False` idiom), reads go
    straight to the server.
    """

    kind = "redis"

    def __init__(self, client: redis.Redis | Pipeline, *, bitop_ttl: float | None = 60.0):
        if isinstance(client, Pipeline):
            self._queue: Pipeline | None = client
            client = redis.Redis(connection_pool=client.connection_pool)
        else:
            self._queue = None
        self.redis: redis.Redis = _binary_client(client)
        self.bitop_ttl_ms = None if bitop_ttl is None else max(1, int(bitop_ttl * 1000))

    @classmethod
    def from_url(cls, url: str, *, bitop_ttl: float | None = 60.0, **kwargs: Any) -> RedisStore:
        """Open `redis://`, `rediss://` or `unix://` URLs (see redis-py's `from_url`)."""
        return cls(redis.Redis.from_url(url, **kwargs), bitop_ttl=bitop_ttl)

    # --- writes

    def set_bits(self, changes: Sequence[BitChange]) -> None:
        pipe = self._queue if self._queue is not None else self.redis.pipeline(transaction=True)
        for key, offsets, value in changes:
            if value and _worth_merging(offsets):
                merge_key = key + _MERGE_SUFFIX
                pipe.set(merge_key, to_redis_string(offsets))
                pipe.bitop("OR", key, key, merge_key)
                pipe.delete(merge_key)
            else:
                bit = 1 if value else 0
                for offset in offsets:
                    pipe.setbit(key, offset, bit)
        if self._queue is None:
            with redis_errors():
                pipe.execute()

    # --- reads

    def get_bit(self, expr: Expr, offset: int) -> bool:
        return bool(self._evaluate([expr], lambda pipe, key: pipe.getbit(key, offset))[0])

    def count(self, expr: Expr) -> int:
        return self.counts([expr])[0]

    def counts(self, exprs: Sequence[Expr]) -> list[int]:
        return self._evaluate(exprs, lambda pipe, key: pipe.bitcount(key))

    def bitmap(self, expr: Expr) -> BitMap:
        return self.bitmaps([expr])[0]

    def bitmaps(self, exprs: Sequence[Expr]) -> list[BitMap]:
        return [to_bitmap(data) for data in self.strings(exprs)]

    def strings(self, exprs: Sequence[Expr]) -> list[bytes | None]:
        """The raw Redis string of each expression (None where empty), one round trip."""
        return self._evaluate(exprs, lambda pipe, key: pipe.get(key))

    def ids(self, expr: Expr) -> Iterator[int]:
        data = self.strings([expr])[0]
        return iter_offsets(data) if data else iter(())

    def any(self, expr: Expr) -> bool:
        if isinstance(expr, Key):  # a missing or all-zero key has no bits
            return self.count(expr) > 0
        return super().any(expr)

    def _evaluate(self, exprs: Sequence[Expr], read: Any) -> list[Any]:
        """Run the BITOPs the expressions need, then `read(pipe, key)` for each: one trip."""
        if all(isinstance(expr, Key) for expr in exprs) and len(exprs) == 1:
            pipe = self.redis  # a lone key needs no pipeline
            with redis_errors():
                return [read(pipe, exprs[0].name)]
        pipe = self.redis.pipeline(transaction=False)
        done: set[str] = set()
        reads_start = 0
        for expr in exprs:
            for op in ops_bottom_up(expr):
                if op.name in done:
                    continue
                done.add(op.name)
                pipe.bitop(op.op, op.name, *(operand.name for operand in op.operands))
                if self.bitop_ttl_ms is not None:
                    pipe.pexpire(op.name, self.bitop_ttl_ms)
        reads_start = len(pipe)
        for expr in exprs:
            read(pipe, expr.name)
        with redis_errors():
            return pipe.execute()[reads_start:]

    # --- keys

    def scan_keys(self, pattern: str = "*") -> Iterator[str]:
        with redis_errors():
            for key in self.redis.scan_iter(match=pattern, count=1000):
                yield key.decode("utf-8", "replace") if isinstance(key, bytes) else key

    def delete(self, keys: Iterable[str]) -> int:
        keys = list(keys)
        deleted = 0
        with redis_errors():
            for start in range(0, len(keys), _DELETE_CHUNK):
                deleted += self.redis.delete(*keys[start : start + _DELETE_CHUNK])
        return deleted

    def info(self) -> dict[str, Any]:
        with redis_errors():
            memory = self.redis.info("memory")
            return {
                "kind": self.kind,
                "keys": self.redis.dbsize(),
                "used_memory": memory.get("used_memory"),
                "used_memory_human": memory.get("used_memory_human"),
            }

    def close(self) -> None:
        self.redis.close()


def _worth_merging(offsets: Any) -> bool:
    count = len(offsets)
    if count < _MERGE_MIN_BITS:
        return False
    return max(offsets) // 8 + 1 <= count * _MERGE_MAX_BYTES_PER_BIT
