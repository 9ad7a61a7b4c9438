"""CONFIG GET/SET/RESETSTAT, FUNCTION FLUSH/LIST and WAIT: enough for the tools that send
them (redis-cli, redis_exporter, RedisInsight, Redis's own test framework) to go on.

Parameters are Redis 7.0's names with the values this server works with; most have no
effect here, and CONFIG SET of a known one is remembered (and answered by CONFIG GET) so
that a tool that sets and reads back sees its value. Unknown ones are refused as Redis
refuses them.
"""

from __future__ import annotations

import os
from typing import Any

from ...engine import glob_match
from ..resp import OK, Error, Map, strict_int
from ..session import ServerState, Session
from . import config_types
from .arguments import NOT_INTEGER, SYNTAX, cstr

# Redis 7.0's defaults for parameters that mean nothing here (no eviction, no RDB/AOF,
# no replication, no scripting).
_FIXED: dict[bytes, bytes] = {
    b"databases": b"16",
    b"maxmemory": b"0",
    b"maxmemory-policy": b"noeviction",
    b"save": b"",
    b"appendonly": b"no",
    b"appendfsync": b"everysec",
    b"timeout": b"0",
    b"hz": b"10",
    b"loglevel": b"notice",
    b"slowlog-log-slower-than": b"10000",
    b"slowlog-max-len": b"128",
    b"latency-monitor-threshold": b"0",
    b"notify-keyspace-events": b"",
    b"busy-reply-threshold": b"5000",
    b"cluster-enabled": b"no",
    b"replica-read-only": b"yes",
    b"min-replicas-to-write": b"0",
    b"dbfilename": b"dump.rdb",
    b"list-max-listpack-size": b"-2",
}


def _parameters(state: ServerState) -> dict[bytes, bytes]:
    """Every parameter and its current value."""
    settings = state.settings
    values = dict(_FIXED)
    values.update(
        {
            b"port": b"%d" % state.port,
            b"maxclients": b"%d" % settings.maxclients,
            b"requirepass": (settings.requirepass or "").encode(),
            b"proto-max-bulk-len": b"%d" % settings.max_bulk_len,
            b"dir": os.getcwd().encode("utf-8", "surrogateescape"),
        }
    )
    values.update(state.config)
    for alias, canonical in config_types.ALIASES.items():
        values[alias] = values[canonical]
    return values


def config_get(state: ServerState, session: Session, args: list[bytes]) -> Any:
    values = _parameters(state)
    found = Map()
    for pattern in args[2:]:
        lowered = pattern.lower()
        if not any(char in pattern for char in b"*?["):  # a name: answered as asked
            if lowered in values and pattern not in found:
                found[pattern] = values[lowered]
            continue
        for name, value in values.items():
            if name not in found and glob_match(lowered, name):
                found[name] = value
    return found


def config_set(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """Redis 7.0's configSetCommand: every name known and settable, none twice, then every
    value checked (the first bad one named) before any is set; values kept normalized."""
    if len(args) % 2:
        return SYNTAX
    known = _parameters(state)
    pairs = list(zip(args[2::2], args[3::2]))
    unknown: bytes | None = None
    problem: tuple[bytes, str] | None = None
    seen: set[bytes] = set()
    for name, _ in pairs:
        canonical = config_types.ALIASES.get(name.lower(), name.lower())
        if canonical not in known:
            if problem is None and unknown is None:
                unknown = name
            continue
        if problem is not None or unknown is not None:
            continue
        if canonical in config_types.IMMUTABLE or canonical in config_types.PROTECTED:
            kind = "immutable" if canonical in config_types.IMMUTABLE else "protected"
            problem = (name, f"can't set {kind} config")
        elif name.lower() in seen:  # (an alias is a config entry of its own, as in Redis)
            problem = (name, "duplicate parameter")
        seen.add(name.lower())
    if unknown is not None:
        return Error(
            f"ERR Unknown option or number of arguments for CONFIG SET - '{cstr(unknown, 1 << 30)}'"
        )
    if problem is None:
        values = {}
        for name, value in pairs:
            canonical = config_types.ALIASES.get(name.lower(), name.lower())
            checked = config_types.check(canonical, value)
            if type(checked) is str:
                problem = (name.lower(), checked)
                break
            values[canonical] = checked  # an alias and its name both set: the last wins
    if problem is not None:
        return Error(
            f"ERR CONFIG SET failed (possibly related to argument "
            f"'{cstr(problem[0], 1 << 30)}') - {problem[1]}"
        )
    for canonical, value in values.items():
        state.config[canonical] = value
        config_types.apply(state, canonical, value)
    return OK


def config_resetstat(state: ServerState, session: Session, args: list[bytes]) -> Any:
    state.reset_stats()
    return OK


def function_flush(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if len(args) > 3:
        return Error(
            "ERR unknown subcommand or wrong number of arguments for "
            f"'{cstr(args[1], 128)}'. Try {cstr(args[0], 1 << 30).upper()} HELP."
        )
    if len(args) == 3 and args[2].lower() not in (b"sync", b"async"):
        return Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    return OK  # there are no functions


def function_list(state: ServerState, session: Session, args: list[bytes]) -> Any:
    position = 2
    while position < len(args):
        option = args[position].lower()
        if option == b"withcode":
            position += 1
        elif option == b"libraryname" and position + 1 < len(args):
            position += 2
        else:
            return Error(f"ERR Unknown argument {cstr(args[position], 1 << 30)}")
    return []


def wait(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if strict_int(args[1]) is None:
        return NOT_INTEGER
    timeout = strict_int(args[2])
    if timeout is None:
        return Error("ERR timeout is not an integer or out of range")
    if timeout < 0:
        return Error("ERR timeout is negative")
    return 0  # no replicas: none acknowledged
