"""The write operations of a batch (`Engine.write`). Keys are bytes; `db` is 0..15."""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

from .value import Value


class SetBits(NamedTuple):
    """SETBIT for many offsets: set (`value=True`) or clear them, growing the string.

    Result: None, or with `previous=True` how many of `offsets` were set before
    (for one offset, SETBIT's reply). Asking for it loads the bitmap.
    """

    key: bytes
    offsets: Collection[int]
    value: bool = True
    previous: bool = False
    db: int = 0


class Put(NamedTuple):
    """SET (or a BITOP destination): replace the whole value.

    The expiry is cleared unless `keep_ttl`; `expire_at` (ms since the epoch) sets one.
    Result: None.
    """

    key: bytes
    value: Value
    keep_ttl: bool = False
    expire_at: int | None = None
    db: int = 0


class Delete(NamedTuple):
    """DEL. Result: True if the key existed."""

    key: bytes
    db: int = 0


class Rename(NamedTuple):
    """RENAME / RENAMENX (`if_absent=True`); the value keeps its expiry.

    Result: True renamed; False not renamed because `if_absent` and `dst` exists;
    None when `src` does not exist (RENAME's "no such key").
    """

    src: bytes
    dst: bytes
    if_absent: bool = False
    db: int = 0


class Expire(NamedTuple):
    """PEXPIREAT (`at_ms`) or PERSIST (`at_ms=None`). A time already past deletes the key.

    Result: True if the key existed.
    """

    key: bytes
    at_ms: int | None
    db: int = 0


class FlushDb(NamedTuple):
    """FLUSHDB. Result: None."""

    db: int = 0


class FlushAll(NamedTuple):
    """FLUSHALL. Result: None."""


WriteOp = SetBits | Put | Delete | Rename | Expire | FlushDb | FlushAll
