"""Group commit: writes of one event-loop turn go to the engine as one durable batch.

A write handler returns `Deferred(ops, finish)` instead of a reply. The batcher queues the
ops and hands back a `Later` placeholder; `flush()` writes every queued op in one
`Keyspace.write` (one SQLite commit) and fills each placeholder with `finish(results)`.
Replies are sent only after `flush()`, so an acknowledged write is always durable.
A read that follows a queued write flushes first, so every command sees the writes
before it.

SETBIT, the hot path, does better: while only SETBITs are queued, their previous bits
are known from the engine plus an overlay of the queued ones, so a SETBIT never forces
a commit, and `flush()` merges them into one engine op per key (one journal row).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from ..engine import SetBits
from .keyspace import Keyspace
from .resp import Error, Later

log = logging.getLogger("bitmapist.server")


class Deferred(NamedTuple):
    """Engine ops to write, and how to turn their results into the reply."""

    ops: Sequence[Any]
    finish: Callable[[list[Any]], Any]


class WriteBatcher:
    """Queues deferred writes and commits them together (see the module docstring)."""

    def __init__(self, keyspace: Keyspace, *, max_ops: int = 10_000):
        self.keyspace = keyspace
        self.max_ops = max_ops  # bounds the latency and memory of one commit
        self._ops: list[Any] = []
        self._pending: list[tuple[Later, Callable[[list[Any]], Any], int, int]] = []
        self._only_bits = True  # every queued op is a SetBits without `previous`
        self._bits: dict[tuple[int, bytes], dict[int, bool]] = {}  # queued SETBITs
        self.commits = 0

    def previous_bit(self, db: int, key: bytes, offset: int) -> int:
        """The bit SETBIT would find now (the keyspace as of the queued writes)."""
        if not self._only_bits:
            self.flush()
        queued = self._bits.get((db, key))
        if queued is not None and offset in queued:
            return 1 if queued[offset] else 0
        return self.keyspace.getbit(db, key, offset)

    def add_setbit(self, db: int, key: bytes, offset: int, value: bool, reply: Any) -> Later:
        """Queue one SETBIT whose reply is already known (see `previous_bit`)."""
        self._bits.setdefault((db, key), {})[offset] = value
        later = Later()
        ops = self._ops
        ops.append(SetBits(key, (offset,), value, False, db))
        self._pending.append((later, reply, len(ops) - 1, len(ops)))
        if len(ops) >= self.max_ops:
            self.flush()
        return later

    def __bool__(self) -> bool:
        return bool(self._pending)

    def add(self, deferred: Deferred) -> Later:
        """Queue a write; its reply is filled in by the next `flush()`."""
        later = Later()
        start = len(self._ops)
        if self._only_bits:
            for op in deferred.ops:
                if type(op) is not SetBits or op.previous:
                    self._only_bits = False
        self._ops.extend(deferred.ops)
        self._pending.append((later, deferred.finish, start, len(self._ops)))
        if len(self._ops) >= self.max_ops:
            self.flush()
        return later

    def flush(self) -> None:
        """Commit every queued op in one batch and fill in their replies."""
        if not self._pending:
            return
        ops, pending, only_bits = self._ops, self._pending, self._only_bits
        self._ops, self._pending, self._only_bits, self._bits = [], [], True, {}
        try:
            if only_bits and len(ops) > 1:
                self.keyspace.write(_merge_setbits(ops))
                results = [None] * len(ops)  # SetBits without `previous` return None
            else:
                results = self.keyspace.write(ops) if ops else []
        except Exception as exc:  # the batch is all-or-nothing: every write in it failed
            log.exception("write batch of %d ops failed", len(ops))
            error = Error(f"ERR write failed: {exc}")
            for later, _finish, _start, _stop in pending:
                later.value = error
            return
        self.commits += 1
        for later, finish, start, stop in pending:
            later.value = finish(results[start:stop])


def _merge_setbits(ops: list[Any]) -> list[SetBits]:
    """One SetBits per (db, key, value), when no key is both set and cleared in the
    batch (order between keys does not matter then); else only consecutive runs merge."""
    groups: dict[tuple[int, bytes, bool], list[int]] = {}
    for op in ops:
        groups.setdefault((op.db, op.key, op.value), []).extend(op.offsets)
    if len({(db, key) for db, key, _value in groups}) == len(groups):
        return [
            SetBits(key, offsets, value, False, db)
            for (db, key, value), offsets in groups.items()
        ]
    merged: list[SetBits] = []
    for op in ops:
        last = merged[-1] if merged else None
        if last is not None and (last.db, last.key, last.value) == (op.db, op.key, op.value):
            last.offsets.extend(op.offsets)
        else:
            merged.append(SetBits(op.key, list(op.offsets), op.value, False, op.db))
    return merged
