"""`View`: several reads against one consistent engine state (see `Engine.view`)."""

from __future__ import annotations

from collections.abc import Container, Sequence

from .bitmaps import Bitmaps
from .glob import compile_glob
from .keyspace import KeyIndex, check_db, check_key, now_ms
from .value import Value


class View:
    """Reads against one consistent engine state (see `Engine.view`)."""

    __slots__ = ("_index", "_bitmaps", "_now")

    def __init__(self, index: KeyIndex, bitmaps: Bitmaps):
        self._index = index
        self._bitmaps = bitmaps
        self._now = now_ms()

    def value(self, key: bytes, db: int = 0) -> Value | None:
        """The key's value, sharing the engine's bitmap (do not modify), or None."""
        key = check_key(key)
        entry = self._index.live(check_db(db), key, self._now)
        if entry is None:
            return None
        return Value(self._bitmaps.bits(db, key, entry), entry.length)

    def bits(self, key: bytes, db: int = 0) -> Container[int] | None:
        """The key's set bits for `offset in ...` tests (shared with the engine: never
        modify; valid until the next write), or None when it is missing. A packed key is
        tested in place, not decoded (see `Bitmaps.tests`)."""
        key = check_key(key)
        entry = self._index.live(check_db(db), key, self._now)
        if entry is None:
            return None
        return self._bitmaps.tests(db, key, entry)

    def values(self, keys: Sequence[bytes], db: int = 0) -> list[Value | None]:
        """`value` of each key, in order, the ones not in memory read from the file
        together (a few SQL statements per 500 keys): for the leaves of many expressions."""
        index, now = self._index, self._now
        check_db(db)
        live = [(key, index.live(db, key, now)) for key in map(check_key, keys)]
        found = [(key, entry) for key, entry in live if entry is not None]
        bits = iter(self._bitmaps.bits_many(db, found))
        return [None if entry is None else Value(next(bits), entry.length) for _, entry in live]

    def count(self, key: bytes, db: int = 0) -> int:
        """How many bits the key has set (0 when missing): BITCOUNT without a range.
        A cold bitmap is counted packed, without decoding it."""
        key = check_key(key)
        entry = self._index.live(check_db(db), key, self._now)
        return 0 if entry is None else self._bitmaps.count(db, key, entry)

    def exists(self, key: bytes, db: int = 0) -> bool:
        return self._index.live(check_db(db), check_key(key), self._now) is not None

    def strlen(self, key: bytes, db: int = 0) -> int:
        entry = self._index.live(check_db(db), check_key(key), self._now)
        return 0 if entry is None else entry.length

    def expiry(self, key: bytes, db: int = 0) -> int:
        entry = self._index.live(check_db(db), check_key(key), self._now)
        if entry is None:
            return -2
        return -1 if entry.expire_at is None else entry.expire_at

    def keys(self, pattern: bytes = b"*", db: int = 0) -> list[bytes]:
        keys = self._index.dbs[check_db(db)]
        matches = compile_glob(check_key(pattern))
        expiring = self._index.expiring[db]
        now = self._now
        return [
            key
            for key in (list(keys) if pattern == b"*" else filter(matches, keys))
            if key not in expiring or keys[key].expire_at >= now
        ]

    def dbsize(self, db: int = 0) -> int:
        keys = self._index.dbs[check_db(db)]
        now = self._now
        expired = sum(1 for key in self._index.expiring[db] if keys[key].expire_at < now)
        return len(keys) - expired
