"""`Engine`: Redis strings as roaring bitmaps in memory, made durable by an SQLite journal.

See the package docstring for the API. How it works:

- Every key's metadata (length, expiry) is indexed in memory; bitmaps are loaded on
  demand into `cache.BitmapCache`: decoded while hot (`hot_bytes`), packed (serialized)
  when colder, dropped least-recently-used once `cache_bytes` is exceeded. BITCOUNT of
  a cold key reads its stored bitmap packed, without decoding it.
- A write batch runs inside `BEGIN IMMEDIATE`: it first catches up with other processes,
  applies each op to memory (`batch.Batch`), appends one journal row per op (a serialized
  roaring bitmap of the offsets for SETBIT) and updates `keys`, then commits. If anything
  fails the transaction is rolled back and the in-memory state is rebuilt from the file.
- The common batch (SETBITs on existing keys, within their length) is one journal row
  appended to the fast log (`fastlog`, ~2 us instead of a ~13 us SQLite commit); every
  SQLite write first moves the log's rows into the journal. Without a file (memory
  engines) it is one INSERT that checks by itself that nobody else wrote meanwhile.
- Optional group commit keeps one write transaction open for `group_commit_ms` and
  commits every batch of the window together.
- Other processes' writes are noticed through the fast log's header (rows appended
  since, or a new generation: SQLite changed) and `PRAGMA data_version`; the engine then
  reads the rows it has not seen, applies them to loaded bitmaps and refreshes the
  touched keys. If a checkpoint removed rows it never saw, it rebuilds its index.
- Checkpoints fold journal rows into `bitmaps` a few keys per transaction, then delete the
  folded rows in chunks; writers run between the steps. Automatic checkpoints take one
  step after each write once the journal is over `checkpoint_rows` / `checkpoint_bytes`
  (not while `checkpoint()` is taking them).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from pyroaring import BitMap

from ..errors import InvalidInput, StoreError
from . import forks
from . import format as fmt
from .batch import Batch
from .cache import ENTRY_OVERHEAD, BitmapCache
from .fastlog import HEADER_SIZE, FastLog, log_path
from .keyspace import DATABASES, MAX_OFFSET, Entry, now_ms
from .ops import Delete, SetBits, WriteOp
from .value import Value
from .view import View

__all__ = ["DATABASES", "MAX_OFFSET", "Engine", "View", "now_ms"]
logger = logging.getLogger("bitmapist.engine")
# One checkpoint step folds keys until either budget is spent (a few ms of work).
_FOLD_KEYS_PER_STEP = 512
_FOLD_BYTES_PER_STEP = 256 << 10
_DELETE_ROWS_PER_STEP = 500
_DELETE_BYTES_PER_STEP = 64 << 10


class _Checkpoint:
    """A checkpoint in progress: fold `pending` keys, then delete rows up to `horizon`."""

    __slots__ = ("horizon", "pending")

    def __init__(self, horizon: int, pending: list[tuple[int, bytes]]):
        self.horizon = horizon
        self.pending = pending


# A server's turn of SETBITs over many keys is one write: up to this many ops, it is one
# journal row (redis-benchmark over 100-10,000 keys: +20-30% against a limit of 32, when
# the full path wrote a row per op). A row too big for the log's free space drains it.
_FAST_MAX_OPS = 4096
# SQLite copies the WAL back into the database (and fsyncs both) inside the commit that
# crosses this many pages: every 4,000 instead of SQLite's 1,000 spreads those fsyncs over
# 4x more writes (mark_event -4 us on average; each such commit takes ~15 ms, not ~5).
# A background thread doing it instead measured worse: it contends for SQLite's locks.
_WAL_CHECKPOINT_PAGES = 4000


def _change_bits(bits: BitMap, value: bool, offsets: BitMap | int) -> None:
    """Set (`value`) or clear `offsets` (a bitmap or one offset) in `bits`."""
    if type(offsets) is int:
        if value:
            bits.add(offsets)
        else:
            bits.discard(offsets)
    elif value:
        bits |= offsets
    else:
        bits -= offsets


class _FastPlan(NamedTuple):
    row: tuple[int, int, bytes | None, int, bytes]  # the batch's one journal row
    changes: list[tuple[Entry, Any, bool, int, bytes]]  # offsets: a BitMap or one int


_ONE_OFFSET = struct.Struct("<IIHHIH")


def _one_offset(offset: int) -> bytes:
    """`BitMap([offset]).serialize()`, 4x faster: the portable format of one array
    container holding one value (cookie 12346, 1 container, its key and cardinality - 1,
    its byte offset 16, the value's low 16 bits)."""
    return _ONE_OFFSET.pack(12346, 1, offset >> 16, 0, 16, offset & 0xFFFF)


# Insert one journal row only if the journal still ends at sequence ?6. Checkpoints never
# delete the newest row, so the last sequence number only grows: if it is still the one
# this process saw last, nobody else wrote (and nothing it missed was folded away).
_FAST_INSERT = (
    "INSERT INTO journal (seq, db, key, op, bits) SELECT ?1, ?2, ?3, ?4, ?5 "
    "WHERE (SELECT max(seq) FROM journal) = ?6"
)


class Engine:
    """Redis strings (as roaring bitmaps) in 16 databases, durable in one SQLite file.

    `path` None keeps everything in memory (a throwaway engine). `durability` "normal"
    makes a returned write survive the death of the process (kill -9); "full" also
    fsyncs each commit (survives power loss, slower). `readonly` opens the file for
    reading only. `max_bytes` caps the database file (writes beyond fail cleanly).
    `cache_bytes` is the memory for cached bitmaps (counted as their serialized size),
    of which up to `hot_bytes` hold the most recently used decoded; colder ones stay
    packed (about half the memory for sparse bitmaps) until `cache_bytes` is full.

    `group_commit_ms` (optional, off by default) trades durability for speed: writes
    return once applied in memory and are committed together at most that many ms later
    (or at `flush()`, `checkpoint()`, `close()`). A crash loses at most the writes of the
    last window; while a window is open other processes wait for the write lock. A failed
    group commit is raised by the next write.
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
    ):
        if durability not in ("normal", "full"):
            raise InvalidInput(f"durability {durability!r} must be 'normal' or 'full'")
        if group_commit_ms is not None and not 0 < group_commit_ms <= 10_000:
            raise InvalidInput(
                f"group_commit_ms {group_commit_ms!r} must be in (0, 10000] milliseconds"
            )
        self.group_commit_ms = group_commit_ms
        self._group_timer: threading.Timer | None = None
        self._group_error: BaseException | None = None
        self.path: Path | None = None if path is None else Path(path).expanduser().absolute()
        self.readonly = readonly
        self._cache = BitmapCache(cache_bytes, hot_bytes)
        self.checkpoint_rows = checkpoint_rows
        self.checkpoint_bytes = checkpoint_bytes
        self._durability = durability
        self._busy_timeout = busy_timeout
        self._max_bytes = max_bytes
        self._lock = threading.RLock()
        # Threads queued for the lock (list append/pop are atomic under the GIL, `+= 1`
        # is not): a long checkpoint lets them go first.
        self._waiting: list[None] = []
        self._closed = False
        self._abandoned: list[Any] = []  # inherited across fork: never touched
        self._log: FastLog | None = None
        # The fast path appends to the log; with fsync per commit (durability "full") or
        # group commit, writes go to SQLite (still draining the log first: see fastlog).
        self._log_appends = durability == "normal" and group_commit_ms is None and not readonly
        self._group_began = False  # a group window holds the log's exclusive lock
        self._checkpoint_running = 0  # threads inside checkpoint()
        self._connect()

    # --- opening, reloading, catching up with other processes

    def _connect(self) -> None:
        self._conn = fmt.connect(
            self.path,
            readonly=self.readonly,
            busy_timeout=self._busy_timeout,
            durability=self._durability,
        )
        self._generation = forks.generation
        self._cursor = self._conn.cursor()  # reused by the fast path (saves making one)
        try:
            if self.path is not None:
                if self._log is not None:
                    self._abandoned.append(self._log)  # a parent's, after fork()
                self._log = None
                path = log_path(self.path)
                if not self.readonly or path.exists():
                    try:
                        self._log = FastLog(
                            path, readonly=self.readonly, busy_timeout=self._busy_timeout
                        )
                    except OSError as exc:
                        raise StoreError(f"cannot open the store's log {path}: {exc}") from exc
                if not os.access(self.path, os.W_OK):
                    self._log_appends = False  # writes must fail as SQLite's do
                if self._log is not None and not self.readonly:
                    with self._log.locked(exclusive=True):
                        dropped = self._log.repair()
                    if dropped:
                        logger.warning(
                            "%s: dropped %d bytes of damaged log entries (a power loss "
                            "before they reached the disk?)",
                            self._log.path,
                            dropped,
                        )
            # Files made by this version free pages incrementally (auto_vacuum=INCREMENTAL).
            vacuum_mode = self._conn.execute("PRAGMA auto_vacuum").fetchone()[0]
            self._incremental_vacuum = vacuum_mode == 2
            if self._max_bytes is not None:
                page_size = self._conn.execute("PRAGMA page_size").fetchone()[0]
                pages = max(1, self._max_bytes // page_size)
                self._conn.execute(f"PRAGMA max_page_count = {pages}")
            self._reload()
            if self.path is not None and not self.readonly:
                self._conn.execute(f"PRAGMA wal_autocheckpoint = {_WAL_CHECKPOINT_PAGES}")
        except BaseException as exc:
            self._conn.close()  # a store that cannot be read must not stay half-open
            if self._log is not None:
                self._log.close()
                self._log = None
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc) from exc
            raise

    def _reload(self) -> None:
        """Rebuild the key index from the file; no bitmap is loaded."""
        with self._log_locked(exclusive=False):
            self._reload_file()
            self._log_changes: dict[tuple[int, bytes], list[tuple[bool, Any]]] = {}
            if self._log is not None:
                self._apply_log(HEADER_SIZE)

    def _log_locked(self, *, exclusive: bool) -> contextlib.AbstractContextManager[bool]:
        if self._log is None:
            return contextlib.nullcontext(False)
        return self._log.locked(exclusive=exclusive)

    def _reload_file(self) -> None:
        self._data_version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        with self._read_txn():
            dbs: list[dict[bytes, Entry]] = [{} for _ in range(DATABASES)]
            expiring: list[set[bytes]] = [set() for _ in range(DATABASES)]
            for db, key, length, expire_at in self._conn.execute(
                "SELECT db, key, length, expire_at FROM keys"
            ):
                if not 0 <= db < DATABASES:
                    raise fmt.CorruptStore(f"{self.path}: key {key!r} in db {db}")
                dbs[db][key] = Entry(length, expire_at)
                if expire_at is not None:
                    expiring[db].add(key)
            folded = self._meta_int("folded_seq")
            max_seq, rows, nbytes = self._conn.execute(
                "SELECT max(seq), count(*), total(length(bits)) FROM journal"
            ).fetchone()
            journaled = set(
                self._conn.execute(
                    "SELECT DISTINCT db, key FROM journal WHERE op IN (?, ?)", fmt.BIT_OPS
                )
            )
            for seq, blob in self._conn.execute(
                "SELECT seq, bits FROM journal WHERE op = ?", (fmt.OP_SETS,)
            ):
                where = f"{self.path or ':memory:'} journal row {seq}"
                journaled.update((db, key) for _, db, key, _ in fmt.decode_sets(blob, where))
        self._dbs = dbs
        self._expiring = expiring
        # Keys that may have journal rows newer than their checkpointed bitmap: only these
        # need the journal read when loaded.
        self._journaled: set[tuple[int, bytes]] = journaled
        self._cache.clear()
        self._seq = max(folded, max_seq or 0)
        self._journal_rows = rows
        self._journal_bytes = int(nbytes)
        self._checkpoint: _Checkpoint | None = None
        self._group_rows: list[tuple[int, int, bytes, int, bytes]] = []  # queued, group mode

    def _meta_int(self, name: str) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    @contextlib.contextmanager
    def _read_txn(self) -> Iterator[None]:
        """One consistent snapshot for several SELECTs (a no-op inside a transaction)."""
        if self._conn.in_transaction:
            yield
            return
        self._conn.execute("BEGIN")
        try:
            yield
        finally:
            self._conn.execute("COMMIT")

    def _sync(self) -> None:
        """Catch up with commits of other connections (cheap when there are none)."""
        if self._closed:
            raise StoreError("the store is closed")
        if self._generation != forks.generation:
            # A forked child must not use its parent's SQLite connection.
            self._abandoned.append(self._conn)
            self._connect()
            return
        log = self._log
        if log is None and self.readonly and self.path is not None:
            log = self._open_log_created_since()
        if log is None:
            self._sync_file()
            return
        # Without the lock, (generation, end) is a hint; equal to ours, with no SQLite
        # commit either, means nothing happened (a generation never comes back).
        if log.state() == (self._log_gen, self._log_end) and (
            self._conn.execute("PRAGMA data_version").fetchone()[0] == self._data_version
        ):
            return
        with log.locked(exclusive=False):  # no drain can run meanwhile
            generation, end = log.state()
            if generation != self._log_gen:
                # The log was drained into SQLite (and SQLite written): read them there.
                # (The changes kept per key are in SQLite now, maybe under newer ones.)
                self._log_changes.clear()
                self._sync_file()
                self._apply_log(HEADER_SIZE)
                return
            self._sync_file()
            if end != self._log_end:
                self._apply_log(self._log_end)

    def _open_log_created_since(self) -> FastLog | None:
        """A read-only engine opened before any writer made the log: look again."""
        path = log_path(self.path)
        if not path.exists():
            return None
        try:
            self._log = FastLog(path, readonly=True, busy_timeout=self._busy_timeout)
        except (OSError, StoreError):
            return None  # being created right now: next time
        self._log_gen, self._log_end = 0, HEADER_SIZE  # unseen: read it all
        return self._log

    def _apply_log(self, start: int) -> None:
        """Apply the log's rows from byte `start` that are newer than our state (under the
        log's lock). Their changes are also kept per key, for bits loaded later."""
        assert self._log is not None
        generation, end = self._log.state()
        for seq, db, key, op, bits in self._log.rows(start, end):
            if seq <= self._seq:
                continue  # drained into SQLite already, and read from there
            self._seq = seq
            self._journal_rows += 1
            self._journal_bytes += len(bits)
            changes = (
                fmt.decode_sets(bits, f"{self._log.path} row {seq}")
                if op == fmt.OP_SETS
                else [(op, db, key, bits)]
            )
            for change_op, change_db, change_key, data in changes:
                value = change_op == fmt.OP_SET
                offsets = fmt.decode_bits(data, self._where(change_db, change_key))
                self._note_log_change(change_db, change_key, value, offsets)
                entry = self._dbs[change_db].get(change_key)
                if entry is None:
                    continue
                if entry.bits is not None:
                    _change_bits(entry.bits, value, offsets)
                elif entry.packed is not None:
                    self._cache.drop((change_db, change_key), entry)  # reloaded with it
        self._log_gen, self._log_end = generation, end

    def _note_log_change(self, db: int, key: bytes, value: bool, offsets: Any) -> None:
        self._journaled.add((db, key))
        self._log_changes.setdefault((db, key), []).append((value, offsets))

    def _sync_file(self) -> None:
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if version == self._data_version:
            return
        self._data_version = version
        with self._read_txn():
            if self._meta_int("folded_seq") > self._seq:
                self._reload()  # rows we never saw were folded away: start afresh
                return
            touched: dict[tuple[int, bytes], None] = {}
            for seq, db, key, op, bits in self._conn.execute(
                "SELECT seq, db, key, op, bits FROM journal WHERE seq > ? ORDER BY seq",
                (self._seq,),
            ).fetchall():
                if op in (fmt.OP_FLUSHDB, fmt.OP_FLUSHALL):
                    self._reload()
                    return
                self._seq = seq
                self._journal_rows += 1
                self._journal_bytes += len(bits) if bits else 0
                if op == fmt.OP_SETS:
                    where = f"{self.path or ':memory:'} journal row {seq}"
                    for op, db, key, data in fmt.decode_sets(bits, where):
                        touched[(db, key)] = None
                        self._apply_journaled(op, db, key, data)
                    continue
                touched[(db, key)] = None
                if op in fmt.BIT_OPS:
                    self._apply_journaled(op, db, key, bits)
                elif op in (fmt.OP_PUT, fmt.OP_DELETE):
                    entry = self._dbs[db].get(key)
                    if entry is not None:
                        self._unload(db, key, entry)
            for db, key in touched:
                self._refresh_entry(db, key)

    def _apply_journaled(self, op: int, db: int, key: bytes, data: bytes) -> None:
        """Apply another process's SET/CLEAR change to the key's bits, if loaded."""
        self._journaled.add((db, key))
        entry = self._dbs[db].get(key)
        if entry is None:
            return
        if entry.bits is not None:
            offsets = fmt.decode_bits(data, self._where(db, key))
            _change_bits(entry.bits, op == fmt.OP_SET, offsets)
        elif entry.packed is not None:
            self._cache.drop((db, key), entry)  # the next use reloads it, change included

    def _refresh_entry(self, db: int, key: bytes) -> None:
        row = self._conn.execute(
            "SELECT length, expire_at FROM keys WHERE db = ? AND key = ?", (db, key)
        ).fetchone()
        keys = self._dbs[db]
        entry = keys.get(key)
        if row is None:
            if entry is not None:
                self._unload(db, key, entry)
                del keys[key]
            self._expiring[db].discard(key)
            return
        if entry is None:
            entry = keys[key] = Entry(row[0], row[1])
        else:
            entry.length, entry.expire_at = row
        if row[1] is None:
            self._expiring[db].discard(key)
        else:
            self._expiring[db].add(key)

    # --- the bitmap cache

    def _where(self, db: int, key: bytes) -> str:
        return f"{self.path or ':memory:'} db {db} key {key!r}"

    def _load_bits(self, db: int, key: bytes) -> tuple[BitMap, int]:
        """A key's bits from the file (checkpointed bitmap plus newer journal rows, plus
        its changes in the log), and the bytes they were stored in (a memory estimate)."""
        bits, stored = self._load_file_bits(db, key)
        for value, offsets in self._log_changes.get((db, key), ()):
            _change_bits(bits, value, offsets)
        return bits, stored

    def _load_file_bits(self, db: int, key: bytes) -> tuple[BitMap, int]:
        where = self._where(db, key)
        with self._read_txn():
            row = self._conn.execute(
                "SELECT base_seq FROM keys WHERE db = ? AND key = ?", (db, key)
            ).fetchone()
            if row is None:
                return BitMap(), 0
            base = self._conn.execute(
                "SELECT crc, data FROM bitmaps WHERE db = ? AND key = ?", (db, key)
            ).fetchone()
            bits = BitMap() if base is None else fmt.decode_bitmap(base[0], base[1], where)
            stored = 0 if base is None else len(base[1])
            if (db, key) not in self._journaled:
                return bits, stored
            for op, data in self._journal_changes(db, key, row[0], where):
                if op == fmt.OP_SET:
                    bits |= fmt.decode_bits(data, where)
                    stored += len(data)
                elif op == fmt.OP_CLEAR:
                    bits -= fmt.decode_bits(data, where)
        return bits, stored

    def _journal_changes(
        self, db: int, key: bytes, after: int, where: str
    ) -> Iterator[tuple[int, bytes]]:
        """(op, data) of the key's journal rows after sequence `after`, in order: its own
        rows, and its changes in OP_SETS rows (found by SQL's instr, then decoded)."""
        for op, data in self._conn.execute(
            "SELECT op, bits FROM journal WHERE seq > ? AND "
            "((db = ? AND key = ?) OR (op = ? AND instr(bits, ?) > 0)) ORDER BY seq",
            (after, db, key, fmt.OP_SETS, fmt.sets_needle(db, key)),
        ).fetchall():
            if op != fmt.OP_SETS:
                yield op, data
                continue
            for change_op, change_db, change_key, change_data in fmt.decode_sets(data, where):
                if change_db == db and change_key == key:
                    yield change_op, change_data

    def _bits(self, db: int, key: bytes, entry: Entry) -> BitMap:
        """The entry's bits, decoded (loading or unpacking them if needed), most recently
        used."""
        bits = entry.bits
        if bits is not None:
            self._cache.touch((db, key))
            return bits
        if entry.packed is not None:
            return self._cache.decode((db, key), entry)
        bits, stored_bytes = self._load_bits(db, key)
        self._cache.add_hot((db, key), entry, bits, stored_bytes)
        return bits

    def _count(self, db: int, key: bytes, entry: Entry) -> int:
        """How many bits the entry has set, without decoding a packed or stored bitmap."""
        if entry.bits is not None:
            self._cache.touch((db, key))
            return len(entry.bits)
        if entry.packed is None:
            stored = self._load_packed(db, key)
            if stored is None:
                return len(self._bits(db, key, entry))
            self._cache.add_packed((db, key), entry, *stored)
        else:
            self._cache.touch_packed((db, key))
        return entry.count

    def _load_packed(self, db: int, key: bytes) -> tuple[bytes, int] | None:
        """(data, bits set) of the key's stored bitmap when nothing newer changed it (no
        journal rows or log changes since its checkpoint); None otherwise."""
        if (db, key) in self._journaled:
            return None
        with self._read_txn():
            base = self._conn.execute(
                "SELECT crc, data FROM bitmaps WHERE db = ? AND key = ?", (db, key)
            ).fetchone()
        if base is None:
            return None
        where = self._where(db, key)
        data = fmt.checked_bitmap(base[0], base[1], where)
        return data, fmt.serialized_cardinality(data, where)

    def _cache_new(self, db: int, key: bytes, entry: Entry) -> None:
        """Cache a new key's (decoded, empty or just written) bits."""
        assert entry.bits is not None
        self._cache.add_hot((db, key), entry, entry.bits, 0)

    def _grow(self, entry: Entry, added: int) -> None:
        # An upper bound until the next checkpoint measures the bitmap exactly.
        self._cache.grow(entry, 4 * added)

    def _unload(self, db: int, key: bytes, entry: Entry) -> None:
        self._cache.drop((db, key), entry)

    def _evict(self) -> None:
        if self._cache.over_budget():
            self._cache.evict()

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

    # --- reads

    def _live(self, db: int, key: bytes, now: int | None = None) -> Entry | None:
        entry = self._dbs[db].get(key)
        if (
            entry is not None
            and entry.expire_at is not None
            and entry.expire_at < (now_ms() if now is None else now)
        ):
            return None
        return entry

    @contextlib.contextmanager
    def view(self) -> Iterator[View]:
        """Hold the engine for several reads that must agree (one consistent state).

        Values returned by the view share the engine's bitmaps: read them, never modify.
        """
        self._waiting.append(None)
        with self._lock:
            self._waiting.pop()
            try:
                self._sync()
                yield View(self)
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
            finally:
                self._evict()

    def get(self, key: bytes, db: int = 0) -> Value | None:
        """GET: the key's value (a copy), or None when it does not exist."""
        with self.view() as view:
            value = view.value(key, db)
            return None if value is None else value.copy()

    def getbit(self, key: bytes, offset: int, db: int = 0) -> int:
        """GETBIT: 1 or 0 (0 for a missing key or an offset past the end)."""
        with self.view() as view:
            value = view.value(key, db)
            return 1 if value is not None and offset in value.bits else 0

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
            if self.group_commit_ms is not None:
                return self._group_write(ops)
            results = self._fast_write(ops)
            if results is not None:
                return results
            conn = self._conn
            with self._file_write():
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as exc:
                    raise self._error(exc) from exc
                try:
                    self._sync()
                    batch = Batch(self)
                    results = [batch.apply(op) for op in ops]
                    batch.flush()
                    conn.execute("COMMIT")
                except BaseException as exc:
                    self._recover()
                    if isinstance(exc, sqlite3.Error):
                        raise self._error(exc) from exc
                    raise
            self._journal_rows += batch.rows
            self._journal_bytes += batch.nbytes
            self._maybe_checkpoint()
            self._evict()
            return results

    # --- group commit (optional)

    def _group_write(self, ops: Sequence[WriteOp]) -> list[Any]:
        """Apply a batch inside the open group transaction (opening one if needed)."""
        if self._group_error is not None:
            error, self._group_error = self._group_error, None
            raise StoreError(f"an earlier group commit failed, its writes are lost: {error}")
        conn = self._conn
        try:
            if not conn.in_transaction:
                self._group_began = self._begin_file_write()
                conn.execute("BEGIN IMMEDIATE")
                self._sync()
                self._group_timer = threading.Timer(self.group_commit_ms / 1000, self._group_due)
                self._group_timer.daemon = True
                self._group_timer.start()
            plan = self._fast_plan(ops)
            if plan is not None:  # queued: written in one go when the window commits
                self._group_rows.append(plan.row)
                return self._apply_fast_plan(plan)
            self._flush_group_rows()
            conn.execute("SAVEPOINT batch")
        except sqlite3.Error as exc:
            self._recover()
            raise self._error(exc) from exc
        try:
            batch = Batch(self)
            results = [batch.apply(op) for op in ops]
            batch.flush()
            conn.execute("RELEASE batch")
        except BaseException as exc:
            # Keep the window's earlier batches: undo this one, commit them, and rebuild
            # memory (which this batch may have changed) from the file.
            try:
                conn.execute("ROLLBACK TO batch")
                conn.execute("RELEASE batch")
                self._group_commit()
                self._reload()
            except sqlite3.Error:
                self._recover()
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc) from exc
            raise
        self._journal_rows += batch.rows
        self._journal_bytes += batch.nbytes
        self._evict()
        return results

    def _group_due(self) -> None:
        """Timer thread: commit the window that is due."""
        with self._lock:
            if self._closed or self._generation != forks.generation:
                return
            try:
                self._group_commit()
            except StoreError as exc:
                self._group_error = exc

    def _group_commit(self) -> None:
        """Commit the open group transaction, if any (a no-op outside group mode)."""
        timer, self._group_timer = self._group_timer, None
        if timer is not None:
            timer.cancel()
        if not self._conn.in_transaction:
            return
        try:
            self._flush_group_rows()
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._recover()  # memory held writes the file does not: start again from it
            raise self._error(exc) from exc
        finally:
            self._end_group_file_write()
        self._maybe_checkpoint()

    def _flush_group_rows(self) -> None:
        if self._group_rows:
            rows, self._group_rows = self._group_rows, []
            self._conn.executemany(
                "INSERT INTO journal (seq, db, key, op, bits) VALUES (?, ?, ?, ?, ?)", rows
            )

    def flush(self) -> None:
        """Commit writes waiting for their group commit now (no-op without group commit)."""
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            self._group_commit()

    def _fast_plan(self, ops: Sequence[WriteOp]) -> _FastPlan | None:
        """Journal rows for the common case: SETBITs (no previous bits asked) on live keys
        without expiry, within their length. None when the batch needs the full path.
        Nothing is changed yet. One offset (`mark_event`, SETBIT) skips building a bitmap.
        """
        if not 0 < len(ops) <= _FAST_MAX_OPS:
            return None
        dbs = self._dbs
        rows: list[tuple[int, int, bytes, bytes]] = []
        changes: list[tuple[Entry, Any, bool, int, bytes]] = []
        for op in ops:
            if type(op) is not SetBits:
                return None
            key, offsets, value, previous, db = op
            # (db & -16 is nonzero outside 0..15, negatives included)
            if previous or type(db) is not int or db & -16:
                return None  # the full path explains any error
            entry = dbs[db].get(key)
            if entry is None or entry.expire_at is not None:
                return None
            if type(offsets) is tuple and len(offsets) == 1:
                offset = offsets[0]
                if type(offset) is not int or not 0 <= offset < entry.length << 3:
                    return None
                data = _one_offset(offset)
                offsets = offset
            else:
                if type(offsets) is not BitMap:
                    try:
                        offsets = BitMap(offsets)
                    except (OverflowError, TypeError, ValueError):
                        return None
                if not offsets or offsets.max() >= entry.length << 3:
                    return None
                data = offsets.serialize()
            rows.append((fmt.OP_SET if value else fmt.OP_CLEAR, db, key, data))
            changes.append((entry, offsets, value, db, key))
        seq = self._seq + 1
        if len(rows) == 1:
            op, db, key, data = rows[0]
            return _FastPlan((seq, db, key, op, data), changes)
        return _FastPlan((seq, 0, None, fmt.OP_SETS, fmt.encode_sets(rows)), changes)

    def _apply_fast_plan(self, plan: _FastPlan) -> list[None]:
        """Apply a written (or, in group mode, queued) plan to memory."""
        self._seq += 1
        journaled = self._journaled
        cache = self._cache
        for entry, offsets, value, db, key in plan.changes:
            journaled.add((db, key))
            bits = entry.bits
            if bits is not None:
                _change_bits(bits, value, offsets)
                if value:
                    # An upper bound: len(bits) costs a pass over every container.
                    cache.grow(entry, 4 if type(offsets) is int else 4 * len(offsets))
                cache.touch((db, key))
            elif entry.packed is not None:
                cache.drop((db, key), entry)  # stale now: reloaded with the change
        self._journal_rows += 1
        self._journal_bytes += len(plan.row[4])
        return [None] * len(plan.changes)

    def _fast_write(self, ops: Sequence[WriteOp]) -> list[Any] | None:
        """The common case (see `_fast_plan`) in one statement, or None.

        The INSERT carries its own check that nobody wrote since we last caught up (no
        journal row after ours, no rows folded away past ours), so no BEGIN/COMMIT or
        `data_version` round is needed; if the check fails nothing is inserted.
        """
        if self._log is not None:
            return self._log_write(ops) if self._log_appends else None
        plan = self._fast_plan(ops)
        if plan is None:
            return None
        if self._already_set(plan):
            # Marking who is already marked (most calls, in a busy app) changes nothing:
            # if nobody else wrote meanwhile there is nothing to commit.
            version = self._data_version
            self._sync()
            return [None] * len(plan.changes) if self._data_version == version else None
        try:
            inserted = self._cursor.execute(_FAST_INSERT, (*plan.row, self._seq)).rowcount
        except sqlite3.IntegrityError:
            return None  # a concurrent writer took our sequence numbers
        except sqlite3.Error as exc:
            raise self._error(exc) from exc  # nothing was written
        if inserted != 1:
            return None  # someone else wrote since we caught up: take the full path
        return self._finish_fast_write(plan)

    def _finish_fast_write(self, plan: _FastPlan) -> list[None]:
        """After the plan's row is durable: apply it, then the housekeeping (checked here
        first: the calls cost more than the checks on this hot path)."""
        results = self._apply_fast_plan(plan)
        if (
            self._checkpoint is not None
            or self._journal_rows > self.checkpoint_rows
            or self._journal_bytes > self.checkpoint_bytes
        ):
            self._maybe_checkpoint()
        if self._cache.over_budget():
            self._cache.evict()
        return results

    def _log_write(self, ops: Sequence[WriteOp]) -> list[Any] | None:
        """The common case (see `_fast_plan`) appended to the log, or None (see fastlog).

        Under the log's exclusive lock: if SQLite changed since we read it (a new
        generation), the full path catches up; rows other processes appended since are
        applied first, so that the plan's sequence number follows them.
        """
        log = self._log
        assert log is not None
        with log.locked(exclusive=True):
            generation, end = log.state()
            if generation != self._log_gen:
                return None
            if end != self._log_end:
                self._apply_log(self._log_end)
            plan = self._fast_plan(ops)
            if plan is None:
                return None
            if self._already_set(plan):
                return [None] * len(plan.changes)
            new_end = log.append(plan.row)
            if new_end is None:
                return None  # the log is full: the full path drains it
            self._log_end = new_end
            for _, offsets, value, db, key in plan.changes:
                # (a copy: the caller may reuse its bitmap)
                kept = offsets if type(offsets) is int else BitMap(offsets)
                self._note_log_change(db, key, value, kept)
        return self._finish_fast_write(plan)

    def _begin_file_write(self) -> bool:
        """Take the log's exclusive lock for an SQLite write: catch up, then move the log's
        rows into SQLite (see fastlog). False when there is nothing to do: no log, or an
        outer write of this engine holds the lock already."""
        log = self._log
        if log is None or self.readonly or log.held_exclusive:
            return False
        log.acquire(exclusive=True)
        try:
            self._sync()
            self._drain()
        except BaseException:
            log.release()
            raise
        return True

    def _end_file_write(self) -> None:
        """After an SQLite write: bump the log's generation (other processes then read
        SQLite again) and release its lock."""
        log = self._log
        assert log is not None
        try:
            self._log_gen, self._log_end = log.reset()
        finally:
            log.release()

    def _end_group_file_write(self) -> None:
        if self._group_began:
            self._group_began = False
            self._end_file_write()

    @contextlib.contextmanager
    def _file_write(self) -> Iterator[None]:
        began = self._begin_file_write()
        try:
            yield
        finally:
            if began:
                self._end_file_write()

    def _drain(self) -> None:
        """Move the log's rows into the SQLite journal (same sequence numbers), then empty
        the log. Under its exclusive lock, caught up. Rows already there (a drain that
        died before emptying the log) are skipped."""
        log = self._log
        assert log is not None
        _, end = log.state()
        if end == HEADER_SIZE:
            return
        rows = log.rows(HEADER_SIZE, end)
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            top = max(
                self._meta_int("folded_seq"),
                conn.execute("SELECT max(seq) FROM journal").fetchone()[0] or 0,
            )
            conn.executemany(
                "INSERT INTO journal (seq, db, key, op, bits) VALUES (?, ?, ?, ?, ?)",
                [row for row in rows if row[0] > top],
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise self._error(exc) from exc
        self._log_changes.clear()  # SQLite holds them now: loads read them there
        self._log_gen, self._log_end = log.reset()

    def _already_set(self, plan: _FastPlan) -> bool:
        """Whether the plan only sets bits that are set already (loading a key's bits for
        a one-bit mark, so that the next mark of the same id finds them)."""
        for entry, offsets, value, db, key in plan.changes:
            if not value:
                return False
            if type(offsets) is int:
                bits = entry.bits if entry.bits is not None else self._bits(db, key, entry)
                if offsets not in bits:
                    return False
            elif entry.bits is None or not offsets <= entry.bits:
                return False
        return True

    def _recover(self) -> None:
        """After a failed batch: roll back and make memory match the file again."""
        with contextlib.suppress(sqlite3.Error):
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        self._end_group_file_write()  # a rolled-back group window is over
        try:
            self._reload()
        except sqlite3.Error:
            # Cannot even read the file: refuse further use rather than serve stale data.
            self._closed = True

    def _error(self, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        where = self.path or ":memory:"
        if "readonly" in text or "read-only" in text:
            return StoreError(f"store {where} is read-only: {text}")
        if "full" in text:
            return StoreError(f"store {where} is full (disk or max_bytes): {text}")
        if "malformed" in text or "not a database" in text:
            return fmt.CorruptStore(f"store {where} is corrupt: {text}")
        return StoreError(f"store {where}: {text}")

    def sweep_expired(self) -> int:
        """Delete every expired key now (reads already ignore them); returns how many."""
        with self._lock:
            self._sync()
            now = now_ms()
            doomed = [
                Delete(key, db)
                for db, keys in enumerate(self._expiring)
                for key in keys
                if (at := self._dbs[db][key].expire_at) is not None and at < now
            ]
            if doomed:
                self.write(doomed)
            return len(doomed)

    # --- checkpoints

    def _maybe_checkpoint(self) -> None:
        if self._conn.in_transaction:
            return  # a group window is open; its commit checks again
        if self._checkpoint_running:
            return  # checkpoint() is taking the steps: writers only wait for one

        if self._checkpoint is None and (
            self._journal_rows <= self.checkpoint_rows
            and self._journal_bytes <= self.checkpoint_bytes
        ):
            return
        # The write itself succeeded; a failed step is retried after the next write.
        with contextlib.suppress(StoreError, sqlite3.Error):
            self._checkpoint_step()

    def checkpoint(self) -> None:
        """Fold the whole journal into checkpointed bitmaps, in small transactions."""
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            if self.readonly:
                return
            self._group_commit()
            self._checkpoint = None  # start afresh so that everything written so far folds
            self._checkpoint_running += 1
        try:
            while True:
                with self._lock:  # released between steps so that writers get their turn
                    if self._checkpoint_step():
                        return
                for _ in range(100):  # the lock is not fair: wait until queued threads had it
                    if not self._waiting:
                        break
                    time.sleep(0.0001)
        finally:
            with self._lock:
                self._checkpoint_running -= 1

    def _checkpoint_step(self) -> bool:
        """One short transaction of checkpoint work; True when the checkpoint is done."""
        conn = self._conn
        with self._file_write():
            try:
                conn.execute("BEGIN IMMEDIATE")
                self._sync()
                done = self._checkpoint_work()
                conn.execute("COMMIT")
            except BaseException as exc:
                self._recover()
                if isinstance(exc, sqlite3.Error):
                    raise self._error(exc) from exc
                raise
        if done:
            # Sequence numbers are dense: what is left is what came after the horizon
            # (its size in bytes is not tracked again until new rows arrive).
            self._journal_rows = self._seq - self._checkpoint.horizon
            self._journal_bytes = 0
            self._checkpoint = None
        return done

    def _checkpoint_work(self) -> bool:
        conn = self._conn
        state = self._checkpoint
        if state is None:
            # Caught up under the write lock: the keys with unfolded rows are known.
            state = self._checkpoint = _Checkpoint(self._seq, sorted(self._journaled))
            if state.pending:
                self._fold_some(state.pending)
            return False
        if state.pending:
            self._fold_some(state.pending)
            return False
        # Every key with rows up to the horizon is folded: drop those rows, a chunk at a time.
        conn.execute(
            "UPDATE meta SET value = max(value, ?) WHERE name = 'folded_seq'", (state.horizon,)
        )
        # Delete the oldest folded rows, up to a budget of rows and bytes (freeing a
        # large row's pages is the slow part).
        cut, budget = None, _DELETE_BYTES_PER_STEP
        # The newest row stays: the fast write path checks that the journal still ends
        # where this process last saw it (`_FAST_INSERT`).
        for seq, size in conn.execute(
            "SELECT seq, length(bits) FROM journal WHERE seq <= ? "
            "AND seq < (SELECT max(seq) FROM journal) ORDER BY seq LIMIT ?",
            (state.horizon, _DELETE_ROWS_PER_STEP),
        ):
            if cut is not None and budget < (size or 0):
                break
            cut, budget = seq, budget - (size or 0)
        if cut is not None:
            conn.execute("DELETE FROM journal WHERE seq <= ?", (cut,))
            return False
        return True

    def _fold_some(self, pending: list[tuple[int, bytes]]) -> None:
        """Store the current bits of some pending keys as their checkpointed bitmaps
        (inside a write transaction), until a step's budget is spent."""
        stored: list[tuple[int, bytes, int, bytes]] = []
        emptied: list[tuple[int, bytes]] = []
        folded_bytes = 0
        while pending and len(stored) + len(emptied) < _FOLD_KEYS_PER_STEP:
            db, key = pending.pop()
            entry = self._dbs[db].get(key)
            if entry is None:
                continue  # deleted since: its rows go with the rest
            if entry.bits is not None:
                bits = entry.bits
            elif entry.packed is not None:  # current: any change drops a packed copy
                bits = BitMap.deserialize(entry.packed)
            else:
                bits = self._load_bits(db, key)[0]
            crc, data = fmt.encode_bitmap(bits)
            if bits:
                stored.append((db, key, crc, data))
            else:
                emptied.append((db, key))
            self._journaled.discard((db, key))
            if entry.bits is not None:  # measure it exactly while we have the bytes
                self._cache.resize(entry, len(data))
            folded_bytes += len(data)
            if folded_bytes >= _FOLD_BYTES_PER_STEP:
                break
        conn = self._conn
        conn.executemany(
            "INSERT OR REPLACE INTO bitmaps (db, key, crc, data) VALUES (?, ?, ?, ?)", stored
        )
        conn.executemany("DELETE FROM bitmaps WHERE db = ? AND key = ?", emptied)
        conn.executemany(
            "UPDATE keys SET base_seq = ? WHERE db = ? AND key = ?",
            [(self._seq, db, key) for db, key, _, _ in stored]
            + [(self._seq, db, key) for db, key in emptied],
        )

    # --- whole-file operations

    def compact(self) -> None:
        """Checkpoint, then give free pages back to the file system and shrink the WAL.

        Unlike `checkpoint`, this holds the write lock for the whole vacuum: run it when
        the store is quiet (the freed pages are reused by later writes anyway).
        """
        self.checkpoint()
        with self._lock, self._file_write():
            try:
                if self._incremental_vacuum:
                    self._conn.execute("PRAGMA incremental_vacuum").fetchall()
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            except sqlite3.Error as exc:
                raise self._error(exc) from exc

    def backup(self, path: str | os.PathLike[str]) -> None:
        """Write a consistent copy of the store to `path` (replaced atomically)."""
        target = Path(path).expanduser().absolute()
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        with self._lock, self._file_write():  # (moves the log's rows into the copy too)
            self._group_commit()
            self._sync()
            try:
                copy = sqlite3.connect(temp)
                try:
                    self._conn.backup(copy)
                finally:
                    copy.close()
                os.replace(temp, target)
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
            finally:
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()

    def stats(self) -> dict[str, Any]:
        """Counters for humans and tests: keys, loaded bitmaps, cache and journal sizes."""
        with self._lock:
            self._sync()
            return {
                "keys": sum(len(keys) for keys in self._dbs),
                "loaded_bitmaps": len(self._cache),
                "packed_bitmaps": self._cache.packed_count,
                "cached_bytes": self._cache.used,
                "journal_rows": self._journal_rows,
                "journal_bytes": self._journal_bytes,
                "log_bytes": self._log.state()[1] - HEADER_SIZE if self._log else 0,
                "file_bytes": fmt.file_bytes(self.path),
                "path": str(self.path) if self.path else None,
            }

    @property
    def loaded_bitmaps(self) -> int:
        """How many bitmaps are in memory right now (decoded or packed)."""
        return len(self._cache)

    def memory_bytes(self) -> int:
        """Bytes the cached bitmaps take serialized, measured (packed ones take that;
        decoded sparse ones up to ~2x that)."""
        with self._lock:
            return (
                self._cache.packed_used
                - ENTRY_OVERHEAD * self._cache.packed_count
                + sum(
                    len(entry.bits.serialize())
                    for entry in self._cache.hot_entries()
                    if entry.bits is not None
                )
            )

    def close(self) -> None:
        """Close the file. Further use raises `StoreError`."""
        with self._lock:
            if self._closed:
                return
            if self._generation == forks.generation:
                try:
                    self._group_commit()
                    # Leave the database complete on its own (the log would do too).
                    with contextlib.suppress(StoreError, sqlite3.Error), self._file_write():
                        pass
                finally:
                    self._closed = True
                    self._conn.close()
                    if self._log is not None:
                        self._log.close()
            self._closed = True

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Engine({str(self.path) if self.path else None!r})"
