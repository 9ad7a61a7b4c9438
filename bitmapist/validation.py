"""Checks on user input, run before anything is written."""

from __future__ import annotations

from numbers import Integral
from typing import Any

from .errors import InvalidInput

MAX_UUID = 2**32  # exclusive: ids live in [0, 2**32), the range of Redis bit offsets
_MAX_UUID_DIGITS = len(str(MAX_UUID - 1))


def shown(value: Any, limit: int = 60) -> str:
    """`repr(value)`, cut to `limit` characters: error messages name the value, briefly."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def check_uuid(uuid: Any) -> int:
    """Return `uuid` as an int if it is an id in [0, 2**32), else raise `InvalidInput`.

    As in 3.x (where redis-py turned the id into the bit offset), an id may be any integer
    type (`int`, `numpy.int64`, any `numbers.Integral` but `bool`) or `str`/`bytes` of ASCII
    digits, such as an id read back from a Redis GET.
    """
    value = uuid if type(uuid) is int else _uuid_as_int(uuid)
    if not 0 <= value < MAX_UUID:
        raise InvalidInput(f"uuid {shown(uuid)} is out of range: user ids must be in [0, 2**32)")
    return value


def _uuid_as_int(uuid: Any) -> int:
    if isinstance(uuid, Integral) and not isinstance(uuid, bool):  # True is never a user id
        return int(uuid)
    if isinstance(uuid, (str, bytes, bytearray)):
        if uuid.isascii() and uuid.isdigit():
            zero = "0" if isinstance(uuid, str) else b"0"
            if len(uuid.lstrip(zero)) > _MAX_UUID_DIGITS:  # int() of a huge text is slow
                raise InvalidInput(
                    f"uuid {shown(uuid)} is out of range: user ids must be in [0, 2**32)"
                )
            return int(uuid)
        raise InvalidInput(
            f"uuid {shown(uuid)} is not a number: ids given as text must be ASCII digits "
            "naming an integer in [0, 2**32)"
        )
    raise InvalidInput(
        f"uuid {shown(uuid)} is a {type(uuid).__name__}: "
        "user ids must be integers (or their ASCII digits) in [0, 2**32)"
    )


def check_event_name(event_name: Any) -> str:
    """Return `event_name` if it is a non-empty str that UTF-8 can encode (it becomes part
    of a key), else raise `InvalidInput`."""
    if not isinstance(event_name, str):
        raise InvalidInput(
            f"event name {shown(event_name)} is a {type(event_name).__name__}: "
            "event names must be non-empty strings"
        )
    if not event_name:
        raise InvalidInput("event name '' is empty: event names must be non-empty strings")
    if not event_name.isascii():
        try:
            event_name.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate, e.g. from a bad decode
            raise InvalidInput(
                f"event name {shown(event_name)} cannot be encoded as UTF-8 "
                f"({exc.reason} at position {exc.start}): event names must be valid text"
            ) from None
    return event_name


def check_int(name: str, value: Any, low: int, high: int, context: str = "") -> int:
    """Return `value` if it is an int in [low, high], else raise `InvalidInput`.

    `context` qualifies the range in the message, e.g. "in 2026-02" for a day.
    """
    where = f" {context}" if context else ""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            f"{name} {shown(value)} is a {type(value).__name__}: "
            f"expected an integer in [{low}, {high}]{where}"
        )
    if not low <= value <= high:
        raise InvalidInput(f"{name} {value} is out of range: expected [{low}, {high}]{where}")
    return value
