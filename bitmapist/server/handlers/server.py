"""Server commands: TIME, INFO, DBSIZE, FLUSHDB/FLUSHALL, SAVE, BGSAVE, LASTSAVE,
SHUTDOWN, SLURP."""

from __future__ import annotations

import time
from typing import Any

from ...engine import FlushAll, FlushDb
from .. import info
from ..batch import Deferred
from ..resp import NO_REPLY, OK, Error, Status, Verbatim, strict_int
from ..session import ServerState, Session
from .arguments import NOT_INTEGER, SYNTAX, sync


def time_(state: ServerState, session: Session, args: list[bytes]) -> Any:
    micros = time.time_ns() // 1000
    return [b"%d" % (micros // 1_000_000), b"%d" % (micros % 1_000_000)]


def info_(state: ServerState, session: Session, args: list[bytes]) -> Any:
    sync(state)
    return Verbatim(info.render(state, [arg.lower() for arg in args[1:]]))


def dbsize(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return state.keyspace.dbsize(session.db)


def _flush_mode(args: list[bytes]) -> Error | None:
    if len(args) > 2 or (len(args) == 2 and args[1].lower() not in (b"sync", b"async")):
        return SYNTAX
    return None


def flushdb(state: ServerState, session: Session, args: list[bytes]) -> Any:
    error = _flush_mode(args)
    if error:
        return error
    state.touch_db(session.db)
    return Deferred([FlushDb(session.db)], lambda results: OK)


def flushall(state: ServerState, session: Session, args: list[bytes]) -> Any:
    error = _flush_mode(args)
    if error:
        return error
    state.touch_db(None)
    return Deferred([FlushAll()], lambda results: OK)


def save(state: ServerState, session: Session, args: list[bytes]) -> Any:
    state.keyspace.checkpoint()
    state.lastsave = int(time.time())
    state.saved()
    return OK


def bgsave(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if len(args) > 1 and (len(args) > 2 or args[1].lower() != b"schedule"):
        return SYNTAX
    # Redis 7.0's order: a save in progress refuses even SCHEDULE (which only waits for
    # another kind of child, and there is none here); inside EXEC it is only scheduled
    # (serverCron starts it), here it starts at once.
    if state.saving:
        return Error("ERR Background save already in progress")
    state.start_background_save()
    return Status("Background saving scheduled" if state.in_exec else "Background saving started")


def lastsave(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return state.lastsave


def slurp(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if len(args) > 3:
        return Error("ERR wrong number of arguments for 'slurp' command")
    source_db = 0
    if len(args) == 3:
        parsed = strict_int(args[2])
        if parsed is None or not 0 <= parsed < 2**31:
            return NOT_INTEGER
        source_db = parsed
    address = args[1].decode("utf-8", "surrogateescape")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return Error(f"ERR SLURP needs host:port, got '{address}'")
    state.start_slurp(host, int(port), source_db, session.db)
    return OK


_SHUTDOWN_FLAGS = (b"nosave", b"save", b"now", b"force")


def shutdown(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT], as Redis 7.0's `shutdownCommand`.

    Every write is durable once answered, so there is nothing to lose: SAVE folds the
    journal into the database first (a checkpoint; FORCE stops even if it fails), the
    default and NOSAVE do not. NOW and FORCE change nothing else here (there are no
    replicas to wait for), and a shutdown is never in progress for ABORT to cancel.
    Redis exits without a reply: the connection just closes.
    """
    flags: set[bytes] = set()
    abort = False
    for arg in args[1:]:
        option = arg.lower()
        if option == b"abort":
            abort = True
        elif option in _SHUTDOWN_FLAGS:
            flags.add(option)
        else:
            return SYNTAX
    if (abort and flags) or {b"save", b"nosave"} <= flags:
        return SYNTAX
    if abort:
        return Error("ERR No shutdown in progress.")
    if state.on_shutdown is not None:
        sync(state)
        if not state.on_shutdown(b"save" in flags, b"force" in flags):
            return Error("ERR Errors trying to SHUTDOWN. Check logs.")
    session.closing = True
    return NO_REPLY
