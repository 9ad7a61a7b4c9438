"""Redis strings to roaring bitmaps at C speed.

A Redis string is a plain bitset (bit 0 = most significant bit of byte 0). Decoding it bit by
bit in Python costs about a microsecond per set bit; instead we write the bitset straight
into CRoaring's portable serialization and let `BitMap.deserialize` read it. Each 8 KiB slice
is one roaring container: stored as a bitset container when it holds more than 4096 bits,
otherwise its complement is stored (which then holds more than 4096) and flipped back.
"""

from __future__ import annotations

import struct

from pyroaring import BitMap

# Roaring's bitset containers are little-endian 64-bit words, least significant bit first:
# reversing the bits of every byte of a Redis string gives exactly that layout.
_REVERSED = bytes(int(f"{value:08b}"[::-1], 2) for value in range(256))
_REVERSED_INVERTED = bytes(value ^ 0xFF for value in _REVERSED)
_CONTAINER_BYTES = 8192  # 65536 bits: one roaring container
_CONTAINER_BITS = _CONTAINER_BYTES * 8
_ARRAY_MAX = 4096  # containers with at most this many bits must be array containers
_COOKIE_NO_RUNS = 12346
_EMPTY_CONTAINER = bytes(_CONTAINER_BYTES)


def redis_string_to_bitmap(data: bytes | None) -> BitMap:
    """The set bits of a Redis string as a roaring bitmap (empty for None or b"")."""
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
        struct.pack(
            f"<{count}I", *(header_size + i * _CONTAINER_BYTES for i in range(count))
        )
    )
    parts.extend(bodies)
    bitmap = BitMap.deserialize(b"".join(parts))
    for key in flipped:
        bitmap.flip_inplace(key * _CONTAINER_BITS, (key + 1) * _CONTAINER_BITS)
    return bitmap
