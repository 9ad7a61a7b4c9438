"""SORT and SORT_RO, as Redis 7.0's `sortCommandGeneric` answers them on a server that
holds only strings.

SORT sorts lists, sets and sorted sets; a string is the wrong type. So every SORT of an
existing key is WRONGTYPE and of a missing key an empty result, but the options are
parsed first, in Redis's order and with its errors, and `STORE destination` of the
empty result deletes the destination and answers 0.
"""

from __future__ import annotations

from typing import Any

from ...engine import Delete
from ..batch import Deferred
from ..resp import Error, strict_int
from ..session import ServerState, Session
from .arguments import NOT_INTEGER, SYNTAX

WRONGTYPE = Error("WRONGTYPE Operation against a key holding the wrong kind of value")


def sort(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
    [STORE destination]."""
    return _sort(state, session, args, readonly=False)


def sort_ro(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """SORT_RO: SORT without STORE (which is then a syntax error, as in Redis)."""
    return _sort(state, session, args, readonly=True)


def _parse(args: list[bytes], readonly: bool) -> bytes | None | Error:
    """The STORE destination (None without STORE; the last one wins), or the error of the
    first bad option. BY and GET patterns are accepted as Redis accepts them outside
    cluster mode: they would only be looked up for the elements of a list or set."""
    store = None
    position = 2
    while position < len(args):
        option = args[position].lower()
        left = len(args) - position - 1
        if option in (b"asc", b"desc", b"alpha"):
            pass
        elif option == b"limit" and left >= 2:
            for number in args[position + 1 : position + 3]:
                if strict_int(number) is None:  # Redis's long: strict_int's range
                    return NOT_INTEGER
            position += 2
        elif not readonly and option == b"store" and left >= 1:
            store = args[position + 1]
            position += 1
        elif option in (b"by", b"get") and left >= 1:
            position += 1
        else:
            return SYNTAX
        position += 1
    return store


def _sort(state: ServerState, session: Session, args: list[bytes], readonly: bool) -> Any:
    store = _parse(args, readonly)
    if type(store) is Error:
        return store
    db = session.db
    found = state.keyspace.exists(db, args[1])
    state.looked_up(found)
    if found:
        return WRONGTYPE
    if store is None:
        return []

    def finish(results: list[Any]) -> int:
        if results[0]:
            state.touch(db, store)
        return 0

    return Deferred([Delete(store, db)], finish)
