"""Read many expressions' bitmaps: every stored key fetched once, operations done locally.

Cohort tables, retention tables and date ranges touch the same few dozen stored bitmaps
hundreds of times. `BitmapReader` fetches each distinct stored key once (in a handful of
pipelined round trips on Redis, in memory on other stores), evaluates `Op` trees on
roaring bitmaps in this process and caches every result. Redis never runs a BITOP for it,
so no temporary keys are written and server memory stays flat.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from functools import reduce

from pyroaring import BitMap

from ..bitbytes import redis_byte_length, to_bitmap
from ..errors import StoreError
from ..expressions import Expr, Key, Op, leaf_keys, ops_bottom_up
from ..stores.base import Store
from ..stores.redis import RedisStore, redis_errors

#: Bytes of bitmap data asked from Redis per round trip. Replies wait in the server's
#: client output buffer until read, so this bounds the memory a query adds on the server.
DEFAULT_BATCH_BYTES = 64 * 1024

# RESP servers seen refusing STRLEN/GETRANGE (bitmapist-server has no GETRANGE): read whole.
_WITHOUT_GETRANGE: weakref.WeakSet[Store] = weakref.WeakSet()


class BitmapReader:
    """Cached, batched evaluation of expressions against one store.

    Bitmaps returned by `bitmap` are shared with the cache: treat them as read-only
    (`BitMap.copy()` before modifying).
    """

    def __init__(self, store: Store, *, batch_bytes: int = DEFAULT_BATCH_BYTES):
        self.store = store
        self.batch_bytes = max(1, batch_bytes)
        # Stored keys and operation results apart: a stored key may carry an op's name.
        self._bitmaps: dict[str, BitMap] = {}
        self._results: dict[str, BitMap] = {}
        # Byte length of each bitmap, for BITOP NOT (it complements within whole bytes).
        self._lengths: dict[str, int] = {}
        self._result_lengths: dict[str, int] = {}
        #: Stored keys fetched so far (each exactly once).
        self.fetched_keys = 0
        #: Round trips to a Redis server so far (0 on other stores).
        self.round_trips = 0
        #: Whether stored byte lengths are known (Redis strings); without them BITOP NOT
        #: is left to the store, which knows them.
        self.exact_lengths = True

    def prefetch(self, exprs: Iterable[Expr]) -> None:
        """Fetch every stored key the expressions read that is not cached yet, in bulk."""
        missing: dict[str, None] = {}
        for expr in exprs:
            for key in leaf_keys(expr):
                if key not in self._bitmaps:
                    missing[key] = None
        if not missing:
            return
        keys = list(missing)
        if _is_plain_redis(self.store) and self.store not in _WITHOUT_GETRANGE:
            try:
                self._fetch_redis(keys)
            except StoreError as exc:
                if "unknown command" not in str(exc).lower():
                    raise  # e.g. WRONGTYPE: not ours to paper over
                _WITHOUT_GETRANGE.add(self.store)  # a RESP server without GETRANGE: GETs
                self._fetch_strings(keys)
        elif callable(getattr(self.store, "strings", None)):
            self._fetch_strings(keys)
        else:
            self.exact_lengths = False
            for key, bitmap in zip(keys, self.store.bitmaps([Key(key) for key in keys])):
                self._bitmaps[key] = bitmap
                self._lengths[key] = redis_byte_length(bitmap)
        self.fetched_keys += len(keys)

    def bitmap(self, expr: Expr) -> BitMap:
        """The bitmap `expr` evaluates to (Redis BITOP semantics), cached and shared."""
        if isinstance(expr, Key):
            if expr.name not in self._bitmaps:
                self.prefetch([expr])
            return self._bitmaps[expr.name]
        cached = self._results.get(expr.name)
        if cached is not None:
            return cached
        self.prefetch([expr])
        if not self.exact_lengths and any(op.op == "NOT" for op in ops_bottom_up(expr)):
            result = self._results[expr.name] = self.store.bitmap(expr)
            self._result_lengths[expr.name] = redis_byte_length(result)
            return result
        return self._evaluate(expr)

    def count(self, expr: Expr) -> int:
        """How many bits `expr` has."""
        return len(self.bitmap(expr))

    def _evaluate(self, op: Op) -> BitMap:
        operands = [self.bitmap(operand) for operand in op.operands]
        length = max(self._length(operand) for operand in op.operands)
        if op.op == "AND":
            result = BitMap.intersection(*operands) if len(operands) > 1 else operands[0].copy()
        elif op.op == "OR":
            result = BitMap.union(*operands) if len(operands) > 1 else operands[0].copy()
        elif op.op == "XOR":
            result = reduce(lambda a, b: a ^ b, operands[1:], operands[0].copy())
        else:  # NOT: within the operand's length in whole bytes, like Redis
            result = operands[0].flip(0, length * 8)
        self._results[op.name] = result
        self._result_lengths[op.name] = length
        return result

    def _length(self, expr: Expr) -> int:
        lengths = self._lengths if isinstance(expr, Key) else self._result_lengths
        return lengths[expr.name]

    def _fetch_redis(self, keys: list[str]) -> None:
        """STRLEN everything in one trip, then GETRANGE pieces in byte-bounded batches."""
        client = self.store.redis  # type: ignore[attr-defined]
        with redis_errors():
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.strlen(key)
            lengths = pipe.execute()
            self.round_trips += 1
            pieces: dict[str, list[bytes]] = {key: [] for key in keys}
            batch: list[tuple[str, int, int]] = []
            batch_size = 0
            for key, length in zip(keys, lengths):
                for start in range(0, length, self.batch_bytes):
                    size = min(self.batch_bytes, length - start)
                    if batch and batch_size + size > self.batch_bytes:
                        self._get_ranges(client, batch, pieces)
                        batch, batch_size = [], 0
                    # The last piece reads to the end: bits marked since STRLEN are kept.
                    end = -1 if start + size >= length else start + size - 1
                    batch.append((key, start, end))
                    batch_size += size
            if batch:
                self._get_ranges(client, batch, pieces)
        for key in keys:
            data = b"".join(pieces[key])
            self._bitmaps[key] = to_bitmap(data)
            self._lengths[key] = len(data)

    def _fetch_strings(self, keys: list[str]) -> None:
        for key, data in zip(keys, self.store.strings([Key(key) for key in keys])):  # type: ignore[attr-defined]
            self._bitmaps[key] = to_bitmap(data)
            self._lengths[key] = len(data or b"")

    def _get_ranges(
        self, client: object, batch: list[tuple[str, int, int]], pieces: dict[str, list[bytes]]
    ) -> None:
        pipe = client.pipeline(transaction=False)  # type: ignore[attr-defined]
        for key, start, end in batch:
            pipe.getrange(key, start, end)
        for (key, _, _), data in zip(batch, pipe.execute()):
            pieces[key].append(data)
        self.round_trips += 1


def _is_plain_redis(store: Store) -> bool:
    # Subclasses that lay keys out differently (sharding) must go through `bitmaps`.
    return isinstance(store, RedisStore) and type(store).bitmaps is RedisStore.bitmaps
