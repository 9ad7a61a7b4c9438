"""The engine's memory: budgets counted in what decoded bitmaps really take, kept after
every write and read, and a checkpoint that does not decode the journal of loaded keys.

Real memory is glibc's own count of the heap in use (`mallinfo2`), not a timing.
"""

from __future__ import annotations

import ctypes
import gc
import random

import pytest
from pyroaring import BitMap

from bitmapist.engine import Engine, SetBits
from bitmapist.engine.cache import ENTRY_OVERHEAD, decoded_bytes
from bitmapist.engine.foldscan import NetChanges
from bitmapist.engine.format import OP_SET, OP_SETS, encode_sets


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in [
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        ]
    ]


def _heap_in_use() -> int:
    """Bytes glibc's malloc has handed out and not had back (heap chunks + mmapped)."""
    mallinfo2 = ctypes.CDLL(None).mallinfo2
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return info.uordblks + info.hblkhd


def _real_bytes(make) -> float:
    """Heap bytes one bitmap made by `make()` takes, measured over a few copies."""
    gc.collect()
    before = _heap_in_use()
    copies = [make() for _ in range(4)]
    gc.collect()
    taken = (_heap_in_use() - before) / len(copies)
    assert copies[0] is not None
    return taken


SPARSE = random.Random(5).sample(range(2**31), 30_000)  # ~1 id per container
SHAPES = {
    "sparse": lambda: BitMap(SPARSE),
    "sparse, built by batches": lambda: _built(SPARSE),
    "denser arrays": lambda: BitMap(random.Random(6).sample(range(1 << 24), 200_000)),
    "bitsets": lambda: BitMap(random.Random(7).sample(range(1 << 20), 300_000)),
    "runs": lambda: _runs(),
}


def _runs() -> BitMap:
    bits = BitMap()
    for start in range(0, 3_000_000, 1000):
        bits.add_range(start, start + 700)
    bits.run_optimize()
    return bits


def _built(ids: list[int]) -> BitMap:
    bits = BitMap()
    for start in range(0, len(ids), 1000):
        bits |= BitMap(ids[start : start + 1000])
    return bits


@pytest.mark.parametrize("shape", list(SHAPES))
def test_decoded_bytes_matches_what_the_allocator_counts(shape):
    make = SHAPES[shape]
    real = _real_bytes(make)
    assert 0.75 <= real / decoded_bytes(make()) <= 1.35, (real, decoded_bytes(make()))
    deserialized = _real_bytes(lambda: BitMap.deserialize(make().serialize()))
    assert 0.75 <= deserialized / decoded_bytes(make()) <= 1.35


def test_a_sparse_bitmap_is_counted_at_its_decoded_size_not_its_serialized_one(tmp_path):
    bits = BitMap(SPARSE)
    with Engine(tmp_path / "s.db") as engine:
        engine.write([SetBits(b"k", bits)])
        engine.checkpoint()
    with Engine(tmp_path / "s.db") as engine:
        assert engine.getbit(b"k", SPARSE[0]) == 1  # loaded, decoded
        hot = engine.stats()["hot_bytes"]
        assert hot == ENTRY_OVERHEAD + decoded_bytes(bits)
        assert hot > 5 * len(bits.serialize())  # what the old budget counted


def _sparse_batches(rng: random.Random, keys: int, batches: int):
    for _ in range(batches):
        yield [SetBits(b"k%d" % rng.randrange(keys), rng.sample(range(2**31), 300))]


WRITE_PATHS = {
    "log": {},
    "group commit": {"group_commit_ms": 5000},
    "guarded insert": {"path": None},
}


@pytest.mark.parametrize("hot_bytes", [0, 50_000, 400_000])
@pytest.mark.parametrize("write_path", list(WRITE_PATHS))
def test_the_hot_budget_holds_after_every_write_and_read(tmp_path, hot_bytes, write_path):
    """Fast-path writes, full-path writes (new keys), marks of bits already set (which
    load the key), reads: after each, the decoded bitmaps measured again fit the budget,
    and the count is their measured size."""
    rng = random.Random(hot_bytes)
    model: dict[bytes, set[int]] = {}
    options = {"path": tmp_path / "h.db", **WRITE_PATHS[write_path]}
    with Engine(options.pop("path"), hot_bytes=hot_bytes, checkpoint_rows=50, **options) as engine:
        assert engine.write_path == write_path
        for ops in _sparse_batches(rng, keys=12, batches=150):
            engine.write(ops)
            model.setdefault(ops[0].key, set()).update(ops[0].offsets)
            probe = b"k%d" % rng.randrange(12)
            if probe in model and rng.random() < 0.5:
                assert engine.getbit(probe, min(model[probe])) == 1
            elif probe in model:  # a mark of a bit already set
                engine.write([SetBits(probe, (min(model[probe]),))])
            cache = engine._cache
            measured = cache.measured_hot_bytes()
            assert measured <= hot_bytes
            assert measured == sum(
                ENTRY_OVERHEAD + decoded_bytes(entry.bits) for entry in cache.hot_entries()
            )
        for key, offsets in model.items():  # evicted keys read back identical
            assert set(engine.get(key).bits) == offsets


def test_growth_is_counted_as_an_upper_bound_then_measured(tmp_path):
    with Engine(tmp_path / "g.db", hot_bytes=64 << 20) as engine:
        engine.write([SetBits(b"k", [1])])
        ids = random.Random(8).sample(range(2**31), 5000)
        for start in range(0, len(ids), 500):
            engine.write([SetBits(b"k", ids[start : start + 500])])  # fast path: grows
        cache = engine._cache
        bound = cache.hot_used
        exact = ENTRY_OVERHEAD + decoded_bytes(engine.get(b"k").bits)
        assert bound >= exact  # never under what it takes
        assert cache.measured_hot_bytes() == exact


def test_a_total_budget_below_the_data_keeps_every_key_readable(tmp_path):
    rng = random.Random(9)
    model: dict[bytes, set[int]] = {}
    with Engine(tmp_path / "t.db", cache_bytes=120_000, hot_bytes=60_000) as engine:
        for ops in _sparse_batches(rng, keys=30, batches=200):
            engine.write(ops)
            model.setdefault(ops[0].key, set()).update(ops[0].offsets)
            assert engine.stats()["cached_bytes"] <= 120_000
        for key, offsets in model.items():
            assert engine.bitcount(key) == len(offsets)
            assert set(engine.get(key).bits) == offsets
    with Engine(tmp_path / "t.db") as engine:
        for key, offsets in model.items():
            assert set(engine.get(key).bits) == offsets


# --- checkpoints: loaded keys fold from memory, their journal rows are not decoded


def test_net_changes_skip_loaded_keys_and_keep_the_rest_serialized():
    rows = [
        (1, 0, None, OP_SETS, encode_sets([(OP_SET, 0, b"hot", BitMap([1]).serialize())])),
        (2, 0, None, OP_SETS, encode_sets([(OP_SET, 0, b"cold", BitMap([2, 3]).serialize())])),
    ]
    changes = NetChanges(skip=lambda name: name == (0, b"hot"))
    changes.add_rows(rows, "test")
    assert changes.skipped == {(0, b"hot")}
    bits = BitMap([9])
    changes.apply(0, b"cold", bits)
    assert bits == BitMap([2, 3, 9])
    nothing = BitMap()
    changes.apply(0, b"hot", nothing)
    assert not nothing


@pytest.mark.parametrize("unload", ["none", "drop every bitmap", "pack every bitmap"])
def test_keys_unloaded_between_the_scan_and_their_fold_fold_right(tmp_path, unload):
    """A checkpoint reads the journal in steps, then folds key by key: a key loaded when
    its rows were read (so skipped) and unloaded before its fold is loaded whole."""
    path = tmp_path / "c.db"
    rng = random.Random(10)
    model: dict[bytes, set[int]] = {}
    engine = Engine(path, checkpoint_rows=10**9, checkpoint_bytes=1 << 40)
    try:
        for ops in _sparse_batches(rng, keys=8, batches=120):
            engine.write(ops)
            model.setdefault(ops[0].key, set()).update(ops[0].offsets)
        checkpointer = engine._checkpointer
        checkpointer.restart()
        while checkpointer.progress is None or checkpointer.progress.scanned_to < (
            checkpointer.progress.horizon
        ):
            assert not checkpointer.step()
        assert checkpointer.progress.changes.skipped  # hot keys were not decoded
        if unload == "drop every bitmap":
            engine.cache_bytes = 0
        elif unload == "pack every bitmap":
            engine.hot_bytes = 0
        engine._evict()
        for ops in _sparse_batches(rng, keys=8, batches=10):  # writes during the fold
            engine.write(ops)
            model[ops[0].key].update(ops[0].offsets)
        while not checkpointer.step():
            pass
        for key, offsets in model.items():
            assert set(engine.get(key).bits) == offsets
    finally:
        engine.close()
    with Engine(path) as reopened:
        assert reopened.stats()["journal_rows"] <= 11
        for key, offsets in model.items():
            assert set(reopened.get(key).bits) == offsets


@pytest.mark.parametrize("cache_bytes", [0, 10_000])
def test_a_key_unloaded_inside_a_group_commit_window_reads_the_window(tmp_path, cache_bytes):
    """A key packed or dropped while a group commit window is open is loaded again from
    the file: the window's rows must already be there (they were queued until the
    commit, and such reads missed them)."""
    path = tmp_path / "g.db"
    with Engine(path, hot_bytes=0, cache_bytes=cache_bytes, group_commit_ms=10_000) as engine:
        engine.write([SetBits(b"k", [1, 100_000])])  # a new key: the full path
        engine.write([SetBits(b"k", [5])])  # the common batch, in the window
        assert engine.getbit(b"k", 5) == 1
        engine.write([SetBits(b"k", [7, 9])])
        engine.write([SetBits(b"k", [1], value=False)])
        assert set(engine.get(b"k").bits) == {5, 7, 9, 100_000}
        assert engine.bitcount(b"k") == 4
    with Engine(path) as reopened:
        assert set(reopened.get(b"k").bits) == {5, 7, 9, 100_000}
