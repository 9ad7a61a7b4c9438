"""Counting over many bitmaps, as fast as roaring allows.

Roaring stores a 65536-id block holding at most 4096 ids as a sorted array, else as an
8 KiB bitset. Work on bitsets is cheap; building an array is not: intersecting two arrays
of a few thousand ids, or AND-ing two bitsets into a result of a few thousand ids (turned
back into an array), costs several to ten times an AND of two bitsets into a bitset. Both
counters here avoid that by complementing, once, bitmaps made of mid-sized blocks over a
small id range (every block of the complement then holds more than 4096 ids):

- `IntersectionCounter`: |A ∩ B| for hundreds of pairs of a few dozen bitmaps (cohort and
  retention tables), with |A ∩ B| = |A| + |B| - U + |~A ∩ ~B| (U: the size of the range).
- `exact_counts`: how many ids are in exactly 1, 2, ... n of n bitmaps (stickiness), by a
  sorting network of ANDs and ORs (n <= 8) or binary adders; on complements it counts the
  bitmaps an id is not in, n minus the answer, and every intermediate stays a bitset.

`union` picks roaring's many-way union or pairwise merges by how dense the result is.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from pyroaring import BitMap

_BLOCK = 1 << 16
_MAX_BLOCKS = 64  # complements cost a bitset per block: only for small id ranges
_MIN_ARRAY_FILL = 1024  # arrays smaller than this intersect fast enough as they are
_MIN_UNION_FILL = 2048  # a many-way union is worth its bitsets from half of one per block


class IntersectionCounter:
    """`count(i, j)`: |bitmaps[i] ∩ bitmaps[j]|, exact, in either representation."""

    def __init__(self, bitmaps: Sequence[BitMap]):
        self.sizes = [len(bitmap) for bitmap in bitmaps]
        blocks = _blocks(bitmaps)
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


def union(bitmaps: Sequence[BitMap]) -> BitMap:
    """The union of `bitmaps` (one of them when the others are empty: treat as read-only).

    Roaring's many-way union ORs each block as a bitset: the fastest way to a dense
    union, but ~30 us for 16 blocks even when the bitmaps are tiny, many times pairwise
    merging. Dense unions (on average `_MIN_UNION_FILL` ids per block spanned) are made
    the first way, others by merging pairs, a balanced tree of them."""
    present = [bitmap for bitmap in bitmaps if bitmap]
    if len(present) <= 1:
        return present[0] if present else BitMap()
    if len(present) > 2:
        span = (max(b.max() for b in present) >> 16) - (min(b.min() for b in present) >> 16)
        if sum(len(bitmap) for bitmap in present) >= _MIN_UNION_FILL * (span + 1):
            return BitMap.union(*present)
    while len(present) > 1:
        pairs = range(0, len(present) - 1, 2)
        present = [present[i] | present[i + 1] for i in pairs] + present[len(present) & ~1 :]
    return present[0]


def _blocks(bitmaps: Sequence[BitMap]) -> int:
    """How many 65536-id blocks from id 0 hold every id of `bitmaps` (0 when all empty)."""
    return max(((bitmap.max() >> 16) + 1 for bitmap in bitmaps if bitmap), default=0)


def _worth_complementing(bitmaps: Sequence[BitMap]) -> bool:
    arrays = values = 0
    for bitmap in bitmaps:
        stats = bitmap.get_statistics()
        arrays += stats["n_array_containers"]
        values += stats["n_values_array_containers"]
    return arrays > 0 and values / arrays >= _MIN_ARRAY_FILL


def dense_universe(bitmaps: Sequence[BitMap]) -> int:
    """The id range [0, U) to complement `bitmaps` in before combining them, or 0 to
    combine them as they are: they fit in `_MAX_BLOCKS` blocks and hold on average at
    least `_MIN_ARRAY_FILL` ids per block (their ANDs would be arrays worth avoiding)."""
    blocks = _blocks(bitmaps)
    if not 0 < blocks <= _MAX_BLOCKS:
        return 0
    total = sum(len(bitmap) for bitmap in bitmaps)
    return blocks * _BLOCK if total >= _MIN_ARRAY_FILL * blocks * len(bitmaps) else 0


#: Up to this many bitmaps (the days of a week), `exact_counts` sorts rather than adds.
SORT_MAX = 8


def exact_counts(
    bitmaps: Sequence[BitMap], members: BitMap | None = None, universe: int | None = None
) -> list[int]:
    """`counts[j - 1]`: how many ids (of `members`, when given) are in exactly j of the n
    `bitmaps`, for j = 1..n. Only counts are built, not the sets of ids (`split_by_count`
    gives those). The bitmaps are not modified.

    Up to `SORT_MAX` bitmaps, a sorting network of ANDs and ORs (Batcher's odd-even merge
    sort) turns them into "in at least 1, 2, ... n of them", only ANDs and ORs, which stay
    bitsets on complements; beyond, they are added as binary numbers (`planes`).
    `universe` (default: `dense_universe`) > 0 counts on complements within [0, universe).
    """
    n = len(bitmaps)
    if universe is None:
        universe = dense_universe(bitmaps)
    if universe:
        # an id in [0, universe) is in n - v of the bitmaps when in v of their complements;
        # ids outside `members` are in none of the (bitmap & members): in every complement
        outside = None if members is None else members.flip(0, universe)
        sets = [bitmap.flip(0, universe) for bitmap in bitmaps]
        if outside is not None:
            for bitmap in sets:
                bitmap |= outside
    elif members is not None:
        sets = [bitmap & members for bitmap in bitmaps]
    else:
        sets = list(bitmaps)
    if n > SORT_MAX:
        by_value = _by_value(planes(sets), n, total=universe)
        return by_value[n - 1 :: -1] if universe else by_value[1:]
    if not universe and members is None:
        sets = [BitMap(bitmap, optimize=False) for bitmap in sets]  # sorted in place
    sizes = _sorted_sizes(sets, bool(universe), universe)
    at_least = [universe - size for size in sizes] if universe else sizes
    at_least.append(0)
    return [at_least[j] - at_least[j + 1] for j in range(n)]


def _sorted_sizes(sets: list[BitMap], complemented: bool, universe: int) -> list[int]:
    """Sizes of "in at least 1, 2, ... n of `sets`" (of their complements' counterparts
    when `complemented`), sorting the sets in place by a comparator network: a comparator
    (x, y) -> (x | y, x & y) (on complements (x & y, x | y)). A comparator whose outputs
    nothing reads again only counts: |x & y|, and |x | y| = |x| + |y| - |x & y|."""
    n = len(sets)
    size, pairs = _network(n)
    # padding takes the place of an empty set (of a full one on complements): a comparator
    # with it only moves the other set up
    pos: list[BitMap | None] = [*sets, *([None] * (size - n))]
    last = {p: i for i, pair in enumerate(pairs) for p in pair}
    sizes: dict[int, int] = {}
    for i, (a, b) in enumerate(pairs):
        x, y = pos[a], pos[b]
        if y is None:
            continue
        if x is None:
            pos[a], pos[b] = y, None
            continue
        if last[a] == i and last[b] == i:
            both = x.intersection_cardinality(y)
            either = len(x) + len(y) - both
            sizes[a], sizes[b] = (both, either) if complemented else (either, both)
            continue
        if complemented:
            other = x | y
            x &= y
        else:
            other = x & y
            x |= y
        pos[b] = other
    empty = universe if complemented else 0
    return [
        sizes[p] if p in sizes else empty if pos[p] is None else len(pos[p])  # type: ignore[arg-type]
        for p in range(n)
    ]


@functools.cache
def _network(n: int) -> tuple[int, list[tuple[int, int]]]:
    """Batcher's odd-even merge sort for the next power of two >= n: (that size, the
    comparators in order)."""
    size = 1
    while size < n:
        size *= 2
    pairs = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k, size - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return size, pairs


def planes(bitmaps: Sequence[BitMap]) -> list[BitMap]:
    """Bit planes of each id's count: plane b holds the ids in a number of `bitmaps` that
    has bit b set. The bitmaps are added as binary numbers by a tree of full adders (sum
    a ^ b ^ c, carry (a & b) | (c & (a ^ b))): about 5 operations per bitmap, whatever n.
    The bitmaps are not modified; a plane may be one of them."""
    columns: list[list[BitMap]] = [list(bitmaps)]
    out: list[BitMap] = []
    while columns:
        column, carries = columns.pop(0), []
        while len(column) > 1:
            if len(column) == 2:
                a, b = column
                column = [a ^ b]
                carries.append(a & b)
                break
            a, b, c = column[:3]
            either = a ^ b
            carry = a & b
            carry |= either & c
            either ^= c
            column = [*column[3:], either]
            carries.append(carry)
        out.append(column[0] if column else BitMap())
        if carries:
            columns.append(carries)
    while out and not out[-1]:
        out.pop()
    return out


def _by_value(planes: list[BitMap], top: int, total: int = 0) -> list[int]:
    """`by_value[v]`: how many ids have the value v (bits in the planes), v = 0..top (no
    value is above `top`); `by_value[0]` is `total` less the others.

    From the sizes of the planes' intersections (how many ids have at least the bits of
    S, for every set S of planes) by inclusion-exclusion over supersets: one intersection
    is built per set of planes with a plane above it, the rest are cardinalities only."""
    width = len(planes)
    at_least = [0] * (1 << width)
    at_least[0] = total

    def visit(users: BitMap | None, mask: int, low: int) -> None:
        for b in range(low, width):
            m = mask | (1 << b)
            plane = planes[b]
            at_least[m] = len(plane) if users is None else users.intersection_cardinality(plane)
            if b + 1 < width and at_least[m]:
                visit(plane if users is None else users & plane, m, b + 1)

    visit(None, 0, 0)
    for b in range(width):
        bit = 1 << b
        for m in range(1 << width):
            if not m & bit:
                at_least[m] -= at_least[m | bit]
    return (at_least + [0] * (top + 1))[: top + 1]


def split_by_count(bitmaps: Sequence[BitMap]) -> dict[int, BitMap]:
    """The ids in exactly j of `bitmaps`, for each j >= 1 that has any, as sets."""
    found = planes(bitmaps)
    out: dict[int, BitMap] = {}

    def split(users: BitMap, b: int, value: int) -> None:
        if not users:
            return
        if b < 0:
            out[value] = users
            return
        split(users & found[b], b - 1, value | (1 << b))
        split(users - found[b], b - 1, value)

    if found:
        split(BitMap.union(*found), len(found) - 1, 0)
    return out
