"""BITFIELD and BITFIELD_RO: Redis 7.0's `bitfieldGeneric`, on roaring bitmaps.

A field is `width` bits from bit `offset` on (bit offsets as SETBIT's: 0 is the most
significant bit of byte 0), read as a big-endian integer: bit `offset + i` is the field's
bit `width - 1 - i`. Every subcommand is parsed before any is run (the first bad argument
is the reply); then they run in order, each seeing the ones before it.

Only the bits of the fields are read (the value's bits within them, not the whole value)
and only bits that change are written, as SETBIT writes: two `SetBits` ops (the bits set,
the bits cleared). As in Redis, a call with a SET or INCRBY grows the string to its
farthest field even when OVERFLOW FAIL stops every write, yet counts as a change (WATCH,
INFO's changes since save) only for the writes that run and change a bit or grow it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pyroaring import BitMap

from ...engine import MAX_OFFSET, SetBits, Value
from ..batch import Deferred
from ..resp import Error, strict_int
from ..session import ServerState, Session
from .arguments import NOT_INTEGER, SYNTAX
from .bits import OFFSET_ERROR

TYPE_ERROR = Error(
    "ERR Invalid bitfield type. Use something like i16 u8. "
    "Note that u64 is not supported but i64 is."
)
OVERFLOW_ERROR = Error("ERR Invalid OVERFLOW type specified")
READONLY_ERROR = Error("ERR BITFIELD_RO only supports the GET subcommand")

GET, SET, INCRBY = 0, 1, 2
WRAP, SAT, FAIL = 0, 1, 2
_OPCODES = {b"get": (GET, 2), b"set": (SET, 3), b"incrby": (INCRBY, 3)}  # (op, arguments)
_OVERFLOWS = {b"wrap": WRAP, b"sat": SAT, b"fail": FAIL}
_BIT_LIMIT = MAX_OFFSET + 1  # bits at or past it are never set (and cannot be written)


class FieldOp(NamedTuple):
    """One GET, SET or INCRBY, parsed: `number` is SET's value or INCRBY's increment."""

    opcode: int
    signed: bool
    width: int
    offset: int
    number: int
    overflow: int


def bitfield(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """BITFIELD key [GET type offset | SET type offset value | INCRBY type offset
    increment | OVERFLOW WRAP|SAT|FAIL] ...: one reply per GET/SET/INCRBY (nil for a
    write OVERFLOW FAIL refuses); a Deferred write when a bit changes or the string grows."""
    return _bitfield(state, session, args, readonly=False)


def bitfield_ro(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """BITFIELD_RO key [GET type offset] ...: BITFIELD's GETs; any SET or INCRBY is refused."""
    return _bitfield(state, session, args, readonly=True)


def _bitfield(state: ServerState, session: Session, args: list[bytes], readonly: bool) -> Any:
    ops = parse(state, args)
    if type(ops) is Error:
        return ops
    db, key = session.db, args[1]
    writes = [op for op in ops if op.opcode != GET]
    if not writes:
        value = state.keyspace.value(db, key)
        state.looked_up(value is not None)
        bits = _fields_of(None if value is None else value.bits, ops)
        return [_get(bits, op) for op in ops]
    if readonly:
        return READONLY_ERROR
    top = max(op.offset + op.width - 1 for op in writes)
    if top > MAX_OFFSET:  # Redis grows the string past 512 MB; roaring offsets end here
        return OFFSET_ERROR
    value = state.keyspace.value(db, key)  # (a write's lookup: no hit or miss counted)
    return _run(state, db, key, value, ops, top)


def parse(state: ServerState, args: list[bytes]) -> list[FieldOp] | Error:
    """Every subcommand of `args` (from `args[2]` on), or the first error, as Redis
    parses them: names and OVERFLOW types in any case, a name without enough arguments
    after it a syntax error, and then the type, the offset and the number in turn."""
    ops: list[FieldOp] = []
    overflow = WRAP
    position, count = 2, len(args)
    while position < count:
        remaining = count - position - 1
        name = _c_word(args[position])
        if name == b"overflow" and remaining >= 1:
            overflow_type = _OVERFLOWS.get(_c_word(args[position + 1]))
            if overflow_type is None:
                return OVERFLOW_ERROR
            overflow = overflow_type
            position += 2
            continue
        opcode, needed = _OPCODES.get(name, (None, 0))
        if opcode is None or remaining < needed:
            return SYNTAX
        field_type = _field_type(args[position + 1])
        if field_type is None:
            return TYPE_ERROR
        signed, width = field_type
        offset = _field_offset(state, args[position + 2], width)
        if offset is None:
            return OFFSET_ERROR
        number = 0
        if opcode != GET:
            parsed = strict_int(args[position + 3])
            if parsed is None:
                return NOT_INTEGER
            number = parsed
        ops.append(FieldOp(opcode, signed, width, offset, number, overflow))
        position += 1 + needed
    return ops


def _c_word(arg: bytes) -> bytes:
    """`arg` as `strcasecmp` compares it: up to its first NUL, lower case."""
    return arg.split(b"\0", 1)[0].lower()


def _field_type(arg: bytes) -> tuple[bool, int] | None:
    """(signed, width) of `i1`..`i64` or `u1`..`u63` (case-sensitive, as in Redis, and
    read up to a NUL as C's strlen does); else None."""
    if arg[:1] not in (b"i", b"u"):
        return None
    signed = arg[:1] == b"i"
    width = strict_int(arg[1:].split(b"\0", 1)[0])
    if width is None or not 1 <= width <= (64 if signed else 63):
        return None
    return signed, width


def _field_offset(state: ServerState, arg: bytes, width: int) -> int | None:
    """A bit offset, or `#N` for N fields of `width` bits; in [0, max_bulk_len * 8)."""
    hashed = arg[:1] == b"#"
    offset = strict_int(arg[1:] if hashed else arg)
    if offset is None:
        return None
    if hashed:  # a C long long product: wraps (a huge N may land back in range, as in Redis)
        offset = (offset * width + 2**63) % 2**64 - 2**63
    if offset < 0 or offset >> 3 >= state.settings.max_bulk_len:
        return None
    return offset


def _fields_of(bits: BitMap | None, ops: list[FieldOp]) -> BitMap:
    """The set bits of `bits` within the fields of `ops`: all the commands reads."""
    window = BitMap()
    for op in ops:
        window.add_range(op.offset, min(op.offset + op.width, _BIT_LIMIT))
    return bits & window if bits and window else BitMap()


def _read(bits: BitMap, offset: int, width: int) -> int:
    """The field's bits as an unsigned integer (bits past the string read as 0)."""
    value = 0
    top = offset + width - 1
    for position in range(offset, min(top + 1, _BIT_LIMIT)):
        if position in bits:
            value |= 1 << (top - position)
    return value


def _write(bits: BitMap, offset: int, width: int, value: int) -> None:
    """Store the low `width` bits of `value` (two's complement) in the field."""
    top = offset + width - 1
    bits.remove_range(offset, top + 1)
    bits.update([top - shift for shift in range(width) if value >> shift & 1])


def _get(bits: BitMap, op: FieldOp) -> int:
    value = _read(bits, op.offset, op.width)
    if op.signed and value >> (op.width - 1):
        value -= 1 << op.width
    return value


def _limits(op: FieldOp) -> tuple[int, int]:
    if op.signed:
        return -(1 << (op.width - 1)), (1 << (op.width - 1)) - 1
    return 0, (1 << op.width) - 1


def _apply(old: int, op: FieldOp) -> int | None:
    """The field's new value after SET or INCRBY on `old`, or None when OVERFLOW FAIL
    refuses it. Redis's checkSigned/UnsignedBitfieldOverflow, in exact arithmetic but
    for one wrap of its C arithmetic that `_saturates_up` reproduces."""
    if op.opcode == INCRBY:
        wanted = old + op.number
    else:  # an unsigned SET takes its int64 as C's uint64: -1 is 2**64 - 1, too big
        wanted = op.number if op.signed else op.number % 2**64
    low, high = _limits(op)
    if low <= wanted <= high:
        return wanted
    if op.overflow == FAIL:
        return None
    if op.overflow == SAT:
        return high if wanted > high or _saturates_up(wanted, op) else low
    wrapped = wanted % (1 << op.width)  # WRAP: modulo 2**width, signed fields centred
    return wrapped - (1 << op.width) if wrapped > high else wrapped


def _saturates_up(wanted: int, op: FieldOp) -> bool:
    """Whether Redis saturates a signed SET below the field's minimum to its maximum:
    its `maxincr = (uint64_t)max - value` wraps negative when `max - value` passes
    INT64_MAX (values within 2**(width - 1) of INT64_MIN), and `0 > maxincr` then reads
    as an overflow upwards (`i8` SET -9223372036854775808 saturates to 127)."""
    return op.opcode == SET and op.signed and (1 << (op.width - 1)) - 1 - wanted > 2**63 - 1


#: Values up to this long are copied to stage the value a BITFIELD leaves (see
#: `batch.Deferred.value`); longer ones make the next command of the key commit first.
_STAGED_BYTES = 1 << 16


def _run(
    state: ServerState, db: int, key: bytes, value: Value | None, ops: list[FieldOp], top: int
) -> Any:
    """Run `ops` on the key's bits within their fields, then write the bits that
    changed (and grow the string to bit `top`)."""
    before = _fields_of(None if value is None else value.bits, ops)
    bits = BitMap(before)
    old_length = 0 if value is None else value.length
    grows = (top >> 3) + 1 > old_length
    replies: list[int | None] = []
    changes = 0
    for op in ops:
        old = _get(bits, op)
        if op.opcode == GET:
            replies.append(old)
            continue
        new = _apply(old, op)
        if new is None:
            replies.append(None)
            continue
        replies.append(new if op.opcode == INCRBY else old)
        _write(bits, op.offset, op.width, new)
        if grows or new != old:
            changes += 1
    changed = bits ^ before
    if grows:
        changed.add(top)  # written with its own value: the string reaches it
    if not changed:
        return replies
    ones, zeros = changed & bits, changed - bits
    writes = [SetBits(key, ones, True, False, db), SetBits(key, zeros, False, False, db)]

    def finish(results: list[Any]) -> list[int | None]:
        if changes:
            state.touch(db, key)
        return replies

    after = None  # the whole value it leaves, for BITFIELDs of the key before the commit
    if old_length <= _STAGED_BYTES:
        after_bits = BitMap() if value is None else BitMap(value.bits)
        after_bits |= ones
        after_bits -= zeros
        after = Value(after_bits, max(old_length, (top >> 3) + 1))
    return Deferred([op for op in writes if op.offsets], finish, changes, after)
