"""`Packed`: a key's bits held as their portable roaring serialization plus a small delta.

The one rule for the bits of a packed value (the cache's packed tier, `cache.py`):

    bits = the serialization's bits, with every offset of `delta` set to its bit there

- A bit test never decodes: a delta offset answers at once; otherwise the container of
  `offset >> 16` is found by bisecting the header's keys, then its values are bisected
  (array), its word indexed (bitset) or its runs bisected (run), all on memoryviews of
  the bytes (no copy; the header is parsed on the first test).
- A change goes to `delta` ({offset: bit}, only offsets whose bit differs from the
  serialization's), and `count`, the number of bits set, follows it exactly, so BITCOUNT
  needs no decoding either.
- `bits()` decodes: the serialization with the delta applied (reads that need every bit,
  a checkpoint's fold).

The delta is bounded (`delta_limit`: at least `MIN_DELTA` offsets, and its memory at most
a quarter of the serialization's): a change that would pass the bound is refused and
the owner folds the value instead (decodes it and applies the change, see
`BitmapCache.change_packed`), so that its cost (a decode) is spread over many changes.
The delta is only a cache: the journal holds every change (durability is its alone).

Portable format (github.com/RoaringBitmap/RoaringFormatSpec): a cookie, 12346 then the
number of containers, or 12347 with that number - 1 in its high 16 bits followed by one
bit per container telling run containers; (key, cardinality - 1) as two uint16 per
container; each container's byte offset as a uint32 (absent with 12347 and fewer than 4
containers); then the containers: an array (cardinality <= 4096) is sorted uint16s, a
bitset 1024 little-endian uint64s, a run container a uint16 count of (start, length - 1)
uint16 pairs.
"""

from __future__ import annotations

import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import Any

from pyroaring import BitMap

_NO_RUNS_COOKIE, _RUNS_COOKIE = 12346, 12347
_NO_OFFSETS_BELOW = 4  # with runs, fewer containers than this carry no offsets
_ARRAY_MAX = 4096  # a container holding more values is a bitset (unless it is a run)
_LITTLE_ENDIAN = sys.byteorder == "little"  # memoryview casts read native uint16/uint32

MIN_DELTA = 64  # offsets a delta may hold whatever the serialization's size
DELTA_SHARE = 4  # ...or up to 1/DELTA_SHARE of the serialization's bytes in memory
# Memory of a delta, upper bounds (tracemalloc, tests/test_engine_packed.py): a dict's
# own (256 bytes), and per offset its slot (up to ~65 bytes just after the dict grows)
# and its int (32 bytes; the bools are shared).
DELTA_BASE_BYTES = 256
DELTA_BYTES_PER_OFFSET = 100
INDEX_BYTES = 1024  # the parsed header: a few memoryviews over the bytes (~864 bytes)


def change_bits(bits: BitMap, value: bool, offsets: BitMap | int) -> None:
    """Set (`value`) or clear `offsets` (a bitmap or one offset) in `bits`."""
    if type(offsets) is int:
        if value:
            bits.add(offsets)
        else:
            bits.discard(offsets)
    elif value:
        bits |= offsets
    else:
        bits -= offsets


class Packed:
    """A bitmap as its serialization `data` plus `delta` (see the module docstring);
    `count` bits set. Supports `offset in packed`."""

    __slots__ = ("data", "count", "delta", "delta_limit", "_index")

    def __init__(self, data: bytes, count: int):
        self.data = data
        self.count = count
        self.delta: dict[int, bool] = {}
        self.delta_limit = max(MIN_DELTA, len(data) // (DELTA_SHARE * DELTA_BYTES_PER_OFFSET))
        self._index: tuple[Any, ...] | None = None  # the parsed header, once tested

    @property
    def nbytes(self) -> int:
        """Memory this takes beyond its fixed overhead: the bytes, the parsed header
        (once parsed) and the delta (upper bounds)."""
        delta = self.delta
        return (
            len(self.data)
            + (INDEX_BYTES if self._index is not None else 0)
            + (DELTA_BASE_BYTES + DELTA_BYTES_PER_OFFSET * len(delta) if delta else 0)
        )

    @property
    def containers(self) -> int:
        """How many containers the serialization holds (from its cookie)."""
        cookie = int.from_bytes(self.data[:4], "little")
        if cookie & 0xFFFF == _RUNS_COOKIE:
            return (cookie >> 16) + 1
        return int.from_bytes(self.data[4:8], "little")

    def __contains__(self, offset: int) -> bool:
        bit = self.delta.get(offset)
        if bit is not None:
            return bit
        return self._stored(offset)

    def prepare(self) -> bool:
        """Parse the header for bit tests now (True if it was not parsed yet: `nbytes`
        grew)."""
        if self._index is not None:
            return False
        self._index = self._parse()
        return True

    def change(self, value: bool, offsets: BitMap | int) -> bool:
        """Set (`value`) or clear `offsets` (a bitmap or one offset) through the delta;
        False, changing nothing, when the delta would pass its bound (fold instead)."""
        delta = self.delta
        if type(offsets) is int:
            if len(delta) >= self.delta_limit and offsets not in delta:
                return False
            self._change(value, offsets)
            return True
        if len(delta) + len(offsets) > self.delta_limit:
            return False
        for offset in offsets:
            self._change(value, offset)
        return True

    def bits(self) -> BitMap:
        """The bits, decoded (a new bitmap the caller owns)."""
        bits = BitMap.deserialize(self.data)
        if self.delta:
            set_ = [offset for offset, bit in self.delta.items() if bit]
            if set_:
                bits.update(set_)
            if len(set_) < len(self.delta):
                bits -= BitMap(offset for offset, bit in self.delta.items() if not bit)
        return bits

    # --- the rule

    def _change(self, value: bool, offset: int) -> None:
        stored = self._stored(offset)
        delta = self.delta
        before = delta.get(offset, stored)
        if before != value:
            self.count += 1 if value else -1
        if value == stored:
            delta.pop(offset, None)  # back to the serialization's bit
        else:
            delta[offset] = value

    def _stored(self, offset: int) -> bool:
        """The serialization's bit at `offset`, read in place."""
        index = self._index
        if index is None:
            index = self._index = self._parse()
        keys, cards, offsets, runs, view = index
        if view is None:  # a big-endian machine: the casts would misread the bytes
            return offset in BitMap.deserialize(self.data)
        high = offset >> 16
        i = bisect_left(keys, high)
        if i == len(keys) or keys[i] != high:
            return False
        low = offset & 0xFFFF
        start = offsets[i]
        if runs is not None and runs[i >> 3] >> (i & 7) & 1:
            count = view[start] | view[start + 1] << 8
            pairs = view[start + 2 : start + 2 + 4 * count].cast("H")
            j = bisect_right(pairs[0::2], low) - 1
            return j >= 0 and low - pairs[2 * j] <= pairs[2 * j + 1]
        card = cards[i] + 1
        if card > _ARRAY_MAX:
            return bool(view[start + (low >> 3)] >> (low & 7) & 1)
        values = view[start : start + 2 * card].cast("H")
        j = bisect_left(values, low)
        return j < card and values[j] == low

    def _parse(self) -> tuple[Any, ...]:
        """(keys, cardinalities - 1, container offsets, run flags or None, the bytes),
        as memoryviews over `data` (offsets walked when the format leaves them out)."""
        if not _LITTLE_ENDIAN:
            return ((), (), (), None, None)
        data = self.data
        view = memoryview(data)
        cookie = int.from_bytes(data[:4], "little")
        runs: bytes | None = None
        if cookie & 0xFFFF == _RUNS_COOKIE:
            count = (cookie >> 16) + 1
            runs = data[4 : 4 + (count + 7) // 8]
            start = 4 + len(runs)
        else:
            count = int.from_bytes(data[4:8], "little")
            start = 8
        pairs = view[start : start + 4 * count].cast("H")
        keys, cards = pairs[0::2], pairs[1::2]
        position = start + 4 * count
        offsets: Iterable[int]
        if runs is None or count >= _NO_OFFSETS_BELOW:
            offsets = view[position : position + 4 * count].cast("I")
        else:
            offsets = []
            for i in range(count):
                offsets.append(position)
                if runs[i >> 3] >> (i & 7) & 1:
                    position += 2 + 4 * (data[position] | data[position + 1] << 8)
                elif cards[i] + 1 > _ARRAY_MAX:
                    position += 8192
                else:
                    position += 2 * (cards[i] + 1)
        return (keys, cards, offsets, runs, view)
