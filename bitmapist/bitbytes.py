"""Convert between sets of bit offsets and Redis's string layout (bit 0 = MSB of byte 0)."""

from __future__ import annotations

import re
import struct
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


def to_redis_string(offsets: Iterable[int]) -> bytes:
    """The shortest Redis string whose set bits are exactly `offsets` (non-empty)."""
    offsets = (
        offsets if isinstance(offsets, (list, tuple, set, frozenset, BitMap)) else list(offsets)
    )
    return to_bytes(offsets, max(offsets) // 8 + 1)


def to_bytes(offsets: Iterable[int], length: int) -> bytes:
    """The Redis string `length` bytes long whose set bits are exactly `offsets` (each
    below `length * 8`), zero bytes up to `length`."""
    buf = bytearray(length)
    for offset in offsets:
        buf[offset >> 3] |= 0x80 >> (offset & 7)
    return bytes(buf)


def redis_byte_length(bitmap: BitMap) -> int:
    """How many bytes Redis would use for a string whose highest set bit is bitmap.max()."""
    return bitmap.max() // 8 + 1 if bitmap else 0


# Roaring's bitset containers are little-endian 64-bit words, least significant bit first:
# reversing the bits of every byte of a Redis string gives exactly that layout.
_REVERSED = bytes(int(f"{value:08b}"[::-1], 2) for value in range(256))
_REVERSED_INVERTED = bytes(value ^ 0xFF for value in _REVERSED)
_CONTAINER_BYTES = 8192  # 65536 bits: one roaring container
_CONTAINER_BITS = _CONTAINER_BYTES * 8
_ARRAY_MAX = 4096  # containers with at most this many bits must be array containers
_COOKIE_NO_RUNS = 12346
_EMPTY_CONTAINER = bytes(_CONTAINER_BYTES)


def to_bitmap(data: bytes | None) -> BitMap:
    """The set bits of a Redis string as a roaring bitmap (empty for None or b"").

    Decoding bit by bit in Python costs about a microsecond per set bit; instead the string
    is written straight into CRoaring's portable serialization for `BitMap.deserialize`.
    Each 8 KiB slice is one roaring container: a bitset container when it holds more than
    4096 bits, otherwise its complement (which then holds more) flipped back afterwards.
    """
    if not data:
        return BitMap()
    keys: list[int] = []
    cardinalities: list[int] = []
    bodies: list[bytes] = []
    flipped: list[int] = []
    for key, start in enumerate(range(0, len(data), _CONTAINER_BYTES)):
        chunk = data[start : start + _CONTAINER_BYTES]
        if chunk == _EMPTY_CONTAINER:  # a memcmp: cheap for the long zero runs of sparse ids
            continue
        bits = int.from_bytes(chunk, "big").bit_count()
        if bits == 0:
            continue
        if len(chunk) < _CONTAINER_BYTES:
            chunk = chunk + bytes(_CONTAINER_BYTES - len(chunk))
        if bits > _ARRAY_MAX:
            bodies.append(chunk.translate(_REVERSED))
        else:
            bodies.append(chunk.translate(_REVERSED_INVERTED))
            bits = _CONTAINER_BITS - bits
            flipped.append(key)
        keys.append(key)
        cardinalities.append(bits)
    if not keys:
        return BitMap()
    count = len(keys)
    header_size = 8 + 8 * count
    parts = [struct.pack("<II", _COOKIE_NO_RUNS, count)]
    parts.extend(struct.pack("<HH", key, bits - 1) for key, bits in zip(keys, cardinalities))
    parts.append(
        struct.pack(f"<{count}I", *(header_size + i * _CONTAINER_BYTES for i in range(count)))
    )
    parts.extend(bodies)
    bitmap = BitMap.deserialize(b"".join(parts))
    for key in flipped:
        bitmap.flip_inplace(key * _CONTAINER_BITS, (key + 1) * _CONTAINER_BITS)
    return bitmap
