"""Commands between databases: MOVE and SWAPDB (databases 0..15, as `SELECT`)."""

from __future__ import annotations

from typing import Any

from ...engine import Delete, FlushDb, Put
from ..batch import Deferred
from ..resp import OK, Error, strict_int
from ..session import ServerState, Session
from .arguments import NOT_INTEGER, sync

DATABASES = 16
OUT_OF_RANGE = Error("ERR DB index is out of range")
INT_RANGE = Error("ERR value is out of range, value must between -2147483648 and 2147483647")


def _int(arg: bytes) -> int | None:
    """Redis's `getIntFromObject`: a strict integer that fits a C int; else None."""
    number = strict_int(arg)
    return number if number is not None and -(2**31) <= number < 2**31 else None


def move(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """MOVE key db: Redis 7.0's `moveCommand` (the value keeps its expiry)."""
    target = strict_int(args[2])
    if target is None:
        return NOT_INTEGER
    if not -(2**31) <= target < 2**31:
        return INT_RANGE
    if not 0 <= target < DATABASES:
        return OUT_OF_RANGE
    db, key = session.db, args[1]
    if target == db:
        return Error("ERR source and destination objects are the same")
    keyspace = state.keyspace
    value = keyspace.value(db, key)
    if value is None or keyspace.exists(target, key):
        return 0
    expiry = keyspace.expiry(db, key)
    put = Put(key, value.copy(), expire_at=expiry if expiry >= 0 else None, db=target)

    def finish(results: list[Any]) -> int:
        state.touch(db, key)
        state.touch(target, key)
        return 1

    return Deferred([put, Delete(key, db)], finish)


def swapdb(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """SWAPDB a b. Redis swaps two pointers; we rewrite both databases' keys in one
    atomic write (O(keys + bytes) of both, values copied)."""
    first, second = _int(args[1]), _int(args[2])
    if first is None:
        return Error("ERR invalid first DB index")
    if second is None:
        return Error("ERR invalid second DB index")
    if not (0 <= first < DATABASES and 0 <= second < DATABASES):
        return OUT_OF_RANGE
    if first == second:
        return OK
    sync(state)
    _touch_watched(state, first, second)
    ops: list[Any] = [FlushDb(first), FlushDb(second)]
    for source, target in ((first, second), (second, first)):
        for key in state.keyspace.keys(source):
            value = state.keyspace.value(source, key)
            if value is None:
                continue
            expiry = state.keyspace.expiry(source, key)
            at = expiry if expiry >= 0 else None
            ops.append(Put(key, value.copy(), expire_at=at, db=target))
    return Deferred(ops, lambda results: OK)


def _touch_watched(state: ServerState, first: int, second: int) -> None:
    """WATCHes of a key of either database fail when the key exists in either
    (Redis's `touchAllWatchedKeysInDb` both ways)."""
    for (db, key), sessions in state.watchers.items():
        if db in (first, second) and (
            state.keyspace.exists(first, key) or state.keyspace.exists(second, key)
        ):
            for session in sessions:
                session.watch_dirty = True
