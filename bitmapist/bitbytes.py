"""Convert between sets of bit offsets and Redis's string layout (bit 0 = MSB of byte 0)."""

from __future__ import annotations

import functools
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
_RUN_LOOP_MAX_RUNS = 16  # run containers with few runs are filled a run at a time
_COOKIE_RUNS = 12347
_NO_OFFSET_THRESHOLD = 4  # serializations with runs and fewer containers omit offsets
# Two byte patterns (roaring's layout) that differ in half of their bits: a container
# within 4096 bits of the first (whose XOR with it is not a bitset) is far from the second.
_PATTERNS = (0x55, 0x33)
# Per pattern: a byte of (container XOR pattern) in roaring's layout -> the Redis byte.
_UNMASK = {p: bytes(_REVERSED[value ^ p] for value in range(256)) for p in _PATTERNS}
_PATTERN_BODIES = {p: bytes([p]) * _CONTAINER_BYTES for p in _PATTERNS}
_PATTERN_CARDINALITY = 4 * _CONTAINER_BYTES  # both patterns set 4 bits of every byte
_PATTERN_CACHE_KEYS = 8  # `_pattern_bitmap` keeps 4 of up to 8 containers: <= 256 KiB


def byte_range(bitmap: BitMap, start: int, end: int) -> bytes:
    """Bytes [start, end) of the Redis string whose set bits are `bitmap`: zero bytes
    where no bit is set, so `end` may lie past the last set bit (GETRANGE, and the pieces
    of a streamed GET). Costs a translate of the bytes the range covers, per container.
    """
    if end <= start:
        return b""
    out = bytearray(end - start)
    if bitmap:
        # Only the containers the range touches are serialized: a huge bitmap streamed
        # in pieces must not be serialized whole for every piece.
        lo = (start * 8) & ~(_CONTAINER_BITS - 1)
        hi = -(-end * 8 // _CONTAINER_BITS) * _CONTAINER_BITS
        if bitmap.min() < lo or bitmap.max() >= hi:
            window = BitMap()
            window.add_range(lo, hi)
            bitmap = bitmap & window
        _fill(out, bitmap, start)
    return bytes(out)


def _bitmap_bytes(bitmap: BitMap, length: int) -> bytes:
    """`to_bytes` of a roaring bitmap without a Python step per bit."""
    out = bytearray(length)
    _fill(out, bitmap, 0)
    return bytes(out)


def _fill(out: bytearray, bitmap: BitMap, first: int) -> None:
    """Write `bitmap`'s bits into `out`, which holds the Redis string from byte `first` on.

    Bitset containers are the Redis bytes with each byte's bits reversed: one translate
    of the part `out` holds. Tiny array containers are set a bit at a time, run
    containers with few runs a run at a time. Every other container (arrays, runs with
    many runs) is XORed (by CRoaring, in one operation for all of them) with a bitset of
    a fixed byte pattern: the XOR of a bitset container with anything is a bitset unless
    it holds at most 4096 bits, so each comes back as 8 KiB that one `translate` turns
    into the Redis bytes, whatever kind (array, run, bitset) the container was. The few
    within 4096 bits of the pattern go again with the second pattern.
    """
    keys: list[int] = []
    limit = len(out) * 8
    for key, kind, body in _containers(bitmap.serialize()):
        if kind == "bitset":  # already 8 KiB: no XOR needed
            _place(out, key, body, first, _REVERSED)
        elif kind == "array" and len(body) <= 2 * _ARRAY_LOOP_MAX_BITS:
            base = key * _CONTAINER_BITS - first * 8
            for value in struct.unpack(f"<{len(body) // 2}H", body):
                offset = base + value
                if 0 <= offset < limit:
                    out[offset >> 3] |= 0x80 >> (offset & 7)
        elif kind == "run" and len(body) <= 4 * _RUN_LOOP_MAX_RUNS:
            _fill_runs(out, key * _CONTAINER_BITS - first * 8, body)
        else:
            keys.append(key)
    for pattern in _PATTERNS:
        if not keys:
            break
        wanted = set(keys)
        masked = bitmap ^ _pattern_bitmap(keys, pattern)
        keys = []
        table = _UNMASK[pattern]
        for key, kind, body in _containers(masked.serialize()):
            if key not in wanted:  # a container placed above, unchanged by the XOR
                continue
            if kind == "bitset":
                _place(out, key, body, first, table)
            else:  # within 4096 bits of the pattern: the next one
                keys.append(key)
    if keys:
        raise AssertionError(f"containers {keys} near both patterns")  # impossible, see above


def _fill_runs(out: bytearray, base: int, body: memoryview) -> None:
    """Set the runs of a run container whose first bit is bit `base` of `out` (clipped)."""
    values = struct.unpack(f"<{len(body) // 2}H", body)
    limit = len(out) * 8
    for start, extra in zip(values[::2], values[1::2]):
        begin, end = max(0, base + start), min(limit - 1, base + start + extra)  # inclusive
        if begin > end:
            continue
        first, last = begin >> 3, end >> 3
        head = 0xFF >> (begin & 7)
        tail = (0xFF << (7 - (end & 7))) & 0xFF
        if first == last:
            out[first] |= head & tail
        else:
            out[first] |= head
            out[first + 1 : last] = b"\xff" * (last - first - 1)
            out[last] |= tail


def _pattern_bitmap(keys: list[int], pattern: int) -> BitMap:
    """A bitmap whose containers `keys` are bitsets of the byte `pattern` (half the bits),
    shared (never modify it): the last few of up to 8 containers are kept, as bitmaps of
    similar ids (the months of one event) have their run containers at the same keys."""
    if len(keys) > _PATTERN_CACHE_KEYS:
        return _new_pattern_bitmap(tuple(keys), pattern)
    return _kept_pattern_bitmap(tuple(keys), pattern)


def _new_pattern_bitmap(keys: tuple[int, ...], pattern: int) -> BitMap:
    count = len(keys)
    header_size = 8 + 8 * count
    cardinality = _PATTERN_CARDINALITY - 1
    parts = [struct.pack("<II", _COOKIE_NO_RUNS, count)]
    parts.append(struct.pack(f"<{2 * count}H", *_interleave(keys, cardinality)))
    parts.append(
        struct.pack(f"<{count}I", *(header_size + i * _CONTAINER_BYTES for i in range(count)))
    )
    parts.extend([_PATTERN_BODIES[pattern]] * count)
    return BitMap.deserialize(b"".join(parts))


_kept_pattern_bitmap = functools.lru_cache(maxsize=4)(_new_pattern_bitmap)


def _interleave(keys: Iterable[int], value: int) -> Iterator[int]:
    for key in keys:
        yield key
        yield value


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


def _place(out: bytearray, key: int, body: memoryview, first: int, table: bytes) -> None:
    """Write container `key` (8 KiB `body` in roaring's layout, `table` turning its bytes
    into Redis bytes) into `out` (the string from byte `first` on): only the part `out`
    holds is translated."""
    start = key * _CONTAINER_BYTES - first
    skip = max(0, -start)
    size = min(_CONTAINER_BYTES, len(out) - start)
    if size > skip:
        out[start + skip : start + size] = bytes(body[skip:size]).translate(table)
