"""`GroupCommit`: the optional write path that commits every batch of a window together.

`Engine(path, group_commit_ms=10)`: the first write of a window takes the log's
exclusive lock and SQLite's write lock (`BEGIN IMMEDIATE`), and starts a timer; every
batch until the timer fires is applied to memory and written into that one transaction
(the common batch as one journal row); the timer, `flush()`, `checkpoint()`,
`backup()` and `close()` commit it. A crash loses at most the open window. A batch that
fails inside a window is undone alone (a SAVEPOINT) and the window's earlier batches are
committed; a failed commit is raised by the next write.

The open window is also committed when the interpreter exits normally (`atexit`), and
when a `multiprocessing` child exits (its finalizers: such children end with `os._exit`,
which skips `atexit`). What still loses it: a crash or kill, `os._exit()` elsewhere.
"""

from __future__ import annotations

import atexit
import logging
import sqlite3
import sys
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import StoreError
from . import fastplan, forks
from .batch import Batch
from .ops import WriteOp
from .writes import Parts

logger = logging.getLogger("bitmapist.engine")
_writers: weakref.WeakSet[GroupCommit] = weakref.WeakSet()  # to commit at exit


def _commit_all_at_exit() -> None:
    for writer in list(_writers):
        writer.commit_at_exit()


def _commit_at_exit(ref: weakref.ref[GroupCommit]) -> None:
    writer = ref()
    if writer is not None:  # (None when it was collected: nothing left to commit)
        writer.commit_at_exit()


atexit.register(_commit_all_at_exit)


class GroupCommit:
    """Group commit (see the module docstring)."""

    name = "group commit"

    def __init__(
        self,
        parts: Parts,
        window_ms: float,
        lock: threading.RLock,
        usable: Callable[[], bool],
    ):
        self.parts = parts
        self.window_ms = window_ms
        self._lock = lock  # the engine's: the timer thread takes it to commit
        self._usable = usable  # False once the engine is closed or inherited by a fork
        self._timer: threading.Timer | None = None
        self._error: BaseException | None = None  # a failed commit, for the next write
        self._holds_log = False  # the window holds the log's exclusive lock
        self._generation = forks.generation  # a forked child's copy must not commit
        _writers.add(self)
        # A multiprocessing child ends with os._exit, skipping atexit, after running the
        # finalizers registered in it (this writer is made in the child: on first use
        # there, the engine reopens).
        util = sys.modules.get("multiprocessing.util")
        if util is not None:
            util.Finalize(self, _commit_at_exit, args=(weakref.ref(self),), exitpriority=0)

    def write(self, ops: Sequence[WriteOp]) -> list[Any]:
        """Apply a batch inside the open window (opening one if needed)."""
        if self._error is not None:
            error, self._error = self._error, None
            raise StoreError(f"an earlier group commit failed, its writes are lost: {error}")
        parts = self.parts
        journal = parts.journal
        try:
            if not journal.in_transaction:
                self._open_window()
            plan = fastplan.plan(ops, parts.index, journal.seq + 1)
            if plan is not None:
                # Into the window's transaction at once, not queued until the commit: a key
                # that is not decoded, or is evicted before the commit, is loaded again
                # from the file, and must find this row (this connection sees its own
                # uncommitted rows). Queued, such reads missed the window's changes.
                journal.insert_rows([plan.row])
                results = fastplan.apply(plan, journal, parts.index, parts.bitmaps)
                parts.bitmaps.evict()  # (cheap when within budget: two comparisons)
                return results
            journal.conn.execute("SAVEPOINT batch")
        except sqlite3.Error as exc:
            self._recover()
            raise journal.error(exc) from exc
        try:
            batch = Batch(journal, parts.index, parts.bitmaps)
            results = [batch.apply(op) for op in ops]
            batch.flush()
            journal.conn.execute("RELEASE batch")
        except BaseException as exc:
            self._undo_batch()
            if isinstance(exc, sqlite3.Error):
                raise journal.error(exc) from exc
            raise
        journal.counted(batch.rows, batch.nbytes)
        parts.bitmaps.evict()
        return results

    def _open_window(self) -> None:
        self._holds_log = self.parts.catchup.begin_file_write()
        self.parts.journal.begin()
        self.parts.catchup.sync()
        self._timer = threading.Timer(self.window_ms / 1000, self._due)
        self._timer.daemon = True
        self._timer.start()

    def _undo_batch(self) -> None:
        """Keep the window's earlier batches: undo this one, commit them, and rebuild
        memory (which this batch may have changed) from the file."""
        conn = self.parts.journal.conn
        try:
            conn.execute("ROLLBACK TO batch")
            conn.execute("RELEASE batch")
            self.flush()
            self.parts.catchup.reload()
        except sqlite3.Error:
            self._recover()

    def _due(self) -> None:
        """Timer thread: commit the window that is due."""
        with self._lock:
            if not self._usable():
                return
            try:
                self.flush()
            except StoreError as exc:
                self._error = exc

    def commit_at_exit(self) -> None:
        """Commit the open window as the process exits (see the module docstring)."""
        if self._generation != forks.generation or not self._lock.acquire(timeout=5):
            return  # a parent's window, or a lock a thread killed at exit still holds
        try:
            if self._usable():
                self.flush()
        except StoreError as exc:
            logger.warning("the last group commit failed at exit, its writes are lost: %s", exc)
        finally:
            self._lock.release()

    def flush(self) -> None:
        """Commit the open window, if any."""
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        journal = self.parts.journal
        if not journal.in_transaction:
            return
        try:
            journal.commit()
        except sqlite3.Error as exc:
            self._recover()  # memory held writes the file does not: start again from it
            raise journal.error(exc) from exc
        finally:
            self._release_log()
        self.parts.checkpointer.maybe_step()

    def _release_log(self) -> None:
        if self._holds_log:
            self._holds_log = False
            self.parts.catchup.end_file_write()

    def _recover(self) -> None:
        """After a failure: roll the window back, release the log, rebuild memory."""
        self.parts.journal.rollback()
        self._release_log()  # a rolled-back window is over
        self.parts.recover()
