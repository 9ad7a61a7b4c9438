"""Checkpoints give space back: after values are deleted or overwritten with smaller ones,
the next checkpoint frees the file's free pages (auto_vacuum=INCREMENTAL), unless the
engine was opened with `vacuum=False`."""

from __future__ import annotations

import os
import random
import sqlite3
from pathlib import Path

import pytest

from bitmapist.engine import Delete, Engine, Put, Value

KEYS = 60
VALUE_BYTES = 64 * 1024


def _disk(path: Path) -> int:
    """The file and its WAL, as `du` would count them."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _fill(engine: Engine) -> None:
    rnd = random.Random(7)
    engine.write(
        [Put(b"k%d" % i, Value.from_bytes(rnd.randbytes(VALUE_BYTES))) for i in range(KEYS)]
    )
    engine.checkpoint()


def _shrink(engine: Engine) -> None:
    """Delete half the keys and overwrite the rest with one bit each."""
    engine.write([Delete(b"k%d" % i) for i in range(0, KEYS, 2)])
    engine.write([Put(b"k%d" % i, Value.from_bytes(b"\x01")) for i in range(1, KEYS, 2)])
    engine.checkpoint()


@pytest.mark.parametrize("vacuum", [True, False])
def test_a_checkpoint_gives_freed_pages_back(tmp_path: Path, vacuum: bool):
    path = tmp_path / "store.db"
    engine = Engine(path, vacuum=vacuum)
    try:
        _fill(engine)
        full = _disk(path)
        assert full > KEYS * VALUE_BYTES  # random bytes do not compress
        _shrink(engine)
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")  # what SQLite's autocheckpoint does
        conn.close()
        pages, free = _pragmas(path)
    finally:
        engine.close()
    if vacuum:
        assert free * 8 <= pages
        assert os.path.getsize(path) < full / 4
    else:
        assert free * 2 > pages  # the pages stay in the file, to be reused


def _pragmas(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        return (
            conn.execute("PRAGMA page_count").fetchone()[0],
            conn.execute("PRAGMA freelist_count").fetchone()[0],
        )
    finally:
        conn.close()
