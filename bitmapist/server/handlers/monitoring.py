"""SLOWLOG and LATENCY, which monitoring tools (redis_exporter, RedisInsight) poll: this
server keeps no slow log and no latency samples, so they answer as an idle Redis 7.0
whose logs are empty."""

from __future__ import annotations

from typing import Any

from ..resp import OK, Error, strict_int
from ..session import ServerState, Session
from .arguments import cstr


def slowlog_get(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if len(args) > 3:
        return Error(
            "ERR unknown subcommand or wrong number of arguments for "
            f"'{cstr(args[1], 128)}'. Try {cstr(args[0], 1 << 30).upper()} HELP."
        )
    if len(args) == 3:
        count = strict_int(args[2])
        if count is None or count < -1:
            return Error("ERR count should be greater than or equal to -1")
    return []


def slowlog_len(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return 0


def slowlog_reset(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return OK


def latency_latest(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return []


def latency_reset(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return 0  # event series reset
