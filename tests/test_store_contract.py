"""The `Store` contract (bitmapist/stores/base.py): the same facts for every backend."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import pytest
from pyroaring import BitMap

from bitmapist import bitops
from bitmapist.bitbytes import to_redis_string
from bitmapist.engine.glob import compile_glob
from bitmapist.expressions import Expr, Key, Op
from bitmapist.stores.base import BitChange, Store

from .conftest import STORE_KINDS, make_store


class PrimitivesOnlyStore(Store):
    """A store of Redis-like strings in a dict implementing only the abstract primitives,
    so that every derived operation runs its default from `Store`."""

    kind = "primitives"
    stores_bitop_results = False

    def __init__(self) -> None:
        self.data: dict[str, bitops.SizedBitmap] = {}

    def _leaf(self, name: str) -> bitops.SizedBitmap:
        return self.data.get(name, bitops.MISSING)

    def set_bits(self, changes: Sequence[BitChange]) -> None:
        for key, offsets, value in changes:
            bits, length = self._leaf(key)
            bits = BitMap(bits)
            if value:
                bits.update(offsets)
            else:
                bits.difference_update(BitMap(offsets))
            length = max(length, max(offsets, default=-8) // 8 + 1)
            self.data[key] = bitops.SizedBitmap(bits, length)

    def get_bit(self, expr: Expr, offset: int) -> bool:
        return offset in self.bitmap(expr)

    def count(self, expr: Expr) -> int:
        return bitops.count(expr, self._leaf)

    def bitmap(self, expr: Expr) -> BitMap:
        return BitMap(bitops.evaluate(expr, self._leaf)[0])

    def scan_keys(self, pattern: str = "*") -> Iterator[str]:
        matches = compile_glob(pattern.encode())
        return iter([key for key in self.data if matches(key.encode())])

    def delete(self, keys: Iterable[str]) -> int:
        return sum(self.data.pop(key, None) is not None for key in keys)


@pytest.fixture(params=[*STORE_KINDS, "memory", "primitives"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """Every backend, plus the in-memory embedded store and a store of primitives only."""
    if request.param == "memory":
        from bitmapist.stores.embedded import EmbeddedStore

        store: Store = EmbeddedStore(None)
    elif request.param == "primitives":
        store = PrimitivesOnlyStore()
    else:
        store = make_store(request.param, request)
    yield store
    store.close()


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


def test_sized_bitmaps_give_bits_and_byte_lengths(filled: Store):
    exprs = [A, MISSING, op("AND", A, B), op("NOT", B), B]
    # AND is as long as its longest input; the default (shortest string) cannot know that
    and_length = 1 if filled.kind == "primitives" else 13
    assert filled.sized_bitmaps(exprs) == [
        (BitMap([1, 2, 3, 100]), 13),
        (BitMap(), 0),
        (BitMap([2, 3]), and_length),
        (BitMap([0, 1, 5, 6, 7]), 1),
        (BitMap([2, 3, 4]), 1),
    ]
    sized = filled.sized_bitmaps([A])[0]
    sized.bits.add(5000)  # a copy
    assert filled.count(A) == 4


def test_strings_are_byte_exact(filled: Store):
    assert filled.strings([B, MISSING, A, op("OR", A, B)]) == [
        b"\x38",
        None,
        to_redis_string([1, 2, 3, 100]),
        to_redis_string([1, 2, 3, 4, 100]),
    ]


def test_trailing_zero_bytes_count(store: Store):
    if store.kind == "primitives":
        pytest.skip("the default sized_bitmaps gives the shortest string: it cannot know more")
    store.set_bits([BitChange("k", [3, 20_000]), BitChange("k", [20_000], False)])
    assert store.sized_bitmaps([Key("k")]) == [(BitMap([3]), 2501)]
    assert store.strings([Key("k")]) == [b"\x10" + bytes(2500)]
    assert store.count(op("NOT", Key("k"))) == 2501 * 8 - 1


def test_redis_client_is_only_for_plain_redis_keys(filled: Store):
    client = filled.redis_client()
    if filled.kind == "redis":  # Redis, or any RESP server, without a layout of its own
        assert client.getbit(A.name, 100) == 1
    else:
        assert client is None


def test_only_stores_know_concrete_stores():
    """The contract is the only door: no module outside bitmapist/stores/ imports a
    concrete store, names one, or checks a store's type."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "bitmapist"
    concrete_modules = {"redis", "cluster", "embedded", "redis_common", "cluster_runner", "shards"}
    concrete_names = {"RedisStore", "RedisClusterStore", "EmbeddedStore"}
    found = []
    for path in package.rglob("*.py"):
        if path.parent.name == "stores" and path.parent.parent == package:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            where = f"{path.relative_to(package.parent)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if "stores" in parts and parts[-1] in concrete_modules:
                    found.append(f"{where} imports {node.module}")
                found += [
                    f"{where} imports {a.name}" for a in node.names if a.name in concrete_names
                ]
            elif isinstance(node, ast.Name) and node.id in concrete_names:
                found.append(f"{where} names {node.id}")
    assert found == []
