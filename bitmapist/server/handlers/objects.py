"""OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ / HELP and MEMORY USAGE / HELP.

Redis answers these from its in-memory objects; we keep none, so the answers are what
Redis 7.0 (jemalloc, no maxmemory) gives for the same string right after loading it
from an RDB file, derived from the value's bytes:

- encoding: "int" for a canonical 64-bit integer of at most 20 characters, "embstr" up
  to 44 bytes, else "raw". A live Redis says "raw" for any string SETBIT, APPEND,
  SETRANGE or BITOP built, whatever its size (an approximation).
- refcount: 2147483647 for the shared integers 0..9999, else 1.
- idletime: 0 (no access times are kept: an approximation); FREQ: Redis's error, as
  the maxmemory policy is never an LFU one.
- MEMORY USAGE: jemalloc's size classes for the key's and the value's allocations plus
  the dict entry, with exact-size allocations: a live Redis also counts the slack of
  strings grown in place (SETBIT, APPEND, SETRANGE), up to twice their length.
"""

from __future__ import annotations

from typing import Any

from ...engine import Value
from ..resp import Error, Status, strict_int
from ..session import ServerState, Session
from .arguments import NOT_INTEGER, SYNTAX

SHARED_REFCOUNT = 2147483647  # Redis's OBJ_SHARED_REFCOUNT (INT_MAX)
SHARED_INTEGERS = 10000
EMBSTR_LIMIT = 44
_ROBJ = 16  # sizeof(robj)
_DICT_ENTRY = 24  # sizeof(dictEntry)

OBJECT_HELP = [
    b"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"ENCODING <key>",
    b"    Return the kind of internal representation used in order to store the value",
    b"    associated with a <key>.",
    b"FREQ <key>",
    b"    Return the access frequency index of the <key>. The returned integer is",
    b"    proportional to the logarithm of the recent access frequency of the key.",
    b"IDLETIME <key>",
    b"    Return the idle time of the <key>, that is the approximated number of",
    b"    seconds elapsed since the last access to the key.",
    b"REFCOUNT <key>",
    b"    Return the number of references of the value associated with the specified",
    b"    <key>.",
    b"HELP",
    b"    Prints this help.",
]
MEMORY_HELP = [
    b"MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"DOCTOR",
    b"    Return memory problems reports.",
    b"MALLOC-STATS",
    b"    Return internal statistics report from the memory allocator.",
    b"PURGE",
    b"    Attempt to purge dirty pages for reclamation by the allocator.",
    b"STATS",
    b"    Return information about the memory usage of the server.",
    b"USAGE <key> [SAMPLES <count>]",
    b"    Return memory in bytes used by <key> and its value. Nested values are",
    b"    sampled up to <count> times (default: 5, 0 means sample all).",
    b"HELP",
    b"    Prints this help.",
]
NO_LFU = Error(
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
    "Please note that when switching between policies at runtime LRU and LFU data "
    "will take some time to adjust."
)


def integer_value(data: bytes) -> int | None:
    """The integer a string holds when Redis would store it int-encoded (`string2l`)."""
    if len(data) > 20:
        return None
    return strict_int(data)


def encoding(data: bytes, length: int | None = None) -> str:
    """Redis's encoding of a string loaded with these bytes (`length` of them: `data` may
    be b"" for a value longer than EMBSTR_LIMIT, whose bytes do not matter)."""
    length = len(data) if length is None else length
    if integer_value(data) is not None:
        return "int"
    return "embstr" if length <= EMBSTR_LIMIT else "raw"


def jemalloc_size(size: int) -> int:
    """The jemalloc 5 size class `size` bytes take (16-byte quantum, 4 classes a doubling)."""
    if size <= 8:
        return 8
    if size <= 128:
        return (size + 15) & ~15
    spacing = 1 << ((size - 1).bit_length() - 3)
    return (size + spacing - 1) // spacing * spacing


def sds_size(length: int) -> int:
    """The allocation of an exact-size sds string of `length` bytes (header + NUL)."""
    if length < 32:
        header = 1
    elif length < 256:
        header = 3
    elif length < 65536:
        header = 5
    elif length < 2**32:
        header = 9
    else:
        header = 17
    return jemalloc_size(header + length + 1)


def memory_usage(key: bytes, data: bytes, length: int | None = None) -> int:
    """MEMORY USAGE of a string key (see the module docstring; `data` and `length` as
    `encoding` takes them)."""
    length = len(data) if length is None else length
    kind = encoding(data, length)
    if kind == "int":
        value = _ROBJ
    elif kind == "embstr":
        value = jemalloc_size(_ROBJ + 3 + length + 1)  # robj + sdshdr8 in one block
    else:
        value = _ROBJ + sds_size(length)
    return value + sds_size(len(key)) + _DICT_ENTRY


def _head(value: Value) -> bytes:
    """The value's bytes when they can matter (an int or an embstr is at most
    EMBSTR_LIMIT bytes), else b"": a 512 MB value is not made to find it is `raw`."""
    return value.to_bytes() if value.length <= EMBSTR_LIMIT else b""


def _data(state: ServerState, session: Session, key: bytes) -> bytes | None:
    """The key's `_head`, looked up as Redis's OBJECT does (a read: hit or miss)."""
    value = state.keyspace.value(session.db, key)
    state.looked_up(value is not None)
    return None if value is None else _head(value)


def object_encoding(state: ServerState, session: Session, args: list[bytes]) -> Any:
    value = state.keyspace.value(session.db, args[2])
    state.looked_up(value is not None)
    return None if value is None else encoding(_head(value), value.length).encode()


def object_refcount(state: ServerState, session: Session, args: list[bytes]) -> Any:
    data = _data(state, session, args[2])
    if data is None:
        return None
    number = integer_value(data)
    return SHARED_REFCOUNT if number is not None and 0 <= number < SHARED_INTEGERS else 1


def object_idletime(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return None if _data(state, session, args[2]) is None else 0


def object_freq(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return None if _data(state, session, args[2]) is None else NO_LFU


def object_help(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return [Status(line.decode()) for line in OBJECT_HELP]


def memory_usage_(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """MEMORY USAGE key [SAMPLES count] (samples only matter for collections)."""
    position = 3
    while position < len(args):
        if args[position].lower() == b"samples" and position + 1 < len(args):
            samples = strict_int(args[position + 1])
            if samples is None or not -(2**63) <= samples < 2**63:
                return NOT_INTEGER
            if samples < 0:
                return SYNTAX
            position += 2
        else:
            return SYNTAX
    value = state.keyspace.value(session.db, args[2])  # (Redis: no hit or miss counted)
    return None if value is None else memory_usage(args[2], _head(value), value.length)


def memory_help(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return [Status(line.decode()) for line in MEMORY_HELP]
