"""`Journal`: the engine's SQLite file: its connection, transactions and row I/O.

Everything the engine reads from or writes to SQLite goes through here, and every
`sqlite3.Error` becomes a `StoreError` in one place (`format.store_error`, used by
`errors()` and `error()`). The journal also keeps the counters that describe it: the last
sequence number this process knows (`seq`), and the rows and bytes not yet checkpointed.
Table layout: `format` and docs/storage.md.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from pyroaring import BitMap

from ..errors import StoreError
from . import format as fmt
from .keyspace import DATABASES, Entry

# SQLite copies the WAL back into the database (and fsyncs both) inside the commit that
# crosses this many pages: every 4,000 instead of SQLite's 1,000 spreads those fsyncs over
# 4x more writes (mark_event -4 us on average; each such commit takes ~15 ms, not ~5).
# A background thread doing it instead measured worse: it contends for SQLite's locks.
_WAL_CHECKPOINT_PAGES = 4000

Row = tuple[int, int, "bytes | None", int, "bytes | None"]  # seq, db, key, op, bits
_INSERT_ROWS = "INSERT INTO journal (seq, db, key, op, bits) VALUES (?, ?, ?, ?, ?)"
# Keys (or sequence numbers) per statement of a read of many: under SQLite's limit on
# parameters (999 before SQLite 3.32).
CHUNK = 500
# Keys per journal scan of a read of many: each is one instr() in an OR chain, and SQLite
# refuses expressions deeper than 1,000.
NEEDLES = 100
# Up to CHUNK keys' stored rows: their sequence numbers and checkpointed bitmaps.
_LOAD_MANY = (
    "SELECT k.key, k.base_seq, b.crc, b.data FROM keys AS k "
    "LEFT JOIN bitmaps AS b ON b.db = k.db AND b.key = k.key "
    "WHERE k.db = ? AND k.key IN ({marks})"
)


class Journal:
    """One SQLite connection to a store (`path` None: a throwaway one in memory)."""

    def __init__(
        self,
        path: Path | None,
        *,
        readonly: bool,
        busy_timeout: float,
        durability: str,
        max_bytes: int | None,
    ):
        self.path = path
        self.where = str(path or ":memory:")
        self.conn = fmt.connect(
            path, readonly=readonly, busy_timeout=busy_timeout, durability=durability
        )
        self.cursor = self.conn.cursor()  # reused by the guarded insert (saves making one)
        self.seq = 0  # the newest sequence number this process has seen or written
        self.rows = 0  # journal rows not checkpointed yet (an estimate between checkpoints)
        self.nbytes = 0  # and their bytes
        self.data_version = 0
        # The journal's rows by key, as of sequence `key_rows_upto` (read with the index):
        # a cold read of a key fetches its rows by sequence instead of scanning a journal
        # that a bulk import without a checkpoint left long (see `_changes`).
        # (Each row as (seq, byte position of the key's change in an OP_SETS row, or -1).)
        self.key_rows: dict[tuple[int, bytes], list[tuple[int, int]]] = {}
        self.key_rows_upto = 0
        try:
            with self.errors():
                # Files made by this version free pages incrementally (auto_vacuum=INCREMENTAL).
                self.incremental_vacuum = self._pragma("auto_vacuum") == 2
                if max_bytes is not None:
                    pages = max(1, max_bytes // self._pragma("page_size"))
                    self.conn.execute(f"PRAGMA max_page_count = {pages}")
                if path is not None and not readonly:
                    self.conn.execute(f"PRAGMA wal_autocheckpoint = {_WAL_CHECKPOINT_PAGES}")
        except BaseException:
            self.conn.close()
            raise

    def _pragma(self, name: str) -> int:
        return self.conn.execute(f"PRAGMA {name}").fetchone()[0]

    # --- errors and transactions

    def error(self, exc: sqlite3.Error) -> StoreError:
        """The `StoreError` for an SQLite error on this store."""
        return fmt.store_error(self.path, exc)

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Turn SQLite errors raised inside into `StoreError`s."""
        try:
            yield
        except sqlite3.Error as exc:
            raise self.error(exc) from exc

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def begin(self) -> None:
        """BEGIN IMMEDIATE: take SQLite's write lock (waiting up to `busy_timeout`)."""
        self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        """Roll back an open transaction, if any; errors doing so are ignored (the caller
        rebuilds its state from the file next)."""
        with contextlib.suppress(sqlite3.Error):
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")

    @contextlib.contextmanager
    def read_txn(self) -> Iterator[None]:
        """One consistent snapshot for several SELECTs (a no-op inside a transaction)."""
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    def changed(self) -> bool:
        """Whether another connection committed since the last call (`data_version`)."""
        version = self._pragma("data_version")
        if version == self.data_version:
            return False
        self.data_version = version
        return True

    def close(self) -> None:
        self.conn.close()

    # --- reading

    def meta_int(self, name: str) -> int:
        row = self.conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def top_seq(self) -> int:
        """The newest sequence number in the file (folded away or still a row)."""
        last = self.conn.execute("SELECT max(seq) FROM journal").fetchone()[0]
        return max(self.meta_int("folded_seq"), last or 0)

    def read_index(
        self,
    ) -> tuple[list[dict[bytes, Entry]], list[set[bytes]], set[tuple[int, bytes]]]:
        """Every key's entry, the keys with an expiry, and the keys with journal rows, in
        one snapshot; sets `seq`, `rows`, `nbytes` and `data_version` to match it."""
        self.data_version = self._pragma("data_version")
        conn = self.conn
        with self.read_txn():
            dbs: list[dict[bytes, Entry]] = [{} for _ in range(DATABASES)]
            expiring: list[set[bytes]] = [set() for _ in range(DATABASES)]
            for db, key, length, expire_at in conn.execute(
                "SELECT db, key, length, expire_at FROM keys"
            ):
                if not 0 <= db < DATABASES:
                    raise fmt.CorruptStore(f"{self.where}: key {key!r} in db {db}")
                dbs[db][key] = Entry(length, expire_at)
                if expire_at is not None:
                    expiring[db].add(key)
            folded = self.meta_int("folded_seq")
            max_seq, rows, nbytes, unknown = conn.execute(
                "SELECT max(seq), count(*), total(length(bits)), "
                f"total(op NOT BETWEEN 1 AND {fmt.OP_SETS}) FROM journal"
            ).fetchone()
            self._check_rows(folded, max_seq, int(unknown))
            key_rows: dict[tuple[int, bytes], list[tuple[int, int]]] = {}
            for seq, db, key, op, blob in conn.execute(
                "SELECT seq, db, key, op, bits FROM journal WHERE op IN (?, ?, ?) ORDER BY seq",
                (*fmt.BIT_OPS, fmt.OP_SETS),
            ):
                if op != fmt.OP_SETS:
                    key_rows.setdefault((db, key), []).append((seq, -1))
                    continue
                where = f"{self.where} journal row {seq}"
                for pos, change_db, change_key in fmt.sets_positions(blob, where):
                    key_rows.setdefault((change_db, change_key), []).append((seq, pos))
            journaled = set(key_rows)
        self.key_rows, self.key_rows_upto = key_rows, max_seq or 0
        self.seq = max(folded, max_seq or 0)
        self.rows = rows
        self.nbytes = int(nbytes)
        return dbs, expiring, journaled

    def _check_rows(self, folded: int, max_seq: int | None, unknown: int) -> None:
        """Refuse a journal no bitmapist wrote: rows of unknown kinds, or a folded
        sequence past its last row (the newest row is never folded away)."""
        if unknown:
            seq, op = self.conn.execute(
                f"SELECT seq, op FROM journal WHERE op NOT BETWEEN 1 AND {fmt.OP_SETS} LIMIT 1"
            ).fetchone()
            raise fmt.CorruptStore(
                f"{self.where}: journal row {seq} has an unknown op {op!r} ({unknown} such "
                "rows): the file was edited or damaged; restore it from a backup"
            )
        if max_seq is not None and folded > max_seq:
            raise fmt.CorruptStore(
                f"{self.where}: meta.folded_seq {folded} is past the journal's last row "
                f"{max_seq}: the file was edited or damaged; restore it from a backup"
            )

    def rows_after(self, seq: int) -> list[Row]:
        """Every journal row newer than `seq`, in order."""
        return self.conn.execute(
            "SELECT seq, db, key, op, bits FROM journal WHERE seq > ? ORDER BY seq", (seq,)
        ).fetchall()

    def rows_between(self, after: int, upto: int, limit: int) -> list[Row]:
        """Up to `limit` journal rows with `after < seq <= upto`, in order."""
        return self.conn.execute(
            "SELECT seq, db, key, op, bits FROM journal WHERE seq > ? AND seq <= ? "
            "ORDER BY seq LIMIT ?",
            (after, upto, limit),
        ).fetchall()

    def stored_bits(self, db: int, key: bytes) -> BitMap:
        """The key's checkpointed bitmap (empty when it has none), checksum checked."""
        base = self.conn.execute(
            "SELECT crc, data FROM bitmaps WHERE db = ? AND key = ?", (db, key)
        ).fetchone()
        if base is None:
            return BitMap()
        return fmt.decode_bitmap(base[0], base[1], self.where_key(db, key))

    def key_row(self, db: int, key: bytes) -> tuple[int, int | None] | None:
        """(length, expire_at) of a stored key, or None."""
        return self.conn.execute(
            "SELECT length, expire_at FROM keys WHERE db = ? AND key = ?", (db, key)
        ).fetchone()

    def where_key(self, db: int, key: bytes) -> str:
        return f"{self.where} db {db} key {key!r}"

    def load_bits(self, db: int, key: bytes, journaled: bool) -> BitMap:
        """A key's bits in the file: its checkpointed bitmap, plus (when `journaled`) its
        newer journal rows."""
        conn = self.conn
        with self.read_txn():
            row = conn.execute(
                "SELECT base_seq FROM keys WHERE db = ? AND key = ?", (db, key)
            ).fetchone()
            if row is None:
                return BitMap()
            base = conn.execute(
                "SELECT crc, data FROM bitmaps WHERE db = ? AND key = ?", (db, key)
            ).fetchone()
            changes = self._changes(db, {key: row[0]})[key] if journaled else []
        return build_bits(base, changes, self.where_key(db, key))

    def load_many(self, db: int, keys: Sequence[tuple[bytes, bool]]) -> list[BitMap]:
        """`load_bits` of many (key, journaled) of `db`, in order, from one snapshot: the
        checkpointed bitmaps of up to `CHUNK` keys a statement, and the journal rows of
        the journaled ones fetched together (`_changes`), built by the same `build_bits`.
        """
        conn = self.conn
        journaled = {key for key, flag in keys if flag}
        names = list(dict.fromkeys(key for key, _ in keys))
        built: dict[bytes, BitMap] = {}
        bases: dict[bytes, tuple[int, bytes] | None] = {}  # journaled keys' (till `_changes`)
        afters: dict[bytes, int] = {}
        with self.read_txn():
            for start in range(0, len(names), CHUNK):
                chunk = names[start : start + CHUNK]
                query = _LOAD_MANY.format(marks=",".join("?" * len(chunk)))
                for key, base_seq, crc, data in conn.execute(query, (db, *chunk)):
                    base = None if crc is None else (crc, data)  # (crc is NOT NULL)
                    if key in journaled:
                        bases[key], afters[key] = base, base_seq
                    else:
                        # Built as each row comes: its data freed at once, the next row's
                        # reuses that memory (holding them all costs a fresh process
                        # page faults worth more than the statements saved).
                        built[key] = build_bits(base, (), self.where_key(db, key))
            changes = self._changes(db, afters)
        for key, base in bases.items():
            built[key] = build_bits(base, changes[key], self.where_key(db, key))
        return [built[key] if key in built else BitMap() for key, _ in keys]

    def _changes(self, db: int, afters: dict[bytes, int]) -> dict[bytes, list[tuple[int, bytes]]]:
        """(op, data) of each key's journal rows after its sequence number in `afters`, in
        order: its own rows, and its changes in OP_SETS rows. Rows up to `key_rows_upto`
        are fetched by the sequence numbers `key_rows` lists (rows a checkpoint deleted
        since are folded into the key's bitmap, so its `after` is past them), every key's
        together; newer rows are found by a scan, one per `NEEDLES` keys (SQL's instr
        picks the OP_SETS rows naming one of them, which are then decoded), and only when
        this process knows of rows past the listed ones (`seq`: a row committed since it
        last caught up is applied to the loaded bits when it does)."""
        changes: dict[bytes, list[tuple[int, bytes]]] = {key: [] for key in afters}
        upto = self.key_rows_upto
        listed = {
            key: [row for row in self.key_rows.get((db, key), ()) if row[0] > after]
            for key, after in afters.items()
            if upto > after
        }
        found = self._rows_by_seq(sorted({seq for rows in listed.values() for seq, _ in rows}))
        for key, rows in listed.items():
            for seq, pos in rows:
                if seq not in found:
                    continue  # folded and deleted since, by another process's checkpoint
                op, data = found[seq]
                if pos >= 0:
                    op, data = fmt.sets_change_at(data, pos, db, key, self.where_key(db, key))
                changes[key].append((op, data))
        if self.seq <= upto:
            return changes  # no row newer than the listed ones (this process knows them all)
        names = list(afters)
        for start in range(0, len(names), NEEDLES):
            froms = {key: max(afters[key], upto) for key in names[start : start + NEEDLES]}
            self._scan(db, froms, changes)
        return changes

    def _rows_by_seq(self, seqs: list[int]) -> dict[int, tuple[int, bytes]]:
        """(op, data) of the journal rows with these sequence numbers that still exist."""
        found: dict[int, tuple[int, bytes]] = {}
        for start in range(0, len(seqs), CHUNK):
            chunk = seqs[start : start + CHUNK]
            query = f"SELECT seq, op, bits FROM journal WHERE seq IN ({','.join('?' * len(chunk))})"
            found.update((seq, (op, data)) for seq, op, data in self.conn.execute(query, chunk))
        return found

    def _scan(
        self, db: int, froms: dict[bytes, int], changes: dict[bytes, list[tuple[int, bytes]]]
    ) -> None:
        """Append to `changes` each key's rows after its sequence number in `froms`, in
        order, found by one scan of the journal from the smallest of them."""
        keys = list(froms)
        query = (
            "SELECT seq, key, op, bits FROM journal WHERE seq > ? AND "
            f"((db = ? AND key IN ({','.join('?' * len(keys))})) OR "
            f"(op = ? AND ({' OR '.join(['instr(bits, ?) > 0'] * len(keys))}))) ORDER BY seq"
        )
        needles = [fmt.sets_needle(db, key) for key in keys]
        rows = self.conn.execute(query, (min(froms.values()), db, *keys, fmt.OP_SETS, *needles))
        for seq, key, op, data in rows.fetchall():
            if op != fmt.OP_SETS:
                if seq > froms[key]:  # (only the keys' own rows get here)
                    changes[key].append((op, data))
                continue
            where = f"{self.where} journal row {seq}"
            for change_op, change_db, change_key, change_data in fmt.decode_sets(data, where):
                if change_db == db and change_key in froms and seq > froms[change_key]:
                    changes[change_key].append((change_op, change_data))

    def stored_bitmap(self, db: int, key: bytes) -> tuple[bytes, int] | None:
        """(data, bits set) of the key's checkpointed bitmap, checksum checked, or None."""
        with self.read_txn():
            base = self.conn.execute(
                "SELECT crc, data FROM bitmaps WHERE db = ? AND key = ?", (db, key)
            ).fetchone()
        if base is None:
            return None
        where = self.where_key(db, key)
        data = fmt.checked_bitmap(base[0], base[1], where)
        return data, fmt.serialized_cardinality(data, where)

    # --- writing (inside a transaction)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def insert_rows(self, rows: list[Row]) -> None:
        """Append journal rows (their sequence numbers already given)."""
        self.conn.executemany(_INSERT_ROWS, rows)

    def counted(self, rows: int, nbytes: int) -> None:
        """Count rows that were written (for the checkpoint's thresholds)."""
        self.rows += rows
        self.nbytes += nbytes


def build_bits(
    base: tuple[int, bytes] | None, changes: Iterable[tuple[int, bytes]], where: str
) -> BitMap:
    """A key's bits from its rows: its checkpointed bitmap's (crc, data) (None: empty)
    and its newer changes (op, data) in order (set and clear rows change bits; others,
    folded into the bitmap or the key's row, do not). The one builder of both reads."""
    bits = BitMap() if base is None else fmt.decode_bitmap(base[0], base[1], where)
    for op, data in changes:
        if op == fmt.OP_SET:
            bits |= fmt.decode_bits(data, where)
        elif op == fmt.OP_CLEAR:
            bits -= fmt.decode_bits(data, where)
    return bits
