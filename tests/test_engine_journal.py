"""Format 2's journal: a batch of bit changes on several keys is one `OP_SETS` row.

These rows must be read back everywhere a per-key row is: by a reopened engine (before
and after a checkpoint), by another engine on the same file, and when a cold key is
loaded; a format-1 file is upgraded when opened for writing.
"""

from __future__ import annotations

import sqlite3

import pytest

from bitmapist.engine import FORMAT_VERSION, CorruptStore, Engine, SetBits
from bitmapist.engine import format as fmt
from bitmapist.engine.fastlog import HEADER_SIZE


@pytest.fixture
def path(tmp_path):
    return tmp_path / "store.db"


def _journal_ops(path) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [op for (op,) in conn.execute("SELECT op FROM journal ORDER BY seq")]
    finally:
        conn.close()


def _mark(engine: Engine, offset: int, keys=(b"month", b"week", b"day")) -> None:
    engine.write([SetBits(key, (offset,)) for key in keys])


def test_a_fast_batch_on_several_keys_is_one_row(path):
    with Engine(path) as engine:
        _mark(engine, 999)  # creates the keys: the full path, one row per key
        rows_before = len(_journal_ops(path))
        for offset in range(10):
            _mark(engine, offset)
        engine.write([SetBits(b"day", (500,))])  # one key: a plain row
    ops = _journal_ops(path)
    assert ops[rows_before:] == [fmt.OP_SETS] * 10 + [fmt.OP_SET]


def test_sets_rows_survive_reopening_before_and_after_a_checkpoint(path):
    with Engine(path) as engine:
        _mark(engine, 999)
        for offset in range(0, 100, 3):
            _mark(engine, offset)
        engine.write([SetBits(b"week", (3, 6), value=False), SetBits(b"day", (7,))])
    expected_week = {*range(0, 100, 3), 999} - {3, 6}
    with Engine(path) as reopened:  # every bitmap loaded from the journal
        assert set(reopened.get(b"week").bits) == expected_week
        assert 7 in reopened.get(b"day").bits
        assert reopened.bitcount(b"month") == 35
        reopened.checkpoint()
    assert fmt.OP_SETS not in _journal_ops(path)[:-1]  # folded (the newest row stays)
    with Engine(path) as again:
        assert set(again.get(b"week").bits) == expected_week
        assert again.bitcount(b"day") == 36


def test_another_engine_applies_sets_rows_to_bitmaps_it_holds(path):
    with Engine(path) as writer, Engine(path) as reader:
        _mark(writer, 999)
        assert reader.bitcount(b"day") == 1  # loaded now: later rows are applied to it
        for offset in range(20):
            _mark(writer, offset)
        writer.write([SetBits(b"day", (0, 1), value=False), SetBits(b"month", (5000,))])
        assert reader.bitcount(b"day") == 19
        assert reader.bitcount(b"week") == 21
        assert reader.strlen(b"month") == 626  # the full path grew it: 5000 // 8 + 1


def test_a_cold_key_is_found_in_sets_rows_despite_lookalike_bytes(path):
    # The second key's name contains the bytes a search for b"x" looks for (db 0, length
    # 1, b"x"): the row is decoded and only b"x"'s own changes count.
    lookalike = b"\x00\x01\x00x"
    with Engine(path) as engine:
        engine.write([SetBits(b"x", (800,)), SetBits(lookalike, (800,))])
        engine.write([SetBits(b"x", (1,)), SetBits(lookalike, (2,))])
        engine.write([SetBits(lookalike, (3,)), SetBits(b"other", (9,))])
    with Engine(path) as reopened:
        assert sorted(reopened.get(b"x").bits) == [1, 800]
        assert sorted(reopened.get(lookalike).bits) == [2, 3, 800]


def test_a_damaged_sets_row_is_reported_not_applied(path):
    with Engine(path) as engine:
        _mark(engine, 999)
        _mark(engine, 1)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE journal SET bits = substr(bits, 1, 20) WHERE op = ?", (fmt.OP_SETS,))
    conn.commit()
    conn.close()
    with pytest.raises(CorruptStore, match="unreadable journal row"):
        Engine(path)


def test_a_format_1_file_is_upgraded_when_opened_for_writing(path):
    with Engine(path) as engine:
        engine.write([SetBits(b"day", (5,))])
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = 1 WHERE name = 'format_version'")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with Engine(path, readonly=True) as reader:  # read as it is, left as it is
        assert reader.bitcount(b"day") == 1
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 1
    with Engine(path) as writer:
        _mark(writer, 6)
        assert writer.bitcount(b"day") == 2
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == FORMAT_VERSION == 2
    assert conn.execute("SELECT value FROM meta WHERE name = 'format_version'").fetchone() == (2,)
    conn.close()


def _rows_written(engine: Engine, path) -> int:
    """Journal rows in SQLite plus those still in the fast log."""
    _, end = engine._log.state()
    return len(_journal_ops(path)) + len(engine._log.rows(HEADER_SIZE, end))


def test_marking_what_is_marked_writes_no_row(path):
    with Engine(path) as engine:
        _mark(engine, 999)
        _mark(engine, 5)
        rows = _rows_written(engine, path)
        for _ in range(3):
            _mark(engine, 5)  # the same id again: nothing to commit
        assert _rows_written(engine, path) == rows
        _mark(engine, 6)
        assert _rows_written(engine, path) == rows + 1


def test_a_mark_after_another_engine_cleared_the_bit_is_written(path):
    with Engine(path) as first, Engine(path) as second:
        _mark(first, 999)
        _mark(first, 5)
        _mark(second, 5)  # loads the bits, finds 5 set: no row
        first.write([SetBits(b"day", (5,), value=False)])
        _mark(second, 5)  # must not trust what it loaded before
        assert first.getbit(b"day", 5) == 1
    with Engine(path) as reopened:
        assert reopened.getbit(b"day", 5) == 1
