"""The engine's bitmap cache: hot (decoded) and packed (serialized) tiers, and eviction.

A packed copy must always be current: every way a key can change while its bits are
packed (own fast and full writes, other processes' log and SQLite writes, checkpoints)
is checked against a plain model.
"""

from __future__ import annotations

import random
import sqlite3

import pytest
from pyroaring import BitMap

from bitmapist.engine import CorruptStore, Engine, Put, SetBits, Value
from bitmapist.engine.format import serialized_cardinality


@pytest.fixture
def path(tmp_path):
    return tmp_path / "store.db"


def _fill(engine: Engine, keys: int = 20, span: int = 1 << 20) -> dict[bytes, set[int]]:
    rng = random.Random(keys)
    model: dict[bytes, set[int]] = {}
    for n in range(keys):
        key = b"k%d" % n
        offsets = rng.sample(range(span), 300)
        engine.write([SetBits(key, offsets)])
        model[key] = set(offsets)
    return model


def _check(engine: Engine, model: dict[bytes, set[int]]) -> None:
    for key, offsets in model.items():
        assert engine.bitcount(key) == len(offsets), key
        assert set(engine.get(key).bits) == offsets, key


def test_cold_bitmaps_are_packed_not_dropped(path):
    with Engine(path, hot_bytes=8_000) as engine:
        model = _fill(engine)
        stats = engine.stats()
        assert stats["loaded_bitmaps"] == 20  # all still in memory...
        assert 0 < stats["packed_bitmaps"] < 20  # ...the colder ones packed
        _check(engine, model)  # reading decodes them again, the budget packs others


def test_bitcount_of_a_stored_bitmap_does_not_decode_it(path):
    with Engine(path) as engine:
        model = _fill(engine, keys=3)
        engine.checkpoint()
    with Engine(path) as engine:
        assert engine.bitcount(b"k1") == len(model[b"k1"])
        assert engine.stats()["packed_bitmaps"] == engine.loaded_bitmaps == 1
        assert engine.getbit(b"k1", min(model[b"k1"])) == 1  # this one decodes it
        assert engine.stats()["packed_bitmaps"] == 0
        assert engine.bitcount(b"k2") == len(model[b"k2"])
        assert engine.memory_bytes() >= len(BitMap(model[b"k2"]).serialize())


def test_bitcount_of_a_key_with_newer_journal_rows_reads_them(path):
    with Engine(path) as engine:
        model = _fill(engine, keys=3)
        engine.checkpoint()  # (it keeps the newest journal row: k2's)
        engine.write([SetBits(b"k0", [1 << 21, 1 << 22])])  # after the checkpoint
        model[b"k0"] |= {1 << 21, 1 << 22}
    with Engine(path) as engine:
        assert engine.bitcount(b"k0") == len(model[b"k0"])
        assert engine.stats()["packed_bitmaps"] == 0  # k0 had to be decoded
        assert engine.bitcount(b"k1") == len(model[b"k1"])
        assert engine.stats()["packed_bitmaps"] == 1  # k1 did not


@pytest.mark.parametrize("hot_bytes", [0, 4_000, 64 << 20])
def test_packed_keys_stay_current_through_every_kind_of_change(path, hot_bytes):
    """Own fast writes (one offset, many), full-path writes (growth, clears, PUT), another
    engine's log and SQLite writes, and checkpoints, while keys keep being packed."""
    rng = random.Random(hot_bytes)
    ours = Engine(path, hot_bytes=hot_bytes, checkpoint_rows=40)
    log_writer = Engine(path)  # another "process", appending to the fast log
    sqlite_writer = Engine(path, durability="full")  # another, writing to SQLite
    model = _fill(ours, keys=12)
    for step in range(400):
        key = b"k%d" % rng.randrange(12)
        kind = rng.randrange(7)
        offsets = rng.sample(range(1 << 20), rng.choice([1, 5]))
        if kind == 0:  # fast path, within the key's length
            ours.write([SetBits(key, offsets)])
            model[key] |= set(offsets)
        elif kind == 1:  # full path: the key grows
            far = [(1 << 21) + step]
            ours.write([SetBits(key, far)])
            model[key] |= set(far)
        elif kind == 2:  # clears
            ours.write([SetBits(key, offsets, value=False)])
            model[key] -= set(offsets)
        elif kind == 3:  # another engine, appending to the fast log
            log_writer.write([SetBits(key, offsets)])
            model[key] |= set(offsets)
        elif kind == 4:  # another engine writing to SQLite
            sqlite_writer.write([SetBits(key, offsets, value=False)])
            model[key] -= set(offsets)
        elif kind == 5:
            bits = BitMap(rng.sample(range(1 << 20), 50))
            ours.write([Put(key, Value(bits, 1 << 19))])
            model[key] = set(bits)
        else:
            ours.checkpoint()
        probe = b"k%d" % rng.randrange(12)
        if rng.random() < 0.5:
            assert ours.bitcount(probe) == len(model[probe]), (step, probe)
        else:
            assert set(ours.get(probe).bits) == model[probe], (step, probe)
    _check(ours, model)
    for engine in (ours, log_writer, sqlite_writer):
        engine.close()
    with Engine(path) as reopened:
        _check(reopened, model)


def test_a_tiny_total_budget_drops_packed_bitmaps_too(path):
    with Engine(path, cache_bytes=6_000, hot_bytes=3_000) as engine:
        model = _fill(engine)
        assert engine.stats()["cached_bytes"] <= 6_000
        assert engine.loaded_bitmaps < 20
        _check(engine, model)


def test_budgets_can_change_on_an_open_engine(path):
    with Engine(path) as engine:
        model = _fill(engine, keys=5)
        assert engine.stats()["packed_bitmaps"] == 0
        engine.hot_bytes = 0
        engine.bitcount(b"k0")  # any read ends by fitting the budgets
        assert engine.stats()["packed_bitmaps"] == 5
        engine.cache_bytes = 0
        engine.bitcount(b"k0")
        assert engine.loaded_bitmaps == 0
        _check(engine, model)


def test_a_damaged_stored_bitmap_is_reported_when_counted(path):
    with Engine(path) as engine:
        engine.write([SetBits(b"k", range(0, 5000, 3))])
        engine.checkpoint()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE bitmaps SET crc = crc + 1")
    conn.commit()
    conn.close()
    with Engine(path) as engine, pytest.raises(CorruptStore, match="checksum"):
        engine.bitcount(b"k")


def test_serialized_cardinality_reads_the_portable_header():
    rng = random.Random(7)
    for trial in range(100):
        span = 2 ** rng.randint(1, 32)
        bits = BitMap(rng.sample(range(span), min(span, rng.randint(0, 2000))))
        if trial % 3 == 0:
            bits.update(range(70_000, 70_000 + rng.randint(0, 100_000)))
        if trial % 2:
            bits.run_optimize()  # run containers: the other cookie
        assert serialized_cardinality(bits.serialize(), "x") == len(bits)
    for garbage in (b"", b"\x00" * 12, BitMap(range(10)).serialize()[:7]):
        with pytest.raises(CorruptStore, match="header"):
            serialized_cardinality(garbage, "x")
