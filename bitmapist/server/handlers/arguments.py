"""What several handler families share: Redis's common error replies and argument rules."""

from __future__ import annotations

from ...engine import now_ms
from ..resp import Error, strict_int
from ..session import ServerState

SYNTAX = Error("ERR syntax error")
NOT_INTEGER = Error("ERR value is not an integer or out of range")
WRONGPASS = Error("WRONGPASS invalid username-password pair or user is disabled.")
LLONG_MAX = 2**63 - 1

__all__ = [
    "LLONG_MAX",
    "NOT_INTEGER",
    "SYNTAX",
    "WRONGPASS",
    "cstr",
    "now_ms",
    "parse_offset",
    "sync",
]


def cstr(data: bytes, limit: int) -> str:
    """`%.<limit>s` of a C string: stops at NUL, at most `limit` bytes."""
    end = data.find(b"\0")
    if end >= 0:
        data = data[:end]
    return data[:limit].decode("utf-8", "surrogateescape")


def sync(state: ServerState, db: int | None = None, *keys: bytes) -> None:
    """Commit queued writes so that the reads that follow see them: every one, or given
    keys of `db`, only if some write of them is queued (`WriteBatcher.waits`)."""
    batcher = state.batcher
    if batcher.queued and (db is None or batcher.waits(db, keys)):
        batcher.flush()


def parse_offset(state: ServerState, arg: bytes) -> int | None:
    """A bit offset: Redis's strict integer syntax, in [0, max_bulk_len * 8); else None."""
    if arg.isdigit() and len(arg) < 12 and (arg[0] != 48 or len(arg) == 1):
        offset = int(arg)  # the common case: plain digits without a leading zero
    else:
        offset = strict_int(arg)
        if offset is None or offset < 0:
            return None
    return None if (offset >> 3) >= state.settings.max_bulk_len else offset
