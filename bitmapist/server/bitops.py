"""BITCOUNT ranges and BITPOS on roaring values with Redis 7.0's exact argument rules, and
BITOP as the server calls it (its semantics live in `bitmapist.bitops`).

A value is a Redis string: `Value(bits, length)`; bit 0 is the most significant bit of
byte 0, so the bit range of bytes [a, b] is [8a, 8b + 8).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyroaring import BitMap

from .. import bitops as shared_bitops
from ..bitops import MISSING
from ..engine import Value
from .resp import Error, strict_int

_SYNTAX = Error("ERR syntax error")
_NOT_INTEGER = Error("ERR value is not an integer or out of range")


def _range_unit(arg: bytes) -> bool | None:
    """True for BIT, False for BYTE, None for anything else."""
    lowered = arg.lower()
    if lowered == b"bit":
        return True
    if lowered == b"byte":
        return False
    return None


def bitcount(value: Value, args: Sequence[bytes]) -> Any:
    """BITCOUNT key start end [BYTE|BIT] of an existing key (`args` after the key)."""
    if len(args) not in (2, 3):
        return _SYNTAX
    start, end = strict_int(args[0]), strict_int(args[1])
    if start is None or end is None:
        return _NOT_INTEGER
    if start < 0 and end < 0 and start > end:
        return 0  # Redis 7.0 answers this before it reads the unit
    is_bit = False
    if len(args) == 3:
        unit = _range_unit(args[2])
        if unit is None:
            return _SYNTAX
        is_bit = unit
    total = value.length * 8 if is_bit else value.length
    if start < 0:
        start += total
    if end < 0:
        end += total
    start = max(start, 0)
    end = max(end, 0)
    end = min(end, total - 1)
    if start > end:
        return 0
    if not is_bit:
        start, end = start * 8, end * 8 + 7
    return value.bits.range_cardinality(start, end + 1)


def _first_set(bits: BitMap, start: int, end: int) -> int:
    """The first set bit in [start, end], or -1."""
    try:
        found = bits.next_set_bit(start)
    except ValueError:
        return -1
    return found if found <= end else -1


def _first_clear(bits: BitMap, start: int, end: int) -> int:
    """The first clear bit in [start, end], or -1 (binary search on range counts)."""
    if bits.range_cardinality(start, end + 1) == end - start + 1:
        return -1
    low, high = start, end  # the answer lies in [low, high]
    while low < high:
        middle = (low + high) // 2
        if bits.range_cardinality(low, middle + 1) == middle - low + 1:
            low = middle + 1  # [low, middle] is all ones
        else:
            high = middle
    return low


def bitpos(value: Value, bit: int, args: Sequence[bytes]) -> Any:
    """BITPOS key bit [start [end [BYTE|BIT]]] of an existing key (`args` after bit)."""
    length = value.length
    end_given = False
    is_bit = False
    if 1 <= len(args) <= 3:
        start = strict_int(args[0])
        if start is None:
            return _NOT_INTEGER
        if len(args) == 3:
            unit = _range_unit(args[2])
            if unit is None:
                return _SYNTAX
            is_bit = unit
        total = length * 8 if is_bit else length
        if len(args) >= 2:
            end = strict_int(args[1])
            if end is None:
                return _NOT_INTEGER
            end_given = True
        else:
            end = total - 1
        if start < 0:
            start += total
        if end < 0:
            end += total
        start = max(start, 0)
        end = max(end, 0)
        end = min(end, total - 1)
    elif not args:
        start, end = 0, length - 1
    else:
        return _SYNTAX
    if start > end:
        return -1
    first_bit, last_bit = (start, end) if is_bit else (start * 8, end * 8 + 7)
    if bit == 1:
        return _first_set(value.bits, first_bit, last_bit)
    found = _first_clear(value.bits, first_bit, last_bit)
    if found >= 0:
        return found
    if end_given:
        return -1
    # No end given: the string counts as padded with zeros on the right.
    last_byte = end if not is_bit else end >> 3
    return (last_byte + 1) * 8


def bitop(operation: bytes, values: Sequence[Value | None]) -> Value | None:
    """BITOP AND/OR/XOR/NOT over source values (None = missing); None if all are empty.

    The rule itself is `bitmapist.bitops.bitop` (shared with the stores and analytics);
    here a missing key is None, and an empty result means "no key" (Redis deletes it).
    """
    bits, length = shared_bitops.bitop(
        operation.decode().upper(), [MISSING if value is None else value for value in values]
    )
    return Value(bits, length) if length else None
