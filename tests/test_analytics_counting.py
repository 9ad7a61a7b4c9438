"""`analytics.counting`: exact counts (sorting network, binary adder, on bitmaps or their
complements), the sets behind them, and unions, against Python sets on random bitmaps."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from pyroaring import BitMap

from bitmapist.analytics.counting import (
    SORT_MAX,
    dense_universe,
    exact_counts,
    split_by_count,
    union,
)


def _random_bitmaps(rng: random.Random, n: int, high: int, fill: float) -> list[BitMap]:
    return [BitMap(rng.sample(range(high), int(high * fill * rng.random()))) for _ in range(n)]


def _expected(bitmaps: list[BitMap], members: BitMap | None) -> list[int]:
    seen = Counter(x for bitmap in bitmaps for x in bitmap if members is None or x in members)
    counts = [0] * len(bitmaps)
    for times in seen.values():
        counts[times - 1] += 1
    return counts


# n on both sides of SORT_MAX (network vs adder), up to a month of days
@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, SORT_MAX, SORT_MAX + 1, 24, 31])
@pytest.mark.parametrize("with_members", [False, True])
def test_exact_counts_match_sets_on_bitmaps_and_complements(n, with_members):
    rng = random.Random(n * 2 + with_members)
    for high, fill in [(60, 0.5), (5_000, 0.3), (70_000, 0.1), (70_000, 0.6)]:
        bitmaps = _random_bitmaps(rng, n, high, fill)
        members = BitMap(rng.sample(range(high + 9), (high + 9) // 2)) if with_members else None
        expected = _expected(bitmaps, members)
        blocks = (max((b.max() for b in bitmaps if b), default=0) >> 16) + 1
        before = [BitMap(b) for b in bitmaps]
        for universe in (0, blocks << 16, None):  # as they are, complemented, chosen
            assert exact_counts(bitmaps, members, universe) == expected, (high, universe)
        assert bitmaps == before  # never modified
        together = bitmaps if members is None else [b & members for b in bitmaps]
        groups = split_by_count(together)
        assert {j: len(users) for j, users in groups.items()} == {
            j + 1: c for j, c in enumerate(expected) if c
        }
        for j, users in groups.items():
            assert all(sum(x in b for b in together) == j for x in users)


def test_exact_counts_edge_cases():
    assert exact_counts([]) == []
    assert exact_counts([BitMap(), BitMap()]) == [0, 0]
    full = BitMap(range(70_000))
    assert exact_counts([full] * 7, universe=2 << 16) == [0] * 6 + [70_000]
    assert exact_counts([full] * 12, universe=2 << 16) == [0] * 11 + [70_000]
    assert exact_counts([full, BitMap()], BitMap([3, 80_000])) == [1, 0]


def test_dense_universe_only_for_small_dense_ranges():
    dense = [BitMap(range(0, 200_000, 3))]
    assert dense_universe(dense) == 4 << 16
    assert dense_universe([BitMap(range(0, 200_000, 300))]) == 0  # sparse
    assert dense_universe([BitMap([5, 1 << 30])]) == 0  # wide
    assert dense_universe([BitMap()]) == 0


@pytest.mark.parametrize("sizes", [[0], [5], [0, 7, 0], [3, 4, 5], [900] * 9, [30_000] * 9])
def test_union_is_the_union_either_way(sizes):
    rng = random.Random(sum(sizes))
    bitmaps = [BitMap(rng.sample(range(1_000_000), size)) for size in sizes]
    assert union(bitmaps) == BitMap.union(BitMap(), *bitmaps)
