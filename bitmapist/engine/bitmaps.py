"""`Bitmaps`: a key's bits on demand: from the cache, or loaded from the file and log.

The one place that knows how a key's current bits are made: its checkpointed bitmap,
plus its journal rows newer than that (only for keys in `KeyIndex.journaled`), plus its
changes still only in the fast log (`KeyIndex.log_changes`). What is loaded is held by the
`BitmapCache` (hot and packed tiers, budgets).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyroaring import BitMap

from .cache import BitmapCache
from .journal import Journal
from .keyspace import Entry, KeyIndex


def change_bits(bits: BitMap, value: bool, offsets: BitMap | int) -> None:
    """Set (`value`) or clear `offsets` (a bitmap or one offset) in `bits`."""
    if type(offsets) is int:
        if value:
            bits.add(offsets)
        else:
            bits.discard(offsets)
    elif value:
        bits |= offsets
    else:
        bits -= offsets


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
        if entry.packed is None:
            # The stored bitmap is the key's value only when nothing newer changed it.
            stored = None
            if (db, key) not in self.index.journaled:
                stored = self.journal.stored_bitmap(db, key)
            if stored is None:
                return len(self.bits(db, key, entry))
            self.cache.add_packed((db, key), entry, *stored)
        else:
            self.cache.touch_packed((db, key))
        return entry.count

    def current(self, db: int, key: bytes, entry: Entry) -> BitMap:
        """The entry's current bits without caching them (for a checkpoint's fold)."""
        if entry.bits is not None:
            return entry.bits
        if entry.packed is not None:  # current: any change drops a packed copy
            return BitMap.deserialize(entry.packed)
        return self.load(db, key)

    def change(self, db: int, key: bytes, entry: Entry, value: bool, offsets: Any) -> None:
        """Apply a change (already durable) to the entry's cached bits: decoded bits change
        in place; a packed copy is stale and dropped (its next use reloads it)."""
        if entry.bits is not None:
            change_bits(entry.bits, value, offsets)
            if value:
                self.cache.grow((db, key), entry, 1 if type(offsets) is int else len(offsets))
        elif entry.packed is not None:
            self.cache.drop((db, key), entry)

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
