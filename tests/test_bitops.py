"""`bitmapist.bitops`, the one copy of Redis BITOP on roaring: against a model of Redis's
rules on Python sets, and against a real redis-server's BITOP."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyroaring import BitMap

from bitmapist import bitops
from bitmapist.bitbytes import to_bitmap, to_redis_string
from bitmapist.expressions import Key, Op

OPS = ["AND", "OR", "XOR", "NOT"]


def _model(op: str, sources: list[tuple[set[int], int]]) -> tuple[set[int], int]:
    """Redis 7.0's BITOP on sets: result as long as the longest source, NOT within it."""
    length = max(n for _, n in sources)
    if op == "NOT":
        return set(range(length * 8)) - sources[0][0], length
    bits = set(sources[0][0])
    for other, _ in sources[1:]:
        if op == "AND":
            bits &= other
        elif op == "OR":
            bits |= other
        else:
            bits ^= other
    return bits, length


# a source: some bits, and a byte length at least long enough for them (trailing zeros)
_source = st.tuples(st.sets(st.integers(0, 300), max_size=40), st.integers(0, 4)).map(
    lambda s: (s[0], (max(s[0]) // 8 + 1 if s[0] else 0) + s[1])
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(OPS), st.lists(_source, min_size=1, max_size=4))
def test_bitop_and_count_follow_the_model(op, sources):
    sources = sources[:1] if op == "NOT" else sources
    roaring = [(BitMap(bits), length) for bits, length in sources]
    bits, length = bitops.bitop(op, roaring)
    assert (set(bits), length) == _model(op, sources)
    assert bitops.bitop_count(op, roaring) == len(bits)
    assert [set(b) for b, _ in roaring] == [bits for bits, _ in sources]  # sources untouched


def test_results_are_fresh_bitmaps():
    source = (BitMap([1, 2]), 1)
    for op in OPS:
        result = bitops.bitop(op, [source])
        result.bits.add(500)
        assert source[0] == BitMap([1, 2]), op


def test_unknown_operation_is_rejected():
    with pytest.raises(ValueError, match="NAND"):
        bitops.bitop("NAND", [(BitMap([1]), 1)])


def _random_tree(rng: random.Random, keys: list[str], depth: int = 0):
    if depth >= 3 or rng.random() < 0.3:
        return Key(rng.choice(keys))
    op = rng.choice(OPS)
    count = 1 if op == "NOT" else rng.randint(1, 3)
    operands = tuple(_random_tree(rng, keys, depth + 1) for _ in range(count))
    return Op(op, operands, f"bitop_{op}_{'-'.join(o.name for o in operands)}")


def test_trees_evaluate_like_redis_bitop(redis_client):
    rng = random.Random(7)
    keys = [f"k{i}" for i in range(5)]
    for key in keys[:4]:
        redis_client.set(key, to_redis_string(rng.sample(range(2000), rng.randint(1, 100))))
    redis_client.setrange(keys[0], 600, b"\0\0")  # trailing zero bytes: NOT must see them
    stored = {key: to_bitmap(redis_client.get(key)) for key in keys}
    leaf = {key: (stored[key], redis_client.strlen(key)) for key in keys}.__getitem__
    results: dict[str, bitops.SizedBitmap] = {}
    for _ in range(80):
        tree = _random_tree(rng, keys)
        if isinstance(tree, Key):
            continue
        for op in [*_ops(tree)]:
            redis_client.bitop(op.op, op.name, *(o.name for o in op.operands))
        bits, length = bitops.evaluate(tree, leaf, results)
        assert bits == to_bitmap(redis_client.get(tree.name))
        assert length == redis_client.strlen(tree.name)
        assert bitops.count(tree, leaf) == redis_client.bitcount(tree.name)


def _ops(tree):
    for operand in tree.operands:
        if isinstance(operand, Op):
            yield from _ops(operand)
    yield tree
