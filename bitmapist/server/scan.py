"""SCAN with a real cursor: keys are visited in the order of a stable 63-bit hash.

The cursor is the hash of the next key to return, so it stays meaningful while keys
come and go: every key present for the whole iteration is returned (at least once),
as Redis guarantees. A snapshot of the db's keys sorted by hash is taken when an
iteration starts (cursor 0) and shared by the iterations running at the same time.
"""

from __future__ import annotations

import bisect
from hashlib import blake2b
from typing import TYPE_CHECKING

from ..engine import compile_glob

if TYPE_CHECKING:
    from .session import ServerState

_ULONG_MAX = 2**64 - 1


def key_hash(key: bytes) -> int:
    """A stable, non-zero 63-bit hash of a key (its place in the SCAN order)."""
    return (int.from_bytes(blake2b(key, digest_size=8).digest(), "big") >> 1) or 1


def parse_cursor(arg: bytes) -> int | None:
    """Redis's cursor parsing (C `strtoul`): optional spaces are refused, '+'/'-' taken."""
    text = arg
    if text[:1].isspace():
        return None
    sign = 1
    if text[:1] in (b"+", b"-"):
        sign = -1 if text[:1] == b"-" else 1
        text = text[1:]
    if not text:
        return 0 if not arg else None
    if not text.isdigit():
        return None
    value = int(text)
    if value > _ULONG_MAX:
        return None
    return value if sign == 1 else (-value) & _ULONG_MAX


class _Snapshot:
    __slots__ = ("hashes", "keys")

    def __init__(self, keys: list[bytes]):
        pairs = sorted((key_hash(key), key) for key in keys)
        self.hashes = [pair[0] for pair in pairs]
        self.keys = [pair[1] for pair in pairs]


def scan(
    state: ServerState,
    db: int,
    cursor: int,
    count: int,
    pattern: bytes | None,
    kind: bytes | None,
) -> tuple[int, list[bytes]]:
    """One SCAN step: (next cursor, keys), next cursor 0 when the iteration is over."""
    keyspace = state.keyspace
    snapshot = state.scan_snapshots.get(db)
    if cursor == 0 or snapshot is None:
        snapshot = state.scan_snapshots[db] = _Snapshot(keyspace.keys(db))
    hashes, keys = snapshot.hashes, snapshot.keys
    start = bisect.bisect_left(hashes, cursor)
    stop = min(start + count, len(keys))
    if stop < len(keys):  # never split keys sharing one hash across two steps
        stop = bisect.bisect_right(hashes, hashes[stop - 1])
    next_cursor = hashes[stop] if stop < len(keys) else 0
    found = [key for key in keys[start:stop] if keyspace.exists(db, key)]
    if pattern is not None:
        matches = compile_glob(pattern)
        found = [key for key in found if matches(key)]
    if kind is not None and kind.lower() != b"string":
        found = []
    return next_cursor, found
