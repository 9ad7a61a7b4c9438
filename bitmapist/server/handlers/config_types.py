"""What CONFIG SET accepts for each parameter served, as Redis 7.0's config.c checks it
(its types: bool, enum, integer and memory ranges, `save`, `notify-keyspace-events`),
and the normalized value CONFIG GET then answers (`1gb` reads back as `1073741824`).

`check` returns the value to keep, or the text Redis puts after "CONFIG SET failed
(possibly related to argument '...') - ". `apply` makes the few that mean something here
take effect (`requirepass`, `maxclients`); the rest are remembered only.
"""

from __future__ import annotations

from collections.abc import Callable

from ..resp import strict_int
from ..session import ServerState

_LLONG_MAX = 2**63 - 1
_INT_MAX = 2**31 - 1
_UINT_MAX = 2**32 - 1
_ULLONG_MAX = 2**64 - 1

#: Other names of a parameter (Redis's alias configs): both read and set the same value.
ALIASES = {
    b"lua-time-limit": b"busy-reply-threshold",
    b"list-max-ziplist-size": b"list-max-listpack-size",
    b"slave-read-only": b"replica-read-only",
}
IMMUTABLE = {b"databases", b"cluster-enabled"}
PROTECTED = {b"dir", b"dbfilename"}  # enable-protected-configs is "no" by default

Check = Callable[[bytes], "bytes | str"]


def _bool(value: bytes) -> bytes | str:
    lowered = value.lower()
    return lowered if lowered in (b"yes", b"no") else "argument must be 'yes' or 'no'"


def _enum(*names: str) -> Check:
    def check(value: bytes) -> bytes | str:
        lowered = value.lower()
        if lowered.decode("latin-1") in names:
            return lowered
        return "argument(s) must be one of the following: " + ", ".join(names)

    return check


def _range(low: int, high: int, *, memory: bool = False, signed: bool = True) -> Check:
    """An integer config (Redis's numericParseString, then numericBoundaryCheck)."""

    def check(value: bytes) -> bytes | str:
        number = _memory(value) if memory else strict_int(value)
        if number is None:
            return (
                "argument must be a memory value"
                if memory
                else "argument couldn't be parsed into an integer"
            )
        if memory and signed and number > _LLONG_MAX:
            number -= 2**64  # memtoull's unsigned result stored in a long long
        if not signed:
            number %= 2**64
        if not low <= number <= high:
            return f"argument must be between {low} and {high} inclusive"
        return b"%d" % number

    return check


_UNITS = {
    b"": 1,
    b"b": 1,
    b"k": 1000,
    b"kb": 1024,
    b"m": 1000**2,
    b"mb": 1024**2,
    b"g": 1000**3,
    b"gb": 1024**3,
}


def _memory(value: bytes) -> int | None:
    """Redis 7.0's memtoull: digits then a unit; past 2**64 - 1 the digits saturate and
    the product wraps, as there."""
    digits = len(value) - len(value.lstrip(b"0123456789"))
    unit = _UNITS.get(value[digits:].lower())
    if unit is None or digits >= 128:
        return None
    number = min(int(value[:digits] or b"0"), _ULLONG_MAX)
    return number * unit % 2**64


def _strtoll(text: bytes) -> int | None:
    """C's strtoll over the whole text (leading spaces and a sign allowed, saturating), or
    None when characters are left over."""
    body = text.lstrip(b" \t\n\v\f\r")
    sign = -1 if body[:1] == b"-" else 1
    if body[:1] in (b"-", b"+"):
        body = body[1:]
    if body and not body.isdigit():
        return None
    number = sign * int(body or b"0")
    return max(-(2**63), min(_LLONG_MAX, number))


def _save(value: bytes) -> bytes | str:
    """setConfigSaveOption: pairs of seconds (>= 1) and changes (>= 0), split at every
    single space; GET prints them back with changes as a C int."""
    words = value.split(b" ") if value else []
    if len(words) % 2:
        return "Invalid save parameters"
    numbers = [_strtoll(word) for word in words]
    for position, number in enumerate(numbers):
        if number is None or number < (1 if position % 2 == 0 else 0):
            return "Invalid save parameters"
    pairs = []
    for seconds, changes in zip(numbers[::2], numbers[1::2], strict=True):
        assert seconds is not None and changes is not None
        wrapped = (changes + 2**31) % 2**32 - 2**31  # stored in an int
        pairs.append(b"%d %d" % (seconds, wrapped))
    return b" ".join(pairs)


_EVENT_FLAGS = {c: 1 << n for n, c in enumerate(b"g$lshzxeKEtmdn")}
_ALL_EVENTS = sum(_EVENT_FLAGS[c] for c in b"g$lshzxetd")


def _keyspace_events(value: bytes) -> bytes | str:
    """keyspaceEventsStringToFlags, then keyspaceEventsFlagsToString for GET."""
    flags = 0
    for char in value:
        if char == ord("A"):
            flags |= _ALL_EVENTS
        elif char in _EVENT_FLAGS:
            flags |= _EVENT_FLAGS[char]
        else:
            return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
    if flags & _ALL_EVENTS == _ALL_EVENTS:
        out = [b"A"]
    else:
        out = [bytes([c]) for c in b"g$lshzxetdn" if flags & _EVENT_FLAGS[c]]
    out += [bytes([c]) for c in b"KEm" if flags & _EVENT_FLAGS[c]]
    return b"".join(out)


def _hz(value: bytes) -> bytes | str:
    checked = _range(0, _INT_MAX)(value)
    if type(checked) is str:
        return checked
    return b"%d" % min(500, max(1, int(checked)))  # Redis's updateHZ clamps it


_CHECKS: dict[bytes, Check] = {
    b"maxmemory": _range(0, _ULLONG_MAX, memory=True, signed=False),
    b"maxmemory-policy": _enum(
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "noeviction",
    ),
    b"save": _save,
    b"appendonly": _bool,
    b"appendfsync": _enum("everysec", "always", "no"),
    b"timeout": _range(0, _INT_MAX),
    b"hz": _hz,
    b"loglevel": _enum("debug", "verbose", "notice", "warning"),
    b"slowlog-log-slower-than": _range(-1, _LLONG_MAX),
    b"slowlog-max-len": _range(0, _LLONG_MAX, signed=False),
    b"latency-monitor-threshold": _range(0, _LLONG_MAX),
    b"notify-keyspace-events": _keyspace_events,
    b"busy-reply-threshold": _range(0, _LLONG_MAX),
    b"replica-read-only": _bool,
    b"min-replicas-to-write": _range(0, _INT_MAX),
    b"list-max-listpack-size": _range(-(2**31), _INT_MAX),
    b"port": _range(0, 65535),
    b"maxclients": _range(1, _UINT_MAX, signed=False),
    b"proto-max-bulk-len": _range(1024 * 1024, _LLONG_MAX, memory=True),
}


def check(name: bytes, value: bytes) -> bytes | str:
    """The value to keep for parameter `name`, or Redis's reason to refuse it."""
    checker = _CHECKS.get(name)
    return value if checker is None else checker(value)


def apply(state: ServerState, name: bytes, value: bytes) -> None:
    """Make a set parameter take effect where it means something here."""
    settings = state.settings
    if name == b"requirepass":
        settings.requirepass = value.decode("utf-8", "surrogateescape") or None
        if settings.requirepass is None:  # Redis: the default user has no password now
            for session in state.clients.values():
                session.authenticated = True
    elif name == b"maxclients":
        settings.maxclients = int(value)
