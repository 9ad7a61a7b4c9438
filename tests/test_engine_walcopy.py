"""The background WAL copier: writers stop paying for SQLite's checkpoints, and the
write-ahead log stays small anyway."""

from __future__ import annotations

import struct
import time

from bitmapist.engine import Engine, SetBits


def _wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def _wal_restarts(path) -> int:
    """The WAL header's checkpoint sequence number: it grows each time the log restarts
    from its beginning, which needs every frame copied back to the database first."""
    with open(f"{path}-wal", "rb") as wal:
        return struct.unpack(">I", wal.read(32)[12:16])[0]


def test_the_copier_checkpoints_so_that_the_wal_restarts(tmp_path):
    path = tmp_path / "store.db"
    with Engine(path) as engine:
        engine.write([SetBits(b"day", [1_000_000])])  # later writes take the fast path
        copier = engine._wal_copier
        assert copier is not None
        before = _wal_restarts(path)
        for n in range(600):  # about 600 WAL frames: under SQLite's backstop of 8,000
            engine.write([SetBits(b"day", [n]), SetBits(b"week", [n])])

        extra = iter(range(600, 1_000_000))

        def restarted() -> bool:
            # (Each try is one more commit, of a new bit: the log restarts at a commit.)
            engine.write([SetBits(b"day", [next(extra)])])
            return _wal_restarts(path) > before

        assert _wait_for(restarted)
        assert copier.checkpoints >= 1
        day = engine.bitcount(b"day")
        assert day == next(extra) - 600 + 601
    with Engine(path, readonly=True) as reopened:
        assert reopened.bitcount(b"day") == day
        assert reopened.bitcount(b"week") == 600


def test_read_only_and_memory_engines_run_no_copier(tmp_path):
    path = tmp_path / "store.db"
    Engine(path).close()
    with Engine(path, readonly=True) as engine:
        assert engine._wal_copier is None
    with Engine(None) as engine:
        assert engine._wal_copier is None


def test_close_stops_the_copier_thread(tmp_path):
    engine = Engine(tmp_path / "store.db")
    thread = engine._wal_copier._thread
    assert thread.is_alive()
    engine.close()
    assert not thread.is_alive()
