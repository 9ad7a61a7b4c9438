"""The in-memory key index: one entry per key, and the checks every op's input passes."""

from __future__ import annotations

import time
from typing import Any

from pyroaring import BitMap

from ..errors import InvalidInput

DATABASES = 16
MAX_OFFSET = 2**32 - 1  # Redis's limit: strings of at most 512 MB


class Entry:
    """One key: its length and expiry, and its bits when cached: decoded (`bits`) or
    packed (`packed`, the serialization, with `count` bits set; see `cache`)."""

    __slots__ = ("length", "expire_at", "bits", "size", "packed", "count")

    def __init__(self, length: int, expire_at: int | None, bits: BitMap | None = None):
        self.length = length
        self.expire_at = expire_at
        self.bits = bits
        self.size = 0
        self.packed: bytes | None = None
        self.count = 0


def now_ms() -> int:
    """Milliseconds since the epoch. A key expires once now > its expire_at, as in Redis."""
    return int(time.time() * 1000)


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
