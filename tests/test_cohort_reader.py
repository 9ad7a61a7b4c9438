"""The machinery under cohort tables: Redis strings to roaring, and `BitmapReader`."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyroaring import BitMap

from bitmapist.analytics.reader import BitmapReader
from bitmapist.bitbytes import iter_offsets, to_bitmap, to_redis_string
from bitmapist.expressions import Key, Op
from bitmapist.stores.base import BitChange

CONTAINER_BITS = 65536


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=20000))
def test_any_redis_string_decodes_like_the_bit_by_bit_decoder(data):
    assert to_bitmap(data) == BitMap(iter_offsets(data))


@pytest.mark.parametrize("bits", [1, 4095, 4096, 4097, 30000, 65535, 65536])
def test_container_sizes_around_the_array_limit(bits):
    rng = random.Random(bits)
    offsets = rng.sample(range(CONTAINER_BITS), bits)
    # one container at the limit, one sparse far away, and a partial last container
    offsets += [3 * CONTAINER_BITS + 5, 7 * CONTAINER_BITS + 100]
    data = to_redis_string(offsets)
    assert to_bitmap(data) == BitMap(offsets)


def test_empty_and_zero_strings_decode_to_empty_bitmaps():
    assert to_bitmap(None) == BitMap()
    assert to_bitmap(b"") == BitMap()
    assert to_bitmap(bytes(100_000)) == BitMap()
    assert to_bitmap(b"\x80" + bytes(9000) + b"\x01") == BitMap([0, 9001 * 8 + 7])


def _random_expr(rng: random.Random, keys: list[str], depth: int = 0):
    if depth >= 3 or rng.random() < 0.3:
        return Key(rng.choice(keys))
    op = rng.choice(["AND", "OR", "XOR", "NOT"])
    operands = (
        (_random_expr(rng, keys, depth + 1),)
        if op == "NOT"
        else tuple(_random_expr(rng, keys, depth + 1) for _ in range(rng.randint(1, 3)))
    )
    return Op(op, operands, f"trackist_bitop_{op}_{'-'.join(o.name for o in operands)}")


def _model(expr, data: dict[str, tuple[set[int], int]]) -> tuple[set[int], int]:
    """Redis BITOP semantics on Python sets: (bits, byte length)."""
    if isinstance(expr, Key):
        return data.get(expr.name, (set(), 0))
    values = [_model(operand, data) for operand in expr.operands]
    length = max(n for _, n in values)
    if expr.op == "NOT":
        return set(range(length * 8)) - values[0][0], length
    bits = set(values[0][0])
    for other, _ in values[1:]:
        if expr.op == "AND":
            bits &= other
        elif expr.op == "OR":
            bits |= other
        else:
            bits ^= other
    return bits, length


def test_reader_follows_redis_bitop_semantics_on_random_trees(store):
    rng = random.Random(3)
    keys = [f"trackist_k{i}" for i in range(6)]
    data = {key: set(rng.sample(range(3000), rng.randint(1, 200))) for key in keys[:5]}
    store.set_bits([BitChange(key, sorted(bits)) for key, bits in data.items()])
    # trailing zero bytes: NOT must complement within the stored length, like Redis
    store.set_bits([BitChange(keys[0], [20_000])])
    store.set_bits([BitChange(keys[0], [20_000], False)])
    lengths = {key: max(bits) // 8 + 1 for key, bits in data.items()}
    lengths[keys[0]] = 20_000 // 8 + 1
    model = {key: (bits, lengths[key]) for key, bits in data.items()}
    exprs = [_random_expr(rng, keys) for _ in range(60)]
    assert any(op.op == "NOT" for e in exprs if isinstance(e, Op) for op in [e])
    reader = BitmapReader(store)
    reader.prefetch(exprs)
    for expr in exprs:
        assert reader.bitmap(expr) == BitMap(_model(expr, model)[0]), expr


def test_each_key_is_fetched_once(store):
    store.set_bits([BitChange("trackist_a", [1, 2]), BitChange("trackist_b", [2, 3])])
    a, b = Key("trackist_a"), Key("trackist_b")
    both = Op("AND", (a, b), "trackist_bitop_AND_trackist_a-trackist_b")
    reader = BitmapReader(store)
    reader.prefetch([a, both, Op("OR", (b, a, a), "x"), Key("trackist_missing")])
    assert reader.fetched_keys == 3
    assert reader.bitmap(both) == BitMap([2])
    assert reader.bitmap(Key("trackist_missing")) == BitMap()
    reader.prefetch([both, b])
    assert reader.fetched_keys == 3
    assert list(store.scan_keys("*bitop*")) == []


def test_a_key_of_the_wrong_type_is_a_store_error(redis_client):
    from bitmapist.errors import StoreError
    from bitmapist.stores.redis import RedisStore

    redis_client.rpush("trackist_list", "x")
    with pytest.raises(StoreError, match="WRONGTYPE"):
        BitmapReader(RedisStore(redis_client)).prefetch([Key("trackist_list")])


@pytest.mark.parametrize(
    ("ids", "per_bitmap", "complemented"),
    [
        (100_000, 10_000, True),  # mid-sized arrays over two blocks: complements pay
        (100_000, 200, False),  # small arrays intersect fast as they are
        (2**32, 3_000, False),  # a huge id range: complements would cost too much
        (70_000, 60_000, False),  # already bitsets
    ],
)
def test_intersection_counts_are_exact_in_either_representation(ids, per_bitmap, complemented):
    from bitmapist.analytics.counting import IntersectionCounter

    rng = random.Random(per_bitmap)
    bitmaps = [BitMap(rng.sample(range(ids), per_bitmap)) for _ in range(6)] + [BitMap()]
    counter = IntersectionCounter(bitmaps)
    assert counter.complemented == complemented
    for i, a in enumerate(bitmaps):
        assert counter.sizes[i] == len(a)
        for j, b in enumerate(bitmaps):
            assert counter.count(i, j) == len(a & b)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sets(st.integers(0, 3 * CONTAINER_BITS)), min_size=1, max_size=5))
def test_intersection_counts_match_sets(sets):
    from bitmapist.analytics.counting import IntersectionCounter

    counter = IntersectionCounter([BitMap(s) for s in sets])
    for i, a in enumerate(sets):
        for j, b in enumerate(sets):
            assert counter.count(i, j) == len(a & b)
