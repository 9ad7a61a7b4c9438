"""`View`: several reads against one consistent engine state (see `Engine.view`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .glob import compile_glob
from .keyspace import check_db, check_key, now_ms
from .value import Value

if TYPE_CHECKING:
    from .engine import Engine


class View:
    """Reads against one consistent engine state (see `Engine.view`)."""

    __slots__ = ("_engine", "_now")

    def __init__(self, engine: Engine):
        self._engine = engine
        self._now = now_ms()

    def value(self, key: bytes, db: int = 0) -> Value | None:
        """The key's value, sharing the engine's bitmap (do not modify), or None."""
        engine = self._engine
        key = check_key(key)
        entry = engine._live(check_db(db), key, self._now)
        if entry is None:
            return None
        return Value(engine._bits(db, key, entry), entry.length)

    def count(self, key: bytes, db: int = 0) -> int:
        """How many bits the key has set (0 when missing): BITCOUNT without a range.
        A cold bitmap is counted packed, without decoding it."""
        engine = self._engine
        key = check_key(key)
        entry = engine._live(check_db(db), key, self._now)
        return 0 if entry is None else engine._count(db, key, entry)

    def exists(self, key: bytes, db: int = 0) -> bool:
        return self._engine._live(check_db(db), check_key(key), self._now) is not None

    def strlen(self, key: bytes, db: int = 0) -> int:
        entry = self._engine._live(check_db(db), check_key(key), self._now)
        return 0 if entry is None else entry.length

    def expiry(self, key: bytes, db: int = 0) -> int:
        entry = self._engine._live(check_db(db), check_key(key), self._now)
        if entry is None:
            return -2
        return -1 if entry.expire_at is None else entry.expire_at

    def keys(self, pattern: bytes = b"*", db: int = 0) -> list[bytes]:
        engine = self._engine
        keys = engine._dbs[check_db(db)]
        matches = compile_glob(check_key(pattern))
        expiring = engine._expiring[db]
        now = self._now
        return [
            key
            for key in (list(keys) if pattern == b"*" else filter(matches, keys))
            if key not in expiring or keys[key].expire_at >= now
        ]

    def dbsize(self, db: int = 0) -> int:
        engine = self._engine
        keys = engine._dbs[check_db(db)]
        now = self._now
        expired = sum(1 for key in engine._expiring[db] if keys[key].expire_at < now)
        return len(keys) - expired
