"""Many intersection counts between a few bitmaps, as fast as roaring allows.

A cohort table counts |A ∩ B| for hundreds of pairs of a few dozen bitmaps. Roaring stores
a 65536-id block holding at most 4096 ids as a sorted array, and intersecting two arrays of
a few thousand ids each costs several times more than AND-ing two 8 KiB bitsets. When the
bitmaps are made of such mid-sized arrays over a small id range, each one is complemented
once within that range (every block then holds more than 4096 ids: a bitset), and

    |A ∩ B| = |A| + |B| - U + |~A ∩ ~B|      (U: the size of the range)

turns every count into bitset work. Otherwise bitmaps are intersected as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyroaring import BitMap

_BLOCK = 1 << 16
_MAX_BLOCKS = 64  # complements cost a bitset per block: only for small id ranges
_MIN_ARRAY_FILL = 1024  # arrays smaller than this intersect fast enough as they are


class IntersectionCounter:
    """`count(i, j)`: |bitmaps[i] ∩ bitmaps[j]|, exact, in either representation."""

    def __init__(self, bitmaps: Sequence[BitMap]):
        self.sizes = [len(bitmap) for bitmap in bitmaps]
        blocks = (
            max((bitmap.max() >> 16) + 1 for bitmap in bitmaps if bitmap) if any(self.sizes) else 0
        )
        self.complemented = 0 < blocks <= _MAX_BLOCKS and _worth_complementing(bitmaps)
        if self.complemented:
            self.universe = blocks * _BLOCK
            self.bitmaps = [bitmap.flip(0, self.universe) for bitmap in bitmaps]
        else:
            self.universe = 0
            self.bitmaps = list(bitmaps)

    def count(self, i: int, j: int) -> int:
        """How many ids bitmaps `i` and `j` share."""
        if i == j:
            return self.sizes[i]
        both = self.bitmaps[i].intersection_cardinality(self.bitmaps[j])
        if self.complemented:
            return self.sizes[i] + self.sizes[j] - self.universe + both
        return both


def _worth_complementing(bitmaps: Sequence[BitMap]) -> bool:
    arrays = values = 0
    for bitmap in bitmaps:
        stats = bitmap.get_statistics()
        arrays += stats["n_array_containers"]
        values += stats["n_values_array_containers"]
    return arrays > 0 and values / arrays >= _MIN_ARRAY_FILL
