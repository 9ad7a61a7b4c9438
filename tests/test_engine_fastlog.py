"""The fast log (`bitmapist/engine/fastlog.py`): the fast write path appends to a mapped
file; SQLite writes first move its rows into the journal. Every engine on a file, whatever
its mode, must see the same state, and nothing written may be lost or applied twice.
(Crash safety and four processes at once: tests/test_embedded_durability.py.)"""

from __future__ import annotations

import multiprocessing
import os
import random
import sqlite3

import pytest
from pyroaring import BitMap

from bitmapist.engine import CorruptStore, Engine, SetBits
from bitmapist.engine.fastlog import CAPACITY, HEADER_SIZE, log_path
from bitmapist.errors import StoreError

KEYS = (b"month", b"week", b"day")


@pytest.fixture
def path(tmp_path):
    return tmp_path / "store.db"


def _mark(engine: Engine, offset: int, value: bool = True) -> None:
    engine.write([SetBits(key, (offset,), value) for key in KEYS])


def _created(path, top: int = 100_000) -> Engine:
    engine = Engine(path)
    _mark(engine, top)  # creates the keys (the full path); later marks take the log
    return engine


def _die(engine: Engine) -> None:
    """Drop an engine as a killed process would: no drain, no goodbye."""
    engine._closed = True
    engine._conn.close()
    engine._log.close()


def _log_rows(engine: Engine) -> int:
    _, end = engine._log.state()
    return len(engine._log.rows(HEADER_SIZE, end))


def test_marks_go_to_the_log_and_reach_sqlite_when_it_is_full(path):
    with _created(path) as engine:
        generation, _ = engine._log.state()
        marks = 0
        while engine._log.state()[0] == generation:  # until a drain emptied it
            _mark(engine, marks)
            marks += 1
        assert marks > CAPACITY // 200  # thousands of marks per drain
        assert engine.bitcount(b"day") == marks + 1
    with Engine(path) as reopened:
        assert reopened.bitcount(b"week") == marks + 1
        assert _log_rows(reopened) == 0  # close() moved the rest into SQLite


def test_other_engines_see_log_rows_at_once(path):
    with _created(path) as writer, Engine(path) as reader:
        assert reader.bitcount(b"day") == 1
        for offset in range(50):
            _mark(writer, offset)
        writer.write([SetBits(b"day", (3,), value=False)])
        assert _log_rows(writer) == 51  # nothing went through SQLite
        assert reader.bitcount(b"day") == 50
        assert reader.getbit(b"day", 3) == 0
        _mark(reader, 3)  # the reader appends after the writer's rows
        assert writer.getbit(b"day", 3) == 1


def test_a_batch_over_a_thousand_keys_is_one_log_row_others_read(path):
    """A server's turn of SETBITs over many keys is one engine write: one row, too."""
    keys = [b"k:%d" % n for n in range(1500)]
    with Engine(path) as writer, Engine(path) as reader:
        writer.write([SetBits(key, (100,)) for key in keys])  # creates them: full path
        rows = _log_rows(writer)
        writer.write([SetBits(key, (n % 100,)) for n, key in enumerate(keys)])
        assert _log_rows(writer) == rows + 1
        assert [reader.getbit(key, n % 100) for n, key in enumerate(keys)] == [1] * 1500
    with Engine(path) as reopened:
        assert sum(reopened.bitcount(key) for key in keys) == 3000


def test_an_evicted_bitmap_reloads_with_its_log_rows(path):
    with _created(path) as engine:
        for offset in range(20):
            _mark(engine, offset)
        engine.cache_bytes = 0
        engine._evict()
        assert engine.loaded_bitmaps == 0
        assert engine.bitcount(b"month") == 21  # SQLite's bits plus the log's


def test_a_read_only_engine_reads_the_log(path):
    with _created(path) as writer:
        for offset in range(10):
            _mark(writer, offset)
        with Engine(path, readonly=True) as reader:
            assert reader.bitcount(b"day") == 11
            _mark(writer, 500)
            assert reader.getbit(b"day", 500) == 1


def test_rows_a_dead_drain_left_in_the_log_are_not_applied_twice(path):
    # A drain commits the log's rows to SQLite, then empties the log; a process that dies
    # in between leaves the rows in both. They must count once.
    with _created(path) as engine:
        for offset in range(10):
            _mark(engine, offset)
        rows = engine._log.rows(HEADER_SIZE, engine._log.state()[1])
    conn = sqlite3.connect(path)
    conn.executemany("INSERT OR IGNORE INTO journal VALUES (?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    # (close() drained already; put the rows back in the log as the dead process left them)
    engine = Engine(path)
    for row in rows:
        engine._log.append(row)
    _die(engine)
    with Engine(path) as reopened:
        assert _log_rows(reopened) == 10  # still there: opening does not drain
        assert reopened.bitcount(b"day") == 11
        _mark(reopened, 11, value=False)
        _mark(reopened, 5, value=False)
        assert reopened.bitcount(b"day") == 10
    with Engine(path) as again:
        assert again.bitcount(b"day") == 10
        assert again.getbit(b"day", 5) == 0


def test_a_damaged_log_tail_is_cut_when_the_store_opens(path, caplog):
    # Only a power loss damages entries (the log is never fsynced); as with a WAL frame
    # that fails its checksum, the log then ends before the damage.
    with _created(path) as engine:
        _mark(engine, 1)
        _mark(engine, 2)
        _, end = engine._log.state()
        _die(engine)
    with open(log_path(path), "r+b") as raw:
        raw.seek(end - 3)
        byte = raw.read(1)
        raw.seek(end - 3)
        raw.write(bytes([byte[0] ^ 0xFF]))  # a byte of the last entry
    with pytest.raises(CorruptStore, match="damaged entry"):
        Engine(path, readonly=True)  # cannot repair: says so
    with caplog.at_level("WARNING", logger="bitmapist.engine"), Engine(path) as reopened:
        assert "damaged log entries" in caplog.text
        assert reopened.getbit(b"day", 1) == 1
        assert reopened.getbit(b"day", 2) == 0  # the damaged entry's write
        _mark(reopened, 3)
    with Engine(path) as again:
        assert sorted(again.get(b"day").bits) == [1, 3, 100_000]


def test_a_file_that_is_not_a_log_is_refused(path):
    Engine(path).close()
    log_path(path).write_bytes(b"not a log" * 100)
    with pytest.raises(CorruptStore, match="not a bitmapist log"):
        Engine(path)


@pytest.mark.parametrize("mode", [{"group_commit_ms": 5}, {"durability": "full"}])
def test_engines_that_write_sqlite_directly_keep_the_order(path, mode):
    with _created(path) as fast, Engine(path, **mode) as other:
        for offset in range(30):
            _mark(fast, offset)
            _mark(other, offset, value=offset % 2 == 0)  # clears the odd ones again
            other.flush()
        assert fast.bitcount(b"day") == 16
        assert other.bitcount(b"day") == 16
    with Engine(path) as reopened:
        assert reopened.bitcount(b"day") == 16
        assert sorted(reopened.get(b"week").bits) == [*range(0, 30, 2), 100_000]


def test_a_backup_holds_what_is_still_in_the_log(path, tmp_path):
    with _created(path) as engine:
        for offset in range(25):
            _mark(engine, offset)
        engine.backup(tmp_path / "copy.db")
        _mark(engine, 99)  # after the backup: not in it
    with Engine(tmp_path / "copy.db") as copy:
        assert copy.bitcount(b"day") == 26


def test_a_reader_opened_before_the_log_existed_finds_it(path):
    Engine(path).close()
    log_path(path).unlink()  # as a store of the previous version has none
    with Engine(path, readonly=True) as reader:
        assert reader._log is None
        with _created(path) as writer:
            _mark(writer, 7)
            assert writer._log is not None and _log_rows(writer) == 1
            assert reader.getbit(b"day", 7) == 1


def test_a_writer_stuck_holding_the_log_makes_others_fail_after_busy_timeout(path):
    with _created(path) as stuck, Engine(path, busy_timeout=0.2) as other:
        stuck._log.acquire(exclusive=True)  # as a process stopped inside a write would
        try:
            with pytest.raises(StoreError, match="locked: another process has held it"):
                _mark(other, 1)
        finally:
            stuck._log.release()
        _mark(other, 1)  # and works again once it is free
        assert stuck.getbit(b"day", 1) == 1
        assert other.stats()["log_bytes"] > 0


def _mixed_writer(path: str, index: int, processes: int, barrier, results) -> None:
    """Set and clear this process's own offsets (index mod processes) on shared keys:
    fast appends, full-path writes, checkpoints, all interleaved with the other
    processes' (yielding the CPU after each write). Reports the last value it wrote to
    each of its bits."""
    rng = random.Random(index)
    final: dict[tuple[bytes, int], bool] = {}
    try:
        _mixed_writes(path, index, processes, barrier, rng, final)
    except BaseException as exc:  # reported to the test rather than lost in the child
        results.put(f"process {index} failed: {exc!r}")
        raise
    results.put(final)


def _mixed_writes(path, index, processes, barrier, rng, final) -> None:
    with Engine(path, checkpoint_rows=5_000) as engine:
        barrier.wait()
        for step in range(1_500):
            key = b"k%d" % rng.randrange(4)
            offset = index + processes * rng.randrange(3_000)
            value = rng.random() < 0.7
            engine.write([SetBits(key, (offset,), value)])
            final[(key, offset)] = value
            if step % 400 == 399:
                engine.checkpoint()
            elif step % 100 == 99:
                engine.write([SetBits(b"new%d-%d" % (index, step), (1,))])  # the full path
            os.sched_yield()


def test_processes_mixing_fast_and_full_writes_and_checkpoints_agree(path):
    processes = 3
    with Engine(path) as engine:  # keys long enough already: marks take the fast path
        engine.write([SetBits(b"k%d" % n, (9_999,)) for n in range(4)])
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [
        context.Process(target=_mixed_writer, args=(str(path), n, processes, barrier, results))
        for n in range(processes)
    ]
    for worker in workers:
        worker.start()
    finals = [results.get(timeout=60) for _ in workers]
    assert not [final for final in finals if isinstance(final, str)]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    expected: dict[bytes, set[int]] = {b"k%d" % n: {9_999} for n in range(4)}
    for final in finals:
        for (key, offset), value in final.items():
            if value:
                expected[key].add(offset)
    with Engine(path) as engine:
        for key, offsets in expected.items():
            assert set(engine.get(key).bits) == offsets, key


def test_a_bitmap_the_caller_changes_afterwards_changes_nothing_stored(path):
    with _created(path) as engine:
        offsets = BitMap([1, 2, 3])
        engine.write([SetBits(b"day", offsets)])  # the fast path keeps it for reloads
        offsets.add(50)
        engine.cache_bytes = 0
        engine._evict()
        assert sorted(engine.get(b"day").bits) == [1, 2, 3, 100_000]


def test_a_file_system_without_fallocate_still_gets_real_blocks(tmp_path, monkeypatch):
    import errno

    from bitmapist.engine import fastlog

    def unsupported(fd, offset, length):
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(os, "posix_fallocate", unsupported)  # as on some file systems
    with _created(tmp_path / "store.db") as engine:
        _mark(engine, 1)
        stat = os.stat(fastlog.log_path(tmp_path / "store.db"))
        assert stat.st_size == CAPACITY
        assert stat.st_blocks * 512 >= CAPACITY  # written, not sparse
        assert engine.getbit(b"day", 1) == 1
