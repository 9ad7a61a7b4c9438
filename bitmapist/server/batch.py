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
    """Queues deferred writes and commits them together (see the module docstring).

    SETBITs live in their own compact queue (`_bit_ops`: db, key, offset, value) with
    their known replies; other writes in `_ops`/`_pending`. The two never mix: queuing
    one kind commits the other first, so the order of writes is kept.
    """

    def __init__(
        self,
        keyspace: Keyspace,
        *,
        max_ops: int = 10_000,
        touch: Callable[[int, bytes], None] | None = None,
        watching: Callable[[], bool] | None = None,
    ):
        self.keyspace = keyspace
        self.max_ops = max_ops  # bounds the latency and memory of one commit
        self.touch = touch  # told of every key a SETBIT changed (for WATCH)...
        self.watching = watching  # ...when anyone watches at all
        self._ops: list[Any] = []
        self._pending: list[tuple[Later, Callable[[list[Any]], Any], int, int]] = []
        self._bit_ops: list[tuple[int, bytes, int, bool]] = []
        self._bit_replies: list[tuple[Later, int]] = []
        self._bits: dict[tuple[int, bytes], dict[int, bool]] = {}  # queued SETBITs
        self.commits = 0

    def __bool__(self) -> bool:
        return bool(self._pending) or bool(self._bit_ops)

    def previous_bit(self, db: int, key: bytes, offset: int) -> int:
        """The bit SETBIT would find now (the keyspace as of the queued writes)."""
        if self._pending:
            self.flush()
        queued = self._bits.get((db, key))
        if queued is not None and offset in queued:
            return 1 if queued[offset] else 0
        return self.keyspace.getbit(db, key, offset)

    def add_setbit(self, db: int, key: bytes, offset: int, value: bool, previous: int) -> Later:
        """Queue one SETBIT whose reply (`previous`) is known (see `previous_bit`)."""
        self._bits.setdefault((db, key), {})[offset] = value
        later = Later()
        self._bit_ops.append((db, key, offset, value))
        self._bit_replies.append((later, previous))
        if len(self._bit_ops) >= self.max_ops:
            self.flush()
        return later

    def add(self, deferred: Deferred) -> Later:
        """Queue a write; its reply is filled in by the next `flush()`."""
        if self._bit_ops:
            self._flush_bits()  # keep the order: queued SETBITs go first
        later = Later()
        start = len(self._ops)
        self._ops.extend(deferred.ops)
        self._pending.append((later, deferred.finish, start, len(self._ops)))
        if len(self._ops) >= self.max_ops:
            self.flush()
        return later

    def flush(self) -> None:
        """Commit every queued op in one batch and fill in their replies."""
        if self._bit_ops:
            self._flush_bits()
        if not self._pending:
            return
        ops, pending = self._ops, self._pending
        self._ops, self._pending = [], []
        try:
            results = self.keyspace.write(ops) if ops else []
        except Exception as exc:  # the batch is all-or-nothing: every write in it failed
            _fail([later for later, *_ in pending], exc, len(ops))
            return
        self.commits += 1
        for later, finish, start, stop in pending:
            later.value = finish(results[start:stop])

    def _flush_bits(self) -> None:
        bit_ops, replies = self._bit_ops, self._bit_replies
        self._bit_ops, self._bit_replies, self._bits = [], [], {}
        try:
            self.keyspace.write(_merge_setbits(bit_ops))
        except Exception as exc:
            _fail([later for later, _previous in replies], exc, len(bit_ops))
            return
        self.commits += 1
        for later, previous in replies:
            later.value = previous
        if self.touch is not None and self.watching is not None and self.watching():
            for db, key, _offset, _value in bit_ops:
                self.touch(db, key)


def _fail(laters: list[Later], exc: Exception, count: int) -> None:
    """The batch is all-or-nothing: every write in it failed."""
    log.exception("write batch of %d ops failed", count)
    error = Error(f"ERR write failed: {exc}")
    for later in laters:
        later.value = error


def _merge_setbits(bit_ops: list[tuple[int, bytes, int, bool]]) -> list[SetBits]:
    """One SetBits per (db, key, value), when no key is both set and cleared in the
    batch (order between keys does not matter then); else only consecutive runs merge."""
    groups: dict[tuple[int, bytes, bool], list[int]] = {}
    for db, key, offset, value in bit_ops:
        group = groups.get((db, key, value))
        if group is None:
            groups[(db, key, value)] = [offset]
        else:
            group.append(offset)
    if len({(db, key) for db, key, _value in groups}) == len(groups):
        return [
            SetBits(key, offsets, value, False, db)
            for (db, key, value), offsets in groups.items()
        ]
    merged: list[SetBits] = []
    for db, key, offset, value in bit_ops:
        last = merged[-1] if merged else None
        if last is not None and (last.db, last.key, last.value) == (db, key, value):
            last.offsets.append(offset)
        else:
            merged.append(SetBits(key, [offset], value, False, db))
    return merged
