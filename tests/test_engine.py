"""Contract tests for the engine: Redis string semantics, batches, reopening, checkpoints,
other processes' writes, the LRU cache and backups."""

from __future__ import annotations

import pytest
from pyroaring import BitMap

from bitmapist.engine import (
    Delete,
    Engine,
    Expire,
    FlushAll,
    FlushDb,
    Put,
    Rename,
    SetBits,
    Value,
)
from bitmapist.engine.engine import now_ms
from bitmapist.errors import InvalidInput, StoreError

HOUR_MS = 3_600_000


@pytest.fixture(params=["file", "memory"])
def engine(request, tmp_path):
    engine = Engine(tmp_path / "engine.db" if request.param == "file" else None)
    yield engine
    engine.close()


@pytest.fixture
def path(tmp_path):
    return tmp_path / "engine.db"


# --- Redis string semantics


def test_setbit_grows_the_string_and_reports_previous_bits(engine):
    assert engine.write([SetBits(b"k", [7], previous=True)]) == [0]
    assert engine.strlen(b"k") == 1
    assert engine.write([SetBits(b"k", [7], previous=True)]) == [1]
    assert engine.write([SetBits(b"k", [100], previous=True)]) == [0]
    assert engine.strlen(b"k") == 13
    assert engine.get(b"k").to_bytes() == b"\x01" + b"\x00" * 11 + b"\x08"
    assert engine.getbit(b"k", 7) == 1
    assert engine.getbit(b"k", 8) == 0
    assert engine.getbit(b"k", 10**6) == 0
    assert engine.bitcount(b"k") == 2


def test_clearing_bits_never_shrinks_and_creates_missing_keys(engine):
    engine.write([SetBits(b"k", [1, 2, 3000])])
    assert engine.write([SetBits(b"k", [3000, 5], value=False, previous=True)]) == [1]
    assert engine.strlen(b"k") == 376
    assert engine.bitcount(b"k") == 2
    engine.write([SetBits(b"zero", [17], value=False)])
    assert engine.exists(b"zero") and engine.strlen(b"zero") == 3
    assert engine.get(b"zero").to_bytes() == b"\x00\x00\x00"


def test_many_offsets_count_previous(engine):
    engine.write([SetBits(b"k", [1, 2, 3])])
    assert engine.write([SetBits(b"k", [2, 3, 4, 5], previous=True)]) == [2]
    assert engine.get(b"k").bits == BitMap([1, 2, 3, 4, 5])


def test_put_stores_arbitrary_bytes_exactly(engine):
    data = b"hello\x00\xff\x00world\x00\x00"
    engine.write([Put(b"s", Value.from_bytes(data))])
    assert engine.get(b"s").to_bytes() == data
    assert engine.strlen(b"s") == len(data)
    engine.write([Put(b"empty", Value.from_bytes(b""))])
    assert engine.exists(b"empty") and engine.strlen(b"empty") == 0
    assert engine.type(b"empty") == "string" and engine.type(b"nope") == "none"
    assert engine.get(b"nope") is None


def test_put_rejects_a_length_that_does_not_cover_the_bits(engine):
    with pytest.raises(InvalidInput, match="length"):
        engine.write([Put(b"s", Value(BitMap([80]), 10))])
    assert not engine.exists(b"s")


def test_value_bytes_round_trip():
    for data in (b"", b"\x00", b"\x80", b"\x01\x02\xff", bytes(range(256)) * 3):
        assert Value.from_bytes(data).to_bytes() == data
    assert Value.from_bytes(b"\x80\x01").bits == BitMap([0, 15])


def test_get_returns_a_copy(engine):
    engine.write([SetBits(b"k", [1])])
    value = engine.get(b"k")
    value.bits.add(2)
    assert engine.get(b"k").bits == BitMap([1])


def test_put_keeps_its_own_copy(engine):
    bits = BitMap([1, 2])
    engine.write([Put(b"k", Value(bits, 1))])
    bits.add(3)
    assert engine.get(b"k").bits == BitMap([1, 2])


def test_delete_rename_and_their_results(engine):
    engine.write([SetBits(b"a", [1]), SetBits(b"b", [2])])
    assert engine.write([Delete(b"a"), Delete(b"a"), Delete(b"missing")]) == [True, False, False]
    assert engine.write([Rename(b"missing", b"x")]) == [None]
    assert engine.write([Rename(b"b", b"b")]) == [True]
    assert engine.write([Rename(b"b", b"b", if_absent=True)]) == [False]
    engine.write([SetBits(b"c", [3])])
    assert engine.write([Rename(b"b", b"c", if_absent=True)]) == [False]
    assert engine.write([Rename(b"b", b"c")]) == [True]
    assert not engine.exists(b"b")
    assert engine.get(b"c").bits == BitMap([2])


def test_rename_carries_the_expiry(engine):
    at = now_ms() + HOUR_MS
    engine.write([SetBits(b"a", [1]), Expire(b"a", at), Rename(b"a", b"z")])
    assert engine.expiry(b"z") == at
    assert engine.expiry(b"a") == -2


def test_expiry(engine):
    at = now_ms() + HOUR_MS
    engine.write([SetBits(b"k", [1])])
    assert engine.expiry(b"k") == -1
    assert engine.expiry(b"missing") == -2
    assert engine.write([Expire(b"k", at), Expire(b"missing", at)]) == [True, False]
    assert engine.expiry(b"k") == at
    engine.write([SetBits(b"k", [2])])  # SETBIT keeps the expiry, as in Redis
    assert engine.expiry(b"k") == at
    engine.write([Expire(b"k", None)])
    assert engine.expiry(b"k") == -1
    engine.write([Expire(b"k", now_ms() - 1)])  # a time in the past deletes
    assert not engine.exists(b"k")


def test_put_clears_the_expiry_unless_kept(engine):
    at = now_ms() + HOUR_MS
    engine.write([SetBits(b"k", [1]), Expire(b"k", at)])
    engine.write([Put(b"k", Value.from_bytes(b"x"), keep_ttl=True)])
    assert engine.expiry(b"k") == at
    engine.write([Put(b"k", Value.from_bytes(b"y"))])
    assert engine.expiry(b"k") == -1
    engine.write([Put(b"k", Value.from_bytes(b"z"), expire_at=at + 1)])
    assert engine.expiry(b"k") == at + 1


def test_expired_keys_are_invisible_and_swept(engine):
    past = now_ms() - 1000
    engine.write([Put(b"old", Value.from_bytes(b"\xff"), expire_at=past), SetBits(b"live", [1])])
    assert not engine.exists(b"old")
    assert engine.get(b"old") is None
    assert engine.getbit(b"old", 0) == 0
    assert engine.keys() == [b"live"]
    assert engine.dbsize() == 1
    assert engine.expiry(b"old") == -2
    # SETBIT on an expired key starts a new string
    engine.write([SetBits(b"old", [9])])
    assert engine.get(b"old") == Value(BitMap([9]), 2)
    assert engine.expiry(b"old") == -1
    engine.write([Put(b"gone", Value.from_bytes(b"a"), expire_at=past)])
    assert engine.write([Delete(b"gone")]) == [False]  # DEL of an expired key counts 0
    engine.write([Put(b"gone", Value.from_bytes(b"a"), expire_at=past)])
    assert engine.stats()["keys"] == 3
    assert engine.sweep_expired() == 1
    assert engine.stats()["keys"] == 2


def test_databases_are_separate_and_flushable(engine):
    engine.write([SetBits(b"k", [1], db=0), SetBits(b"k", [2], db=3), SetBits(b"j", [3], db=3)])
    assert engine.get(b"k", db=3).bits == BitMap([2])
    assert engine.dbsize(0) == 1 and engine.dbsize(3) == 2
    engine.write([FlushDb(3)])
    assert engine.dbsize(3) == 0 and engine.dbsize(0) == 1
    engine.write([SetBits(b"k", [2], db=15)])
    engine.write([FlushAll()])
    assert all(engine.dbsize(db) == 0 for db in range(16))
    assert engine.stats()["keys"] == 0


@pytest.mark.parametrize("db", [-1, 16, "0", None])
def test_bad_db_is_refused(engine, db):
    with pytest.raises(InvalidInput, match="0..15"):
        engine.write([SetBits(b"k", [1], db=db)])
    with pytest.raises(InvalidInput, match="0..15"):
        engine.dbsize(db)


def test_bad_offsets_and_keys_are_refused(engine):
    with pytest.raises(InvalidInput, match="offset"):
        engine.write([SetBits(b"k", [-1])])
    with pytest.raises(InvalidInput, match="offset"):
        engine.write([SetBits(b"k", [2**32])])
    with pytest.raises(InvalidInput, match="bytes"):
        engine.write([SetBits("k", [1])])
    assert engine.dbsize() == 0


def test_keys_by_pattern(engine):
    names = [b"trackist_a_2026-1", b"trackist_a_2026-2", b"trackist_b_u", b"other", b"h*llo"]
    engine.write([SetBits(name, [1]) for name in names])
    assert sorted(engine.keys(b"trackist_a_*")) == names[:2]
    assert sorted(engine.keys(b"trackist_?_*")) == sorted(names[:3])
    assert engine.keys(b"h\\*llo") == [b"h*llo"]
    assert sorted(engine.keys()) == sorted(names)


# --- batches are atomic


def test_a_failing_batch_writes_nothing(path):
    with Engine(path) as engine:
        engine.write([SetBits(b"keep", [1])])
        with pytest.raises(InvalidInput):
            engine.write([SetBits(b"keep", [2]), Delete(b"keep"), SetBits(b"new", [3], db=99)])
        assert engine.get(b"keep").bits == BitMap([1])
        assert not engine.exists(b"new")
    with Engine(path) as engine:
        assert engine.get(b"keep").bits == BitMap([1])
        assert engine.keys() == [b"keep"]


# --- durability in the file, checkpoints


def _sample_writes(engine: Engine) -> None:
    engine.write([SetBits(b"a", range(0, 5000, 7)), SetBits(b"b", [10**9])])
    engine.write([SetBits(b"a", [14, 21], value=False), Put(b"s", Value.from_bytes(b"\x00hi"))])
    engine.write([SetBits(b"c", [5], db=2), Expire(b"c", now_ms() + HOUR_MS, db=2)])
    engine.write([Delete(b"b"), SetBits(b"b", [3])])
    engine.write([Rename(b"s", b"t")])


def _snapshot(engine: Engine) -> dict:
    return {
        (db, key): (engine.get(key, db), engine.expiry(key, db) > 0)
        for db in range(16)
        for key in engine.keys(db=db)
    }


def test_reopening_gives_the_same_state(path):
    with Engine(path) as engine:
        _sample_writes(engine)
        before = _snapshot(engine)
        assert engine.stats()["journal_rows"] > 0
    with Engine(path) as engine:
        assert engine.loaded_bitmaps == 0
        assert _snapshot(engine) == before


def test_checkpoint_folds_the_journal(path):
    with Engine(path) as engine:
        _sample_writes(engine)
        before = _snapshot(engine)
        engine.checkpoint()
        assert engine.stats()["journal_rows"] == 0
        assert _snapshot(engine) == before
        engine.write([SetBits(b"a", [1])])  # rows after a checkpoint apply on top of it
        before = _snapshot(engine)
    with Engine(path) as engine:
        assert _snapshot(engine) == before


def test_automatic_checkpoints_keep_the_journal_bounded(path):
    with Engine(path, checkpoint_rows=300) as engine:
        for uid in range(3000):
            engine.write([SetBits(b"day%d" % (uid % 3), [uid]), SetBits(b"month", [uid])])
            assert engine.stats()["journal_rows"] < 1500
        counts = [engine.bitcount(b"day%d" % n) for n in range(3)] + [engine.bitcount(b"month")]
    assert counts == [1000, 1000, 1000, 3000]
    with Engine(path) as engine:
        assert [engine.bitcount(b"day%d" % n) for n in range(3)] == [1000, 1000, 1000]
        assert engine.get(b"month").bits == BitMap(range(3000))


# --- several engines (processes) on one file


@pytest.fixture
def pair(path):
    first, second = Engine(path), Engine(path)
    yield first, second
    first.close()
    second.close()


def test_each_engine_sees_the_others_writes(pair):
    first, second = pair
    first.write([SetBits(b"k", [1, 2])])
    assert second.get(b"k").bits == BitMap([1, 2])  # now loaded in second
    first.write([SetBits(b"k", [3]), SetBits(b"k", [1], value=False)])
    assert second.get(b"k") == Value(BitMap([2, 3]), 1)
    first.write([Put(b"k", Value.from_bytes(b"\xf0\x00\x00"))])
    assert second.get(b"k") == Value(BitMap([0, 1, 2, 3]), 3)
    at = now_ms() + HOUR_MS
    first.write([Expire(b"k", at), SetBits(b"other", [5], db=4)])
    assert second.expiry(b"k") == at
    assert second.keys(db=4) == [b"other"]
    first.write([Rename(b"k", b"j")])
    assert second.keys() == [b"j"] and second.get(b"j").bits == BitMap([0, 1, 2, 3])
    first.write([Delete(b"j")])
    assert second.keys() == []
    second.write([SetBits(b"x", [1], db=4)])
    first.write([FlushDb(4)])
    assert second.dbsize(4) == 0
    assert first.dbsize(4) == 0


def test_each_engine_sees_the_others_writes_across_checkpoints(pair):
    first, second = pair
    first.write([SetBits(b"k", [1])])
    assert second.bitcount(b"k") == 1
    for uid in range(2, 50):
        first.write([SetBits(b"k", [uid])])
    first.checkpoint()  # the rows second has not seen are gone now
    assert second.get(b"k").bits == BitMap(range(1, 50))
    second.write([SetBits(b"k", [0])])
    second.checkpoint()
    assert first.bitcount(b"k") == 50


def test_writes_from_two_engines_interleave_without_loss(pair):
    first, second = pair
    for uid in range(200):
        (first if uid % 2 else second).write([SetBits(b"k", [uid])])
        if uid == 100:
            first.checkpoint()
    assert first.get(b"k").bits == second.get(b"k").bits == BitMap(range(200))


# --- bounded memory


def test_opening_a_store_with_100000_keys_loads_no_bitmap(path):
    with Engine(path) as engine:
        engine.write([SetBits(b"key:%d" % n, [n]) for n in range(100_000)])
        engine.checkpoint()
    with Engine(path) as engine:
        assert engine.stats()["keys"] == 100_000
        assert engine.loaded_bitmaps == 0
        assert engine.dbsize() == 100_000
        assert engine.getbit(b"key:99999", 99_999) == 1
        assert engine.loaded_bitmaps == 1


def test_cold_bitmaps_are_evicted_and_reloaded(path):
    with Engine(path, cache_bytes=20_000) as engine:
        for n in range(50):
            engine.write([SetBits(b"k%d" % n, range(n, 100_000, 97))])
        assert engine.stats()["cached_bytes"] <= 20_000
        assert engine.loaded_bitmaps < 50
        for n in range(50):
            assert engine.get(b"k%d" % n).bits == BitMap(range(n, 100_000, 97))
        assert engine.loaded_bitmaps < 50


# --- whole-file operations


def test_backup_is_a_consistent_copy(path, tmp_path):
    with Engine(path) as engine:
        _sample_writes(engine)
        before = _snapshot(engine)
        engine.backup(tmp_path / "copy.db")
        engine.write([SetBits(b"after", [1])])
    with Engine(tmp_path / "copy.db") as copy:
        assert _snapshot(copy) == before


def test_a_closed_engine_refuses_use(path):
    engine = Engine(path)
    engine.close()
    with pytest.raises(StoreError, match="closed"):
        engine.write([SetBits(b"k", [1])])
    with pytest.raises(StoreError, match="closed"):
        engine.get(b"k")


def test_full_durability_mode_works(path):
    with Engine(path, durability="full") as engine:
        engine.write([SetBits(b"k", [1])])
    with Engine(path) as engine:
        assert engine.bitcount(b"k") == 1
    with pytest.raises(InvalidInput, match="durability"):
        Engine(path, durability="sometimes")


def test_a_reader_that_keeps_nothing_cached_follows_writes_and_checkpoints(path):
    writer, reader = Engine(path, checkpoint_rows=25), Engine(path, cache_bytes=0)
    expected: set[int] = set()
    for uid in range(300):
        key = b"k%d" % (uid % 4)
        writer.write([SetBits(key, [uid]), SetBits(b"all", [uid])])
        expected.add(uid)
        if uid % 7 == 3:
            writer.write([SetBits(b"all", [uid - 1], value=False)])
            expected.discard(uid - 1)
        if uid % 50 == 0:
            assert set(reader.get(b"all").bits) == expected
            assert reader.loaded_bitmaps == 0  # evicted right after each read
    assert set(reader.get(b"all").bits) == expected
    assert reader.bitcount(b"k1") == 75
    writer.close()
    reader.close()


def test_a_stale_writer_notices_rows_another_engine_wrote_and_folded_away(pair):
    first, second = pair
    first.write([SetBits(b"k", [100])])
    assert second.bitcount(b"k") == 1  # second knows the key: its next write may go fast
    first.write([SetBits(b"k", [1, 2], value=True), SetBits(b"k", [100], value=False)])
    first.checkpoint()  # first's rows are folded and deleted before second looks again
    second.write([SetBits(b"k", [3])])  # must not be ordered before first's rows
    assert first.get(b"k").bits == second.get(b"k").bits == BitMap([1, 2, 3])
    first.write([SetBits(b"k", [3], value=False)])
    second.write([SetBits(b"k", [4])])
    assert first.get(b"k").bits == second.get(b"k").bits == BitMap([1, 2, 4])


def test_a_writer_thread_gets_in_between_checkpoint_steps(path):
    import threading

    with Engine(path) as engine:
        engine.write([SetBits(b"key:%d" % n, range(n, n + 300)) for n in range(20_000)])
        checkpoint = threading.Thread(target=engine.checkpoint)
        checkpoint.start()
        while engine._checkpoint is None and checkpoint.is_alive():
            pass  # wait until the checkpoint has started
        engine.write([SetBits(b"writer", [1])])
        still_checkpointing = engine._checkpoint is not None
        checkpoint.join()
        assert still_checkpointing, "the write waited for the whole checkpoint"
        assert engine.bitcount(b"writer") == 1
        assert engine.stats()["journal_rows"] <= 1
