"""Bits of a packed value plus its delta (`engine/packed.py`), and the engine's writes and
bit tests of keys held packed, which never decode them.

Both are compared with plain models (a `BitMap`, sets per key) under generated sequences:
every container kind (array, bitset, run, with and without the offsets header), changes
into the delta up to its bound, and, through the engine, tiny budgets that keep keys
packed while SETBIT / GETBIT / BITCOUNT / GET, evictions, checkpoints, another engine's
writes and reopening run in any order.
"""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyroaring import BitMap

from bitmapist.engine import Engine, Put, SetBits, Value
from bitmapist.engine.packed import INDEX_BYTES, MIN_DELTA, Packed

# A few container keys, near and far, so that containers hold several values, neighbour
# each other and sit at both ends of the 32-bit space.
_HIGHS = [0, 1, 2, 7, 300, 65535]


@st.composite
def bitmaps(draw) -> BitMap:
    """A bitmap with arrays, bitsets (> 4096 values) and runs, few or many containers."""
    bits = BitMap()
    for high in draw(st.lists(st.sampled_from(_HIGHS), max_size=5, unique=True)):
        base = high << 16
        kind = draw(st.sampled_from(["array", "bitset", "run"]))
        if kind == "array":
            lows = draw(st.lists(st.integers(0, 65535), min_size=1, max_size=40))
            bits.update(base + low for low in lows)
        elif kind == "bitset":
            step = draw(st.integers(2, 13))
            bits.update(range(base + draw(st.integers(0, 9)), base + 65536, step))
        else:
            start = draw(st.integers(0, 65000))
            bits.add_range(base + start, base + start + draw(st.integers(1, 536)))
            bits.add_range(base + 65530, base + 65536)
    if draw(st.booleans()):
        bits.run_optimize()  # (a run cookie; under 4 containers: no offsets header)
    return bits


def _probes(bits: BitMap) -> list[int]:
    """Offsets worth testing: every set bit's neighbours, the ends of each container."""
    near = {offset + step for offset in bits for step in (-1, 0, 1)}
    ends = {(high << 16) + low for high in _HIGHS for low in (0, 1, 65534, 65535)}
    return sorted(offset for offset in near | ends if 0 <= offset < 2**32)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bits=bitmaps(), data=st.data())
def test_packed_bits_are_the_serialization_changed_by_the_delta(bits, data):
    packed = Packed(bits.serialize(), len(bits))
    probes = _probes(bits)
    for offset in probes[:: max(1, len(probes) // 400)]:
        assert (offset in packed) == (offset in bits), offset
    model = BitMap(bits)
    changes = data.draw(
        st.lists(st.tuples(st.booleans(), st.sampled_from(probes)), max_size=MIN_DELTA * 2)
    )
    for value, offset in changes:
        if not packed.change(value, offset):
            assert len(packed.delta) >= packed.delta_limit  # refused only when full
            continue
        if value:
            model.add(offset)
        else:
            model.discard(offset)
        assert packed.count == len(model)
        assert (offset in packed) == value
        assert len(packed.delta) <= packed.delta_limit
    # The delta holds only offsets that differ from the serialization.
    assert all((offset in bits) != bit for offset, bit in packed.delta.items())
    assert packed.bits() == model
    for offset in probes[:: max(1, len(probes) // 400)]:
        assert (offset in packed) == (offset in model), offset


def test_a_change_of_many_offsets_goes_whole_into_the_delta_or_not_at_all():
    packed = Packed(BitMap(range(0, 1000, 2)).serialize(), 500)
    assert packed.change(True, BitMap(range(0, 40)))  # 20 of them new
    assert packed.count == 520 and len(packed.delta) == 20
    too_many = BitMap(range(10_000, 10_000 + MIN_DELTA))
    assert not packed.change(True, too_many)
    assert packed.count == 520 and len(packed.delta) == 20  # nothing applied


# --- through the engine


def _engine_ops():
    offsets = st.one_of(
        st.integers(0, 3 << 16),  # a few containers, often shared
        st.integers(0, 2**32 - 1),  # anywhere (the full path when it grows the key)
    )
    key = st.sampled_from([b"a", b"b", b"c"])
    return st.lists(
        st.one_of(
            st.tuples(st.just("setbit"), key, offsets, st.booleans()),
            st.tuples(st.just("setbits"), key, st.lists(offsets, min_size=2, max_size=90)),
            st.tuples(st.just("range"), key, st.integers(0, 3 << 16), st.integers(1, 5000)),
            st.tuples(st.just("getbit"), key, offsets),
            st.tuples(st.just("bitcount"), key),
            st.tuples(st.just("get"), key),
            st.tuples(st.just("other"), key, offsets),  # another engine (process) writes
            st.tuples(st.just("evict")),
            st.tuples(st.just("checkpoint")),
            st.tuples(st.just("reopen")),
        ),
        max_size=60,
    )


@pytest.mark.parametrize(
    "hot_bytes, group_commit_ms", [(0, None), (30_000, None), (0, 10_000)], ids=str
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=_engine_ops())
def test_engine_reads_and_writes_of_packed_keys_match_a_model(
    tmp_path_factory, hot_bytes, group_commit_ms, ops
):
    """Tiny budgets keep the keys packed between (and during) operations; every write
    path: the log, the full path (growth, ranges), group commit, another engine."""
    path = tmp_path_factory.mktemp("packed") / "store.db"
    options = {
        "hot_bytes": hot_bytes,
        "cache_bytes": 200_000,
        "checkpoint_rows": 30,
        "group_commit_ms": group_commit_ms,
    }
    engine, other = Engine(path, **options), Engine(path)
    model: dict[bytes, set[int]] = {}
    try:
        for key in (b"a", b"b", b"c"):  # existing keys: SETBITs within them are the fast path
            bits = BitMap(range(0, 3 << 16, 5))
            engine.write([Put(key, Value(bits, 4 << 13))])
            model[key] = set(bits)
        for step, (kind, *args) in enumerate(ops):
            if kind == "setbit":
                key, offset, value = args
                engine.write([SetBits(key, (offset,), value)])
                (model[key].add if value else model[key].discard)(offset)
            elif kind == "setbits":
                key, offsets = args
                engine.write([SetBits(key, offsets, step % 3 != 0)])
                model[key] = (model[key].union if step % 3 else model[key].difference)(offsets)
            elif kind == "range":
                key, start, length = args
                engine.write([SetBits(key, range(start, start + length))])
                model[key].update(range(start, start + length))
            elif kind == "getbit":
                key, offset = args
                assert engine.getbit(key, offset) == (offset in model[key]), step
            elif kind == "bitcount":
                assert engine.bitcount(args[0]) == len(model[args[0]]), step
            elif kind == "get":
                assert set(engine.get(args[0]).bits) == model[args[0]], step
            elif kind == "other":
                key, offset = args
                engine.flush()  # (an open group-commit window holds the write lock)
                other.write([SetBits(key, (offset,))])
                model[key].add(offset)
            elif kind == "evict":
                engine._evict()
            elif kind == "checkpoint":
                engine.checkpoint()
            else:
                engine.close()
                engine = Engine(path, **options)
            assert engine.stats()["cached_bytes"] <= options["cache_bytes"]
        engine.flush()
        for key, offsets in model.items():
            assert engine.bitcount(key) == len(offsets)
            assert all(engine.getbit(key, offset) for offset in list(offsets)[:50])
            assert set(engine.get(key).bits) == offsets
            assert set(other.get(key).bits) == offsets
    finally:
        engine.close()
        other.close()


def test_setbit_and_getbit_of_a_packed_key_do_not_decode_it(tmp_path):
    with Engine(tmp_path / "s.db", hot_bytes=0) as engine:
        bits = BitMap(range(0, 1 << 22, 97))
        engine.write([Put(b"k", Value(bits, 1 << 19))])
        engine.bitcount(b"k")  # (the read ends by packing it: no hot budget)
        decodes = engine.stats()["packed_decodes"]
        for offset in range(1, MIN_DELTA * 3, 3):  # the delta's bound is far above this
            engine.write([SetBits(b"k", (offset,))])
            assert engine.getbit(b"k", offset) == 1
            assert engine.getbit(b"k", offset + 1) == ((offset + 1) % 97 == 0)
        stats = engine.stats()
        assert stats["packed_decodes"] == decodes and stats["packed_bitmaps"] == 1
        assert engine.bitcount(b"k") == len(bits | BitMap(range(1, MIN_DELTA * 3, 3)))
        assert engine.get(b"k").bits == bits | BitMap(range(1, MIN_DELTA * 3, 3))
        assert engine.stats()["packed_decodes"] == decodes + 1  # GET needs every bit


def test_a_full_delta_is_folded_into_the_bits(tmp_path):
    with Engine(tmp_path / "f.db", hot_bytes=0) as engine:
        engine.write([Put(b"k", Value(BitMap([5]), 1 << 16))])
        engine.bitcount(b"k")
        decodes = engine.stats()["packed_decodes"]
        for offset in range(1000, 1000 + MIN_DELTA + 1):
            engine.write([SetBits(b"k", (offset,))])
        assert engine.stats()["packed_decodes"] == decodes + 1  # one fold, then packed again
        assert engine.stats()["packed_bitmaps"] == 1
        assert engine.bitcount(b"k") == MIN_DELTA + 2


def test_a_packed_key_is_decoded_for_tests_when_the_hot_tier_has_room(tmp_path):
    with Engine(tmp_path / "r.db", hot_bytes=0) as engine:
        engine.write([Put(b"k", Value(BitMap(range(0, 50_000, 7)), 1 << 14))])
        engine.bitcount(b"k")
        assert engine.stats()["packed_bitmaps"] == 1
        engine.hot_bytes = 1 << 20
        assert engine.getbit(b"k", 7) == 1
        assert engine.stats()["packed_bitmaps"] == 0  # decoded: tests of hot bits are cheaper


@pytest.mark.parametrize("changes", [1, 16, 173, 1366, 5000])
def test_a_packed_value_takes_at_most_the_memory_it_is_counted_for(changes):
    """`nbytes` counts the parsed header and the delta by upper bounds of what they take
    (also just after the delta's dict grew, at 173 and 1366 offsets)."""
    data = BitMap(range(0, 1 << 26, 64)).serialize()  # a bound far above `changes`
    packed = Packed(data, 1 << 20)
    assert packed.delta_limit >= 5000
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        packed.prepare()
        parsed = tracemalloc.get_traced_memory()[0]
        for n in range(changes):
            assert packed.change(True, (1 << 30) + 7919 * n)  # (its int is the delta's)
        changed = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(packed.delta) == changes
    assert parsed - start <= INDEX_BYTES
    assert changed - parsed <= packed.nbytes - len(data) - INDEX_BYTES
