"""A Redis string as the engine holds it: the set bits and the length in bytes.

Redis keeps bitmaps as plain strings, so a value is more than its set bits: SETBIT grows
the string to `offset // 8 + 1` bytes, clearing a bit never shrinks it, and SET stores any
bytes. `Value(bits, length)` carries both; GET of a value is byte-exact (`to_bytes`).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from pyroaring import BitMap

# For each byte value, the bit offsets (0 = most significant bit) it has set.
_SET_BITS: tuple[tuple[int, ...], ...] = tuple(
    tuple(bit for bit in range(8) if value & (0x80 >> bit)) for value in range(256)
)
_NONZERO_RUNS = re.compile(rb"[^\x00]+")


class Value(NamedTuple):
    """A Redis string: `bits` set (offset 0 = MSB of byte 0), `length` bytes long.

    Invariant: every offset in `bits` is below `length * 8`.
    """

    bits: BitMap
    length: int

    @classmethod
    def from_bytes(cls, data: bytes) -> Value:
        """The value of a Redis string holding exactly `data`."""
        bits = BitMap()
        set_bits = _SET_BITS
        for run in _NONZERO_RUNS.finditer(data):
            base = run.start() * 8
            offsets = []
            for byte in run.group():
                offsets.extend(base + bit for bit in set_bits[byte])
                base += 8
            bits.update(offsets)
        return cls(bits, len(data))

    def to_bytes(self) -> bytes:
        """The Redis string, byte-exact (zero bytes up to `length`)."""
        buf = bytearray(self.length)
        for offset in self.bits:
            buf[offset >> 3] |= 0x80 >> (offset & 7)
        return bytes(buf)

    def copy(self) -> Value:
        """A value whose bitmap the caller may modify."""
        return Value(BitMap(self.bits), self.length)


EMPTY = Value(BitMap(), 0)


def length_for(max_offset: int) -> int:
    """The byte length SETBIT grows a string to for `max_offset`."""
    return (max_offset >> 3) + 1
