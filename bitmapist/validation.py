"""Checks on user input, run before anything is written."""

from __future__ import annotations

from typing import Any

from .errors import InvalidInput

MAX_UUID = 2**32  # exclusive: ids live in [0, 2**32), the range of Redis bit offsets


def check_uuid(uuid: Any) -> int:
    """Return `uuid` if it is an int in [0, 2**32), else raise `InvalidInput` naming it."""
    if type(uuid) is not int:  # bool is an int subclass, and True is never a user id
        if isinstance(uuid, int) and not isinstance(uuid, bool):
            return check_uuid(int(uuid))
        raise InvalidInput(
            f"uuid {uuid!r} is a {type(uuid).__name__}: user ids must be integers in [0, 2**32)"
        )
    if not 0 <= uuid < MAX_UUID:
        raise InvalidInput(f"uuid {uuid} is out of range: user ids must be in [0, 2**32)")
    return uuid


def check_event_name(event_name: Any) -> str:
    """Return `event_name` if it is a non-empty str, else raise `InvalidInput`."""
    if not isinstance(event_name, str):
        raise InvalidInput(
            f"event name {event_name!r} is a {type(event_name).__name__}: "
            "event names must be non-empty strings"
        )
    if not event_name:
        raise InvalidInput("event name '' is empty: event names must be non-empty strings")
    return event_name


def check_int(name: str, value: Any, low: int, high: int, context: str = "") -> int:
    """Return `value` if it is an int in [low, high], else raise `InvalidInput`.

    `context` qualifies the range in the message, e.g. "in 2026-02" for a day.
    """
    where = f" {context}" if context else ""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            f"{name} {value!r} is a {type(value).__name__}: "
            f"expected an integer in [{low}, {high}]{where}"
        )
    if not low <= value <= high:
        raise InvalidInput(f"{name} {value} is out of range: expected [{low}, {high}]{where}")
    return value
