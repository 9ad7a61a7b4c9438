"""INCRBYFLOAT, with Redis 7.0's arithmetic: x87 80-bit `long double` (64-bit mantissa),
`strtold` parsing and `%.17Lf` printing, emulated exactly with fractions (a Python float
has 53 bits: 10.5 + 0.1 would print 10.6 in Redis and 10.59999999999999964 here)."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ..resp import Error
from ..session import ServerState, Session
from .updates import current_value, overwrite

NOT_FLOAT = Error("ERR value is not a valid float")
NAN_OR_INF = Error("ERR increment would produce NaN or Infinity")
#: Redis's MAX_LONG_DOUBLE_CHARS: longer strings are not floats.
MAX_CHARS = 5 * 1024
_MANTISSA = 64
_MAX_EXPONENT = 16384  # |x| >= 2**16384 overflows a long double
_MIN_EXPONENT = -16445  # the smallest subnormal is 2**-16445
_DECIMAL = re.compile(rb"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_HEX = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)(?:[pP]([+-]?\d+))?")
_INF = re.compile(rb"([+-]?)(inf|infinity)", re.IGNORECASE)
INFINITY = None  # a value that overflowed (either sign: both are refused the same way)


def round_long_double(exact: Fraction) -> Fraction | None:
    """`exact` rounded to the nearest long double (ties to even); None on overflow."""
    if exact == 0:
        return exact
    sign, magnitude = (-1 if exact < 0 else 1), abs(exact)
    exponent = magnitude.numerator.bit_length() - magnitude.denominator.bit_length()
    if Fraction(2) ** exponent > magnitude:
        exponent -= 1  # now 2**exponent <= magnitude < 2**(exponent + 1)
    step = Fraction(2) ** max(exponent - (_MANTISSA - 1), _MIN_EXPONENT)
    rounded = round(magnitude / step) * step  # round() of a Fraction: ties to even
    if rounded >= Fraction(2) ** _MAX_EXPONENT:
        return INFINITY
    return sign * rounded


def parse_long_double(data: bytes) -> Fraction | None | Error:
    """Redis's `getLongDoubleFromObject`: the long double `data` spells (None for
    infinity), or NOT_FLOAT (not a float, NaN, overflow or underflow to zero)."""
    if not data or len(data) > MAX_CHARS:
        return NOT_FLOAT
    if _INF.fullmatch(data):
        return INFINITY
    decimal = _DECIMAL.fullmatch(data)
    if decimal:
        magnitude = _magnitude(decimal[1], decimal[2], 10)
        if magnitude is not None and not -4960 < magnitude < 4940:
            return NOT_FLOAT  # far past the range: strtold's ERANGE, without the arithmetic
        # (int(str) refuses > 4300 digits; Decimal does not)
        exact = Fraction(0) if magnitude is None else Fraction(Decimal(data.decode()))
    else:
        match = _HEX.fullmatch(data)
        if match is None or not (match[2] or match[3]):
            return NOT_FLOAT
        mantissa = match[2] + b"." + match[3]
        magnitude = _magnitude(mantissa, b"p" + (match[4] or b"0"), 16)
        if magnitude is None:
            exact = Fraction(0)
        elif not _MIN_EXPONENT - 16 < 4 * magnitude < _MAX_EXPONENT + 16:
            return NOT_FLOAT
        else:
            digits = match[2] + match[3]
            scale = Fraction(2) ** int(match[4] or 0)
            exact = Fraction(int(digits, 16), 16 ** len(match[3])) * scale
            if match[1] == b"-":
                exact = -exact
    value = round_long_double(exact)
    if value is INFINITY or (value == 0 and exact != 0):
        return NOT_FLOAT  # strtold's ERANGE
    return value


def _magnitude(mantissa: bytes, exponent: bytes | None, base: int) -> int | None:
    """About where the leading digit of `mantissa` (digits with an optional point) lands
    once scaled by `exponent` ("e12", "p-3": a power of 10, of 2 for hex), in digits of
    `base` (hex: a digit is 4 bits, the exponent counted in digits by //4); None for zero.
    Exponents of any length: one of ten million digits must cost nothing."""
    whole, _, fraction = mantissa.lstrip(b"+-").partition(b".")
    whole = whole.lstrip(b"0")
    if whole:
        leading = len(whole) - 1
    elif fraction.strip(b"0"):
        leading = -(len(fraction) - len(fraction.lstrip(b"0")) + 1)
    else:
        return None  # zero, whatever the exponent
    power = exponent[1:] if exponent else b"0"
    sign = -1 if power[:1] == b"-" else 1
    power = power.lstrip(b"+-").lstrip(b"0") or b"0"
    scale = sign * (10**9 if len(power) > 9 else int(power))
    return leading + (scale if base == 10 else scale // 4)


def format_long_double(value: Fraction) -> bytes:
    """`%.17Lf` with trailing zeros (and a bare '.') removed, "-0" as "0" (LD_STR_HUMAN)."""
    scaled = round(abs(value) * 10**17)  # the exact value rounded, ties to even, as glibc
    whole, fraction = divmod(scaled, 10**17)
    text = f"{Decimal(whole)}.{fraction:017d}".rstrip("0").rstrip(".")
    if value < 0 and text != "0":
        text = "-" + text
    return text.encode()


def incrbyfloat(state: ServerState, session: Session, args: list[bytes]) -> Any:
    db, key = session.db, args[1]
    current = current_value(state, db, key, longest=MAX_CHARS)  # longer: not a float
    value = Fraction(0) if current is None else parse_long_double(current)
    if type(value) is Error:
        return value
    increment = parse_long_double(args[2])
    if type(increment) is Error:
        return increment
    if value is INFINITY or increment is INFINITY:
        return NAN_OR_INF
    result = round_long_double(value + increment)
    if result is INFINITY:
        return NAN_OR_INF
    data = format_long_double(result)
    return overwrite(state, db, key, data, data)
