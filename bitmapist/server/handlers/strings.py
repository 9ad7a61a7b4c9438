"""String commands: GET, SET, STRLEN, GETRANGE/SUBSTR."""

from __future__ import annotations

from typing import Any

from ...engine import Put, Value
from ..batch import Deferred
from ..resp import OK, Error, strict_int
from ..session import ServerState, Session
from .arguments import LLONG_MAX, NOT_INTEGER, SYNTAX, now_ms, sync


def get(state: ServerState, session: Session, args: list[bytes]) -> Any:
    value = state.keyspace.value(session.db, args[1])
    return None if value is None else value.to_bytes()


def strlen(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return state.keyspace.strlen(session.db, args[1])


def getrange(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """GETRANGE / SUBSTR: Redis 7.0's `getrangeCommand`, inclusive ends, negative from the end."""
    start, end = strict_int(args[2]), strict_int(args[3])
    if start is None or end is None:
        return NOT_INTEGER
    value = state.keyspace.value(session.db, args[1])
    if value is None or (start < 0 and end < 0 and start > end):
        return b""
    length = value.length
    start = max(0, start + length if start < 0 else start)
    end = min(length - 1, max(0, end + length if end < 0 else end))
    if start > end or length == 0:
        return b""
    return value.to_bytes()[start : end + 1]


def set_(state: ServerState, session: Session, args: list[bytes]) -> Any:
    nx = xx = get_old = keepttl = False
    unit_flag: bytes | None = None  # ex, px, exat or pxat
    expire_arg: bytes | None = None
    position = 3
    while position < len(args):
        option = args[position]
        lowered = option.lower()
        has_next = position + 1 < len(args)
        if lowered == b"nx" and not xx:
            nx = True
        elif lowered == b"xx" and not nx:
            xx = True
        elif lowered == b"get":
            get_old = True
        elif lowered == b"keepttl" and unit_flag is None:
            keepttl = True
        elif (
            lowered in (b"ex", b"px", b"exat", b"pxat")
            and not keepttl
            and has_next
            and (unit_flag is None or unit_flag == lowered)
        ):
            unit_flag = lowered
            expire_arg = args[position + 1]
            position += 1
        else:
            return SYNTAX
        position += 1
    expire_at = None
    if expire_arg is not None:
        milliseconds = strict_int(expire_arg)
        if milliseconds is None:
            return NOT_INTEGER
        seconds = unit_flag in (b"ex", b"exat")
        invalid = Error("ERR invalid expire time in 'set' command")
        if milliseconds <= 0 or (seconds and milliseconds > LLONG_MAX // 1000):
            return invalid
        if seconds:
            milliseconds *= 1000
        if unit_flag in (b"ex", b"px"):
            milliseconds += now_ms()
            if milliseconds > LLONG_MAX:  # wraps negative in Redis
                return invalid
        expire_at = milliseconds
    db, key = session.db, args[1]
    old: Any = None
    if nx or xx or get_old:
        sync(state)
        current = state.keyspace.value(db, key)
        if get_old:
            old = None if current is None else current.to_bytes()
        if (nx and current is not None) or (xx and current is None):
            return old if get_old else None
    value = Value.from_bytes(args[2])

    def finish(results: list[Any]) -> Any:
        state.touch(db, key)
        return old if get_old else OK

    return Deferred([Put(key, value, keep_ttl=keepttl, expire_at=expire_at, db=db)], finish)


# --- bits
