"""Convert between sets of bit offsets and Redis's string layout (bit 0 = MSB of byte 0)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from pyroaring import BitMap

# For each byte value, the offsets (0 = most significant bit) of its set bits.
_SET_BITS: tuple[tuple[int, ...], ...] = tuple(
    tuple(bit for bit in range(8) if value & (0x80 >> bit)) for value in range(256)
)
_NONZERO_RUNS = re.compile(rb"[^\x00]+")


def iter_offsets(data: bytes) -> Iterator[int]:
    """The set bits of a Redis string, ascending. Zero runs are skipped at C speed."""
    set_bits = _SET_BITS
    for run in _NONZERO_RUNS.finditer(data):
        base = run.start() * 8
        for byte in run.group():
            for bit in set_bits[byte]:
                yield base + bit
            base += 8


def to_bitmap(data: bytes | None) -> BitMap:
    """A roaring bitmap of a Redis string's set bits (empty for a missing key)."""
    if not data:
        return BitMap()
    return BitMap(iter_offsets(data))


def to_redis_string(offsets: Iterable[int]) -> bytes:
    """The shortest Redis string whose set bits are exactly `offsets` (non-empty)."""
    offsets = (
        offsets if isinstance(offsets, (list, tuple, set, frozenset, BitMap)) else list(offsets)
    )
    buf = bytearray(max(offsets) // 8 + 1)
    for offset in offsets:
        buf[offset >> 3] |= 0x80 >> (offset & 7)
    return bytes(buf)


def redis_byte_length(bitmap: BitMap) -> int:
    """How many bytes Redis would use for a string whose highest set bit is bitmap.max()."""
    return bitmap.max() // 8 + 1 if bitmap else 0
