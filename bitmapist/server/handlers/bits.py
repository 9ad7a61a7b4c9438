"""Bitmap commands: SETBIT and GETBIT (one at a time, or a run of them at once),
BITCOUNT, BITPOS, BITOP.

A SETBIT is queued in the write batcher, which knows the previous bit (its reply) at
once and answers after the turn's commit (`batch.WriteBatcher.setbits`). A pipeline of
plain GETBITs or SETBITs is taken from the request buffer as argument columns
(`request.RequestParser.take_run`) and run here column by column, so that most of the
work per command happens in C; the rules (and the errors) are the one-command handlers'.
"""

from __future__ import annotations

from typing import Any

from ...engine import Delete, Put
from .. import bitops
from ..batch import Deferred
from ..keyspace import NO_BITS
from ..resp import Error, strict_int
from ..session import ServerState, Session
from .arguments import NOT_INTEGER, SYNTAX, parse_offset, sync

OFFSET_ERROR = Error("ERR bit offset is not an integer or out of range")
BIT_ERROR = Error("ERR bit is not an integer or out of range")
#: The argument in which runs of GETBIT or SETBIT usually differ: the offset.
OFFSET = 2
#: GETBIT and SETBIT as clients spell them: the names runs are taken for.
GETBIT_NAMES = frozenset((b"getbit", b"GETBIT", b"Getbit"))
SETBIT_NAMES = frozenset((b"setbit", b"SETBIT", b"Setbit"))
RUN_NAMES = GETBIT_NAMES | SETBIT_NAMES
_ZERO, _ONE = b":0\r\n", b":1\r\n"


def parse_bit(arg: bytes) -> bool | None:
    """SETBIT's value: Redis's strict integer 0 or 1; else None."""
    if arg == b"1":
        return True
    if arg == b"0":
        return False
    number = strict_int(arg)
    return None if number is None or number & ~1 else bool(number)


def setbit(state: ServerState, session: Session, args: list[bytes]) -> Any:
    offset = parse_offset(state, args[2])
    if offset is None:
        return OFFSET_ERROR
    bit = parse_bit(args[3])
    if bit is None:
        return BIT_ERROR
    return state.batcher.setbits(session.db, [args[1]], [offset], bit)


def getbit(state: ServerState, session: Session, args: list[bytes]) -> Any:
    offset = parse_offset(state, args[2])
    if offset is None:
        return OFFSET_ERROR
    bit = state.keyspace.getbit(session.db, args[1], offset)
    state.looked_up(bit == 1 or state.keyspace.bits(session.db, args[1]) is not NO_BITS)
    return bit


def _plain_offsets(state: ServerState, column: list[bytes]) -> list[int] | None:
    """The offsets of a column when each is plain digits without a leading zero, in
    range (what `parse_offset` takes without a doubt), checked with a few C-level
    passes; else None."""
    if not b"".join(column).isdigit() or b"" in column:
        return None
    # Some offset starts with 0 (rare): is each such one "0"?
    if b" 0" in b" " + b" ".join(column) and any(
        offset[0] == 48 and len(offset) > 1 for offset in column
    ):
        return None
    offsets = list(map(int, column))
    return None if max(offsets) >> 3 >= state.settings.max_bulk_len else offsets


def run(
    state: ServerState, session: Session, columns: list[list[bytes]], replies: list[Any]
) -> bool:
    """Run commands given as argument columns (`RequestParser.take_run`) when they are
    all GETBITs or all SETBITs of one bit value, each with a plain offset: their replies
    are appended to `replies` as wire bytes (GETBIT) or one `resp.Acks` (SETBIT).

    Returns False, having run nothing, for any other run: its commands are then run one
    by one like any command, so every error comes from `getbit` or `setbit`. A failing
    read raises, having run nothing. Only for an authenticated session outside MULTI.
    """
    width = len(columns)
    names = GETBIT_NAMES if width == 3 else SETBIT_NAMES if width == 4 else None
    spellings = columns[0]  # mostly one name object repeated: count() checks identity first
    first = spellings[0]
    if (
        names is None
        or first not in names
        or (spellings.count(first) != len(spellings) and not names.issuperset(spellings))
    ):
        return False
    offsets = _plain_offsets(state, columns[OFFSET])
    if offsets is None:
        return False
    keys, db = columns[1], session.db
    if width == 3:
        sync(state, db, *set(keys))  # reads see the writes of their keys before them
        if keys.count(keys[0]) == len(keys):
            bits = state.keyspace.bits(db, keys[0])
            state.looked_up(bits is not NO_BITS, len(keys))
            found = [_ONE if offset in bits else _ZERO for offset in offsets]
        else:
            getbit_ = state.keyspace.getbit
            found = [_ONE if getbit_(db, k, o) else _ZERO for k, o in zip(keys, offsets)]
            for key in set(keys):
                state.looked_up(state.keyspace.exists(db, key), keys.count(key))
        replies.append(b"".join(found))
        return True
    values = columns[3]
    ones = values.count(b"1")
    if ones != len(values) and (ones or values.count(b"0") != len(values)):
        return False  # a mix of 1s and 0s (or other bit values)
    replies.append(state.batcher.setbits(db, keys, offsets, bool(ones)))
    return True


def bitcount(state: ServerState, session: Session, args: list[bytes]) -> Any:
    keyspace, db = state.keyspace, session.db
    if len(args) == 2:
        count = keyspace.bitcount(db, args[1])
        state.looked_up(count > 0 or keyspace.exists(db, args[1]))
        return count
    value = keyspace.value(db, args[1])
    state.looked_up(value is not None)
    if value is None:
        return 0  # Redis 7.0 looks the key up before parsing the range
    return bitops.bitcount(value, args[2:])


def bitpos(state: ServerState, session: Session, args: list[bytes]) -> Any:
    bit = strict_int(args[2])
    if bit is None or not -(2**63) <= bit < 2**63:
        return NOT_INTEGER
    if bit not in (0, 1):
        return Error("ERR The bit argument must be 1 or 0.")
    value = state.keyspace.value(session.db, args[1])
    state.looked_up(value is not None)
    if value is None:
        return -1 if bit else 0
    return bitops.bitpos(value, bit, args[3:])


def bitop(state: ServerState, session: Session, args: list[bytes]) -> Any:
    operation = args[1].lower()
    if operation not in (b"and", b"or", b"xor", b"not"):
        return SYNTAX
    if operation == b"not" and len(args) != 4:
        return Error("ERR BITOP NOT must be called with a single source key.")
    db, dest = session.db, args[2]
    sources = state.keyspace.values(db, args[3:])
    for value in sources:
        state.looked_up(value is not None)
    result = bitops.bitop(operation, sources)

    def finish(results: list[Any]) -> int:
        if result is not None or results[0]:
            state.touch(db, dest)
        return 0 if result is None else result.length

    op = Delete(dest, db) if result is None else Put(dest, result, db=db)
    return Deferred([op], finish)
