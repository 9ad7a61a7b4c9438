"""`Bitmaps`: a key's bits on demand: from the cache, or loaded from the file and log.

The one place that knows how a key's current bits are made: its checkpointed bitmap,
plus its journal rows newer than that (only for keys in `KeyIndex.journaled`), plus its
changes still only in the fast log (`KeyIndex.log_changes`). What is loaded is held by the
`BitmapCache` (hot and packed tiers, budgets).
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from typing import Any

from pyroaring import BitMap

from .cache import BitmapCache
from .journal import Journal
from .keyspace import Entry, KeyIndex
from .packed import change_bits

__all__ = ["Bitmaps", "change_bits"]


class Bitmaps:
    """Loads, counts and caches the bits of the keys of one engine."""

    def __init__(self, journal: Journal, index: KeyIndex, cache: BitmapCache):
        self.journal = journal
        self.index = index
        self.cache = cache

    def load(self, db: int, key: bytes) -> BitMap:
        """A key's bits from the file and the log (not cached)."""
        bits = self.journal.load_bits(db, key, (db, key) in self.index.journaled)
        return self._with_log_changes(db, key, bits)

    def _with_log_changes(self, db: int, key: bytes, bits: BitMap) -> BitMap:
        """The key's bits from the file, changed by its changes still only in the log."""
        for value, offsets in self.index.log_changes.get((db, key), ()):
            if type(offsets) is bytes:
                offsets = BitMap.deserialize(offsets)  # (the log's own row: checked)
            change_bits(bits, value, offsets)
        return bits

    def bits(self, db: int, key: bytes, entry: Entry) -> BitMap:
        """The entry's bits, decoded (loading or unpacking them if needed), most recently
        used."""
        bits = entry.bits
        if bits is not None:
            self.cache.touch((db, key))
            return bits
        if entry.packed is not None:
            return self.cache.decode((db, key), entry)
        bits = self.load(db, key)
        self.cache.add_hot((db, key), entry, bits)
        return bits

    def tests(self, db: int, key: bytes, entry: Entry) -> Container[int]:
        """The entry's bits for `offset in ...` tests (GETBIT, SETBIT's previous bit),
        most recently used: decoded ones; a packed value tested in place (never decoded,
        see `packed`) unless the hot tier has room for it decoded; a key not in memory
        loaded packed when its stored bitmap is current (no decoding), else decoded."""
        bits = entry.bits
        if bits is not None:
            self.cache.touch((db, key))
            return bits
        if entry.packed is None and not self._load_packed(db, key, entry):
            return self.bits(db, key, entry)
        if self.cache.fits_decoded(entry):
            return self.cache.decode((db, key), entry)
        return self.cache.tested((db, key), entry)

    def _load_packed(self, db: int, key: bytes, entry: Entry) -> bool:
        """Cache an entry that is not in memory packed, from its stored bitmap, when
        nothing newer changed it (False, loading nothing, otherwise)."""
        if (db, key) in self.index.journaled:
            return False
        stored = self.journal.stored_bitmap(db, key)
        if stored is None:
            return False  # (no bits: empty, decoded at once)
        self.cache.add_packed((db, key), entry, *stored)
        return True

    def bits_many(self, db: int, named: Sequence[tuple[bytes, Entry]]) -> list[BitMap]:
        """`bits` of each (key, entry) of `db`, in order, with the keys that are neither
        hot nor packed loaded together (`Journal.load_many`: a few SQL statements per 500
        keys, not a few per key), then cached hot as `bits` caches one."""
        cold = {key: entry for key, entry in named if entry.bits is None and entry.packed is None}
        if len(cold) > 1:
            journaled = self.index.journaled
            loaded = self.journal.load_many(db, [(key, (db, key) in journaled) for key in cold])
            for (key, entry), bits in zip(cold.items(), loaded):
                self.cache.add_hot((db, key), entry, self._with_log_changes(db, key, bits))
        return [self.bits(db, key, entry) for key, entry in named]

    def count(self, db: int, key: bytes, entry: Entry) -> int:
        """How many bits the entry has set, without decoding a packed or stored bitmap."""
        if entry.bits is not None:
            self.cache.touch((db, key))
            return len(entry.bits)
        packed = entry.packed
        if packed is None:
            # The stored bitmap is the key's value only when nothing newer changed it.
            if not self._load_packed(db, key, entry):
                return len(self.bits(db, key, entry))
            packed = entry.packed
            assert packed is not None
        else:
            self.cache.touch_packed((db, key))
        return packed.count

    def current(self, db: int, key: bytes, entry: Entry) -> BitMap:
        """The entry's current bits without caching them (for a checkpoint's fold)."""
        if entry.bits is not None:
            return entry.bits
        if entry.packed is not None:
            return entry.packed.bits()
        return self.load(db, key)

    def folded(self, db: int, key: bytes, entry: Entry, data: bytes, count: int) -> None:
        """A checkpoint stored the entry's `current` bits as `data`: a packed entry takes
        that serialization, its delta folded for free."""
        if entry.packed is not None and entry.packed.delta:
            self.cache.repack((db, key), entry, data, count)

    def change(self, db: int, key: bytes, entry: Entry, value: bool, offsets: Any) -> None:
        """Apply a change (already durable) to the entry's cached bits: decoded bits change
        in place, a packed value through its delta (`cache.change_packed`)."""
        if entry.bits is not None:
            change_bits(entry.bits, value, offsets)
            if value:
                self.cache.grow((db, key), entry, 1 if type(offsets) is int else len(offsets))
        elif entry.packed is not None:
            self.cache.change_packed((db, key), entry, value, offsets)

    def add_new(self, db: int, key: bytes, entry: Entry) -> None:
        """Cache a new key's (decoded, empty or just written) bits."""
        assert entry.bits is not None
        self.cache.add_hot((db, key), entry, entry.bits)

    def grow(self, db: int, key: bytes, entry: Entry, added: int) -> None:
        """A hot entry gained up to `added` bits (an upper bound until it is measured)."""
        self.cache.grow((db, key), entry, added)

    def unload(self, db: int, key: bytes, entry: Entry) -> None:
        self.cache.drop((db, key), entry)

    def evict(self) -> None:
        if self.cache.over_budget():
            self.cache.evict()
