"""Files the engine must refuse or survive: foreign, newer, truncated, corrupt, read-only,
full. Each gives a clear `StoreError`, never a crash or a silently empty store."""

from __future__ import annotations

import sqlite3

import pytest
from pyroaring import BitMap

from bitmapist.engine import (
    FORMAT_VERSION,
    CorruptStore,
    Engine,
    NewerFormat,
    NotABitmapistStore,
    Put,
    SetBits,
    Value,
)
from bitmapist.errors import BitmapistError, StoreError


@pytest.fixture
def path(tmp_path):
    return tmp_path / "store.db"


def _filled(path, keys: int = 200) -> None:
    with Engine(path) as engine:
        engine.write([SetBits(b"key:%d" % n, range(n, 50_000, 13)) for n in range(keys)])
        engine.checkpoint()


def test_a_text_file_is_not_a_store(path):
    path.write_text("name,count\nactive,3\n")
    with pytest.raises(NotABitmapistStore, match="not an SQLite database"):
        Engine(path)
    assert path.read_text() == "name,count\nactive,3\n"  # untouched


def test_another_applications_sqlite_database_is_refused_untouched(path):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER, name TEXT)")
    conn.execute("INSERT INTO users VALUES (1, 'ada')")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(NotABitmapistStore, match="another application.*users"):
        Engine(path)
    assert path.read_bytes() == before


def test_a_newer_format_is_refused(path):
    _filled(path, keys=3)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {FORMAT_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(NewerFormat, match=f"format {FORMAT_VERSION + 1}.*upgrade bitmapist"):
        Engine(path)


def test_a_damaged_meta_table_is_corrupt(path):
    _filled(path, keys=3)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = 'something-else' WHERE name = 'magic'")
    conn.commit()
    conn.close()
    with pytest.raises(CorruptStore, match="meta"):
        Engine(path)


@pytest.mark.parametrize("keep", [0.5, 0.9, 50 / 4096])
def test_a_truncated_file_is_refused(path, keep):
    _filled(path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CorruptStore, match="truncated"):
        Engine(path)


def _overwrite(path, start_fraction: float, size: int) -> None:
    data = bytearray(path.read_bytes())
    start = int(len(data) * start_fraction)
    data[start : start + size] = bytes((n * 37 + 11) % 256 for n in range(size))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("where", [0.02, 0.3, 0.6, 0.95])
def test_overwritten_pages_give_a_store_error_not_wrong_answers(path, where):
    _filled(path)
    _overwrite(path, where, 3000)
    try:
        with Engine(path) as engine:
            for n in range(200):
                # Every key reads back exactly, or the damage is reported.
                assert engine.get(b"key:%d" % n).bits == BitMap(range(n, 50_000, 13))
    except StoreError as exc:
        assert str(path) in str(exc) or "corrupt" in str(exc).lower()
    # never any other exception type: the test would fail on one


def test_a_damaged_bitmap_fails_its_checksum(path):
    _filled(path, keys=3)
    conn = sqlite3.connect(path)
    row = conn.execute("SELECT data FROM bitmaps WHERE key = ?", (b"key:1",)).fetchone()
    data = bytearray(row[0])
    data[len(data) // 2] ^= 0x55
    conn.execute("UPDATE bitmaps SET data = ? WHERE key = ?", (bytes(data), b"key:1"))
    conn.commit()
    conn.close()
    with Engine(path) as engine:
        assert engine.bitcount(b"key:0") == len(range(0, 50_000, 13))
        with pytest.raises(CorruptStore, match="checksum"):
            engine.get(b"key:1")


def test_read_only_store_reads_and_refuses_writes(path):
    _filled(path, keys=3)
    with Engine(path, readonly=True) as engine:
        assert engine.bitcount(b"key:2") == len(range(2, 50_000, 13))
        with pytest.raises(StoreError, match="read-only"):
            engine.write([SetBits(b"key:2", [1])])
        assert engine.bitcount(b"key:2") == len(range(2, 50_000, 13))
        assert engine.getbit(b"key:2", 1) == 0
    with Engine(path) as engine:
        assert engine.getbit(b"key:2", 1) == 0


def test_read_only_open_of_a_missing_or_empty_file(path):
    with pytest.raises(StoreError, match="does not exist"):
        Engine(path, readonly=True)
    path.write_bytes(b"")
    with pytest.raises(NotABitmapistStore, match="empty"):
        Engine(path, readonly=True)


def test_a_full_disk_reaches_the_caller_and_leaves_the_store_consistent(path):
    with Engine(path, max_bytes=256 * 1024) as engine:
        engine.write([SetBits(b"small", [1, 2, 3])])
        big = Value(BitMap(range(0, 8_000_000, 3)), 1_000_000)
        with pytest.raises(StoreError, match="full"):
            engine.write([SetBits(b"small", [4]), Put(b"big", big)])
        # Nothing of the failed batch is visible, and the store keeps working.
        assert engine.get(b"small").bits == BitMap([1, 2, 3])
        assert not engine.exists(b"big")
        engine.write([SetBits(b"small", [5])])
        assert engine.get(b"small").bits == BitMap([1, 2, 3, 5])
    with Engine(path) as engine:
        assert engine.get(b"small").bits == BitMap([1, 2, 3, 5])
        assert not engine.exists(b"big")


def test_every_refusal_is_a_bitmapist_error():
    for cls in (CorruptStore, NewerFormat, NotABitmapistStore):
        assert issubclass(cls, StoreError) and issubclass(cls, BitmapistError)
