"""`RedisStore`: bitmaps as Redis strings, in the exact layout of bitmapist 3.x.

Any server speaking RESP works: Redis, Valkey, or our own `bitmapist-server`.
Writes of one batch go in one MULTI/EXEC; an expression is evaluated in one round trip
(BITOPs into temporary keys that expire after `bitop_ttl`, then the read). Both are sent
directly on the calling thread's own connection (see `RedisStore._send`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import redis
from pyroaring import BitMap
from redis.client import Pipeline

from ..bitbytes import to_bitmap, to_redis_string
from ..bitops import SizedBitmap
from ..expressions import Expr, ops_bottom_up
from .base import BitChange, Store
from .redis_common import (
    DELETE_CHUNK,
    binary_client,
    merge_commands,
    plan_ranges,
    redis_errors,
    refused,
    sized,
    worth_merging,
)

# measured: sparse bulk 2.5x -> 3.6x upstream with merging up to this, dense unchanged
_MERGE_MAX_BYTES_PER_BIT = 256
#: Bytes of bitmap data a bulk read (`strings`, `sized_bitmaps`, `bitmaps`) asks for per
#: round trip. Replies wait in the server's client output buffer until read, so this bounds
#: the memory a large read adds on the server.
DEFAULT_READ_BATCH_BYTES = 64 * 1024
# Command -> the method of a redis-py-like pipeline that sends it (for duck-typed clients).
_METHODS = {"DEL": "delete"}


class RedisStore(Store):
    """A store on one Redis (or RESP-compatible) server.

    `client` may be a `redis.Redis` or a `Pipeline`: with a pipeline, writes are queued
    in it for the caller to execute (the 3.x `use_pipeline=False` idiom), reads go
    straight to the server.
    """

    kind = "redis"

    def __init__(
        self,
        client: redis.Redis | Pipeline,
        *,
        bitop_ttl: float | None = 60.0,
        read_batch_bytes: int = DEFAULT_READ_BATCH_BYTES,
    ):
        self._queue: Pipeline | None = client if isinstance(client, Pipeline) else None
        # any other object with redis-py's methods (a proxy, a wrapper class: see
        # stores.REDIS_METHODS) is used only through them, as 3.x did
        self._duck: Any = None if isinstance(client, (redis.Redis, Pipeline)) else client
        # a pipeline store (one per 3.x `system=pipe` call) builds its reading client only
        # when it reads: redis.Redis() costs ~100 us in redis-py 8, more than a mark
        self._client: redis.Redis | None = None if self._queue is not None else client
        self._redis: redis.Redis | None = None
        self._local = threading.local()  # this thread's connection, see _connection()
        self.bitop_ttl_ms = None if bitop_ttl is None else max(1, int(bitop_ttl * 1000))
        self.read_batch_bytes = max(1, read_batch_bytes)

    @property
    def redis(self) -> redis.Redis:
        """The redis-py client reads and housekeeping go through (never decoding)."""
        if self._duck is not None:
            return self._duck
        if self._redis is None:
            client = self._client
            if client is None:
                client = redis.Redis(connection_pool=self._queue.connection_pool)
            self._redis = binary_client(client)
        return self._redis

    @classmethod
    def from_url(cls, url: str, *, bitop_ttl: float | None = 60.0, **kwargs: Any) -> RedisStore:
        """Open `redis://`, `rediss://` or `unix://` URLs (see redis-py's `from_url`)."""
        return cls(redis.Redis.from_url(url, **kwargs), bitop_ttl=bitop_ttl)

    # --- writes

    def set_bits(self, changes: Sequence[BitChange]) -> None:
        commands: list[tuple[Any, ...]] = []
        for key, offsets, value in changes:
            if value and self._duck is None and worth_merging(offsets, _MERGE_MAX_BYTES_PER_BIT):
                commands.extend(merge_commands(key, to_redis_string(offsets)))
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

    def sized_bitmaps(self, exprs: Sequence[Expr]) -> list[SizedBitmap]:
        return sized(self.strings(exprs))

    def strings(self, exprs: Sequence[Expr]) -> list[bytes | None]:
        """The raw Redis string of each expression (None where empty): the operations and
        every length in one round trip, then GETRANGE pieces, `read_batch_bytes` per trip."""
        if self._duck is not None:
            return self._evaluate(exprs, "GET")  # GET is what a 3.x-style client offers
        lengths = self._evaluate(exprs, "STRLEN")
        pieces: list[list[bytes]] = [[] for _ in exprs]
        for batch in plan_ranges(lengths, self.read_batch_bytes):
            commands = [("GETRANGE", exprs[i].name, start, end) for i, start, end in batch]
            for (i, _, _), data in zip(batch, self._send(commands)):
                pieces[i].append(data)
        return [b"".join(parts) or None for parts in pieces]

    def redis_client(self) -> redis.Redis:
        return self.redis

    def ids(self, expr: Expr) -> Iterator[int]:
        return iter(to_bitmap(self._evaluate([expr], "GET")[0]))

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
        """Send `commands` in one write on this thread's connection and read every reply.

        This is a redis-py pipeline without its per-command bookkeeping, which costs more
        than the round trip for the few commands of a `mark_event` or a count. Every
        command we send is idempotent (SETBIT, BITOP, reads), so a batch that met a
        dropped connection is sent once more. With `transaction`, it runs in MULTI/EXEC.
        """
        if self._duck is not None:
            return self._send_through_methods(commands)
        if transaction:
            commands = [("MULTI",), *commands, ("EXEC",)]
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.send_packed_command(connection.pack_commands(commands))
                replies = [_read_reply(connection) for _ in commands]
                break
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                connection.disconnect()
                if attempt == 2:
                    raise
            except BaseException:
                connection.disconnect()  # replies may be left unread: never reuse it
                raise
        if transaction:
            exec_reply = replies[-1]
            replies = [exec_reply] if isinstance(exec_reply, Exception) else list(exec_reply)
        for reply in replies:
            if isinstance(reply, Exception):
                raise refused(reply)
        return replies

    def _send_through_methods(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """`_send` for a duck-typed client: one `pipeline()` of its own, one method call per
        command (3.x's calls), executed at once. A TTL it cannot set is skipped."""
        pipe = self._duck.pipeline()
        sent: list[bool] = []
        for name, *args in commands:
            method = getattr(pipe, _METHODS.get(name, name.lower()), None)
            if method is None and name == "PEXPIRE":
                sent.append(False)
                continue
            method(*args)
            sent.append(True)
        with redis_errors():
            replies = iter(pipe.execute())
        return [next(replies) if was_sent else None for was_sent in sent]

    def _connection(self) -> Any:
        """This thread's own connection to the server, made on first use (and after a fork).

        Kept out of the pool: checking a connection out and in costs redis-py 8 about as much
        as a round trip (locks, metrics, a poll for stray data). redis-py closes it when it
        is garbage collected (its thread ended), or `close()` does.
        """
        local = self._local
        connection = getattr(local, "connection", None)
        if connection is None or local.pid != os.getpid():
            pool = self.redis.connection_pool
            connection = pool.connection_class(**pool.connection_kwargs)
            local.connection, local.pid = connection, os.getpid()
        return connection

    # --- keys

    def scan_keys(self, pattern: str = "*") -> Iterator[str]:
        with redis_errors():
            for key in self.redis.scan_iter(match=pattern, count=1000):
                yield key.decode("utf-8", "replace") if isinstance(key, bytes) else key

    def delete(self, keys: Iterable[str]) -> int:
        keys = list(keys)
        deleted = 0
        with redis_errors():
            for start in range(0, len(keys), DELETE_CHUNK):
                deleted += self.redis.delete(*keys[start : start + DELETE_CHUNK])
        return deleted

    def info(self) -> dict[str, Any]:
        if self._duck is not None and not callable(getattr(self._duck, "info", None)):
            return {"kind": self.kind}
        with redis_errors():
            memory = self.redis.info("memory")
            return {
                "kind": self.kind,
                "keys": self.redis.dbsize(),
                "used_memory": memory.get("used_memory"),
                "used_memory_human": memory.get("used_memory_human"),
            }

    def close(self) -> None:
        if self._duck is not None:
            return  # the caller's object: theirs to close
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.disconnect()
            self._local.connection = None
        self.redis.close()


def _read_reply(connection: Any) -> Any:
    """One reply; an error reply is returned (not raised) so the stream stays in step."""
    try:
        return connection.read_response()
    except redis.exceptions.ResponseError as exc:
        return exc
