"""Sans-IO RESP replies: Python values -> bytes, exactly as Redis 7.0 writes them.

Handlers return Python values; `encode(value, protocol)` writes them for RESP2 or RESP3
(requests are parsed by `request.RequestParser`):

======================  =====================  ==========================
value                   RESP2                  RESP3
======================  =====================  ==========================
`int` (not bool)        `:n`                   `:n`
`bytes`                 `$len` bulk            `$len` bulk
`None`                  `$-1` null bulk        `_` null
`list` / `tuple`        `*n` array             `*n` array
`Status("OK")`          `+OK`                  `+OK`
`Error("ERR ...")`      `-ERR ...`             `-ERR ...`
`NULL_ARRAY`            `*-1`                  `_`
`Map({...})`            `*2n` flat array       `%n` map
`Set([...])`            `*n` array             `~n` set
`Verbatim(text)`        `$len` bulk            `=len` `txt:` verbatim
`bool`                  `:1` / `:0`            `#t` / `#f`
======================  =====================  ==========================

Writes are answered after their commit: `Later` (filled in then), `Ack` (an integer known
in advance, the error if the commit fails) and `Acks` (the wire bytes of a run of them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "Ack",
    "Acks",
    "Error",
    "Later",
    "Map",
    "NULL_ARRAY",
    "OK",
    "Set",
    "Status",
    "Streamed",
    "Verbatim",
    "bulk_pieces",
    "encode",
    "encode_int",
    "strict_int",
]


class _NoReply:
    """The type of `NO_REPLY`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_REPLY"


#: What a handler returns when the client gets no reply at all (SHUTDOWN: Redis exits).
NO_REPLY = _NoReply()


def strict_int(text: bytes) -> int | None:
    """Redis's `string2ll`: optional '-', no '+', no spaces, no leading zeros; else None."""
    digits = text[1:] if text[:1] == b"-" else text
    if not digits.isdigit() or (digits[0] == 48 and len(text) != 1) or len(digits) > 19:
        return None  # "-0" is rejected too, as in Redis
    value = int(text)
    if not -(2**63) <= value < 2**63:
        return None
    return value


class Status(str):
    """A simple string reply (`+OK`)."""

    __slots__ = ()


class Error(str):
    """An error reply; the text starts with its code (`ERR`, `WRONGTYPE`, ...)."""

    __slots__ = ()


class Map(dict):
    """A map reply: `%` in RESP3, a flat key/value array in RESP2."""


class Set(list):
    """A set reply: `~` in RESP3, an array in RESP2."""


class Verbatim(bytes):
    """A verbatim text reply (`=len\\r\\ntxt:...` in RESP3, a bulk string in RESP2)."""

    __slots__ = ()


class Later:
    """A reply not known yet (a write awaiting its durable commit); `value` is set later."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: Any = None


class Ack(Later):
    """A write's reply known in advance (an int) unless its commit fails (then the
    error): the same in RESP2 and RESP3, so it is shared by many commands. `data` is
    its wire bytes; `fail` turns both into the error."""

    __slots__ = ("data",)

    def __init__(self, value: int) -> None:
        self.value = value
        self.data = encode_int(value)

    def fail(self, error: Error) -> None:
        self.value = error
        self.data = _encode_error(error)


class Acks:
    """The replies of a run of writes known in advance (their wire bytes, `data`), unless
    their commit fails: then `fail` makes each of the `count` replies the error."""

    __slots__ = ("data", "count")

    def __init__(self, data: bytes, count: int) -> None:
        self.data = data
        self.count = count

    def fail(self, error: Error) -> None:
        self.data = _encode_error(error) * self.count


class Streamed:
    """A bulk string too big to build whole (a huge GET): `length` bytes, whose bytes
    [a, b) `read(a, b)` makes. The connection writes it in pieces as the client reads;
    inside an aggregate (EXEC) it is built whole."""

    __slots__ = ("length", "read")

    #: Bulk strings at least this long are streamed; each piece is this long.
    MIN_LENGTH = 1024 * 1024
    PIECE = 256 * 1024

    def __init__(self, length: int, read: Callable[[int, int], bytes]) -> None:
        self.length = length
        self.read = read

    def pieces(self) -> Iterator[bytes]:
        """The wire bytes, piece by piece: the header, the data, the final CRLF."""
        yield b"$%d\r\n" % self.length
        for start in range(0, self.length, self.PIECE):
            yield self.read(start, min(self.length, start + self.PIECE))
        yield b"\r\n"


class _NullArray:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_ARRAY"


#: The null array (`*-1` in RESP2, `_` in RESP3), e.g. an aborted EXEC.
NULL_ARRAY: Any = _NullArray()

OK = Status("OK")
_INTS = [b":%d\r\n" % number for number in range(-2, 1024)]


def _encode_error(text: str) -> bytes:
    # Redis replaces line breaks in error texts so the reply stays one line.
    data = text.encode("utf-8", "surrogateescape")
    return b"-" + data.replace(b"\r", b" ").replace(b"\n", b" ") + b"\r\n"


def _encode_into(out: list[bytes], value: Any, resp3: bool) -> None:
    kind = type(value)
    if kind is Later or kind is Ack:  # a write's reply, filled in at commit: usually an int
        value = value.value
        kind = type(value)
    if kind is bytes:
        out.append(b"$%d\r\n%s\r\n" % (len(value), value))
    elif kind is int:
        out.append(_INTS[value + 2] if -2 <= value < 1022 else b":%d\r\n" % value)
    elif kind is Status:
        out.append(b"+" + value.encode("utf-8", "surrogateescape") + b"\r\n")
    elif kind is Error:
        out.append(_encode_error(value))
    elif value is None:
        out.append(b"_\r\n" if resp3 else b"$-1\r\n")
    elif kind is list or kind is tuple:
        out.append(b"*%d\r\n" % len(value))
        for item in value:
            _encode_into(out, item, resp3)
    elif kind is Map:
        out.append((b"%%%d\r\n" if resp3 else b"*%d\r\n") % (len(value) * (1 if resp3 else 2)))
        for key, item in value.items():
            _encode_into(out, key, resp3)
            _encode_into(out, item, resp3)
    elif kind is Set:
        out.append((b"~%d\r\n" if resp3 else b"*%d\r\n") % len(value))
        for item in value:
            _encode_into(out, item, resp3)
    elif kind is Verbatim:
        if resp3:
            out.append(b"=%d\r\ntxt:%s\r\n" % (len(value) + 4, value))
        else:
            out.append(b"$%d\r\n%s\r\n" % (len(value), value))
    elif kind is Streamed:
        out.extend(value.pieces())
    elif kind is bool:
        out.append((b"#t\r\n" if value else b"#f\r\n") if resp3 else _INTS[int(value) + 2])
    elif value is NULL_ARRAY:
        out.append(b"_\r\n" if resp3 else b"*-1\r\n")
    elif kind is str:
        data = value.encode("utf-8", "surrogateescape")
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    else:
        raise TypeError(f"cannot encode {value!r} as a RESP reply")


def bulk_pieces(value: bytes) -> tuple[bytes, bytes, bytes]:
    """The wire bytes of a bulk string reply as three pieces (header, `value`, CRLF): a
    long value is then copied once, when the turn's replies are joined, not twice."""
    return b"$%d\r\n" % len(value), value, b"\r\n"


def encode_int(value: int) -> bytes:
    """The wire bytes of an integer reply (`:n`)."""
    return _INTS[value + 2] if -2 <= value < 1022 else b":%d\r\n" % value


def encode(value: Any, protocol: int = 2) -> bytes:
    """The wire bytes of one reply in RESP `protocol` (2 or 3)."""
    out: list[bytes] = []
    _encode_into(out, value, protocol == 3)
    return b"".join(out)
