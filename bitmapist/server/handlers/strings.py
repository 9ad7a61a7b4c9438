"""String commands that read or replace whole values: GET, SET and its variants (SETNX,
SETEX, PSETEX, GETSET, MSET, MSETNX), GETDEL, GETEX, MGET, STRLEN, GETRANGE/SUBSTR."""

from __future__ import annotations

from typing import Any

from ...engine import Delete, Expire, Put, Value
from ..batch import Deferred
from ..resp import OK, Error, Streamed, strict_int
from ..session import ServerState, Session
from .arguments import LLONG_MAX, NOT_INTEGER, SYNTAX, now_ms, sync


def get(state: ServerState, session: Session, args: list[bytes]) -> Any:
    value = state.keyspace.value(session.db, args[1])
    if value is None:
        state.keyspace_misses += 1
        return None
    state.keyspace_hits += 1
    return _bulk(value, 0, value.length)


def _bulk(value: Value, start: int, end: int) -> bytes | Streamed:
    """Bytes [start, end) of a value: built whole, or streamed in pieces when huge (from
    a copy of its bits, which later writes to the key must not change mid-reply)."""
    if end - start < Streamed.MIN_LENGTH:
        return value.to_bytes() if end - start == value.length else value.byte_range(start, end)
    bits = value.copy()
    return Streamed(end - start, lambda a, b: bits.byte_range(start + a, start + b))


def _whole(value: Value) -> bytes | Streamed:
    """A value as a reply (GETSET, GETDEL, GETEX, SET ... GET): streamed when huge, as
    GET's, instead of one bulk string past the client's output-buffer limit."""
    return _bulk(value, 0, value.length)


def strlen(state: ServerState, session: Session, args: list[bytes]) -> Any:
    length = state.keyspace.strlen(session.db, args[1])
    state.looked_up(length > 0 or state.keyspace.exists(session.db, args[1]))
    return length


def getrange(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """GETRANGE / SUBSTR: Redis 7.0's `getrangeCommand`, inclusive ends, negative from the end."""
    start, end = strict_int(args[2]), strict_int(args[3])
    if start is None or end is None:
        return NOT_INTEGER
    value = state.keyspace.value(session.db, args[1])
    state.looked_up(value is not None)
    if value is None or (start < 0 and end < 0 and start > end):
        return b""
    length = value.length
    start = max(0, start + length if start < 0 else start)
    end = min(length - 1, max(0, end + length if end < 0 else end))
    if start > end or length == 0:
        return b""
    return _bulk(value, start, end + 1)


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
    if expire_arg is not None and unit_flag is not None:
        expire_at = expire_time(expire_arg, unit_flag, "set")
        if type(expire_at) is Error:
            return expire_at
    db, key = session.db, args[1]
    old: Any = None
    if nx or xx or get_old:
        sync(state, db, key)
        current = state.keyspace.value(db, key)
        if get_old:
            state.looked_up(current is not None)
            old = None if current is None else _whole(current)
        if (nx and current is not None) or (xx and current is None):
            return old if get_old else None
    value = Value.from_bytes(args[2])

    def finish(results: list[Any]) -> Any:
        state.touch(db, key)
        return old if get_old else OK

    return Deferred([Put(key, value, keep_ttl=keepttl, expire_at=expire_at, db=db)], finish)


def expire_time(arg: bytes, unit: bytes, name: str) -> int | Error:
    """Redis's `getExpireMillisecondsOrReply`: the absolute expiry (ms) that `arg` means
    for option `unit` (ex, px, exat, pxat), or the error reply."""
    milliseconds = strict_int(arg)
    if milliseconds is None:
        return NOT_INTEGER
    seconds = unit in (b"ex", b"exat")
    invalid = Error(f"ERR invalid expire time in '{name}' command")
    if milliseconds <= 0 or (seconds and milliseconds > LLONG_MAX // 1000):
        return invalid
    if seconds:
        milliseconds *= 1000
    if unit in (b"ex", b"px"):
        milliseconds += now_ms()
        if milliseconds > LLONG_MAX:  # wraps negative in Redis
            return invalid
    return milliseconds


def _put(state: ServerState, db: int, key: bytes, data: bytes, reply: Any, **options: Any) -> Any:
    """Write `data` as the key's value and answer `reply` once it is committed."""

    def finish(results: list[Any]) -> Any:
        state.touch(db, key)
        return reply

    return Deferred([Put(key, Value.from_bytes(data), db=db, **options)], finish)


def setnx(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if state.keyspace.exists(session.db, args[1]):
        return 0
    return _put(state, session.db, args[1], args[2], 1)


def _setex(state: ServerState, session: Session, args: list[bytes], unit: bytes) -> Any:
    name = "setex" if unit == b"ex" else "psetex"
    expire_at = expire_time(args[2], unit, name)
    if type(expire_at) is Error:
        return expire_at
    return _put(state, session.db, args[1], args[3], OK, expire_at=expire_at)


def setex(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _setex(state, session, args, b"ex")


def psetex(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _setex(state, session, args, b"px")


def getset(state: ServerState, session: Session, args: list[bytes]) -> Any:
    current = state.keyspace.value(session.db, args[1])
    state.looked_up(current is not None)
    old = None if current is None else _whole(current)
    return _put(state, session.db, args[1], args[2], old)


def getdel(state: ServerState, session: Session, args: list[bytes]) -> Any:
    db, key = session.db, args[1]
    current = state.keyspace.value(db, key)
    state.looked_up(current is not None)
    if current is None:
        return None
    old = _whole(current)

    def finish(results: list[Any]) -> Any:
        state.touch(db, key)
        return old

    return Deferred([Delete(key, db)], finish)


def getex(state: ServerState, session: Session, args: list[bytes]) -> Any:
    unit: bytes | None = None
    expire_arg = b""
    persist = False
    position = 2
    while position < len(args):
        option = args[position].lower()
        has_next = position + 1 < len(args)
        if option == b"persist" and unit is None:
            persist = True
        elif (
            option in (b"ex", b"px", b"exat", b"pxat")
            and not persist
            and has_next
            and (unit is None or unit == option)
        ):
            unit, expire_arg = option, args[position + 1]
            position += 1
        else:
            return SYNTAX
        position += 1
    db, key = session.db, args[1]
    current = state.keyspace.value(db, key)
    state.looked_up(current is not None)
    if current is None:  # (Redis looks the key up before the expiry time)
        return None
    expire_at = None
    if unit is not None:
        expire_at = expire_time(expire_arg, unit, "getex")
        if type(expire_at) is Error:
            return expire_at
    old = _whole(current)
    if expire_at is not None and unit in (b"exat", b"pxat") and expire_at <= now_ms():
        op: Any = Delete(key, db)  # already expired: Redis deletes it
    elif expire_at is not None:
        op = Expire(key, expire_at, db)
    elif persist and state.keyspace.expiry(db, key) >= 0:
        op = Expire(key, None, db)
    else:
        return old

    def finish(results: list[Any]) -> Any:
        state.touch(db, key)
        return old

    return Deferred([op], finish)


def mget(state: ServerState, session: Session, args: list[bytes]) -> Any:
    values = state.keyspace.values(session.db, args[1:])
    for value in values:
        state.looked_up(value is not None)
    return [None if value is None else _whole(value) for value in values]


def _mset(state: ServerState, session: Session, args: list[bytes], nx: bool) -> Any:
    if len(args) % 2 == 0:
        return Error(f"ERR wrong number of arguments for '{'msetnx' if nx else 'mset'}' command")
    db = session.db
    keys, datas = args[1::2], args[2::2]
    if nx and any(state.keyspace.exists(db, key) for key in keys):
        return 0
    ops = [Put(key, Value.from_bytes(data), db=db) for key, data in zip(keys, datas)]

    def finish(results: list[Any]) -> Any:
        for key in keys:
            state.touch(db, key)
        return 1 if nx else OK

    return Deferred(ops, finish)


def mset(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _mset(state, session, args, False)


def msetnx(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _mset(state, session, args, True)
