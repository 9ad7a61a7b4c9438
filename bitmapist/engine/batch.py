"""`Batch`: applies the ops of one write batch to memory and queues their SQL rows.

Runs inside the engine's write transaction (under its lock); the write path
(`writes.FullWrite`, `group.GroupCommit`) commits or, on any error, rolls back and
rebuilds memory from the file.
"""

from __future__ import annotations

from typing import Any

from pyroaring import BitMap

from ..errors import InvalidInput
from . import format as fmt
from .bitmaps import Bitmaps
from .journal import Journal
from .keyspace import (
    DATABASES,
    MAX_OFFSET,
    Entry,
    KeyIndex,
    as_bitmap,
    check_db,
    check_key,
    now_ms,
)
from .ops import Delete, Expire, FlushAll, FlushDb, Put, Rename, SetBits, WriteOp
from .value import Value

_UPSERT_KEY = (
    "INSERT INTO keys (db, key, length, expire_at, base_seq) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (db, key) DO UPDATE SET length = excluded.length, "
    "expire_at = excluded.expire_at, base_seq = excluded.base_seq"
)
_UPSERT_BITMAP = (
    "INSERT INTO bitmaps (db, key, crc, data) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (db, key) DO UPDATE SET crc = excluded.crc, data = excluded.data"
)


class Batch:
    """Applies the ops of one write batch to memory and queues their SQL rows."""

    def __init__(self, journal: Journal, index: KeyIndex, bitmaps: Bitmaps):
        self.journal = journal
        self.index = index
        self.bitmaps = bitmaps
        self.conn = journal.conn
        self.now = now_ms()
        self.rows_queued: list[tuple[int, int, bytes | None, int, bytes | None]] = []
        self.rows = 0
        self.nbytes = 0
        # SETBIT's `keys` rows, written in bulk before any other statement of the batch.
        self.new_keys: list[tuple[int, bytes, int, int]] = []
        self.grown_keys: list[tuple[int, int, bytes]] = []
        # Put's rows by key, the last Put of each key only: its `keys` row and its
        # `bitmaps` row (None: delete it), written in bulk like SETBIT's. One of the
        # two queues is empty at any time: each is written before the other is added to.
        self.puts: dict[tuple[int, bytes], tuple[tuple[Any, ...], tuple[Any, ...] | None]] = {}

    def _append(self, db: int, key: bytes | None, op: int, bits: bytes | None = None) -> int:
        seq = self.journal.next_seq()
        self.rows_queued.append((seq, db, key, op, bits))
        self.rows += 1
        if bits:
            self.nbytes += len(bits)
        return seq

    def _flush_keys(self) -> None:
        """Write the queued `keys` and `bitmaps` rows (before any other statement)."""
        if self.puts:
            self._flush_puts()
        self._flush_bit_keys()

    def _flush_bit_keys(self) -> None:
        if self.new_keys:
            self.conn.executemany(
                "INSERT INTO keys (db, key, length, expire_at, base_seq) VALUES (?, ?, ?, NULL, ?)",
                self.new_keys,
            )
            self.new_keys = []
        if self.grown_keys:
            self.conn.executemany(
                "UPDATE keys SET length = ? WHERE db = ? AND key = ?", self.grown_keys
            )
            self.grown_keys = []

    def _flush_puts(self) -> None:
        """The queued Puts' rows: three statements for the whole batch instead of two
        per Put (an upsert updates a key's rows in place, no delete and insert)."""
        puts, self.puts = self.puts, {}
        self.conn.executemany(_UPSERT_KEY, [key_row for key_row, _ in puts.values()])
        stored = [bitmap_row for _, bitmap_row in puts.values() if bitmap_row is not None]
        if stored:
            self.conn.executemany(_UPSERT_BITMAP, stored)
        if len(stored) < len(puts):
            self.conn.executemany(
                "DELETE FROM bitmaps WHERE db = ? AND key = ?",
                [name for name, (_, bitmap_row) in puts.items() if bitmap_row is None],
            )

    def flush(self) -> None:
        self._flush_keys()
        if self.rows_queued:
            self.journal.insert_rows(self.rows_queued)

    def apply(self, op: WriteOp) -> Any:
        kind = type(op)
        if kind is SetBits:
            return self.set_bits(op)
        if kind is Put:
            return self.put(op)
        if kind is Delete:
            return self.delete(check_key(op.key), check_db(op.db))
        if kind is Rename:
            return self.rename(op)
        if kind is Expire:
            return self.expire(op)
        if kind is FlushDb:
            return self.flush_db(check_db(op.db))
        if kind is FlushAll:
            return self.flush_all()
        raise InvalidInput(f"write op {op!r} is not one of SetBits, Put, Delete, Rename, ...")

    def _live(self, db: int, key: bytes) -> Entry | None:
        """The key's entry; an expired key is deleted here, as Redis does on access."""
        entry = self.index.dbs[db].get(key)
        if entry is not None and entry.expire_at is not None and entry.expire_at < self.now:
            self.delete(key, db)
            return None
        return entry

    def set_bits(self, op: SetBits) -> int | None:
        key, db = check_key(op.key), check_db(op.db)
        offsets = as_bitmap(op.offsets)
        if not offsets:
            return 0 if op.previous else None
        top = offsets.max()
        if top > MAX_OFFSET:
            raise InvalidInput(f"bit offset {top} is out of range [0, {MAX_OFFSET}]")
        bitmaps = self.bitmaps
        length = (top >> 3) + 1
        entry = self._live(db, key)
        if self.puts:
            self._flush_puts()  # (a Put of this key must be written before its bits)
        if entry is None:
            entry = self.index.dbs[db][key] = Entry(length, None, BitMap())
            bitmaps.add_new(db, key, entry)
            self.new_keys.append((db, key, length, self.journal.seq))
        elif length > entry.length:
            entry.length = length
            self.grown_keys.append((length, db, key))
        previous = None
        if op.previous and entry.bits is None:
            bitmaps.bits(db, key, entry)
        bits = entry.bits
        if bits is not None:
            if op.previous:
                previous = offsets.intersection_cardinality(bits)
            if op.value:
                bits |= offsets
                bitmaps.grow(db, key, entry, len(offsets))  # measured when over budget
            else:
                bits -= offsets
        else:
            bitmaps.change(db, key, entry, op.value, offsets)  # a packed value's delta
        self._append(db, key, fmt.OP_SET if op.value else fmt.OP_CLEAR, offsets.serialize())
        self.index.journaled.add((db, key))
        return previous

    def put(self, op: Put) -> None:
        key, db = check_key(op.key), check_db(op.db)
        self._flush_bit_keys()
        value = op.value
        bits = BitMap(value.bits)  # our own copy: the caller may keep changing theirs
        if (
            type(value.length) is not int
            or value.length < 0
            or (bits and bits.max() >= value.length * 8)
        ):
            raise InvalidInput(
                f"value length {value.length!r} must be an int >= 0 covering every set bit"
            )
        bitmaps = self.bitmaps
        old = self._live(db, key)
        expire_at = old.expire_at if (op.keep_ttl and old is not None) else op.expire_at
        seq = self._append(db, key, fmt.OP_PUT)
        bitmap_row = None  # (an empty value has no bitmaps row)
        if bits:
            crc, data = fmt.encode_bitmap(bits)
            bitmap_row = (db, key, crc, data)
        self.puts[(db, key)] = ((db, key, value.length, expire_at, seq), bitmap_row)
        if old is not None:
            bitmaps.unload(db, key, old)
        entry = self.index.dbs[db][key] = Entry(value.length, expire_at, bits)
        bitmaps.add_new(db, key, entry)  # (measures the new bits)
        self.index.note_expiry(db, key, expire_at)

    def delete(self, key: bytes, db: int) -> bool:
        entry = self.index.dbs[db].get(key)
        if entry is None:
            return False
        self._flush_keys()
        expired = entry.expire_at is not None and entry.expire_at < self.now
        self.conn.execute("DELETE FROM keys WHERE db = ? AND key = ?", (db, key))
        self.conn.execute("DELETE FROM bitmaps WHERE db = ? AND key = ?", (db, key))
        self._append(db, key, fmt.OP_DELETE)
        self.bitmaps.unload(db, key, entry)
        self.index.remove(db, key)
        return not expired

    def rename(self, op: Rename) -> bool | None:
        src, dst, db = check_key(op.src), check_key(op.dst), check_db(op.db)
        entry = self._live(db, src)
        if entry is None:
            return None
        if src == dst:
            return not op.if_absent
        if op.if_absent and self._live(db, dst) is not None:
            return False
        bits = self.bitmaps.bits(db, src, entry)
        self.put(Put(dst, Value(bits, entry.length), expire_at=entry.expire_at, db=db))
        self.delete(src, db)
        return True

    def expire(self, op: Expire) -> bool:
        key, db = check_key(op.key), check_db(op.db)
        entry = self._live(db, key)
        if entry is None:
            return False
        if op.at_ms is not None and op.at_ms <= self.now:
            self.delete(key, db)
            return True
        if op.at_ms != entry.expire_at:
            self._flush_keys()
            self.conn.execute(
                "UPDATE keys SET expire_at = ? WHERE db = ? AND key = ?", (op.at_ms, db, key)
            )
            entry.expire_at = op.at_ms
            self.index.note_expiry(db, key, op.at_ms)
            self._append(db, key, fmt.OP_EXPIRE)
        return True

    def flush_db(self, db: int) -> None:
        self._flush_keys()
        self.conn.execute("DELETE FROM keys WHERE db = ?", (db,))
        self.conn.execute("DELETE FROM bitmaps WHERE db = ?", (db,))
        self._append(db, None, fmt.OP_FLUSHDB)
        for key, entry in list(self.index.dbs[db].items()):
            self.bitmaps.unload(db, key, entry)
        self.index.clear_db(db)

    def flush_all(self) -> None:
        for db in range(DATABASES):
            if self.index.dbs[db]:
                self.flush_db(db)
        self._append(-1, None, fmt.OP_FLUSHALL)
