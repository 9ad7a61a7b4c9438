"""`RedisStore`: bitmaps as Redis strings, in the exact layout of bitmapist 3.x.

Any server speaking RESP works: Redis, Valkey, or our own `bitmapist-server`.
Writes of one batch go in one MULTI/EXEC; an expression is evaluated in one round trip
(BITOPs into temporary keys that expire after `bitop_ttl`, then the read). Both are sent
on a pooled connection directly (see `RedisStore._send`).
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
from ..expressions import Expr, ops_bottom_up
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
        commands: list[tuple[Any, ...]] = []
        for key, offsets, value in changes:
            if value and _worth_merging(offsets):
                merge_key = key + _MERGE_SUFFIX
                commands.append(("SET", merge_key, to_redis_string(offsets)))
                commands.append(("BITOP", "OR", key, key, merge_key))
                commands.append(("DEL", merge_key))
            else:
                bit = 1 if value else 0
                commands.extend(("SETBIT", key, offset, bit) for offset in offsets)
        if self._queue is not None:
            for command in commands:
                self._queue.execute_command(*command)
        elif commands:
            self._send(commands, transaction=True)

    # --- reads

    def get_bit(self, expr: Expr, offset: int) -> bool:
        return bool(self._evaluate([expr], "GETBIT", offset)[0])

    def count(self, expr: Expr) -> int:
        return self._evaluate([expr], "BITCOUNT")[0]

    def counts(self, exprs: Sequence[Expr]) -> list[int]:
        return self._evaluate(exprs, "BITCOUNT")

    def bitmap(self, expr: Expr) -> BitMap:
        return to_bitmap(self._evaluate([expr], "GET")[0])

    def bitmaps(self, exprs: Sequence[Expr]) -> list[BitMap]:
        return [to_bitmap(data) for data in self.strings(exprs)]

    def strings(self, exprs: Sequence[Expr]) -> list[bytes | None]:
        """The raw Redis string of each expression (None where empty), one round trip."""
        return self._evaluate(exprs, "GET")

    def ids(self, expr: Expr) -> Iterator[int]:
        data = self._evaluate([expr], "GET")[0]
        return iter_offsets(data) if data else iter(())

    def _evaluate(self, exprs: Sequence[Expr], read: str, *read_args: Any) -> list[Any]:
        """BITOP what the expressions need (each operation once, with a TTL), then run
        `read` on each expression's key: all in one round trip."""
        commands: list[tuple[Any, ...]] = []
        done: set[str] = set()
        for expr in exprs:
            for op in ops_bottom_up(expr):
                if op.name not in done:
                    done.add(op.name)
                    commands.append(("BITOP", op.op, op.name, *(o.name for o in op.operands)))
                    if self.bitop_ttl_ms is not None:
                        commands.append(("PEXPIRE", op.name, self.bitop_ttl_ms))
        reads_start = len(commands)
        commands.extend((read, expr.name, *read_args) for expr in exprs)
        return self._send(commands)[reads_start:]

    def _send(self, commands: list[tuple[Any, ...]], *, transaction: bool = False) -> list[Any]:
        """Send `commands` in one write on a pooled connection and read every reply.

        This is a redis-py pipeline without its per-command bookkeeping, which costs more
        than the round trip for the few commands of a `mark_event` or a count. Every
        command we send is idempotent (SETBIT, BITOP, reads), so a batch that met a
        dropped connection is sent once more. With `transaction`, it runs in MULTI/EXEC.
        """
        if transaction:
            commands = [("MULTI",), *commands, ("EXEC",)]
        pool = self.redis.connection_pool
        for attempt in (1, 2):
            connection = pool.get_connection()
            try:
                connection.send_packed_command(connection.pack_commands(commands))
                replies = [_read_reply(connection) for _ in commands]
                break
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                connection.disconnect()
                if attempt == 2:
                    raise
            finally:
                pool.release(connection)
        if transaction:
            exec_reply = replies[-1]
            replies = [exec_reply] if isinstance(exec_reply, Exception) else list(exec_reply)
        for reply in replies:
            if isinstance(reply, Exception):
                raise StoreError(f"redis refused the operation: {reply}")
        return replies

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


def _read_reply(connection: Any) -> Any:
    """One reply; an error reply is returned (not raised) so the stream stays in step."""
    try:
        return connection.read_response()
    except redis.exceptions.ResponseError as exc:
        return exc


def _worth_merging(offsets: Any) -> bool:
    count = len(offsets)
    if count < _MERGE_MIN_BITS:
        return False
    return max(offsets) // 8 + 1 <= count * _MERGE_MAX_BYTES_PER_BIT
