"""Transaction commands but EXEC (which runs commands: see `commands.py`): MULTI,
DISCARD, WATCH, UNWATCH."""

from __future__ import annotations

from typing import Any

from ..resp import OK, Error
from ..session import ServerState, Session


def multi(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if session.multi is not None:
        return Error("ERR MULTI calls can not be nested")
    session.multi = []
    session.multi_dirty = False
    return OK


def discard_transaction(state: ServerState, session: Session) -> None:
    """End the session's transaction (and its WATCHes)."""
    session.multi = None
    session.multi_dirty = False
    state.unwatch(session)


def discard(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if session.multi is None:
        return Error("ERR DISCARD without MULTI")
    discard_transaction(state, session)
    return OK


def watch(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if session.multi is not None:
        return Error("ERR WATCH inside MULTI is not allowed")
    for key in args[1:]:
        state.watch(session, session.db, key)
    return OK


def unwatch(state: ServerState, session: Session, args: list[bytes]) -> Any:
    state.unwatch(session)
    return OK
