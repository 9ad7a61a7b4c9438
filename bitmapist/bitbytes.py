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
    if isinstance(offsets, BitMap) and len(offsets) > _LOOP_MAX_BITS:
        return _bitmap_bytes(offsets, length)
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


# --- roaring -> Redis string, container by container (what GET of a bitmap costs)

# Below this many bits (in a bitmap, or in an array container), setting them one by one
# beats serializing (8 KiB per container): measured ~0.1 us per bit, ~10 us per container.
_LOOP_MAX_BITS = 64
_ARRAY_LOOP_MAX_BITS = 128
_COOKIE_RUNS = 12347
_NO_OFFSET_THRESHOLD = 4  # serializations with runs and fewer containers omit offsets
_INVERTED = bytes(value ^ 0xFF for value in range(256))


def _bitmap_bytes(bitmap: BitMap, length: int) -> bytes:
    """`to_bytes` of a roaring bitmap without a Python step per bit.

    Bitset containers are the Redis bytes with each byte's bits reversed; run containers
    are filled a run at a time. Array containers (at most 4096 bits) are set a bit at a
    time when small, else read from the complement of their range, which roaring holds as
    a bitset or runs.
    """
    out = bytearray(length)
    arrays = BitMap()
    for key, kind, body in _containers(bitmap.serialize()):
        if kind == "array" and len(body) <= 2 * _ARRAY_LOOP_MAX_BITS:
            base = key * _CONTAINER_BITS
            for value in struct.unpack(f"<{len(body) // 2}H", body):
                offset = base + value
                out[offset >> 3] |= 0x80 >> (offset & 7)
        elif kind == "array":
            arrays.add_range(key * _CONTAINER_BITS, (key + 1) * _CONTAINER_BITS)
        else:
            _place(out, key, _container_bytes(kind, body))
    if arrays:
        for key, kind, body in _containers((arrays - bitmap).serialize()):
            _place(out, key, _container_bytes(kind, body).translate(_INVERTED))
    return bytes(out)


def _containers(data: bytes) -> Iterator[tuple[int, str, memoryview]]:
    """(key, "bitset" | "array" | "run", body) of each container of CRoaring's portable
    serialization (see CRoaring's `roaring_bitmap_portable_deserialize`)."""
    view = memoryview(data)
    (cookie,) = struct.unpack_from("<I", data, 0)
    if cookie == _COOKIE_NO_RUNS:
        (count,) = struct.unpack_from("<I", data, 4)
        position, run_flags, offsets = 8, b"", True
    elif cookie & 0xFFFF == _COOKIE_RUNS:
        count = (cookie >> 16) + 1
        run_flags = data[4 : 4 + (count + 7) // 8]
        position, offsets = 4 + len(run_flags), count >= _NO_OFFSET_THRESHOLD
    else:
        raise ValueError(f"unknown roaring serialization cookie {cookie}")
    header = struct.unpack_from(f"<{2 * count}H", data, position)
    position += 4 * count + (4 * count if offsets else 0)
    for index in range(count):
        key, cardinality = header[2 * index], header[2 * index + 1] + 1
        if run_flags and run_flags[index >> 3] & (1 << (index & 7)):
            (runs,) = struct.unpack_from("<H", data, position)
            size, kind, position = 4 * runs, "run", position + 2
        elif cardinality > _ARRAY_MAX:
            size, kind = _CONTAINER_BYTES, "bitset"
        else:
            size, kind = 2 * cardinality, "array"
        yield key, kind, view[position : position + size]
        position += size


def _container_bytes(kind: str, body: memoryview) -> bytes:
    """The 8 KiB of Redis string a bitset or run container stands for."""
    if kind == "bitset":
        return bytes(body).translate(_REVERSED)
    buf = bytearray(_CONTAINER_BYTES)
    values = struct.unpack(f"<{len(body) // 2}H", body)
    for start, extra in zip(values[::2], values[1::2]):
        end = start + extra  # inclusive
        first, last = start >> 3, end >> 3
        head = 0xFF >> (start & 7)
        tail = (0xFF << (7 - (end & 7))) & 0xFF
        if first == last:
            buf[first] |= head & tail
        else:
            buf[first] |= head
            buf[first + 1 : last] = b"\xff" * (last - first - 1)
            buf[last] |= tail
    return bytes(buf)


def _place(out: bytearray, key: int, chunk: bytes) -> None:
    start = key * _CONTAINER_BYTES
    size = min(_CONTAINER_BYTES, len(out) - start)  # past `length` every bit is clear
    if size > 0:
        out[start : start + size] = chunk[:size]
