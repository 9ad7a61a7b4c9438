"""`Engine`: Redis strings as roaring bitmaps in memory, made durable by an SQLite journal.

See the package docstring for the API, and docs/architecture.md for how a write and a
read travel through it. `Engine` composes parts that each own their state; none touches
another's private attributes:

- `keyspace.KeyIndex`: every key's entry (length, expiry, cached bits), the keys with an
  expiry, the keys whose checkpointed bitmap is behind;
- `cache.BitmapCache` and `bitmaps.Bitmaps`: the loaded bitmaps (hot and packed), and how
  a key's bits are loaded from the file and the log;
- `journal.Journal`: the SQLite connection, its transactions and rows, and the one
  translation of SQLite errors into `StoreError`;
- `catchup.CatchUp`: the fast log and what this process has read of it and of SQLite
  (other processes' writes), and the log-lock discipline around every SQLite write;
- `checkpoint.Checkpointer`: folding the journal into checkpointed bitmaps, a step at a
  time;
- a write path (`writes.WritePath`: `LogAppend`, `FullWrite`, `GuardedInsert` or
  `group.GroupCommit`), chosen when the store opens.

`Engine` itself holds the lock that serializes threads, the open/closed/forked state, and
the public methods.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, StoreError
from . import forks
from . import format as fmt
from .bitmaps import Bitmaps
from .cache import BitmapCache
from .catchup import CatchUp, open_log
from .checkpoint import Checkpointer
from .fastlog import HEADER_SIZE, FastLog
from .group import GroupCommit
from .journal import Journal
from .keyspace import DATABASES, MAX_OFFSET, KeyIndex, now_ms
from .ops import Delete, WriteOp
from .value import Value
from .view import View
from .writes import FullWrite, GuardedInsert, LogAppend, Parts, WritePath

__all__ = ["DATABASES", "MAX_OFFSET", "Engine", "View", "now_ms"]


class Engine:
    """Redis strings (as roaring bitmaps) in 16 databases, durable in one SQLite file.

    `path` None keeps everything in memory (a throwaway engine). `durability` "normal"
    makes a returned write survive the death of the process (kill -9); "full" also
    fsyncs each commit (survives power loss, slower). `readonly` opens the file for
    reading only. `max_bytes` caps the database file (writes beyond fail cleanly).
    `cache_bytes` is the memory for cached bitmaps, of which up to `hot_bytes` hold the
    most recently used decoded (counted as CRoaring allocates them: up to ~7x their
    serialized size when sparse, see `cache.decoded_bytes`); colder ones stay packed
    (counted as their bytes) until `cache_bytes` is full.

    `group_commit_ms` (optional, off by default) trades durability for speed: writes
    return once applied in memory and are committed together at most that many ms later
    (or at `flush()`, `checkpoint()`, `close()`). A crash loses at most the writes of the
    last window; while a window is open other processes wait for the write lock. A failed
    group commit is raised by the next write.

    `vacuum` (on by default) lets each checkpoint end by giving free pages back to the
    file system when more than 1/8 of the file is free (files created with
    auto_vacuum=INCREMENTAL, see docs/storage.md); off, the file keeps its size and
    reuses its free pages.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        cache_bytes: int = 512 << 20,
        hot_bytes: int = 64 << 20,
        checkpoint_rows: int = 50_000,
        checkpoint_bytes: int = 64 << 20,
        durability: str = "normal",
        readonly: bool = False,
        max_bytes: int | None = None,
        busy_timeout: float = 60.0,
        group_commit_ms: float | None = None,
        vacuum: bool = True,
    ):
        if durability not in ("normal", "full"):
            raise InvalidInput(f"durability {durability!r} must be 'normal' or 'full'")
        if group_commit_ms is not None and not 0 < group_commit_ms <= 10_000:
            raise InvalidInput(
                f"group_commit_ms {group_commit_ms!r} must be in (0, 10000] milliseconds"
            )
        self.group_commit_ms = group_commit_ms
        self.path: Path | None = None if path is None else Path(path).expanduser().absolute()
        self.readonly = readonly
        self._settings = {
            "durability": durability,
            "busy_timeout": busy_timeout,
            "max_bytes": max_bytes,
            "vacuum": vacuum,
        }
        self._limits = (checkpoint_rows, checkpoint_bytes)
        self._cache = BitmapCache(cache_bytes, hot_bytes)
        self._lock = threading.RLock()
        # Threads queued for the lock (list append/pop are atomic under the GIL, `+= 1`
        # is not): a long checkpoint lets them go first.
        self._waiting: list[None] = []
        self._closed = False
        self._abandoned: list[Any] = []  # a parent's parts, inherited across fork: untouched
        self._open()

    # --- opening (and reopening in a forked child)

    def _open(self) -> None:
        settings = self._settings
        busy_timeout = settings["busy_timeout"]
        journal = Journal(
            self.path,
            readonly=self.readonly,
            busy_timeout=busy_timeout,
            durability=settings["durability"],
            max_bytes=settings["max_bytes"],
        )
        log: FastLog | None = None
        try:
            if self.path is not None:
                log = open_log(
                    self.path, journal, readonly=self.readonly, busy_timeout=busy_timeout
                )
            index = KeyIndex()
            bitmaps = Bitmaps(journal, index, self._cache)
            catchup = CatchUp(
                journal, index, bitmaps, log, readonly=self.readonly, busy_timeout=busy_timeout
            )
            catchup.reload()
        except BaseException as exc:
            journal.close()  # a store that cannot be read must not stay half-open
            if log is not None:
                log.close()
            if isinstance(exc, sqlite3.Error):
                raise journal.error(exc) from exc
            raise
        self._generation = forks.generation
        self._journal, self._index, self._bitmaps, self._catchup = journal, index, bitmaps, catchup
        self._checkpointer = Checkpointer(
            journal,
            index,
            bitmaps,
            catchup,
            self._recover,
            rows_limit=self._limits[0],
            bytes_limit=self._limits[1],
            vacuum=self._settings["vacuum"],
        )
        self._writer = self._write_path(
            Parts(journal, index, bitmaps, catchup, self._checkpointer, self._recover)
        )

    def _write_path(self, parts: Parts) -> WritePath:
        """The write path for this store (see `writes`)."""
        full = FullWrite(parts)
        if self.group_commit_ms is not None:
            return GroupCommit(parts, self.group_commit_ms, self._lock, self._usable)
        if self.path is None:
            return GuardedInsert(parts, full)
        if (
            self._settings["durability"] == "normal"
            and not self.readonly
            and parts.catchup.log is not None
            and os.access(self.path, os.W_OK)  # else writes must fail as SQLite's do
        ):
            return LogAppend(parts, full)
        return full  # fsync per commit, or a file that cannot be written

    def _usable(self) -> bool:
        return not self._closed and self._generation == forks.generation

    def _sync(self) -> None:
        """Catch up with commits of other processes (cheap when there are none)."""
        if self._closed:
            raise StoreError("the store is closed")
        if self._generation != forks.generation:
            # A forked child must not use its parent's SQLite connection or log.
            self._abandoned.append((self._journal, self._catchup.log))
            self._open()
            return
        self._catchup.sync()

    def _recover(self) -> None:
        """After a failed batch: roll back and make memory match the file again."""
        self._journal.rollback()
        try:
            self._catchup.reload()
        except sqlite3.Error:
            # Cannot even read the file: refuse further use rather than serve stale data.
            self._closed = True

    @property
    def write_path(self) -> str:
        """Which write path this engine uses: "log", "full", "guarded insert" or
        "group commit" (see `bitmapist.engine.writes`)."""
        return self._writer.name

    # --- reads

    def view(self) -> contextlib.AbstractContextManager[View]:
        """Hold the engine for several reads that must agree (one consistent state).

        Values returned by the view share the engine's bitmaps: read them, never modify.
        """
        return _Reading(self)

    def get(self, key: bytes, db: int = 0) -> Value | None:
        """GET: the key's value (a copy), or None when it does not exist."""
        with self.view() as view:
            value = view.value(key, db)
            return None if value is None else value.copy()

    def getbit(self, key: bytes, offset: int, db: int = 0) -> int:
        """GETBIT: 1 or 0 (0 for a missing key or an offset past the end)."""
        with self.view() as view:
            bits = view.bits(key, db)  # (a packed key is not decoded)
            return 1 if bits is not None and offset in bits else 0

    def bitcount(self, key: bytes, db: int = 0) -> int:
        """BITCOUNT of the whole string."""
        with self.view() as view:
            return view.count(key, db)

    def strlen(self, key: bytes, db: int = 0) -> int:
        """STRLEN: the length in bytes (0 when missing)."""
        with self.view() as view:
            return view.strlen(key, db)

    def exists(self, key: bytes, db: int = 0) -> bool:
        """Whether the key exists (and has not expired)."""
        with self.view() as view:
            return view.exists(key, db)

    def type(self, key: bytes, db: int = 0) -> str:
        """TYPE: "string" or "none"."""
        return "string" if self.exists(key, db) else "none"

    def keys(self, pattern: bytes = b"*", db: int = 0) -> list[bytes]:
        """KEYS: the live keys matching a Redis glob pattern, in no particular order."""
        with self.view() as view:
            return view.keys(pattern, db)

    def dbsize(self, db: int = 0) -> int:
        """DBSIZE: how many live keys the db holds."""
        with self.view() as view:
            return view.dbsize(db)

    def expiry(self, key: bytes, db: int = 0) -> int:
        """PEXPIRETIME: the expiry in ms since the epoch; -1 for none; -2 when missing."""
        with self.view() as view:
            return view.expiry(key, db)

    # --- writes

    def write(self, ops: Sequence[WriteOp]) -> list[Any]:
        """Apply `ops` in order as one atomic batch, committed to disk before returning.

        Returns one result per op (see `bitmapist.engine.ops`). On any error nothing is
        written and the exception (`StoreError` for storage failures, `InvalidInput`
        for bad ops) reaches the caller.
        """
        self._waiting.append(None)
        with self._lock:
            self._waiting.pop()
            if self._closed:
                raise StoreError("the store is closed")
            if self._generation != forks.generation:
                self._sync()
            return self._writer.write(ops)

    def flush(self) -> None:
        """Commit writes waiting for their group commit now (no-op without group commit)."""
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            self._writer.flush()

    def sweep_expired(self) -> int:
        """Delete every expired key now (reads already ignore them); returns how many."""
        with self._lock:
            self._sync()
            now = now_ms()
            dbs = self._index.dbs
            doomed = [
                Delete(key, db)
                for db, keys in enumerate(self._index.expiring)
                for key in keys
                if (at := dbs[db][key].expire_at) is not None and at < now
            ]
            if doomed:
                self.write(doomed)
            return len(doomed)

    # --- checkpoints and whole-file operations

    def checkpoint(self) -> None:
        """Fold the whole journal into checkpointed bitmaps, in small transactions."""
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            if self.readonly:
                return
            self._writer.flush()
            checkpointer = self._checkpointer
            checkpointer.restart()  # start afresh so that everything written so far folds
            checkpointer.running += 1
        try:
            while True:
                with self._lock:  # released between steps so that writers get their turn
                    if checkpointer.step():
                        self._give_wal_back()
                        return
                for _ in range(100):  # the lock is not fair: wait until queued threads had it
                    if not self._waiting:
                        break
                    time.sleep(0.0001)
        finally:
            with self._lock:
                checkpointer.running -= 1

    def _give_wal_back(self) -> None:
        """After a whole checkpoint (with `vacuum`): copy the WAL into the file and
        truncate it, so the disk holds the data, not up to 16 MB of WAL. Skipped, without
        waiting, while another process reads the file."""
        if self.path is None or not self._settings["vacuum"]:
            return
        conn = self._journal.conn
        with self._catchup.file_write(), self._journal.errors():
            timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
            conn.execute("PRAGMA busy_timeout = 0")
            try:
                with contextlib.suppress(sqlite3.OperationalError):
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                conn.execute(f"PRAGMA busy_timeout = {timeout}")

    def compact(self) -> None:
        """Checkpoint, then give free pages back to the file system and shrink the WAL.

        Unlike `checkpoint`, this holds the write lock for the whole vacuum: run it when
        the store is quiet (the freed pages are reused by later writes anyway).
        """
        self.checkpoint()
        with self._lock, self._catchup.file_write(), self._journal.errors():
            conn = self._journal.conn
            if self._journal.incremental_vacuum:
                # Python's sqlite3 steps this pragma once: it frees one page per call
                while conn.execute("PRAGMA freelist_count").fetchone()[0]:
                    conn.execute("PRAGMA incremental_vacuum")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def backup(self, path: str | os.PathLike[str]) -> None:
        """Write a consistent copy of the store to `path` (replaced atomically)."""
        target = Path(path).expanduser().absolute()
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        with self._lock, self._catchup.file_write():  # (moves the log's rows into the copy too)
            self._writer.flush()
            self._sync()
            try:
                with self._journal.errors():
                    copy = sqlite3.connect(temp)
                    try:
                        self._journal.conn.backup(copy)
                    finally:
                        copy.close()
                os.replace(temp, target)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()

    def stats(self) -> dict[str, Any]:
        """Counters for humans and tests: keys, loaded bitmaps, cache and journal sizes."""
        with self._lock:
            self._sync()
            log = self._catchup.log
            return {
                "keys": self._index.key_count(),
                "loaded_bitmaps": len(self._cache),
                "packed_bitmaps": self._cache.packed_count,
                "cached_bytes": self._cache.measured_hot_bytes() + self._cache.packed_used,
                "hot_bytes": self._cache.hot_used,
                "packed_decodes": self._cache.decodes,
                "journal_rows": self._journal.rows,
                "journal_bytes": self._journal.nbytes,
                "log_bytes": log.state()[1] - HEADER_SIZE if log else 0,
                "file_bytes": fmt.file_bytes(self.path),
                "path": str(self.path) if self.path else None,
            }

    # --- memory

    @property
    def loaded_bitmaps(self) -> int:
        """How many bitmaps are in memory right now (decoded or packed)."""
        return len(self._cache)

    def memory_bytes(self) -> int:
        """Bytes the cached bitmaps take serialized, measured (packed ones take that;
        decoded sparse ones up to ~2x that)."""
        with self._lock:
            return self._cache.serialized_bytes()

    @property
    def cache_bytes(self) -> int:
        """Memory for cached bitmaps, hot and packed (see the class docstring)."""
        return self._cache.total_bytes

    @cache_bytes.setter
    def cache_bytes(self, value: int) -> None:
        self._cache.total_bytes = value

    @property
    def hot_bytes(self) -> int:
        """Of `cache_bytes`, the memory for bitmaps kept decoded."""
        return self._cache.hot_bytes

    @hot_bytes.setter
    def hot_bytes(self, value: int) -> None:
        self._cache.hot_bytes = value

    @property
    def checkpoint_rows(self) -> int:
        """Journal rows past which each write also takes a step of checkpoint work."""
        return self._checkpointer.rows_limit

    @checkpoint_rows.setter
    def checkpoint_rows(self, value: int) -> None:
        self._checkpointer.rows_limit = value
        self._limits = (value, self._limits[1])

    @property
    def checkpoint_bytes(self) -> int:
        """Journal bytes past which each write also takes a step of checkpoint work."""
        return self._checkpointer.bytes_limit

    @checkpoint_bytes.setter
    def checkpoint_bytes(self, value: int) -> None:
        self._checkpointer.bytes_limit = value
        self._limits = (self._limits[0], value)

    # --- closing

    def close(self) -> None:
        """Close the file. Further use raises `StoreError`."""
        with self._lock:
            if self._closed:
                return
            if self._generation == forks.generation:
                try:
                    self._writer.flush()
                    # Leave the database complete on its own (the log would do too).
                    with (
                        contextlib.suppress(StoreError, sqlite3.Error),
                        self._catchup.file_write(),
                    ):
                        pass
                finally:
                    self._closed = True
                    self._journal.close()
                    if self._catchup.log is not None:
                        self._catchup.log.close()
            self._closed = True

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Engine({str(self.path) if self.path else None!r})"

    # --- for tests that play a killed process or watch the internals

    @property
    def _log(self) -> FastLog | None:
        return self._catchup.log

    @property
    def _conn(self) -> sqlite3.Connection:
        return self._journal.conn

    @property
    def _checkpoint(self) -> object | None:
        return self._checkpointer.progress

    def _evict(self) -> None:
        self._bitmaps.evict()


class _Reading:
    """`Engine.view()`: the lock held, caught up, for the reads of one `View`. (A class,
    not a generator context manager: every read passes here, and this costs less.)"""

    __slots__ = ("_engine",)

    def __init__(self, engine: Engine):
        self._engine = engine

    def __enter__(self) -> View:
        engine = self._engine
        engine._waiting.append(None)
        engine._lock.acquire()
        engine._waiting.pop()
        try:
            engine._sync()
        except BaseException as exc:
            engine._lock.release()
            if isinstance(exc, sqlite3.Error):
                raise engine._journal.error(exc) from exc
            raise
        return View(engine._index, engine._bitmaps)

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        engine = self._engine
        try:
            engine._bitmaps.evict()
        finally:
            engine._lock.release()
        if isinstance(exc, sqlite3.Error):
            raise engine._journal.error(exc) from exc
