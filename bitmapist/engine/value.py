"""A Redis string as the engine holds it: the set bits and the length in bytes.

Redis keeps bitmaps as plain strings, so a value is more than its set bits: SETBIT grows
the string to `offset // 8 + 1` bytes, clearing a bit never shrinks it, and SET stores any
bytes. `Value(bits, length)` carries both; GET of a value is byte-exact (`to_bytes`).
The bit layout (offset 0 = the most significant bit of byte 0) is `bitmapist.bitbytes`'s,
the one conversion every layer uses.
"""

from __future__ import annotations

from typing import NamedTuple

from pyroaring import BitMap

from ..bitbytes import byte_range, to_bitmap, to_bytes


class Value(NamedTuple):
    """A Redis string: `bits` set (offset 0 = MSB of byte 0), `length` bytes long.

    Invariant: every offset in `bits` is below `length * 8`.
    """

    bits: BitMap
    length: int

    @classmethod
    def from_bytes(cls, data: bytes) -> Value:
        """The value of a Redis string holding exactly `data`."""
        return cls(to_bitmap(data), len(data))

    def to_bytes(self) -> bytes:
        """The Redis string, byte-exact (zero bytes up to `length`)."""
        return to_bytes(self.bits, self.length)

    def byte_range(self, start: int, end: int) -> bytes:
        """Bytes [start, end) of the Redis string (0 <= start <= end <= length), made
        from the containers the range covers only (GETRANGE, streamed GET)."""
        return byte_range(self.bits, start, end)

    def copy(self) -> Value:
        """A value whose bitmap the caller may modify."""
        return Value(BitMap(self.bits), self.length)


EMPTY = Value(BitMap(), 0)
