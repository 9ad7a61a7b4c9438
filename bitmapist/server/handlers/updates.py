"""String commands that change a value in place: APPEND, SETRANGE, INCR/DECR/INCRBY/DECRBY.

Each reads the current value (the dispatcher commits queued writes of the key first, or
stages their value: `batch.WriteBatcher`, so it is the latest) and writes the new one
with its expiry kept, as Redis overwrites in place.
"""

from __future__ import annotations

from typing import Any

from ...engine import Put, Value
from ..batch import Deferred
from ..resp import Error, strict_int
from ..session import ServerState, Session
from .arguments import LLONG_MAX, NOT_INTEGER

TOO_BIG = Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
_LLONG_MIN = -(2**63)


def overwrite(state: ServerState, db: int, key: bytes, data: bytes, reply: Any) -> Deferred:
    """Write `data` as the key's value (its expiry kept) and answer `reply` once committed."""

    def finish(results: list[Any]) -> Any:
        state.touch(db, key)
        return reply

    value = Value.from_bytes(data)
    return Deferred([Put(key, value, keep_ttl=True, db=db)], finish, 1, value)


def current_value(state: ServerState, db: int, key: bytes) -> bytes | None:
    value = state.keyspace.value(db, key)
    return None if value is None else value.to_bytes()


def append(state: ServerState, session: Session, args: list[bytes]) -> Any:
    db, key = session.db, args[1]
    current = current_value(state, db, key) or b""
    if len(current) + len(args[2]) > state.settings.max_bulk_len:
        return TOO_BIG
    data = current + args[2]
    return overwrite(state, db, key, data, len(data))


def setrange(state: ServerState, session: Session, args: list[bytes]) -> Any:
    offset = strict_int(args[2])
    if offset is None:
        return NOT_INTEGER
    if offset < 0:
        return Error("ERR offset is out of range")
    db, key, piece = session.db, args[1], args[3]
    current = current_value(state, db, key)
    if not piece:
        return 0 if current is None else len(current)
    if offset + len(piece) > state.settings.max_bulk_len:
        return TOO_BIG
    data = bytearray(current or b"")
    if len(data) < offset:
        data.extend(bytes(offset - len(data)))
    data[offset : offset + len(piece)] = piece
    return overwrite(state, db, key, bytes(data), len(data))


def _incr(state: ServerState, session: Session, key: bytes, increment: int) -> Any:
    db = session.db
    current = current_value(state, db, key)
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
