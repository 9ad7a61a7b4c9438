"""`Keyspace`: the few engine operations the command handlers use, in one place.

Handlers never touch the engine directly: they read through these methods and write by
returning engine ops (`bitmapist.engine.ops`), which `batch.WriteBatcher` groups into one
durable `write` per event-loop turn. Keys are bytes, `db` is 0..15, times are ms since
the epoch. A logically expired key is absent from every read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..engine import DATABASES, Engine, Value

NUM_DBS = DATABASES


class Keyspace:
    """Reads and writes of Redis strings over an engine (see the module docstring)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    # --- reads

    def value(self, db: int, key: bytes) -> Value | None:
        """The whole value (shared with the engine: never modify it), or None if absent."""
        with self.engine.view() as view:
            return view.value(key, db)

    def values(self, db: int, keys: Sequence[bytes]) -> list[Value | None]:
        """Several values read from one consistent state (shared: never modify)."""
        with self.engine.view() as view:
            return [view.value(key, db) for key in keys]

    def getbit(self, db: int, key: bytes, offset: int) -> int:
        return self.engine.getbit(key, offset, db=db)

    def bitcount(self, db: int, key: bytes) -> int:
        return self.engine.bitcount(key, db=db)

    def strlen(self, db: int, key: bytes) -> int:
        return self.engine.strlen(key, db=db)

    def exists(self, db: int, key: bytes) -> bool:
        return self.engine.exists(key, db=db)

    def keys(self, db: int, pattern: bytes = b"*") -> list[bytes]:
        return self.engine.keys(pattern, db=db)

    def dbsize(self, db: int) -> int:
        return self.engine.dbsize(db=db)

    def expiry(self, db: int, key: bytes) -> int:
        """The key's expiry time in ms; -1 when it has none, -2 when it does not exist."""
        return self.engine.expiry(key, db=db)

    def expiries(self, db: int) -> list[int]:
        """The expiry times (ms) of the db's keys that have one (for INFO keyspace)."""
        with self.engine.view() as view:
            found = (view.expiry(key, db) for key in view.keys(b"*", db))
            return [at for at in found if at >= 0]

    # --- writes

    def write(self, ops: Sequence[Any]) -> list[Any]:
        """Apply `ops` atomically and durably; one result per op."""
        return self.engine.write(ops)

    # --- persistence

    def checkpoint(self) -> None:
        self.engine.checkpoint()

    def backup(self, path: str) -> None:
        self.engine.backup(path)

    def close(self) -> None:
        self.engine.close()

    def stats(self) -> dict[str, Any]:
        return self.engine.stats()
