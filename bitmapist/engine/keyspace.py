"""The in-memory key index (one entry per key), and the checks every op's input passes."""

from __future__ import annotations

import time
from typing import Any

from pyroaring import BitMap

from ..errors import InvalidInput
from .packed import Packed

DATABASES = 16
MAX_OFFSET = 2**32 - 1  # Redis's limit: strings of at most 512 MB

# One pending change of a key that is only in the fast log: (set?, offsets as one int or
# serialized, as in the log's row: a sparse batch decoded would take ~7x the memory).
LogChange = tuple[bool, Any]


class Entry:
    """One key: its length and expiry, and its bits when cached: decoded (`bits`) or
    packed (`packed`: the serialization plus a delta, see `packed` and `cache`)."""

    __slots__ = ("length", "expire_at", "bits", "size", "packed")

    def __init__(self, length: int, expire_at: int | None, bits: BitMap | None = None):
        self.length = length
        self.expire_at = expire_at
        self.bits = bits
        self.size = 0
        self.packed: Packed | None = None


class KeyIndex:
    """What the engine knows of every key without loading a bitmap.

    - `dbs[db][key]`: the key's `Entry` (length, expiry, cached bits);
    - `expiring[db]`: the keys that have an expiry (reads and sweeps look only at these);
    - `journaled`: (db, key) of keys that may have journal or log rows newer than their
      checkpointed bitmap: only these need the journal read when loaded;
    - `log_changes[(db, key)]`: the key's changes that are still only in the fast log, in
      order, for bits loaded from SQLite later (cleared once the log is drained).
    """

    __slots__ = ("dbs", "expiring", "journaled", "log_changes")

    def __init__(self) -> None:
        self.reset([{} for _ in range(DATABASES)], [set() for _ in range(DATABASES)], set())

    def reset(
        self,
        dbs: list[dict[bytes, Entry]],
        expiring: list[set[bytes]],
        journaled: set[tuple[int, bytes]],
    ) -> None:
        """Start again from an index read from the file (no log changes known yet)."""
        self.dbs = dbs
        self.expiring = expiring
        self.journaled = journaled
        self.log_changes: dict[tuple[int, bytes], list[LogChange]] = {}

    def live(self, db: int, key: bytes, now: int | None = None) -> Entry | None:
        """The key's entry, or None when it is missing or expired (now > its expiry)."""
        entry = self.dbs[db].get(key)
        if (
            entry is not None
            and entry.expire_at is not None
            and entry.expire_at < (now_ms() if now is None else now)
        ):
            return None
        return entry

    def note_expiry(self, db: int, key: bytes, expire_at: int | None) -> None:
        if expire_at is None:
            self.expiring[db].discard(key)
        else:
            self.expiring[db].add(key)

    def remove(self, db: int, key: bytes) -> None:
        del self.dbs[db][key]
        self.expiring[db].discard(key)

    def clear_db(self, db: int) -> None:
        self.dbs[db] = {}
        self.expiring[db] = set()

    def note_log_change(self, db: int, key: bytes, value: bool, offsets: Any) -> None:
        """A change of the key appended to (or read from) the fast log."""
        self.journaled.add((db, key))
        self.log_changes.setdefault((db, key), []).append((value, offsets))

    def key_count(self) -> int:
        return sum(len(keys) for keys in self.dbs)


def now_ms() -> int:
    """Milliseconds since the epoch. A key expires once now > its expire_at, as in Redis."""
    return time.time_ns() // 1_000_000


def check_db(db: Any) -> int:
    if type(db) is not int or not 0 <= db < DATABASES:
        raise InvalidInput(f"db {db!r} is out of range: databases are 0..{DATABASES - 1}")
    return db


def check_key(key: Any) -> bytes:
    if type(key) is not bytes:
        if isinstance(key, (bytearray, memoryview)):
            return bytes(key)
        raise InvalidInput(f"key {key!r} is a {type(key).__name__}: engine keys are bytes")
    return key


def as_bitmap(offsets: Any) -> BitMap:
    if isinstance(offsets, BitMap):
        return offsets
    try:
        return BitMap(offsets)
    except (OverflowError, TypeError, ValueError) as exc:
        raise InvalidInput(
            f"offsets {offsets!r} must be integers in [0, {MAX_OFFSET}]: {exc}"
        ) from exc
