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
        return byte_range(offsets, 0, length)
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
# Strings up to this many bytes (at most 256 bits) are decoded bit by bit (`to_bitmap`).
_SHORT_MAX_BYTES = 32
_BASES = range(0, 8 * _SHORT_MAX_BYTES, 8)  # the first bit of each of their bytes


def to_bitmap(data: bytes | None) -> BitMap:
    """The set bits of a Redis string as a roaring bitmap (empty for None or b"").

    Decoding bit by bit in Python costs about a microsecond per set bit; instead the string
    is written straight into CRoaring's portable serialization for `BitMap.deserialize`.
    Each 8 KiB slice is one roaring container: a bitset container when it holds more than
    4096 bits, otherwise its complement (which then holds more) flipped back afterwards.
    """
    if not data:
        return BitMap()
    if len(data) <= _SHORT_MAX_BYTES:
        # A counter, a name, a small SET: listing its bits (~0.04 us each) beats the
        # 8 KiB container below (~7 us whatever the value) up to ~180 bits.
        set_bits = _SET_BITS
        return BitMap([base + bit for base, byte in zip(_BASES, data) for bit in set_bits[byte]])
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

Piece = tuple[int, bytes]  # (where it starts in the Redis string, its bytes)


def byte_range(bitmap: BitMap, start: int, end: int) -> bytes:
    """Bytes [start, end) of the Redis string whose set bits are `bitmap`: zero bytes
    where no bit is set, so `end` may lie past the last set bit (GET, GETRANGE, and the
    pieces of a streamed GET). Costs a translate of the bytes the range covers.
    """
    if end <= start:
        return b""
    if bitmap:
        # Only the containers the range touches are serialized: a huge bitmap streamed
        # in pieces must not be serialized whole for every piece.
        lo = (start * 8) & ~(_CONTAINER_BITS - 1)
        hi = -(-end * 8 // _CONTAINER_BITS) * _CONTAINER_BITS
        if bitmap.min() < lo or bitmap.max() >= hi:
            window = BitMap()
            window.add_range(lo, hi)
            bitmap = bitmap & window
    if not bitmap:
        return bytes(end - start)
    return _join(_pieces(bitmap, start, end), start, end)


def _join(pieces: list[Piece], start: int, end: int) -> bytes:
    """Bytes [start, end) from non-overlapping `pieces` within it, zero bytes between."""
    if len(pieces) == 1 and pieces[0][0] == start and len(pieces[0][1]) == end - start:
        return pieces[0][1]  # one span covers it all (a dense value): no copy
    pieces.sort()  # by start: pieces do not overlap, so no two starts are equal
    parts: list[bytes] = []
    at = start
    for first, data in pieces:
        if first > at:
            parts.append(bytes(first - at))
        parts.append(data)
        at = first + len(data)
    if end > at:
        parts.append(bytes(end - at))
    return b"".join(parts)


def _pieces(bitmap: BitMap, start: int, end: int) -> list[Piece]:
    """The bytes within [start, end) of `bitmap`'s containers, as pieces.

    Bitset containers are the Redis bytes with each byte's bits reversed: a run of them
    (consecutive keys, contiguous in the serialization: a dense value) is one slice and one
    translate. Tiny array containers are set a bit at a time, run containers with few
    runs a run at a time. Every other container (arrays, runs with many runs) is XORed
    (by CRoaring, in one operation for all of them) with a bitset of a fixed byte pattern:
    the XOR of a bitset container with anything is a bitset unless it holds at most 4096
    bits, so each comes back as 8 KiB that one `translate` turns into the Redis bytes,
    whatever kind (array, run, bitset) the container was. The few within 4096 bits of the
    pattern go again with the second pattern.
    """
    pieces: list[Piece] = []
    keys: list[int] = []
    for key, kind, body in _bitsets(bitmap.serialize(), _REVERSED, start, end, pieces, None):
        if kind == "array" and len(body) <= 2 * _ARRAY_LOOP_MAX_BITS:
            piece = _array_piece(key, body, start, end)
        elif kind == "run" and len(body) <= 4 * _RUN_LOOP_MAX_RUNS:
            piece = _runs_piece(key, body, start, end)
        else:
            keys.append(key)
            continue
        if piece is not None:
            pieces.append(piece)
    for pattern in _PATTERNS:
        if not keys:
            break
        masked = bitmap ^ _pattern_bitmap(keys, pattern)
        table = _UNMASK[pattern]
        near = _bitsets(masked.serialize(), table, start, end, pieces, set(keys))
        keys = [key for key, _, _ in near]  # within 4096 bits of the pattern: the next one
    if keys:
        raise AssertionError(f"containers {keys} near both patterns")  # impossible, see above
    return pieces


def _bitsets(
    data: bytes, table: bytes, start: int, end: int, pieces: list[Piece], keys: set[int] | None
) -> list[tuple[int, str, memoryview]]:
    """Append to `pieces` the bytes within [start, end) of the bitset containers of the
    serialization `data` (only those in `keys`, unless None), `table` turning their bytes
    into Redis bytes; return the other containers (in `keys`) as (key, kind, body)."""
    others: list[tuple[int, str, memoryview]] = []
    span_from = span_to = -1  # bytes [span_from, span_to) of `data`: Redis bytes from `at`
    at = 0
    for key, kind, position, size in _containers(data):
        if keys is not None and key not in keys:
            continue
        if kind != "bitset":
            others.append((key, kind, memoryview(data)[position : position + size]))
            continue
        begin = key * _CONTAINER_BYTES
        skip, stop = max(0, start - begin), min(_CONTAINER_BYTES, end - begin)
        if stop <= skip:
            continue
        if position + skip == span_to and begin + skip == at + span_to - span_from:
            span_to = position + stop  # the next container, right after the last: extend
            continue
        if span_to >= 0:
            pieces.append((at, data[span_from:span_to].translate(table)))
        span_from, span_to, at = position + skip, position + stop, begin + skip
    if span_to >= 0:
        pieces.append((at, data[span_from:span_to].translate(table)))
    return others


def _array_piece(key: int, body: memoryview, start: int, end: int) -> Piece | None:
    """The bytes within [start, end) from the first to the last bit of an array container."""
    base = key * _CONTAINER_BITS
    values = struct.unpack(f"<{len(body) // 2}H", body)
    first, last = max(start, (base + values[0]) >> 3), min(end, ((base + values[-1]) >> 3) + 1)
    if first >= last:
        return None
    out = bytearray(last - first)
    base -= first * 8
    limit = len(out) * 8
    for value in values:
        offset = base + value
        if 0 <= offset < limit:
            out[offset >> 3] |= 0x80 >> (offset & 7)
    return first, bytes(out)


def _runs_piece(key: int, body: memoryview, start: int, end: int) -> Piece | None:
    """The bytes within [start, end) from the first to the last bit of a run container."""
    base = key * _CONTAINER_BITS
    values = struct.unpack(f"<{len(body) // 2}H", body)
    last_bit = base + values[-2] + values[-1]
    first, last = max(start, (base + values[0]) >> 3), min(end, (last_bit >> 3) + 1)
    if first >= last:
        return None
    out = bytearray(last - first)
    base -= first * 8
    limit = len(out) * 8
    for run_start, extra in zip(values[::2], values[1::2]):
        begin, stop = max(0, base + run_start), min(limit - 1, base + run_start + extra)
        if begin > stop:  # (inclusive ends) clipped away
            continue
        head, tail = begin >> 3, stop >> 3
        head_mask = 0xFF >> (begin & 7)
        tail_mask = (0xFF << (7 - (stop & 7))) & 0xFF
        if head == tail:
            out[head] |= head_mask & tail_mask
        else:
            out[head] |= head_mask
            out[head + 1 : tail] = b"\xff" * (tail - head - 1)
            out[tail] |= tail_mask
    return first, bytes(out)


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


def _containers(data: bytes) -> Iterator[tuple[int, str, int, int]]:
    """(key, "bitset" | "array" | "run", position, size) of each container body of CRoaring's
    portable serialization (see CRoaring's `roaring_bitmap_portable_deserialize`)."""
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
        yield key, kind, position, size
        position += size
