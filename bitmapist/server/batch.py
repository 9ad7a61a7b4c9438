"""Group commit: writes of one event-loop turn go to the engine as one durable batch.

A write handler returns `Deferred(ops, finish)` instead of a reply. The batcher queues the
ops and hands back a `Later` placeholder; `flush()` writes every queued op in one
`Keyspace.write` (one SQLite commit) and fills each placeholder with `finish(results)`.
Replies are sent only after `flush()`, so an acknowledged write is always durable.
A read that follows a queued write flushes first, so every command sees the writes
before it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

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
        self.commits = 0

    def __bool__(self) -> bool:
        return bool(self._pending)

    def add(self, deferred: Deferred) -> Later:
        """Queue a write; its reply is filled in by the next `flush()`."""
        later = Later()
        start = len(self._ops)
        self._ops.extend(deferred.ops)
        self._pending.append((later, deferred.finish, start, len(self._ops)))
        if len(self._ops) >= self.max_ops:
            self.flush()
        return later

    def flush(self) -> None:
        """Commit every queued op in one batch and fill in their replies."""
        if not self._pending:
            return
        ops, pending = self._ops, self._pending
        self._ops, self._pending = [], []
        try:
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
