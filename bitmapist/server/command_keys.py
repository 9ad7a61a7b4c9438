"""COMMAND GETKEYS / GETKEYSANDFLAGS and COMMAND LIST [FILTERBY ...], as Redis 7.0.

Keys are found by the commands' key specs (their COMMAND INFO entries, Redis's own):
every command we serve has `index` + `range` specs, walked as Redis's
`getKeysUsingKeySpecs` walks them. The two with `variable_flags` get their key's flags
from their arguments, as Redis's `setGetKeys` and `bitfieldGetKeys` give them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..engine.glob import glob_match
from .command_docs import command_info
from .resp import Error, Set, Status

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from .commands import Command

INVALID_COMMAND = Error("ERR Invalid command specified")
NO_KEYS = Error("ERR The command has no key arguments")
INVALID_ARITY = Error("ERR Invalid number of arguments specified for command")
INVALID_ARGUMENTS = Error("ERR Invalid arguments specified for command")
_VARIABLE = Status("variable_flags")
_RO_ACCESS = Set([Status("RO"), Status("access")])
_RW_ACCESS_UPDATE = Set([Status("RW"), Status("access"), Status("update")])
_OW_UPDATE = Set([Status("OW"), Status("update")])
_RW_ACCESS_DELETE = Set([Status("RW"), Status("access"), Status("delete")])


def getkeys(cmd: Command | None, argv: list[bytes], with_flags: bool) -> Any:
    """The reply to COMMAND GETKEYS[ANDFLAGS] for `argv` (the command and its arguments),
    `cmd` being the command (or subcommand) it names, None if none."""
    if cmd is None:
        return INVALID_COMMAND
    if not _specs(cmd):
        return NO_KEYS
    if (cmd.arity > 0 and cmd.arity != len(argv)) or len(argv) < -cmd.arity:
        return INVALID_ARITY
    if cmd.name == "sort":
        found = _sort_keys(argv)
    elif cmd.name == "migrate":
        found = _migrate_keys(argv)
    else:
        found = list(_keys(cmd, argv))
    if not found:
        return INVALID_ARGUMENTS
    if not with_flags:
        return [argv[position] for position, _flags in found]
    variable = None
    if any(flags is _VARIABLE for _position, flags in found):
        variable = _variable_flags(cmd, argv)
    return [
        [argv[position], variable if flags is _VARIABLE else flags] for position, flags in found
    ]


def key_args(cmd: Command, argv: list[bytes]) -> list[bytes]:
    """The keys `argv` (a call of `cmd` of the right arity) names, by the same key specs
    as COMMAND GETKEYS: the write batcher's rule for which queued writes a command waits
    for."""
    if cmd.name == "migrate":
        return [argv[position] for position, _flags in _migrate_keys(argv)]
    specs = _specs(cmd)
    if len(specs) == 1 and specs[0][1] == 0 and specs[0][0] < len(argv):
        return [argv[specs[0][0]]]  # one key (the usual case): the walk below, unrolled
    return [argv[position] for position, _flags in _keys(cmd, argv)]


#: Each command's key specs as (first, lastkey, keystep, limit, flags) tuples, by name:
#: decoded from its COMMAND INFO entry once (that takes ~70 us), walked on every call.
_SPECS: dict[str, list[tuple[int, int, int, int, Any]]] = {}


def _specs(cmd: Command) -> list[tuple[int, int, int, int, Any]]:
    specs = _SPECS.get(cmd.name)
    if specs is None:
        specs = _SPECS[cmd.name] = []
        for spec in command_info(cmd)[8]:
            if spec[b"begin_search"][b"type"] != b"index":
                continue  # SORT's BY/GET and STORE keys: Redis skips "unknown" specs too
            found = spec[b"find_keys"][b"spec"]
            flags = spec[b"flags"]
            specs.append(
                (
                    spec[b"begin_search"][b"spec"][b"index"],
                    found[b"lastkey"],
                    found[b"keystep"],
                    found[b"limit"],
                    _VARIABLE if _VARIABLE in flags else flags,
                )
            )
    return specs


def _keys(cmd: Command, argv: list[bytes]) -> Iterator[tuple[int, Any]]:
    """(position, flags) of each key, spec by spec (Redis's `getKeysUsingKeySpecs`);
    the flags are `_VARIABLE` where they depend on the arguments."""
    argc = len(argv)
    for first, lastkey, step, limit, flags in _specs(cmd):
        if lastkey >= 0:
            last = first + lastkey
        elif not limit:
            last = argc + lastkey
        else:
            last = first + ((argc - first) // limit + lastkey)
        for position in range(first, last + 1, step):
            if position < argc:
                yield position, flags


def _sort_keys(argv: list[bytes]) -> list[tuple[int, Any]]:
    """SORT's key and its last STORE destination (Redis's `sortGetKeys`: it skips LIMIT's
    two arguments and BY's and GET's one, but not STORE's)."""
    found: list[tuple[int, Any]] = [(1, _RO_ACCESS)]
    store = None
    position = 2
    while position < len(argv):
        word = argv[position].lower()
        if word == b"limit":
            position += 2
        elif word in (b"get", b"by"):
            position += 1
        elif word == b"store" and position + 1 < len(argv):
            store = position + 1
        position += 1
    if store is not None:
        found.append((store, _OW_UPDATE))
    return found


def _migrate_keys(argv: list[bytes]) -> list[tuple[int, Any]]:
    """MIGRATE's keys as Redis 7.0 finds them: its key argument, unless a KEYS keyword
    is found (searched from the next-to-last argument back to the third, as its
    'incomplete' keyword spec); then Redis's `migrateGetKeys` (the keys after KEYS,
    AUTH's and AUTH2's arguments skipped; none when the key argument is not empty)."""
    if not any(arg.lower() == b"keys" for arg in argv[2:-1]):
        return [(3, _RW_ACCESS_DELETE)]
    first, count = 3, 1
    position = 6
    while position < len(argv):
        word = argv[position].lower()
        if word == b"keys":
            if argv[3]:
                return []
            first, count = position + 1, len(argv) - position - 1
            break
        position += {b"auth": 1, b"auth2": 2}.get(word, 0) + 1
    return [(first + index, _RW_ACCESS_DELETE) for index in range(count)]


def _variable_flags(cmd: Command, argv: list[bytes]) -> Set:
    """SET: read too with GET (Redis's `setGetKeys`); BITFIELD: written unless it only
    GETs (Redis's `bitfieldGetKeys`)."""
    if cmd.name == "set":
        return _RW_ACCESS_UPDATE if b"get" in (arg.lower() for arg in argv[3:]) else _OW_UPDATE
    return _RO_ACCESS if _bitfield_reads_only(argv) else _RW_ACCESS_UPDATE


def _bitfield_reads_only(argv: list[bytes]) -> bool:
    """Only GET and OVERFLOW operations (a syntax error counts as a write)."""
    position = 2
    while position < len(argv):
        left = len(argv) - position - 1
        operation = argv[position].lower()
        if operation == b"get" and left >= 2:
            position += 3
        elif operation == b"overflow" and left >= 1:
            position += 2
        else:
            return False
    return True


def list_names(commands: Iterable[Command], kind: bytes | None, arg: bytes) -> list[bytes]:
    """COMMAND LIST: every command's and subcommand's full name, those FILTERBY keeps."""
    names = []
    for cmd in commands:
        if kind is None or _kept(cmd, kind, arg):
            names.append(cmd.name.encode())
        if cmd.subcommands is not None:
            names.extend(list_names(cmd.subcommands.values(), kind, arg))
    return names


def _kept(cmd: Command, kind: bytes, arg: bytes) -> bool:
    if kind == b"pattern":
        return glob_match(arg.lower(), cmd.name.encode())
    if kind == b"aclcat":
        category = "@" + arg.decode("utf-8", "replace").lower()
        return any(str(name).lower() == category for name in command_info(cmd)[6])
    return False  # module: there are none
