"""`bitmapist.bitbytes`: roaring bitmaps to Redis strings container by container, checked
against setting the bits one at a time, for every container kind roaring uses."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pyroaring import BitMap

from bitmapist.bitbytes import byte_range, to_bitmap, to_bytes

CONTAINER = 65536


def _bit_by_bit(bits: BitMap, length: int) -> bytes:
    buf = bytearray(length)
    for offset in bits:
        buf[offset >> 3] |= 0x80 >> (offset & 7)
    return bytes(buf)


# sparse values (array containers), ranges (run and bitset containers) over a few containers
_values = st.lists(st.integers(0, 5 * CONTAINER - 1), max_size=400)
_ranges = st.lists(
    st.tuples(st.integers(0, 5 * CONTAINER - 1), st.integers(1, 3 * CONTAINER)), max_size=6
)
_strides = st.lists(st.tuples(st.integers(0, 4), st.integers(1, 40)), max_size=3)


@st.composite
def bitmaps(draw) -> BitMap:
    bits = BitMap(draw(_values))
    for start, size in draw(_ranges):
        bits.add_range(start, min(start + size, 5 * CONTAINER))
    for container, step in draw(_strides):  # dense containers: bitsets, or arrays near 4096
        bits.update(range(container * CONTAINER, (container + 1) * CONTAINER, step))
    if draw(st.booleans()):
        bits = bits.flip(0, draw(st.integers(0, 5 * CONTAINER)))
    if draw(st.booleans()):
        bits.run_optimize()
    return bits


@settings(max_examples=300, deadline=None)
@given(bitmaps(), st.integers(0, 20_000))
def test_bitmaps_become_the_same_bytes_as_bit_by_bit(bits, padding):
    length = (bits.max() // 8 + 1 if bits else 0) + padding
    data = to_bytes(bits, length)
    assert data == _bit_by_bit(bits, length)
    assert to_bitmap(data) == bits


def test_small_array_containers_and_huge_offsets():
    bits = BitMap([3, 70_000, 2**27 - 1] + list(range(CONTAINER * 9, CONTAINER * 9 + 3000)))
    length = 2**24
    assert to_bytes(bits, length) == _bit_by_bit(bits, length)


@settings(max_examples=200, deadline=None)
@given(bitmaps(), st.integers(0, 5 * CONTAINER // 8 + 100), st.integers(0, 5 * CONTAINER // 8))
def test_byte_ranges_are_slices_of_the_whole_string(bits, start, size):
    length = max(start + size, 5 * CONTAINER // 8)
    assert byte_range(bits, start, start + size) == _bit_by_bit(bits, length)[start : start + size]


def test_containers_equal_or_near_the_xor_patterns():
    """A container that is (nearly) the first XOR pattern comes back through the second."""
    bits = BitMap(range(0, CONTAINER, 2))  # 0x55 in roaring's layout: the first pattern
    bits.update(range(CONTAINER, 2 * CONTAINER, 2))
    bits.update(range(2 * CONTAINER + 1, 3 * CONTAINER, 2))  # the complement of the pattern
    bits.update(range(3 * CONTAINER, 4 * CONTAINER, 4))  # 0x33-like, near the second
    bits.discard(CONTAINER + 10)
    bits.add(CONTAINER + 11)
    length = 4 * CONTAINER // 8
    assert to_bytes(bits, length) == _bit_by_bit(bits, length)


def test_runs_of_bitset_containers_and_what_breaks_them():
    """Consecutive bitset containers are translated as one span; a missing container, an
    array, a run container or a bitset out of place in the serialization ends the span.
    Every byte range across their boundaries is the bit-by-bit string's slice."""
    bits = BitMap()
    for container in (0, 1, 2, 4, 5, 7, 8):  # 3 and 6 are missing
        bits.update(range(container * CONTAINER, (container + 1) * CONTAINER, 3))
    bits.update(range(9 * CONTAINER + 5, 9 * CONTAINER + 40_000))  # a run container
    bits.update(range(10 * CONTAINER, 11 * CONTAINER, 3))  # a bitset after it
    bits.update(range(11 * CONTAINER, 11 * CONTAINER + 900, 7))  # an array
    bits.update(range(12 * CONTAINER, 13 * CONTAINER, 5))
    bits.run_optimize()
    length = 13 * CONTAINER // 8 + 3
    whole = _bit_by_bit(bits, length)
    assert to_bytes(bits, length) == whole
    edges = sorted(
        {0, 1, length - 1, length} | {c * CONTAINER // 8 + d for c in range(14) for d in (-1, 0, 1)}
    )
    edges = [edge for edge in edges if 0 <= edge <= length]
    for start in edges:
        for end in edges:
            assert byte_range(bits, start, end) == whole[start:end], (start, end)


_kinds = st.sampled_from(["bitset", "run", "array", "missing"])


@settings(max_examples=200, deadline=None)
@given(st.lists(_kinds, min_size=1, max_size=8), st.booleans(), st.data())
def test_mixed_containers_in_any_order_and_any_range(kinds, optimize, data):
    """Containers of every kind side by side (bitsets that make a span, and whatever breaks
    one), every byte range of the string against the bit-by-bit bytes."""
    bits = BitMap()
    for key, kind in enumerate(kinds):
        base = key * CONTAINER
        if kind == "bitset":
            bits.update(range(base + key % 3, base + CONTAINER, 2 + key % 3))
        elif kind == "run":
            bits.add_range(base + 100 * key, base + CONTAINER - 7 * key)
        elif kind == "array":
            bits.update(range(base + key, base + CONTAINER, 97))
    if not bits:
        return
    if optimize:
        bits.run_optimize()
    length = len(kinds) * CONTAINER // 8 + data.draw(st.integers(0, 9))
    whole = _bit_by_bit(bits, length)
    start = data.draw(st.integers(0, length))
    end = data.draw(st.integers(start, length))
    assert byte_range(bits, start, end) == whole[start:end]
    assert to_bytes(bits, length) == whole
