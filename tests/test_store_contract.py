"""The `Store` contract (bitmapist/stores/base.py): the same facts for every backend."""

from __future__ import annotations

import pytest
from pyroaring import BitMap

from bitmapist.expressions import Key, Op
from bitmapist.stores.base import BitChange, Store


def op(name: str, *operands) -> Op:
    return Op(name, tuple(operands), f"trackist_bitop_{name}_" + "-".join(o.name for o in operands))


A, B, C, MISSING = (
    Key("trackist_a_1"),
    Key("trackist_b_1"),
    Key("trackist_c_1"),
    Key("trackist_x_1"),
)


@pytest.fixture
def filled(store: Store) -> Store:
    store.set_bits(
        [
            BitChange(A.name, [1, 2, 3, 100]),
            BitChange(B.name, [2, 3, 4]),
            BitChange(C.name, range(0, 64, 4)),
        ]
    )
    return store


def test_missing_keys_are_empty(store: Store):
    assert store.count(MISSING) == 0
    assert not store.get_bit(MISSING, 5)
    assert store.bitmap(MISSING) == BitMap()
    assert list(store.ids(MISSING)) == []
    assert not store.any(MISSING)
    assert store.delete([MISSING.name]) == 0


def test_set_and_clear_bits(filled: Store):
    assert filled.count(A) == 4
    assert filled.get_bit(A, 100) and not filled.get_bit(A, 99)
    assert list(filled.ids(A)) == [1, 2, 3, 100]
    filled.set_bits([BitChange(A.name, [2, 100], False), BitChange(A.name, [7])])
    assert list(filled.ids(A)) == [1, 3, 7]


def test_one_batch_may_touch_a_key_twice_in_order(store: Store):
    store.set_bits([BitChange("k", [1, 2]), BitChange("k", [2], False), BitChange("k", [9])])
    assert list(store.ids(Key("k"))) == [1, 9]


def test_large_batches_and_offsets(store: Store):
    store.set_bits([BitChange("big", range(0, 200_000, 3)), BitChange("far", [2**24 + 7])])
    assert store.count(Key("big")) == len(range(0, 200_000, 3))
    assert list(store.ids(Key("far"))) == [2**24 + 7]


def test_operations(filled: Store):
    assert list(filled.ids(op("AND", A, B))) == [2, 3]
    assert list(filled.ids(op("OR", A, B))) == [1, 2, 3, 4, 100]
    assert list(filled.ids(op("XOR", A, B))) == [1, 4, 100]
    assert filled.count(op("AND", A, B, C)) == 0
    assert filled.count(op("AND", A, MISSING)) == 0
    assert filled.count(op("OR", A, MISSING)) == 4
    assert filled.get_bit(op("OR", A, B), 4)
    assert filled.any(op("AND", A, B)) and not filled.any(op("AND", A, MISSING))


def test_not_complements_within_the_byte_length(filled: Store):
    # B is {2, 3, 4}: one byte long, so NOT B is the other 5 bits of that byte.
    assert list(filled.ids(op("NOT", B))) == [0, 1, 5, 6, 7]
    # A reaches bit 100: 13 bytes, 104 bits.
    assert filled.count(op("NOT", A)) == 104 - 4
    # AND/OR results are as long as their longest operand.
    assert filled.count(op("NOT", op("AND", A, B))) == 104 - 2
    assert filled.count(op("NOT", MISSING)) == 0
    assert list(filled.ids(op("AND", op("NOT", B), A))) == [1]


def test_counts_and_bitmaps_keep_order(filled: Store):
    exprs = [A, MISSING, op("AND", A, B), B]
    assert filled.counts(exprs) == [4, 0, 2, 3]
    assert [list(b) for b in filled.bitmaps(exprs)] == [[1, 2, 3, 100], [], [2, 3], [2, 3, 4]]


def test_scan_keys_uses_redis_globs(filled: Store):
    filled.set_bits([BitChange("other_[x]", [1]), BitChange("trackist_a_10", [1])])
    assert sorted(filled.scan_keys("trackist_a_*")) == ["trackist_a_1", "trackist_a_10"]
    assert sorted(filled.scan_keys("trackist_?_1")) == [
        "trackist_a_1",
        "trackist_b_1",
        "trackist_c_1",
    ]
    assert sorted(filled.scan_keys("trackist_[ab]_1")) == ["trackist_a_1", "trackist_b_1"]
    assert list(filled.scan_keys("other_\\[x]")) == ["other_[x]"]
    assert len(list(filled.scan_keys())) == 5


def test_delete_counts_existing_keys(filled: Store):
    assert filled.delete([A.name, B.name, MISSING.name]) == 2
    assert filled.count(A) == 0
    assert sorted(filled.scan_keys("trackist_*")) == ["trackist_c_1"]


def test_bitmap_is_a_copy(filled: Store):
    bitmap = filled.bitmap(A)
    bitmap.add(5000)
    assert filled.count(A) == 4


def test_info_names_the_kind(store: Store):
    assert store.info()["kind"] == store.kind
