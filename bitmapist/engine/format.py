"""The on-disk format (version 2): an SQLite database in WAL mode. See docs/storage.md.

Tables:

- `meta(name, value)`: `magic` = "bitmapist-engine", `format_version` = 2, `folded_seq`
  (journal rows up to this sequence may have been folded away by a checkpoint), `log_id`
  (the id in the header of the store's `-log`, see `catchup.open_log`).
- `keys(db, key, length, expire_at, base_seq)`: every stored key with its byte length and
  expiry (ms since the epoch, NULL for none). Always current (written in every batch).
- `bitmaps(db, key, crc, data)`: the checkpointed bits of a key (portable roaring
  serialization, CRC-32 of `data`); missing means no set bits. Valid as of `base_seq`.
- `journal(seq, db, key, op, bits)`: one row per key per write batch, in commit order,
  or one `OP_SETS` row for a whole batch of bit changes (`encode_sets`: one row is one
  commit's cheapest form). A key's bits are its `bitmaps` row plus its changes in
  `journal` rows with `seq > base_seq`.
  No index on `key`: each commit then writes one page (the journal's last), which is what
  makes single writes cheap; reading a key's rows scans from its `base_seq` on.

The header's `application_id` is 0x42544D50 ("BTMP") and `user_version` the format version,
so `file` and other tools recognise the database.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import struct
import sys
import time
import zlib
from array import array
from collections.abc import Iterator
from pathlib import Path

from pyroaring import BitMap

from ..errors import StoreError
from .walfile import truncation

FORMAT_VERSION = 2  # 2 added OP_SETS rows; a version-1 file is upgraded when opened to write
APPLICATION_ID = 0x42544D50  # "BTMP"
MAGIC = "bitmapist-engine"
_SQLITE_HEADER = b"SQLite format 3\x00"

# Journal row kinds. SET/CLEAR carry a serialized bitmap of offsets; the others mark
# that a key (or a db, or everything) changed so that other processes refresh it.
OP_SET, OP_CLEAR, OP_PUT, OP_DELETE, OP_EXPIRE, OP_FLUSHDB, OP_FLUSHALL = range(1, 8)
BIT_OPS = (OP_SET, OP_CLEAR)
# Several keys' SET/CLEAR changes in one row (format 2): `key` NULL, `bits` = `encode_sets`.
OP_SETS = 8
KNOWN_OPS = frozenset(range(1, 9))

SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE keys (
    db INTEGER NOT NULL,
    key BLOB NOT NULL,
    length INTEGER NOT NULL,
    expire_at INTEGER,
    base_seq INTEGER NOT NULL,
    PRIMARY KEY (db, key)
) WITHOUT ROWID;
CREATE TABLE bitmaps (
    db INTEGER NOT NULL,
    key BLOB NOT NULL,
    crc INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (db, key)
);
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY,
    db INTEGER NOT NULL,
    key BLOB,
    op INTEGER NOT NULL,
    bits BLOB
);
"""


class NotABitmapistStore(StoreError):
    """The file exists but is not a bitmapist store (another format or application)."""


class NewerFormat(StoreError):
    """The store was written by a newer bitmapist, in a format this version cannot read."""


class CorruptStore(StoreError):
    """The store's file is damaged (truncated, overwritten, failed checksum)."""


def check_file(path: Path) -> None:
    """Refuse files that are not SQLite databases or lack some of their pages (shorter
    than their header says, or than their WAL's last commit needs: see `walfile`).

    Runs before SQLite opens the file, so damage is reported rather than papered over.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        size = -1
    if size <= 0:
        _check_no_leftovers(path, "missing" if size < 0 else "empty (0 bytes)")
        return  # a new, empty file becomes a new store
    with open(path, "rb") as file:
        header = file.read(100)
    if not header.startswith(_SQLITE_HEADER):
        raise NotABitmapistStore(f"{path} is not a bitmapist store: it is not an SQLite database")
    if len(header) < 100:
        raise CorruptStore(f"{path} is truncated: {size} bytes, shorter than an SQLite header")
    # Another process's checkpoint moves pages from the WAL into the file while the two
    # are read: damage is only reported when three looks in a row find it.
    for _ in range(3):
        damage = truncation(path)
        if damage is None:
            return
    raise CorruptStore(damage)


def _check_no_leftovers(path: Path, state: str) -> None:
    """A missing or empty database is a new store, unless files of an old one are still
    next to it: then the database was truncated or deleted behind them, and opening it
    would start an empty store and discard its WAL. Refuse, touching nothing."""
    # (-log is created only after the database holds its schema; -wal only once it does.)
    leftovers = [
        name
        for name in (f"{path}-wal", f"{path}-log")
        if os.path.exists(name) and os.path.getsize(name) > 0
    ]
    if leftovers:
        raise CorruptStore(
            f"{path} is {state}, but {' and '.join(leftovers)} of a store are still there: "
            "the database was truncated or deleted. Restore it from a backup (files left "
            "untouched); to start a new empty store instead, delete those files too"
        )


def connect(
    path: Path | None, *, readonly: bool, busy_timeout: float, durability: str
) -> sqlite3.Connection:
    """Open (creating if needed) and validate a store; returns a connection in autocommit."""
    if path is None:
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    else:
        check_file(path)
        if readonly:
            if not path.exists():
                raise StoreError(f"{path} does not exist (opened read-only)")
            target, uri = f"file:{path}?mode=ro", True
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            target, uri = str(path), False
        try:
            conn = sqlite3.connect(
                target,
                uri=uri,
                timeout=busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise store_error(path, exc) from exc
    try:
        _prepare(conn, path, readonly=readonly, durability=durability, busy_timeout=busy_timeout)
    except sqlite3.Error as exc:
        conn.close()
        raise store_error(path, exc) from exc
    except BaseException:
        conn.close()
        raise
    return conn


# SQLite's primary result codes that say something about the file (sqlite.org/rescode.html).
_SQLITE_READONLY, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN = 8, 11, 13, 14
_SQLITE_NOTADB = 26


def store_error(path: Path | None, exc: sqlite3.Error) -> StoreError:
    """The one translation of an SQLite error into ours, at opening and at any later use.

    "not a database" (SQLITE_NOTADB) is `CorruptStore`: `check_file` has already refused
    files that do not start as SQLite databases, so SQLite saying it later means a damaged
    one (a header overwritten, a file truncated under an open store).
    """
    text = str(exc)
    where = path or ":memory:"
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code == _SQLITE_READONLY or "readonly" in text or "read-only" in text:
        return StoreError(f"store {where} is read-only: {text}")
    if code == _SQLITE_FULL or "full" in text:
        return StoreError(f"store {where} is full (disk or max_bytes): {text}")
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in text or "not a database" in text:
        return CorruptStore(f"store {where} is corrupt: {text}")
    if code == _SQLITE_CANTOPEN:
        return StoreError(f"cannot open store {where}: {text}")
    return StoreError(f"store {where}: {text}")


def _switch_to_wal(conn: sqlite3.Connection, busy_timeout: float) -> str:
    """PRAGMA journal_mode=WAL, retried while another process holds the file: SQLite
    answers "database is locked" at once here, without waiting `busy_timeout` (seen when
    several processes open a new store together)."""
    deadline = time.monotonic() + busy_timeout
    pause = 0.001
    while True:
        try:
            return conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _prepare(
    conn: sqlite3.Connection,
    path: Path | None,
    *,
    readonly: bool,
    durability: str,
    busy_timeout: float = 60.0,
) -> None:
    app_id, version, tables = _identity(conn)
    where = path or ":memory:"
    fresh = app_id == 0 and not tables
    # Judge the file before changing anything in it: a foreign database stays untouched.
    if fresh and readonly:
        raise NotABitmapistStore(f"{where} is empty, not a bitmapist store (opened read-only)")
    if not fresh and app_id != APPLICATION_ID:
        raise NotABitmapistStore(
            f"{where} is not a bitmapist store: an SQLite database of another application "
            f"(application_id {app_id:#x}, tables {', '.join(sorted(tables)) or 'none'})"
        )
    if not fresh and version > FORMAT_VERSION:
        raise NewerFormat(
            f"{where} uses store format {version}, written by a newer bitmapist; this version "
            f"reads formats 1..{FORMAT_VERSION}: upgrade bitmapist to open it"
        )
    if not fresh and version < 1:
        raise CorruptStore(f"{where} has a damaged header: store format {version}")
    if fresh and not readonly:
        # Checkpoints free journal pages: give them back to the file system as they go.
        # (Only possible before the first table, and before WAL mode writes the header.)
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
    if not readonly and path is not None:
        mode = _switch_to_wal(conn, busy_timeout)
        if mode.lower() != "wal":
            raise StoreError(f"{where}: cannot switch to WAL journal mode (got {mode})")
    if fresh:
        _create(conn)
        version = FORMAT_VERSION
    meta = dict(conn.execute("SELECT name, value FROM meta"))
    if meta.get("magic") != MAGIC or meta.get("format_version") != version:
        raise CorruptStore(f"{where} has a damaged meta table: {meta!r}")
    if version < FORMAT_VERSION and not readonly:
        _upgrade(conn, version)
    # NORMAL in WAL mode: a commit is in the OS before it returns (survives kill -9);
    # FULL also fsyncs it (survives power loss).
    conn.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
    conn.execute("PRAGMA journal_size_limit = 16777216")  # a reset WAL shrinks to 16 MB
    if path is not None:  # (an in-memory database lives in its page cache)
        # The engine caches bitmaps itself; SQLite's default 2 MB page cache mostly held
        # second copies of their blobs (1.7 MB of RSS; commit cost measured the same).
        # 64 KiB: loading the sparse benchmark dataset left 0.2 MB less resident than with
        # 256 KiB, and a 60,000-key checkpoint took as long (0.56-0.86 s either way).
        conn.execute("PRAGMA cache_size = -64")


def _identity(conn: sqlite3.Connection) -> tuple[int, int, set[str]]:
    """(application_id, user_version, table names), read in one snapshot: another process
    may be creating the schema right now, and a header read before its commit with tables
    read after it would look like another application's database."""
    conn.execute("BEGIN")
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    finally:
        conn.execute("COMMIT")
    return app_id, version, tables


@contextlib.contextmanager
def _write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back if anything fails (even an interrupt)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


def _create(conn: sqlite3.Connection) -> None:
    with _write_transaction(conn):
        # Another process may have created it while we waited for the write lock.
        if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.executemany(
                "INSERT INTO meta (name, value) VALUES (?, ?)",
                [("magic", MAGIC), ("format_version", FORMAT_VERSION), ("folded_seq", 0)],
            )
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")


def _upgrade(conn: sqlite3.Connection, version: int) -> None:
    """Mark an older file as the current format. Format 1 -> 2 only added a row kind, so
    nothing else changes (older versions then refuse the file: it may hold such rows)."""
    with _write_transaction(conn):
        if conn.execute("PRAGMA user_version").fetchone()[0] == version:
            conn.execute(
                "UPDATE meta SET value = ? WHERE name = 'format_version'", (FORMAT_VERSION,)
            )
            conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")


# One change in an OP_SETS row: op (OP_SET/OP_CLEAR), length of the bitmap, db, length of
# the key; then the key, then the bitmap. db + key length + key is what `sets_needle`
# searches for (SQL's instr) to find a key's rows without decoding every one.
_SETS_HEADER = struct.Struct("<BIBH")
#: The longest key an OP_SETS row holds (its length is 16 bits). Longer keys (Redis allows
#: 512 MB) are valid all the same: their changes go in rows of their own (`fastplan`).
SETS_MAX_KEY = 0xFFFF


def encode_sets(changes: list[tuple[int, int, bytes, bytes]]) -> bytes:
    """The `bits` of an OP_SETS row from (op, db, key, serialized offsets) changes."""
    pack = _SETS_HEADER.pack
    parts = []
    for op, db, key, data in changes:
        parts += (pack(op, len(data), db, len(key)), key, data)
    return b"".join(parts)


def decode_sets(blob: bytes, where: str) -> list[tuple[int, int, bytes, bytes]]:
    """The (op, db, key, serialized offsets) changes of an OP_SETS row."""
    changes = []
    unpack = _SETS_HEADER.unpack_from
    size = _SETS_HEADER.size
    pos, end = 0, len(blob)
    try:
        while pos < end:
            op, data_len, db, key_len = unpack(blob, pos)
            pos += size
            key = blob[pos : pos + key_len]
            data = blob[pos + key_len : pos + key_len + data_len]
            pos += key_len + data_len
            if op not in BIT_OPS or pos > end:
                raise ValueError(f"entry ends at byte {pos} of {end}, op {op}")
            changes.append((op, db, key, data))
    except (struct.error, ValueError) as exc:
        raise CorruptStore(f"{where}: unreadable journal row ({exc})") from None
    return changes


def sets_positions(blob: bytes, where: str) -> list[tuple[int, int, bytes]]:
    """(byte position, db, key) of each change of an OP_SETS row (checked as
    `decode_sets` does; the offsets are not copied), for `sets_change_at`."""
    positions = []
    unpack = _SETS_HEADER.unpack_from
    size = _SETS_HEADER.size
    pos, end = 0, len(blob)
    try:
        while pos < end:
            op, data_len, db, key_len = unpack(blob, pos)
            positions.append((pos, db, blob[pos + size : pos + size + key_len]))
            pos += size + key_len + data_len
            if op not in BIT_OPS or pos > end:
                raise ValueError(f"entry ends at byte {pos} of {end}, op {op}")
    except (struct.error, ValueError) as exc:
        raise CorruptStore(f"{where}: unreadable journal row ({exc})") from None
    return positions


def sets_change_at(blob: bytes, pos: int, db: int, key: bytes, where: str) -> tuple[int, bytes]:
    """(op, serialized offsets) of the change at byte `pos` of an OP_SETS row, which must
    be of `key` in `db` (a position `sets_positions` gave for that row)."""
    try:
        op, data_len, change_db, key_len = _SETS_HEADER.unpack_from(blob, pos)
    except struct.error:
        op, change_db, key_len, data_len = 0, -1, 0, 0
    start = pos + _SETS_HEADER.size
    if change_db != db or blob[start : start + key_len] != key or op not in BIT_OPS:
        raise CorruptStore(f"{where}: journal row changed under its index (byte {pos})")
    return op, blob[start + key_len : start + key_len + data_len]


def sets_needle(db: int, key: bytes) -> bytes | None:
    """Bytes every OP_SETS row changing `key` in `db` contains (some others may too);
    None for a key longer than `SETS_MAX_KEY`, which no OP_SETS row holds (SQL's
    instr of NULL matches nothing)."""
    if len(key) > SETS_MAX_KEY:
        return None
    return struct.pack("<BH", db, len(key)) + key


def encode_bitmap(bits: BitMap) -> tuple[int, bytes]:
    """(crc, data) for a `bitmaps` row."""
    data = bits.serialize()
    return zlib.crc32(data), data


def decode_bitmap(crc: int, data: bytes, where: str) -> BitMap:
    """The bitmap of a `bitmaps` row; a failed checksum or parse is `CorruptStore`."""
    return decode_bits(checked_bitmap(crc, data, where), where)


def checked_bitmap(crc: int, data: bytes, where: str) -> bytes:
    """The data of a `bitmaps` row once its checksum matches (else `CorruptStore`)."""
    if zlib.crc32(data) != crc:
        raise CorruptStore(f"{where}: checksum mismatch in a stored bitmap")
    return data


# The portable roaring format starts with a cookie: 12346 is followed by the number of
# containers; 12347 (when some are run containers) carries that number - 1 in its high 16
# bits and is followed by one bit per container. Then comes (key, cardinality - 1) as two
# uint16 per container. github.com/RoaringBitmap/RoaringFormatSpec
_NO_RUNS_COOKIE, _RUNS_COOKIE = 12346, 12347


def serialized_cardinality(data: bytes, where: str) -> int:
    """How many bits a portable roaring serialization holds, read from its header alone
    (no decoding); a malformed header is `CorruptStore`."""
    try:
        (cookie,) = struct.unpack_from("<I", data)
        if cookie == _NO_RUNS_COOKIE:
            (containers,) = struct.unpack_from("<I", data, 4)
            start = 8
        elif cookie & 0xFFFF == _RUNS_COOKIE:
            containers = (cookie >> 16) + 1
            start = 4 + (containers + 7) // 8
        else:
            raise ValueError(f"unknown cookie {cookie}")
        end = start + 4 * containers
        if containers > 1 << 16 or end > len(data):
            raise ValueError(f"{containers} containers do not fit in {len(data)} bytes")
    except (struct.error, ValueError) as exc:
        raise CorruptStore(f"{where}: unreadable bitmap header ({exc})") from exc
    pairs = array("H", data[start:end])
    if sys.byteorder != "little":
        pairs.byteswap()
    return containers + sum(pairs[1::2])


def decode_bits(data: bytes, where: str) -> BitMap:
    try:
        return BitMap.deserialize(data)
    except Exception as exc:  # pyroaring raises ValueError (or others) on garbage
        raise CorruptStore(f"{where}: unreadable bitmap ({exc})") from exc


def file_bytes(path: Path | None) -> int:
    """Bytes on disk: the database plus its WAL (0 for an in-memory store)."""
    if path is None:
        return 0
    total = 0
    for name in (str(path), f"{path}-wal"):
        with contextlib.suppress(FileNotFoundError):
            total += os.stat(name).st_size
    return total
