"""COMMAND INFO / COMMAND DOCS entries: Redis 7.0's own, for the commands we serve.

The data (`command_docs_data.py`) is captured from a real redis-server by
`gen_command_docs`; subcommand lists are cut down to the subcommands we implement, and
commands Redis 7.0 lacks (CLIENT SETINFO from 7.2, SLURP) get entries in the same shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .command_docs_data import DOCS, INFO
from .resp import Map, Set

if TYPE_CHECKING:
    from .commands import Command

# Same shape (and flags) as their nearest Redis 7.0 relatives.
_EXTRA_INFO: dict[str, list[Any]] = {
    "client|setinfo": [b"client|setinfo", 4, *INFO["client|setname"][2:]],
    "slurp": [b"slurp", -2, *INFO["flushall"][2:]],
}
_EXTRA_DOCS: dict[str, Map] = {
    "client|setinfo": Map({
        b"summary": b"Set client or connection specific info",
        b"since": b"7.2.0",
        b"group": b"connection",
        b"complexity": b"O(1)",
    }),
    "slurp": Map({
        b"summary": b"Import every string key of a running Redis (bitmapist-server only)",
        b"since": b"1.0.0",
        b"group": b"server",
        b"complexity": b"O(N) where N is the number of keys in the source database",
    }),
}


def command_info(cmd: Command) -> list[Any]:
    """The COMMAND INFO entry of one of our commands."""
    entry = INFO.get(cmd.name) or _EXTRA_INFO.get(cmd.name)
    if entry is None:
        return [cmd.name.encode(), cmd.arity, Set(), 0, 0, 0, Set(), Set(), Set(), Set()]
    entry = list(entry)
    if cmd.subcommands is not None:
        entry[9] = [command_info(sub) for sub in cmd.subcommands.values()]
    return entry


def command_doc(cmd: Command) -> Map:
    """The COMMAND DOCS entry of one of our commands."""
    doc = DOCS.get(cmd.name) or _EXTRA_DOCS.get(cmd.name) or Map()
    if cmd.subcommands is not None and b"subcommands" in doc:
        doc = Map(doc)
        doc[b"subcommands"] = Map(
            (sub.name.encode(), command_doc(sub)) for sub in cmd.subcommands.values()
        )
    return doc
