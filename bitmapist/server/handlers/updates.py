"""String commands that change a value in place: APPEND, SETRANGE, INCR/DECR/INCRBY/DECRBY.

Each reads the current value (the dispatcher commits queued writes of the key first, or
stages their value: `batch.WriteBatcher`, so it is the latest) and writes the new one
with its expiry kept, as Redis overwrites in place. APPEND and SETRANGE make the new
value from the current one's bits and those of the piece they write, shifted to its
place (a few C calls), never from the whole string's bytes: the string's bits after
`APPEND k piece` are k's and piece's moved past k's end; after SETRANGE, k's outside the
piece's bytes and the piece's within them.
"""

from __future__ import annotations

from typing import Any

from pyroaring import BitMap

from ...bitbytes import to_bitmap
from ...engine import Put, Value
from ..batch import Deferred
from ..resp import Error, strict_int
from ..session import ServerState, Session
from .arguments import LLONG_MAX, NOT_INTEGER

TOO_BIG = Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
_LLONG_MIN = -(2**63)


def overwrite(state: ServerState, db: int, key: bytes, data: bytes, reply: Any) -> Deferred:
    """Write `data` as the key's value (its expiry kept) and answer `reply` once committed."""
    return _replace(state, db, key, Value.from_bytes(data), reply)


def _replace(state: ServerState, db: int, key: bytes, value: Value, reply: Any) -> Deferred:
    """Write `value` (a new one: the engine and the staged reads share it) as the key's
    value, its expiry kept, and answer `reply` once committed."""

    def finish(results: list[Any]) -> Any:
        state.touch(db, key)
        return reply

    return Deferred([Put(key, value, keep_ttl=True, db=db)], finish, 1, value)


def current_value(state: ServerState, db: int, key: bytes, longest: int = -1) -> bytes | None:
    """The key's value, None when it is missing; b"" stands for a value longer than
    `longest` bytes (when given), whose bytes are not made: the caller refuses it as
    Redis does, by its length, without a copy of up to 512 MB."""
    value = state.keyspace.value(db, key)
    if value is None:
        return None
    return b"" if 0 <= longest < value.length else value.to_bytes()


def append(state: ServerState, session: Session, args: list[bytes]) -> Any:
    db, key, piece = session.db, args[1], args[2]
    current = state.keyspace.value(db, key)
    length = 0 if current is None else current.length
    if length + len(piece) > state.settings.max_bulk_len:
        return TOO_BIG
    bits = _placed(piece, length)
    if current is not None and current.bits:
        bits = current.bits | bits  # (a new bitmap: the current one is shared)
    return _replace(state, db, key, Value(bits, length + len(piece)), length + len(piece))


def _placed(piece: bytes, start: int) -> BitMap:
    """The bits of `piece` written from byte `start` of a string on."""
    bits = to_bitmap(piece)
    return bits.shift(start * 8) if start and bits else bits


def setrange(state: ServerState, session: Session, args: list[bytes]) -> Any:
    offset = strict_int(args[2])
    if offset is None:
        return NOT_INTEGER
    if offset < 0:
        return Error("ERR offset is out of range")
    db, key, piece = session.db, args[1], args[3]
    current = state.keyspace.value(db, key)
    if not piece:
        return 0 if current is None else current.length
    if offset + len(piece) > state.settings.max_bulk_len:
        return TOO_BIG
    end = offset + len(piece)
    bits = _placed(piece, offset)
    length = end if current is None else max(current.length, end)
    if current is not None and current.bits:
        kept = current.bits
        if kept.max() >= offset * 8:  # the piece's bytes replace those bits
            window = BitMap()
            window.add_range(offset * 8, end * 8)
            kept = kept - window
        bits = kept | bits  # (a new bitmap: the current one is shared)
    return _replace(state, db, key, Value(bits, length), length)


def _incr(state: ServerState, session: Session, key: bytes, increment: int) -> Any:
    db = session.db
    current = current_value(state, db, key, longest=20)  # longer: no 64-bit integer
    value = 0 if current is None else strict_int(current)
    if value is None:
        return NOT_INTEGER
    if (increment < 0 and value < 0 and increment < _LLONG_MIN - value) or (
        increment > 0 and value > 0 and increment > LLONG_MAX - value
    ):
        return Error("ERR increment or decrement would overflow")
    value += increment
    return overwrite(state, db, key, b"%d" % value, value)


def incr(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _incr(state, session, args[1], 1)


def decr(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _incr(state, session, args[1], -1)


def incrby(state: ServerState, session: Session, args: list[bytes]) -> Any:
    increment = strict_int(args[2])
    if increment is None:
        return NOT_INTEGER
    return _incr(state, session, args[1], increment)


def decrby(state: ServerState, session: Session, args: list[bytes]) -> Any:
    decrement = strict_int(args[2])
    if decrement is None:
        return NOT_INTEGER
    if decrement == _LLONG_MIN:
        return Error("ERR decrement would overflow")
    return _incr(state, session, args[1], -decrement)
