"""COMMAND INFO / COMMAND DOCS entries: Redis 7.0's own, for the commands we serve.

The data (`command_docs_data.py`) is captured from a real redis-server by
`gen_command_docs`; subcommand lists are cut down to the subcommands we implement, and
commands Redis 7.0 lacks (CLIENT SETINFO from 7.2, SLURP) get entries in the same shape.

Entries are kept as their RESP3 bytes and decoded when asked: the same data as nested
Python literals cost ~2 MB of the server's RSS for good once redis-cli had connected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .command_docs_data import DOCS, INFO
from .resp import Map, Set, Status, Verbatim

if TYPE_CHECKING:
    from .commands import Command


def _decode(data: bytes, pos: int = 0) -> tuple[Any, int]:
    """The RESP3 value at `data[pos:]` (the types gen_command_docs writes), and its end."""
    end = data.index(b"\r\n", pos)
    kind, head, pos = data[pos : pos + 1], data[pos + 1 : end], end + 2
    if kind == b"$":
        size = int(head)
        return data[pos : pos + size], pos + size + 2
    if kind == b":":
        return int(head), pos
    if kind == b"+":
        return Status(head.decode("utf-8", "surrogateescape")), pos
    if kind == b"_":
        return None, pos
    if kind == b"=":
        size = int(head)
        return Verbatim(data[pos + 4 : pos + size]), pos + size + 2  # after "txt:"
    if kind in (b"*", b"~", b"%"):
        items = []
        for _ in range(int(head) * (2 if kind == b"%" else 1)):
            item, pos = _decode(data, pos)
            items.append(item)
        if kind == b"*":
            return items, pos
        if kind == b"~":
            return Set(items), pos
        return Map(zip(items[::2], items[1::2], strict=True)), pos
    raise ValueError(f"unexpected RESP3 type {kind!r} in command docs data")


def _entry(table: dict[str, bytes], name: str) -> Any:
    data = table.get(name)
    return None if data is None else _decode(data)[0]


# Same shape (and flags) as their nearest Redis 7.0 relatives.
_EXTRA_INFO: dict[str, list[Any]] = {
    "client|setinfo": [b"client|setinfo", 4, *_entry(INFO, "client|setname")[2:]],
    "slurp": [b"slurp", -2, *_entry(INFO, "flushall")[2:]],
}
_EXTRA_DOCS: dict[str, Map] = {
    "client|setinfo": Map(
        {
            b"summary": b"Set client or connection specific info",
            b"since": b"7.2.0",
            b"group": b"connection",
            b"complexity": b"O(1)",
        }
    ),
    "slurp": Map(
        {
            b"summary": b"Import every string key of a running Redis (bitmapist-server only)",
            b"since": b"1.0.0",
            b"group": b"server",
            b"complexity": b"O(N) where N is the number of keys in the source database",
        }
    ),
}


def command_info(cmd: Command) -> list[Any]:
    """The COMMAND INFO entry of one of our commands."""
    entry = _entry(INFO, cmd.name) or _EXTRA_INFO.get(cmd.name)
    if entry is None:
        return [cmd.name.encode(), cmd.arity, Set(), 0, 0, 0, Set(), Set(), Set(), Set()]
    entry = list(entry)
    if cmd.subcommands is not None:
        entry[9] = [command_info(sub) for sub in cmd.subcommands.values()]
    return entry


def command_doc(cmd: Command) -> Map:
    """The COMMAND DOCS entry of one of our commands."""
    doc = _entry(DOCS, cmd.name) or _EXTRA_DOCS.get(cmd.name) or Map()
    if cmd.subcommands is not None and b"subcommands" in doc:
        doc = Map(doc)
        doc[b"subcommands"] = Map(
            (sub.name.encode(), command_doc(sub)) for sub in cmd.subcommands.values()
        )
    return doc
