"""`BitmapCache`: which bitmaps the engine holds in memory, and in which form.

Two tiers, each least-recently-used first:

- *hot*: decoded `BitMap`s, ready for any operation, up to `hot_bytes`;
- *packed*: a `packed.Packed`: the portable serialization (bytes), a small delta of
  changed offsets and the bitmap's cardinality. For sparse bitmaps this is far smaller
  than CRoaring's decoded form (every container is allocated on its own: ~75 bytes each
  before its values, see `decoded_bytes`); BITCOUNT, bit tests (GETBIT, SETBIT's
  previous bit) and writes need no decoding. A packed bitmap is decoded (moved to the
  hot tier) when every bit is needed, when its delta is full, or for a bit test when the
  hot tier has room for it.

A bitmap pushed out of the hot tier is packed; once hot and packed together pass
`total_bytes` the coldest packed ones are dropped (the engine reloads them from the file
when next needed).

Budgets count what the bitmaps take in memory: a hot bitmap its decoded size as CRoaring
allocates it (`decoded_bytes`, measured from its containers), a packed one its bytes,
its parsed header and its delta (`Packed.nbytes`).
A write to a hot bitmap adds an upper bound (`GROWTH_PER_BIT` per bit set) and marks it
for measuring; when the bounds pass a budget, those bitmaps are measured again, and only
a budget that the measured sizes still pass evicts, down to 7/8 of it (so that the next
few writes do not measure again). Bitmaps freed by an eviction go back to the allocator,
which is asked to return free pages to the system once 1 MiB has been evicted
(`heap.give_back`).

A packed bitmap is current: a change of a key held packed goes to its delta
(`change_packed`, the rule in `packed.py`), counted in its size; when the delta is full
the key is decoded with its delta and the change, into the hot tier (the next eviction
packs it again, delta folded, if the hot tier has no room for it).
"""

from __future__ import annotations

from collections import OrderedDict

from pyroaring import BitMap

from . import heap
from .keyspace import Entry
from .packed import Packed, change_bits

ENTRY_OVERHEAD = 200  # bytes of bookkeeping per cached bitmap (Entry, dict slots, objects)
# CRoaring's heap per container before its values, as glibc's malloc counts it (mallinfo2,
# over sparse, dense, run-heavy, deserialized and incrementally built bitmaps): 11 bytes in
# the bitmap's arrays (key, pointer, type), a 16-byte container struct in a 32-byte chunk,
# and its values' array in a chunk of at least 32 bytes (24 usable: 12 values).
CONTAINER_BYTES = 75
SMALL_VALUES_BYTES = 24  # values bytes that fit in that smallest chunk
BITSET_BYTES = 8192 + 64  # a bitset container: 8 KB of words, aligned
# Upper bound of the heap one more set bit takes: a new container (an id 65,536 away from
# every other) plus its share of array growth. Real growth is 0-2 bytes in dense bitmaps.
GROWTH_PER_BIT = CONTAINER_BYTES + 5
GIVE_BACK_BYTES = 1 << 20  # evicted since the allocator last gave memory back: ask again

_Name = tuple[int, bytes]  # (db, key)


def decoded_bytes(bits: BitMap) -> int:
    """The heap `bits` takes decoded, estimated from its containers (one pass in C, ~5 ns a
    container). Within 0.7-1.35x of glibc's count (tests/test_engine_memory.py): large
    arrays grown one write at a time keep up to 1/4 spare capacity; tiny bitmaps round
    up."""
    stats = bits.get_statistics()
    small = stats["n_array_containers"] + stats["n_run_containers"]
    values = stats["n_bytes_array_containers"] + stats["n_bytes_run_containers"]
    return (
        stats["n_containers"] * CONTAINER_BYTES
        + max(0, values - SMALL_VALUES_BYTES * small) * 9 // 8
        + stats["n_bitset_containers"] * BITSET_BYTES
    )


class BitmapCache:
    """The hot (decoded) and packed (serialized) bitmaps of an engine, with budgets."""

    def __init__(self, total_bytes: int, hot_bytes: int):
        self._total_bytes = total_bytes
        self._hot_bytes = hot_bytes
        self._hot_limit = min(hot_bytes, total_bytes)  # (at most total_bytes take effect)
        self._hot: OrderedDict[_Name, Entry] = OrderedDict()
        self._packed: OrderedDict[_Name, Entry] = OrderedDict()
        self._grown: dict[_Name, Entry] = {}  # hot entries whose size is an upper bound
        self.hot_used = 0
        self.packed_used = 0
        self.evicted = 0  # bytes evicted since the allocator last gave memory back
        self.decodes = 0  # packed entries decoded (reads of every bit, full deltas)
        #: Mark a hot (`touch`) or packed (`touch_packed`) entry most recently used, by
        #: its (db, key): the dicts' own C methods, as every read of a bitmap calls one.
        self.touch = self._hot.move_to_end
        self.touch_packed = self._packed.move_to_end

    @property
    def total_bytes(self) -> int:
        """The budget of every cached bitmap, hot and packed."""
        return self._total_bytes

    @total_bytes.setter
    def total_bytes(self, value: int) -> None:
        self._total_bytes = value
        self._hot_limit = min(self._hot_bytes, value)

    @property
    def hot_bytes(self) -> int:
        """The budget of the hot (decoded) bitmaps (at most `total_bytes` take effect)."""
        return self._hot_bytes

    @hot_bytes.setter
    def hot_bytes(self, value: int) -> None:
        self._hot_bytes = value
        self._hot_limit = min(value, self._total_bytes)

    @property
    def used(self) -> int:
        """Bytes counted for every cached bitmap, hot and packed."""
        return self.hot_used + self.packed_used

    def __len__(self) -> int:
        return len(self._hot) + len(self._packed)

    @property
    def packed_count(self) -> int:
        """How many bitmaps are held packed."""
        return len(self._packed)

    def hot_entries(self) -> list[Entry]:
        return list(self._hot.values())

    def serialized_bytes(self) -> int:
        """Bytes the cached bitmaps take serialized, measured (packed ones take that;
        decoded sparse ones up to ~7x that in memory, see `decoded_bytes`)."""
        packed = (entry.packed for entry in self._packed.values())
        hot = (entry.bits for entry in self._hot.values())
        return sum(len(value.data) for value in packed if value is not None) + sum(
            len(bits.serialize()) for bits in hot if bits is not None
        )

    def measured_hot_bytes(self) -> int:
        """The hot tier's size with every grown entry measured again (for stats)."""
        self._measure_grown()
        return self.hot_used

    # --- adding and using

    def add_hot(self, name: _Name, entry: Entry, bits: BitMap) -> None:
        """Hold `bits` decoded as the entry's, most recently used."""
        entry.bits = bits
        entry.size = ENTRY_OVERHEAD + decoded_bytes(bits)
        self.hot_used += entry.size
        self._hot[name] = entry

    def add_packed(self, name: _Name, entry: Entry, data: bytes, count: int) -> None:
        """Hold the entry's bits as their serialization `data` (`count` bits set)."""
        packed = entry.packed = Packed(data, count)
        entry.size = ENTRY_OVERHEAD + packed.nbytes
        self.packed_used += entry.size
        self._packed[name] = entry

    def decode(self, name: _Name, entry: Entry) -> BitMap:
        """Move a packed entry to the hot tier (its delta applied) and return its bits."""
        packed = entry.packed
        assert packed is not None
        self._forget_packed(name, entry)
        bits = packed.bits()
        self.add_hot(name, entry, bits)
        self.decodes += 1
        return bits

    def fits_decoded(self, entry: Entry) -> bool:
        """Whether a packed entry, decoded, would fit in the hot tier now without an
        eviction (an estimate from its containers and bytes, as `decoded_bytes` counts)."""
        packed = entry.packed
        assert packed is not None
        decoded = packed.containers * CONTAINER_BYTES + len(packed.data) * 9 // 8
        return self.hot_used + ENTRY_OVERHEAD + decoded <= self._hot_limit * 7 // 8

    def tested(self, name: _Name, entry: Entry) -> Packed:
        """A packed entry's value, ready for bit tests (its header parsed and counted),
        most recently used."""
        packed = entry.packed
        assert packed is not None
        if packed.prepare():
            self._resize_packed(entry, packed)
        self._packed.move_to_end(name)
        return packed

    def change_packed(self, name: _Name, entry: Entry, value: bool, offsets: BitMap | int) -> None:
        """Apply a change to a packed entry: into its delta, or, when the delta is full,
        by decoding it (into the hot tier) and changing the bits."""
        packed = entry.packed
        assert packed is not None
        if packed.change(value, offsets):
            self._resize_packed(entry, packed)
            return
        bits = self.decode(name, entry)
        change_bits(bits, value, offsets)
        if value:
            self.grow(name, entry, 1 if type(offsets) is int else len(offsets))

    def repack(self, name: _Name, entry: Entry, data: bytes, count: int) -> None:
        """A packed entry's bits serialized anew (`data`, by a checkpoint's fold): held
        as that, with an empty delta."""
        assert entry.packed is not None
        self._forget_packed(name, entry)
        self.add_packed(name, entry, data, count)

    def _resize_packed(self, entry: Entry, packed: Packed) -> None:
        size = ENTRY_OVERHEAD + packed.nbytes
        self.packed_used += size - entry.size
        entry.size = size

    def grow(self, name: _Name, entry: Entry, added: int) -> None:
        """A hot entry gained up to `added` set bits: count an upper bound of their memory
        until the entry is measured again."""
        size = GROWTH_PER_BIT * added
        entry.size += size
        self.hot_used += size
        self._grown[name] = entry

    def measure(self, name: _Name, entry: Entry) -> None:
        """Count a hot entry's exact decoded size again (after its bits changed)."""
        assert entry.bits is not None
        size = ENTRY_OVERHEAD + decoded_bytes(entry.bits)
        self.hot_used += size - entry.size
        entry.size = size
        self._grown.pop(name, None)

    def drop(self, name: _Name, entry: Entry) -> None:
        """Forget the entry's bits, hot or packed (no-op when neither)."""
        if entry.bits is not None:
            entry.bits = None
            self.hot_used -= entry.size
            entry.size = 0
            self._hot.pop(name, None)
            self._grown.pop(name, None)
        elif entry.packed is not None:
            self._forget_packed(name, entry)

    def clear(self) -> None:
        for entry in self._hot.values():
            entry.bits = None
            entry.size = 0
        for entry in self._packed.values():
            entry.packed = None
            entry.size = 0
        self._hot.clear()
        self._packed.clear()
        self._grown.clear()
        self.hot_used = self.packed_used = 0

    # --- staying within budget

    def over_budget(self) -> bool:
        """Whether a budget is passed (checked after every write: plain attributes)."""
        hot_used = self.hot_used
        return hot_used > self._hot_limit or hot_used + self.packed_used > self._total_bytes

    def evict(self) -> None:
        """Measure grown hot bitmaps; if a budget is still passed, pack the coldest hot
        bitmaps down to 7/8 of `hot_bytes`, then drop the coldest packed ones (and, if
        still needed, hot ones) down to 7/8 of `total_bytes`."""
        self._measure_grown()
        if not self.over_budget():
            return
        hot, packed = self._hot, self._packed
        before = self.used
        total = self._total_bytes * 7 // 8
        hot_target = self._hot_limit * 7 // 8
        while self.hot_used > hot_target and hot:
            name, entry = hot.popitem(last=False)
            bits = entry.bits
            assert bits is not None
            freed = entry.size
            self.hot_used -= freed
            entry.bits = None
            entry.size = 0
            self.add_packed(name, entry, bits.serialize(), len(bits))
            self.evicted += freed - entry.size
        while self.used > total and packed:
            name, entry = packed.popitem(last=False)
            self.packed_used -= entry.size
            self.evicted += entry.size
            entry.packed = None
            entry.size = 0
        while self.used > total and hot:
            name, entry = hot.popitem(last=False)
            self._grown.pop(name, None)
            self.hot_used -= entry.size
            self.evicted += entry.size
            entry.bits = None
            entry.size = 0
        if self.evicted >= GIVE_BACK_BYTES and before > self.used:
            self.evicted = 0
            heap.give_back()

    def _measure_grown(self) -> None:
        grown = self._grown
        while grown:
            name, entry = grown.popitem()
            if entry.bits is not None:
                self.measure(name, entry)

    def _forget_packed(self, name: _Name, entry: Entry) -> None:
        self.packed_used -= entry.size
        entry.packed = None
        entry.size = 0
        self._packed.pop(name, None)
