"""Keyspace commands: TYPE, EXISTS, TOUCH, RANDOMKEY, DEL/UNLINK, COPY, KEYS, SCAN, RENAME,
the expiry family."""

from __future__ import annotations

import random
from typing import Any

from ...engine import Delete, Expire, Put, Rename
from .. import scan
from ..batch import Deferred
from ..resp import OK, Error, Status, strict_int
from ..session import ServerState, Session
from .arguments import LLONG_MAX, NOT_INTEGER, SYNTAX, cstr, now_ms, sync


def type_(state: ServerState, session: Session, args: list[bytes]) -> Any:
    found = state.keyspace.exists(session.db, args[1])
    state.looked_up(found)
    return Status("string" if found else "none")


def exists(state: ServerState, session: Session, args: list[bytes]) -> Any:
    keyspace, db = state.keyspace, session.db
    found = sum(1 for key in args[1:] if keyspace.exists(db, key))
    state.looked_up(True, found)
    state.looked_up(False, len(args) - 1 - found)
    return found


def randomkey(state: ServerState, session: Session, args: list[bytes]) -> Any:
    keys = state.keyspace.keys(session.db)
    return random.choice(keys) if keys else None


def touch(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return exists(state, session, args)  # (no access times are kept)


def copy(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """COPY source destination [DB db] [REPLACE], as Redis 7.0's `copyCommand`."""
    replace, target = False, session.db
    position = 3
    while position < len(args):
        option = args[position].lower()
        if option == b"replace":
            replace = True
        elif option == b"db" and position + 1 < len(args):
            number = strict_int(args[position + 1])
            if number is None or not -(2**31) <= number < 2**31:
                return NOT_INTEGER
            if not 0 <= number < 16:
                return Error("ERR DB index is out of range")
            target = number
            position += 1
        else:
            return SYNTAX
        position += 1
    db, src, dst = session.db, args[1], args[2]
    if db == target and src == dst:
        return Error("ERR source and destination objects are the same")
    value = state.keyspace.value(db, src)
    state.looked_up(value is not None)
    if value is None:
        return 0
    if not replace and state.keyspace.exists(target, dst):
        return 0
    expiry = state.keyspace.expiry(db, src)
    put = Put(dst, value.copy(), expire_at=expiry if expiry >= 0 else None, db=target)

    def finish(results: list[Any]) -> int:
        state.touch(target, dst)
        return 1

    return Deferred([put], finish)


def delete(state: ServerState, session: Session, args: list[bytes]) -> Any:
    db = session.db
    keys = args[1:]

    def finish(results: list[Any]) -> int:
        deleted = 0
        for key, existed in zip(keys, results):
            if existed:
                deleted += 1
                state.touch(db, key)
        return deleted

    return Deferred([Delete(key, db) for key in keys], finish)


def keys(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return state.keyspace.keys(session.db, args[1])


def scan_(state: ServerState, session: Session, args: list[bytes]) -> Any:
    cursor = scan.parse_cursor(args[1])
    if cursor is None:
        return Error("ERR invalid cursor")
    count, pattern, kind = 10, None, None
    position = 2
    while position < len(args):
        option = args[position].lower()
        more = len(args) - position
        if option == b"count" and more >= 2:
            count = strict_int(args[position + 1])
            if count is None or not -(2**63) <= count < 2**63:
                return NOT_INTEGER
            if count < 1:
                return SYNTAX
        elif option == b"match" and more >= 2:
            pattern = args[position + 1]
            if pattern == b"*":
                pattern = None
        elif option == b"type" and more >= 2:
            kind = args[position + 1]
        else:
            return SYNTAX
        position += 2
    next_cursor, found = scan.scan(state, session.db, cursor, count, pattern, kind)
    return [b"%d" % next_cursor, found]


def _rename(state: ServerState, session: Session, args: list[bytes], nx: bool) -> Any:
    db, src, dst = session.db, args[1], args[2]
    if src == dst:
        sync(state, db, src)
        if not state.keyspace.exists(db, src):
            return Error("ERR no such key")
        return 0 if nx else OK

    def finish(results: list[Any]) -> Any:
        if results[0] is None:
            return Error("ERR no such key")
        if results[0] is False:
            return 0
        state.touch(db, src)
        state.touch(db, dst)
        return 1 if nx else OK

    return Deferred([Rename(src, dst, if_absent=nx, db=db)], finish)


def rename(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _rename(state, session, args, False)


def renamenx(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _rename(state, session, args, True)


def _expire(state: ServerState, session: Session, args: list[bytes], base: int, unit: int) -> Any:
    nx = xx = gt = lt = False
    for option in args[3:]:
        lowered = option.lower()
        if lowered == b"nx":
            nx = True
        elif lowered == b"xx":
            xx = True
        elif lowered == b"gt":
            gt = True
        elif lowered == b"lt":
            lt = True
        else:
            return Error(f"ERR Unsupported option {cstr(option, 1 << 30)}")
    if nx and (xx or gt or lt):
        return Error("ERR NX and XX, GT or LT options at the same time are not compatible")
    if gt and lt:
        return Error("ERR GT and LT options at the same time are not compatible")
    when = strict_int(args[2])
    if when is None:
        return NOT_INTEGER
    name = args[0].lower().decode("utf-8", "surrogateescape")
    invalid = Error(f"ERR invalid expire time in '{name}' command")
    if unit == 1000:
        if when > LLONG_MAX // 1000 or when < -(LLONG_MAX // 1000):
            return invalid
        when *= 1000
    if when > LLONG_MAX - base:
        return invalid
    when += base
    db, key = session.db, args[1]
    if nx or xx or gt or lt:
        sync(state, db, key)
        current = state.keyspace.expiry(db, key)
        if current == -2:
            return 0
        if (
            (nx and current != -1)
            or (xx and current == -1)
            or (gt and (current == -1 or when <= current))
            or (lt and current != -1 and when >= current)
        ):
            return 0

    def finish(results: list[Any]) -> int:
        if not results[0]:
            return 0
        state.touch(db, key)
        return 1

    return Deferred([Expire(key, when, db)], finish)


def expire(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _expire(state, session, args, now_ms(), 1000)


def pexpire(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _expire(state, session, args, now_ms(), 1)


def expireat(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _expire(state, session, args, 0, 1000)


def pexpireat(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _expire(state, session, args, 0, 1)


def _expiry(state: ServerState, session: Session, key: bytes) -> int:
    """The key's expiry (ms, -1 none, -2 no key), looked up as a read."""
    at = state.keyspace.expiry(session.db, key)
    state.looked_up(at != -2)
    return at


def _ttl(state: ServerState, session: Session, key: bytes, divisor: int) -> int:
    at = _expiry(state, session, key)
    if at < 0:
        return at
    ttl = max(0, at - now_ms())
    return ttl if divisor == 1 else (ttl + 500) // 1000


def ttl(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _ttl(state, session, args[1], 1000)


def pttl(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _ttl(state, session, args[1], 1)


def expiretime(state: ServerState, session: Session, args: list[bytes]) -> Any:
    at = _expiry(state, session, args[1])
    return at if at < 0 else at // 1000


def pexpiretime(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _expiry(state, session, args[1])


def persist(state: ServerState, session: Session, args: list[bytes]) -> Any:
    db, key = session.db, args[1]
    if state.keyspace.expiry(db, key) < 0:
        return 0

    def finish(results: list[Any]) -> int:
        state.touch(db, key)
        return 1

    return Deferred([Expire(key, None, db)], finish)
