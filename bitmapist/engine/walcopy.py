"""`WalCopier`: copies SQLite's write-ahead log back into the database, off the write path.

SQLite's own automatic checkpoint runs inside the commit that crosses 1,000 WAL pages and
fsyncs the WAL and the database there: every few hundred writes one of them takes
milliseconds. Here a daemon thread with its own connection runs a PASSIVE checkpoint
instead (it never blocks readers or writers) whenever writers have committed
`every_commits` times; the automatic checkpoint stays on, at a higher threshold, only as
a backstop should this thread fall behind. SQLite releases the GIL while it works.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import weakref
from pathlib import Path

#: The automatic checkpoint's threshold (pages) while a `WalCopier` runs: a backstop.
BACKSTOP_PAGES = 8_000

# Forking while a copier is inside SQLite could leave SQLite's locks held in the child:
# hold every copier's lock across fork(). (The child's engines start copiers of their own.)
_live: weakref.WeakSet[WalCopier] = weakref.WeakSet()


def _before_fork() -> None:
    for copier in list(_live):
        copier._busy.acquire()


def _after_fork() -> None:
    for copier in list(_live):
        with contextlib.suppress(RuntimeError):
            copier._busy.release()


os.register_at_fork(
    before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork
)


class WalCopier:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` in a daemon thread when poked often enough.

    `committed()` is called after every commit (cheap: a counter); `close()` stops the
    thread. A failed checkpoint is ignored: the next one (or SQLite's backstop) retries.
    """

    def __init__(self, path: Path, *, every_commits: int = 200, busy_timeout: float = 1.0):
        self.path = path
        self.every_commits = every_commits
        self.busy_timeout = busy_timeout
        self.checkpoints = 0  # completed runs, for tests and stats
        self._commits = 0
        self._wake = threading.Event()
        self._busy = threading.Lock()  # held while inside SQLite
        self._stopped = False
        self._thread = threading.Thread(
            target=self._run, name=f"bitmapist-wal-copier {path.name}", daemon=True
        )
        self._thread.start()
        _live.add(self)

    def committed(self) -> None:
        """Count one commit; wake the thread every `every_commits`."""
        self._commits += 1
        if self._commits >= self.every_commits:
            self._commits = 0
            self._wake.set()

    def _run(self) -> None:
        conn = None
        try:
            with self._busy:
                conn = sqlite3.connect(
                    self.path, timeout=self.busy_timeout, isolation_level=None,
                    check_same_thread=False,
                )
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopped:
                    return
                with self._busy, contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
        except sqlite3.Error:
            return  # cannot open: SQLite's automatic checkpoint still bounds the WAL
        finally:
            if conn is not None:
                with self._busy:
                    conn.close()

    def close(self) -> None:
        """Stop the thread (waits for a checkpoint in progress, at most a few seconds)."""
        self._stopped = True
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
