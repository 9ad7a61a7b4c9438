"""The engine's write paths, behind one small protocol; `Engine` picks one when it opens.

- `LogAppend`, for a file with `durability="normal"` (the default): the common batch is
  appended to the fast log; anything else takes `FullWrite`.
- `FullWrite`, for `durability="full"` or a file that cannot be written: one SQLite
  transaction.
- `GuardedInsert`, for `memory://` (no file): the common batch is one guarded INSERT;
  anything else takes `FullWrite`.
- `group.GroupCommit`, for `group_commit_ms`: applied now, committed with its window.

"The common batch" is `fastplan`'s. Every path runs under the engine's lock, on an
engine that is open and caught up with its fork generation; each keeps memory equal to
the file: when a write fails, it is rolled back and memory is rebuilt from the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from . import fastplan
from .batch import Batch
from .bitmaps import Bitmaps
from .catchup import CatchUp
from .checkpoint import GUARDED_INSERT, Checkpointer
from .journal import Journal
from .keyspace import KeyIndex
from .ops import WriteOp


class WritePath(Protocol):
    """How an engine makes a batch of ops durable."""

    name: str

    def write(self, ops: Sequence[WriteOp]) -> list[Any]:
        """Apply `ops` as one atomic batch (see `Engine.write`); one result per op."""
        ...

    def flush(self) -> None:
        """Make every write that returned durable now (only group commit holds any)."""
        ...


class Parts:
    """The engine parts a write path works with (shared, not owned)."""

    __slots__ = ("journal", "index", "bitmaps", "catchup", "checkpointer", "recover")

    def __init__(
        self,
        journal: Journal,
        index: KeyIndex,
        bitmaps: Bitmaps,
        catchup: CatchUp,
        checkpointer: Checkpointer,
        recover: Callable[[], None],
    ):
        self.journal = journal
        self.index = index
        self.bitmaps = bitmaps
        self.catchup = catchup
        self.checkpointer = checkpointer
        self.recover = recover  # roll back and make memory match the file again


class FullWrite:
    """Any batch, in one SQLite transaction under the log's lock (drained first)."""

    name = "full"

    def __init__(self, parts: Parts):
        self.parts = parts

    def write(self, ops: Sequence[WriteOp]) -> list[Any]:
        parts = self.parts
        journal = parts.journal
        with parts.catchup.file_write():
            with journal.errors():
                journal.begin()
            try:
                parts.catchup.sync()
                batch = Batch(journal, parts.index, parts.bitmaps)
                results = [batch.apply(op) for op in ops]
                batch.flush()
                journal.commit()
            except BaseException as exc:
                parts.recover()
                if isinstance(exc, sqlite3.Error):
                    raise journal.error(exc) from exc
                raise
        journal.counted(batch.rows, batch.nbytes)
        parts.checkpointer.maybe_step()
        parts.bitmaps.evict()
        return results

    def flush(self) -> None:
        pass  # every write is committed before it returns


def _finish(parts: Parts, plan: fastplan.FastPlan) -> list[None]:
    """After the plan's row is durable: apply it, then the housekeeping (checked here
    first, once per write: the calls cost more than the checks on this hot path)."""
    results = fastplan.apply(plan, parts.journal, parts.index, parts.bitmaps)
    if parts.checkpointer.due():
        parts.checkpointer.maybe_step()
    cache = parts.bitmaps.cache
    if cache.over_budget():
        cache.evict()
    return results


class LogAppend:
    """The common batch appended to the fast log (~2 us); anything else `FullWrite`.

    Under the log's exclusive lock: if SQLite changed since we read it (a new
    generation), the full path catches up; rows other processes appended since are
    applied first, so that the plan's sequence number follows them.
    """

    name = "log"

    def __init__(self, parts: Parts, full: FullWrite):
        self.parts = parts
        self.full = full

    def write(self, ops: Sequence[WriteOp]) -> list[Any]:
        results = self._append(ops)
        return self.full.write(ops) if results is None else results

    def _append(self, ops: Sequence[WriteOp]) -> list[Any] | None:
        parts = self.parts
        catchup = parts.catchup
        log = catchup.log
        assert log is not None
        with log.locked(exclusive=True):
            generation, end = log.state()
            if generation != catchup.log_gen:
                return None
            if end != catchup.log_end:
                catchup.apply_log(catchup.log_end)
            plan = fastplan.plan(ops, parts.index, parts.journal.seq + 1)
            if plan is None:
                return None
            unchanged = fastplan.already_set(plan, parts.bitmaps)
            if not unchanged:
                new_end = log.append(plan.row)
                if new_end is None:
                    return None  # the log is full: the full path drains it
                catchup.log_end = new_end
                for _, offsets, value, db, key, data in plan.changes:
                    # Kept serialized: decoded, a sparse batch's bitmap takes ~7x the memory.
                    parts.index.note_log_change(
                        db, key, value, offsets if type(offsets) is int else data
                    )
        if unchanged:  # caught up, and nothing to change (but a key may have been loaded)
            parts.bitmaps.evict()
            return [None] * len(plan.changes)
        return _finish(parts, plan)

    def flush(self) -> None:
        pass  # an appended row is in the OS page cache, as a WAL commit would be


class GuardedInsert:
    """The common batch as one INSERT that checks by itself that nobody else wrote since
    we caught up (`checkpoint.GUARDED_INSERT`): no BEGIN/COMMIT, no `data_version` round.
    Anything else, or a failed check, takes `FullWrite`. For in-memory stores."""

    name = "guarded insert"

    def __init__(self, parts: Parts, full: FullWrite):
        self.parts = parts
        self.full = full

    def write(self, ops: Sequence[WriteOp]) -> list[Any]:
        parts = self.parts
        journal = parts.journal
        plan = fastplan.plan(ops, parts.index, journal.seq + 1)
        if plan is None:
            return self.full.write(ops)
        if fastplan.already_set(plan, parts.bitmaps):
            # Marking who is already marked (most calls, in a busy app) changes nothing;
            # an in-memory database has no other writer to catch up with.
            parts.bitmaps.evict()  # (it may have loaded a key)
            return [None] * len(plan.changes)
        try:
            inserted = journal.cursor.execute(GUARDED_INSERT, (*plan.row, journal.seq)).rowcount
        except sqlite3.IntegrityError:
            return self.full.write(ops)  # a concurrent writer took our sequence numbers
        except sqlite3.Error as exc:
            raise journal.error(exc) from exc  # nothing was written
        if inserted != 1:
            return self.full.write(ops)  # someone else wrote since we caught up
        return _finish(parts, plan)

    def flush(self) -> None:
        pass  # every write is committed before it returns
