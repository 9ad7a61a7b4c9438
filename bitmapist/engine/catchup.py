"""`CatchUp`: learning of other processes' writes, and handing ours over through the log.

Several processes share one store: their engines meet in the SQLite file and in its fast
log (`fastlog`). This part owns the engine's view of the log (the `FastLog`, and the
generation and end it has read up to) and keeps the rules that make them agree:

- **Every SQLite write bumps the log's generation before it changes anything**
  (`begin_file_write`, under the log's exclusive lock, after draining the log into
  SQLite), and again when it ends. So a generation this process has not seen is the only
  sign that SQLite may have changed, and a process killed in the middle of an SQLite write
  still leaves it behind.
- Hence `sync` (run before every read and write) makes no SQLite query when the log's
  header still reads the (generation, end) it saw last: reading 16 bytes of a shared map
  is the whole cost of a read that finds nothing new. When only `end` moved, the new log
  rows are applied; when the generation moved, SQLite is asked (`data_version`) and its
  new journal rows are applied.
- A throwaway in-memory store has one connection and no other process: nothing to catch
  up. A read-only engine opened before any writer made the log reads `data_version`
  until the log exists.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from ..errors import StoreError
from . import format as fmt
from .bitmaps import Bitmaps
from .fastlog import HEADER_SIZE, MAGIC, FastLog, log_path
from .journal import Journal
from .keyspace import Entry, KeyIndex

logger = logging.getLogger("bitmapist.engine")


class CatchUp:
    """Keeps one engine's index, cached bits and journal counters current with the file
    and the log (see the module docstring)."""

    def __init__(
        self,
        journal: Journal,
        index: KeyIndex,
        bitmaps: Bitmaps,
        log: FastLog | None,
        *,
        readonly: bool,
        busy_timeout: float,
    ):
        self.journal = journal
        self.index = index
        self.bitmaps = bitmaps
        self.log = log
        self.readonly = readonly
        self.busy_timeout = busy_timeout
        self.log_gen, self.log_end = 0, HEADER_SIZE  # how far this process has read the log
        self.reloads = 0  # bumped by every `reload`: state derived from the index is stale

    # --- rebuilding and catching up

    def reload(self) -> None:
        """Rebuild the key index from the file and the log; no bitmap is loaded."""
        with self.log_locked(exclusive=False):
            self.reloads += 1
            self.index.reset(*self.journal.read_index())
            self.bitmaps.cache.clear()
            if self.log is not None:
                self.apply_log(HEADER_SIZE)

    def sync(self) -> None:
        """Catch up with the writes of other processes (cheap when there are none)."""
        log = self.log
        if log is None:
            if self.journal.path is None:
                return  # a private in-memory database: nobody else writes it
            if self.readonly:
                log = self._open_log_created_since()
            if log is None:
                self._sync_file()
                return
        # Without the lock, (generation, end) is a hint; equal to ours means nothing
        # happened: an SQLite write bumps the generation first, and it never comes back.
        if log.state() == (self.log_gen, self.log_end):
            return
        with log.locked(exclusive=False):  # no drain can run meanwhile
            generation, end = log.state()
            if generation != self.log_gen:
                # The log was drained into SQLite (or SQLite written): read them there.
                # (The changes kept per key are in SQLite now, maybe under newer ones.)
                self.index.log_changes.clear()
                self._sync_file()
                self.apply_log(HEADER_SIZE)
                return
            if end != self.log_end:
                self.apply_log(self.log_end)

    def _check_header(self, generation: int, end: int) -> None:
        """The generation only grows, and within one generation the end only grows: a
        header that went back was emptied or overwritten behind this process."""
        log = self.log
        assert log is not None
        if (
            generation < self.log_gen
            or (generation == self.log_gen and end < self.log_end)
            or not HEADER_SIZE <= end <= log.capacity
        ):
            raise fmt.CorruptStore(
                f"{log.path} was emptied or overwritten behind this process (generation "
                f"{generation}, end {end}; it had read {self.log_gen}, {self.log_end}): "
                "writes it held may be lost. Stop every process using the store and "
                "restore it from a backup"
            )

    def _open_log_created_since(self) -> FastLog | None:
        """A read-only engine opened before any writer made the log: look again."""
        assert self.journal.path is not None
        path = log_path(self.journal.path)
        if not path.exists():
            return None
        try:
            self.log = FastLog(path, readonly=True, busy_timeout=self.busy_timeout)
        except (OSError, StoreError):
            return None  # being created right now: next time
        self.log_gen, self.log_end = 0, HEADER_SIZE  # unseen: read it all
        return self.log

    def apply_log(self, start: int) -> None:
        """Apply the log's rows from byte `start` that are newer than our state (under the
        log's lock). Their changes are also kept per key, for bits loaded later."""
        log = self.log
        assert log is not None
        journal, index, bitmaps = self.journal, self.index, self.bitmaps
        generation, end = log.state()
        self._check_header(generation, end)
        previous = 0
        for seq, db, key, op, bits in log.rows(start, end):
            if seq <= previous:
                raise self._gap(seq, f"comes after row {previous}")
            previous = seq
            if seq <= journal.seq:
                continue  # drained into SQLite already, and read from there
            if seq != journal.seq + 1:
                raise self._gap(seq, f"but the journal ends at row {journal.seq}")
            journal.seq = seq
            journal.counted(1, len(bits))
            changes = (
                fmt.decode_sets(bits, f"{log.path} row {seq}")
                if op == fmt.OP_SETS
                else [(op, db, key, bits)]
            )
            for change_op, change_db, change_key, data in changes:
                value = change_op == fmt.OP_SET
                offsets = fmt.decode_bits(data, journal.where_key(change_db, change_key))
                index.note_log_change(change_db, change_key, value, data)
                entry = index.dbs[change_db].get(change_key)
                if entry is not None:
                    bitmaps.change(change_db, change_key, entry, value, offsets)
        self.log_gen, self.log_end = generation, end

    def _gap(self, seq: int, what: str) -> fmt.CorruptStore:
        """Log rows continue the journal one by one: a skip or a step back means rows
        were lost (a -wal deleted or truncated, a -log swapped or edited)."""
        log = self.log
        assert log is not None
        return fmt.CorruptStore(
            f"{log.path}: row {seq} {what}: rows of {self.journal.where} or of its log are "
            "missing (a -wal or -log deleted, truncated or replaced, or a power loss that "
            "lost commits), and counts would be wrong. Restore the store from a backup"
        )

    def _sync_file(self) -> None:
        journal = self.journal
        if not journal.changed():
            return
        with journal.read_txn():
            if journal.meta_int("folded_seq") > journal.seq:
                self.reload()  # rows we never saw were folded away: start afresh
                return
            top = journal.top_seq()
            if top < journal.seq:
                raise fmt.CorruptStore(
                    f"{journal.where} ends at journal row {top}, but this process has read "
                    f"row {journal.seq}: commits were lost behind it (its -wal deleted or "
                    "truncated, or the file replaced). Stop every process using the store "
                    "and restore it from a backup"
                )
            touched: dict[tuple[int, bytes], None] = {}
            for seq, db, key, op, bits in journal.rows_after(journal.seq):
                if op in (fmt.OP_FLUSHDB, fmt.OP_FLUSHALL):
                    self.reload()
                    return
                journal.seq = seq
                journal.counted(1, len(bits) if bits else 0)
                if op == fmt.OP_SETS:
                    where = f"{journal.where} journal row {seq}"
                    for change_op, change_db, change_key, data in fmt.decode_sets(bits, where):
                        touched[(change_db, change_key)] = None
                        self._apply_journaled(change_op, change_db, change_key, data)
                    continue
                touched[(db, key)] = None
                if op in fmt.BIT_OPS:
                    self._apply_journaled(op, db, key, bits)
                elif op not in fmt.KNOWN_OPS:
                    raise fmt.CorruptStore(
                        f"{journal.where}: journal row {seq} has an unknown op {op!r}: the "
                        "file was edited or damaged; restore it from a backup"
                    )
                elif op in (fmt.OP_PUT, fmt.OP_DELETE):
                    entry = self.index.dbs[db].get(key)
                    if entry is not None:
                        self.bitmaps.unload(db, key, entry)
            for db, key in touched:
                self._refresh_entry(db, key)

    def _apply_journaled(self, op: int, db: int, key: bytes, data: bytes) -> None:
        """Apply another process's SET/CLEAR change to the key's bits, if loaded."""
        self.index.journaled.add((db, key))
        entry = self.index.dbs[db].get(key)
        if entry is None:
            return
        if entry.bits is not None or entry.packed is not None:
            offsets = fmt.decode_bits(data, self.journal.where_key(db, key))
            self.bitmaps.change(db, key, entry, op == fmt.OP_SET, offsets)

    def _refresh_entry(self, db: int, key: bytes) -> None:
        row = self.journal.key_row(db, key)
        index = self.index
        entry = index.dbs[db].get(key)
        if row is None:
            if entry is not None:
                self.bitmaps.unload(db, key, entry)
                index.remove(db, key)
            index.expiring[db].discard(key)
            return
        if entry is None:
            index.dbs[db][key] = Entry(row[0], row[1])
        else:
            entry.length, entry.expire_at = row
        index.note_expiry(db, key, row[1])

    # --- SQLite writes under the log's exclusive lock

    def log_locked(self, *, exclusive: bool) -> contextlib.AbstractContextManager[bool]:
        if self.log is None:
            return contextlib.nullcontext(False)
        return self.log.locked(exclusive=exclusive)

    def begin_file_write(self) -> bool:
        """Take the log's exclusive lock for an SQLite write: catch up, move the log's rows
        into SQLite (see fastlog), then bump the generation before SQLite changes. False
        when there is nothing to do: no log, or an outer write holds the lock already."""
        log = self.log
        if log is None or self.readonly or log.held_exclusive:
            return False
        log.acquire(exclusive=True)
        try:
            self.sync()
            self._drain()
            self.log_gen, self.log_end = log.reset()
        except BaseException:
            log.release()
            raise
        return True

    def end_file_write(self) -> None:
        """After an SQLite write: bump the log's generation (other processes then read
        SQLite again) and release its lock."""
        log = self.log
        assert log is not None
        try:
            self.log_gen, self.log_end = log.reset()
        finally:
            log.release()

    @contextlib.contextmanager
    def file_write(self) -> Iterator[None]:
        """Hold the log for an SQLite write (`begin_file_write` ... `end_file_write`)."""
        began = self.begin_file_write()
        try:
            yield
        finally:
            if began:
                self.end_file_write()

    def _drain(self) -> None:
        """Move the log's rows into the SQLite journal (same sequence numbers), then empty
        the log. Under its exclusive lock, caught up. Rows already there (a drain that
        died before emptying the log) are skipped."""
        log = self.log
        assert log is not None
        _, end = log.state()
        if end == HEADER_SIZE:
            return
        rows = log.rows(HEADER_SIZE, end)
        journal = self.journal
        try:
            journal.begin()
            top = journal.top_seq()
            journal.insert_rows([row for row in rows if row[0] > top])
            journal.commit()
        except BaseException as exc:
            journal.rollback()
            if isinstance(exc, sqlite3.Error):
                raise journal.error(exc) from exc
            raise
        self.index.log_changes.clear()  # SQLite holds them now: loads read them there
        self.log_gen, self.log_end = log.reset()


def open_log(
    path: Path, journal: Journal, *, readonly: bool, busy_timeout: float
) -> FastLog | None:
    """The store's fast log: created by a writer (and cut at a damaged entry, see
    `FastLog.repair`; checked to be this store's, see `_bind_log`), opened by a reader if
    it exists."""
    name = log_path(path)
    if readonly and not name.exists():
        return None
    _check_not_emptied(name, journal)
    try:
        log = FastLog(name, readonly=readonly, busy_timeout=busy_timeout)
    except OSError as exc:
        raise StoreError(f"cannot open the store's log {name}: {exc}") from exc
    if not readonly:
        try:
            with log.locked(exclusive=True):
                _bind_log(log, journal)
                dropped = log.repair()
        except BaseException:
            log.close()
            raise
        if dropped:
            logger.warning(
                "%s: dropped %d bytes of damaged log entries (a power loss before they "
                "reached the disk?)",
                log.path,
                dropped,
            )
    return log


def _check_not_emptied(name: Path, journal: Journal) -> None:
    """Once the database names a log (`meta.log_id`), that log has a durable header: a log
    file without one was truncated or zeroed behind the store, the rows it held are gone,
    and applying later writes would give wrong counts. Refused before anything touches it.
    (A missing file is a new log: it cannot be told from a store copied without its log
    after a clean close, which loses nothing.)"""
    with journal.errors():
        known = journal.meta_int("log_id")
    if not known:
        return
    try:
        with open(name, "rb") as raw:
            head = raw.read(len(MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"cannot open the store's log {name}: {exc}") from exc
    if not head.strip(b"\0"):  # (other bytes: FastLog says it is not a log)
        raise fmt.CorruptStore(
            f"{name} was emptied (truncated or zeroed) behind the store: the writes it "
            f"held are lost and {journal.where} alone would give wrong counts. Restore the "
            f"store from a backup; to accept the loss and go on, delete {name}"
        )


def _bind_log(log: FastLog, journal: Journal) -> None:
    """Check that the log is the one the database last used (`meta.log_id`), and give a
    new log (or one made before ids) the store's id. Under the log's exclusive lock. The
    log's header is made durable before the database names it, so a power loss cannot
    leave a database naming a log without a header."""
    with journal.errors():
        known = journal.meta_int("log_id")
    _, end = log.state()
    if log.log_id and known and log.log_id != known and end > HEADER_SIZE:
        raise fmt.CorruptStore(
            f"{log.path} is not the log of {journal.where} (log id {log.log_id:#x}, the "
            f"database names {known:#x}): restore the store's files together from a backup"
        )
    if log.log_id == known and known:
        return
    log_id = known or int.from_bytes(os.urandom(8), "little") >> 2 | 1  # 62 bits: SQLite's int
    log.set_log_id(log_id)
    if not known:
        with journal.errors():
            journal.begin()
            try:
                journal.conn.execute(
                    "INSERT OR REPLACE INTO meta (name, value) VALUES ('log_id', ?)",
                    (log_id,),
                )
                journal.commit()
            except BaseException:
                journal.rollback()
                raise
    # (No generation bump: only meta changed, which no process caches; the log's rows stay.)
