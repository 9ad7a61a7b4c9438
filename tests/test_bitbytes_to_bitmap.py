"""`bitbytes.to_bitmap`: a Redis string's bits as a roaring bitmap, checked against the
independent bit-by-bit decoder `iter_offsets` on both sides of the short-string path."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pyroaring import BitMap

from bitmapist.bitbytes import _SHORT_MAX_BYTES, iter_offsets, to_bitmap


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=3 * _SHORT_MAX_BYTES))
def test_short_and_longer_strings_decode_bit_for_bit(data):
    assert to_bitmap(data) == BitMap(iter_offsets(data))


def test_the_edges_of_the_short_path():
    for size in (1, _SHORT_MAX_BYTES - 1, _SHORT_MAX_BYTES, _SHORT_MAX_BYTES + 1):
        for data in (b"\xff" * size, b"\x01" * size, bytes(size), b"\x80" + bytes(size - 1)):
            assert to_bitmap(data) == BitMap(iter_offsets(data)), data
    assert to_bitmap(b"-9223372036854775808") == BitMap(iter_offsets(b"-9223372036854775808"))
