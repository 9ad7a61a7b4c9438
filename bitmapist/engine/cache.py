"""`BitmapCache`: which bitmaps the engine holds in memory, and in which form.

Two tiers, each least-recently-used first:

- *hot*: decoded `BitMap`s, ready for any operation, up to `hot_bytes`;
- *packed*: the portable serialization (bytes) plus the bitmap's cardinality. For sparse
  bitmaps this is about half of CRoaring's decoded size (CRoaring allocates every
  container on its own: ~60 bytes each, plus 2 per id), and BITCOUNT needs no decoding.

A bitmap pushed out of the hot tier is packed; once hot and packed together pass
`total_bytes` the coldest packed ones are dropped (the engine reloads them from the file
when next needed). Sizes are counted as serialized bytes (plus a fixed overhead), so a
decoded sparse bitmap takes up to ~2x its count in RSS.

A packed bitmap must be current: whoever changes a key whose bits are not decoded drops
its packed copy (`drop`), as the change is in the journal a reload reads.
"""

from __future__ import annotations

from collections import OrderedDict

from pyroaring import BitMap

from .keyspace import Entry

ENTRY_OVERHEAD = 200  # bytes of bookkeeping per cached bitmap, for the budgets

_Name = tuple[int, bytes]  # (db, key)


class BitmapCache:
    """The hot (decoded) and packed (serialized) bitmaps of an engine, with budgets."""

    def __init__(self, total_bytes: int, hot_bytes: int):
        self.total_bytes = total_bytes
        self.hot_bytes = hot_bytes  # (at most total_bytes take effect)
        self._hot: OrderedDict[_Name, Entry] = OrderedDict()
        self._packed: OrderedDict[_Name, Entry] = OrderedDict()
        self.hot_used = 0
        self.packed_used = 0
        #: Mark a hot (`touch`) or packed (`touch_packed`) entry most recently used, by
        #: its (db, key): the dicts' own C methods, as every read of a bitmap calls one.
        self.touch = self._hot.move_to_end
        self.touch_packed = self._packed.move_to_end

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
        decoded sparse ones up to ~2x that in memory)."""
        return (
            self.packed_used
            - ENTRY_OVERHEAD * len(self._packed)
            + sum(
                len(entry.bits.serialize())
                for entry in self._hot.values()
                if entry.bits is not None
            )
        )

    # --- adding and using

    def add_hot(self, name: _Name, entry: Entry, bits: BitMap, stored_bytes: int) -> None:
        """Hold `bits` decoded as the entry's, most recently used."""
        entry.bits = bits
        entry.size = ENTRY_OVERHEAD + stored_bytes
        self.hot_used += entry.size
        self._hot[name] = entry

    def add_packed(self, name: _Name, entry: Entry, data: bytes, count: int) -> None:
        """Hold the entry's bits as their serialization `data` (`count` bits set)."""
        entry.packed = data
        entry.count = count
        entry.size = ENTRY_OVERHEAD + len(data)
        self.packed_used += entry.size
        self._packed[name] = entry

    def decode(self, name: _Name, entry: Entry) -> BitMap:
        """Move a packed entry to the hot tier and return its bits."""
        data = entry.packed
        assert data is not None
        self._forget_packed(name, entry)
        bits = BitMap.deserialize(data)
        self.add_hot(name, entry, bits, len(data))
        return bits

    def grow(self, entry: Entry, added: int) -> None:
        """A hot entry gained up to `added` bytes (an estimate until `resize`)."""
        entry.size += added
        self.hot_used += added

    def resize(self, entry: Entry, stored_bytes: int) -> None:
        """A hot entry's exact serialized size, measured by a checkpoint."""
        size = ENTRY_OVERHEAD + stored_bytes
        self.hot_used += size - entry.size
        entry.size = size

    def drop(self, name: _Name, entry: Entry) -> None:
        """Forget the entry's bits, hot or packed (no-op when neither)."""
        if entry.bits is not None:
            entry.bits = None
            self.hot_used -= entry.size
            entry.size = 0
            self._hot.pop(name, None)
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
        self.hot_used = self.packed_used = 0

    # --- staying within budget

    def over_budget(self) -> bool:
        return self.hot_used > min(self.hot_bytes, self.total_bytes) or (
            self.used > self.total_bytes
        )

    def evict(self) -> None:
        """Pack the coldest hot bitmaps beyond `hot_bytes`, then drop the coldest packed
        ones (and, if still needed, hot ones) beyond `total_bytes`."""
        hot, packed = self._hot, self._packed
        hot_bytes = min(self.hot_bytes, self.total_bytes)
        while self.hot_used > hot_bytes and hot:
            name, entry = hot.popitem(last=False)
            bits = entry.bits
            assert bits is not None
            self.hot_used -= entry.size
            entry.bits = None
            entry.size = 0
            self.add_packed(name, entry, bits.serialize(), len(bits))
        while self.used > self.total_bytes and packed:
            name, entry = packed.popitem(last=False)
            self.packed_used -= entry.size
            entry.packed = None
            entry.size = 0
        while self.used > self.total_bytes and hot:
            name, entry = hot.popitem(last=False)
            self.hot_used -= entry.size
            entry.bits = None
            entry.size = 0

    def _forget_packed(self, name: _Name, entry: Entry) -> None:
        self.packed_used -= entry.size
        entry.packed = None
        entry.size = 0
        self._packed.pop(name, None)
