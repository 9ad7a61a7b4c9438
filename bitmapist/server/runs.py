"""Runs: many commands of one shape taken from a request buffer at once, as columns.

A pipeline of GETBITs or SETBITs (redis-benchmark's, or a client marking many ids) is
commands of one arity, mostly equal but for one argument. `take_run` reads them as
argument columns with a few C-level operations instead of one parse per command, and
takes only what Redis's length-prefixed parse would read the same way: canonical
`*<count>` / `$<length>` headers, every argument under 1000 bytes and followed by CRLF.
It is sans-IO: a buffer and a position in, columns and the new position out
(`request.RequestParser.take_run` is its caller).
"""

from __future__ import annotations

from collections.abc import Callable, Container
from struct import Struct
from typing import Any, NamedTuple

__all__ = ["RunShape", "lone_command", "take_run"]

# The canonical headers of arguments shorter than 1000 bytes, the counts runs may have,
# and how far a split run looks (128 commands of up to 128 bytes).
_HEADERS = tuple(b"$%d" % size for size in range(1000))
_SIZES = {header: size for size, header in enumerate(_HEADERS)}
_COUNTS = {b"*%d" % count: count for count in range(1, 10)}
_WINDOW = 16 * 1024
# `_take_same`'s unpackers by (head, argument, tail, commands) sizes; cleared when full
# (32 of up to ~4 KB each: a client cycling through shapes costs a new one per run).
_UNPACKERS: dict[tuple[int, int, int, int], Callable[..., tuple[Any, ...]]] = {}

# Columns and the position after them.
Taken = tuple[list[list[bytes]], int]


class RunShape(NamedTuple):
    """The bytes of a command around its one varying argument: a run of commands equal
    but for that argument, of `size` bytes in each, is `head`, value, `between`, value,
    ..., value, `tail`."""

    head: bytes  # from "*<count>" to the varying argument's value
    size: int  # the varying argument's length
    tail: bytes  # from the end of that value to the end of the command
    args: list[bytes]  # the first command's arguments
    vary: int  # which argument varies
    star: bytes  # "*<count>"
    count: int  # arguments per command
    length: int  # the bytes of one command
    between: bytes  # tail + head: what lies between two values of a run


def take_run(
    buf: bytearray,
    pos: int,
    limit: int,
    vary: int,
    names: Container[bytes],
    shape: RunShape | None,
) -> tuple[Taken, RunShape | None] | None:
    """Up to `limit` commands of one shape at `buf[pos:]` as columns (see
    `RequestParser.take_run`), with the position after them and the shape to try first
    next time (`shape`: the previous run's); None when there is no run of two or more."""
    if (
        shape is None
        or shape.vary != vary
        or not buf.startswith(shape.head, pos)
        or not buf.startswith(shape.tail, pos + len(shape.head) + shape.size)
    ):
        star = bytes(buf[pos : pos + 2])
        count = _COUNTS.get(star)
        if count is None:
            return None
        # the name first: other commands are not worth a split
        line = buf.find(b"\r\n", pos + 4, pos + 10)
        size = _SIZES.get(bytes(buf[pos + 4 : line])) if line > 0 else None
        if size is None or bytes(buf[line + 2 : line + 2 + size]) not in names:
            return None
        # A lone command (a request on its own) is not worth a shape: a run's second
        # command starts within the first's 10 KB (9 arguments under 1000 bytes).
        if buf.find(star + b"\r\n", pos + 4, pos + _WINDOW) < 0:
            return None
        shape = _first_shape(buf, pos, vary, count) if vary < count else None
    elif shape.args[0] not in names:
        return None
    else:
        star, count = shape.star, shape.count
    if shape is not None:
        if len(buf) - pos <= shape.length:  # one command (a lone request): no run
            return None
        same = _take_same(buf, pos, limit, shape)
        if same is not None:
            return same, shape
    split = _take_split(buf, pos, limit, star, count)
    return None if split is None else (split, shape)


def lone_command(data: bytes) -> list[bytes] | None:
    """The arguments of the one command `data` holds, when it holds exactly one complete
    command of 1 to 9 arguments, each under 1000 bytes, without a CRLF inside and not
    starting with '*', with the canonical headers of what follows them (what a client
    sends on its own); else None.

    Then splitting at every CRLF reads what Redis's length-prefixed parse reads: each
    header is the canonical `$<length>` of the part after it, so every part is exactly
    one argument and every CRLF the one its header's length implies.
    """
    # A line starting with '*' after the first: a pipeline (or an argument starting with
    # '*', left to the other paths), refused before any splitting.
    count = _COUNTS.get(data[:2])
    if count is None or data.find(b"\r\n*", 2) >= 0:
        return None
    parts = data.split(b"\r\n", 2 * count + 1)
    if len(parts) != 2 * count + 2 or parts[-1] or len(parts[0]) != 2:
        return None
    args = parts[2::2]
    try:
        if parts[1:-1:2] != list(map(_HEADERS.__getitem__, map(len, args))):
            return None
    except IndexError:  # an argument of 1000 bytes or more
        return None
    return args


def _take_same(buf: bytearray, pos: int, limit: int, shape: RunShape) -> Taken | None:
    """`take_run` for commands of `shape`: the varying argument of each is taken with one
    struct unpack, and one comparison checks the whole run against the bytes it implies."""
    head, tail, whole = shape.head, shape.tail, shape.length
    taken = min(limit, (len(buf) - pos) // whole)
    if taken < 2 or not buf.startswith(head, pos + (taken - 1) * whole):
        return None
    key = (len(head), shape.size, len(tail), taken)
    unpack = _UNPACKERS.get(key)
    if unpack is None:
        if len(_UNPACKERS) >= 32:
            _UNPACKERS.clear()
        layout = f"{len(head)}x{shape.size}s{len(tail)}x" * taken
        unpack = _UNPACKERS[key] = Struct(layout).unpack_from
    varied = unpack(buf, pos)
    end = pos + taken * whole
    # the buffer starts with `head` (checked): then value, `between`, value... `tail`
    if not buf.startswith(shape.between.join(varied), pos + len(head)) or not buf.startswith(
        tail, end - len(tail)
    ):
        return None
    columns = [[arg] * taken for arg in shape.args]
    columns[shape.vary] = list(varied)
    return columns, end


def _first_shape(buf: bytearray, pos: int, vary: int, count: int) -> RunShape | None:
    """The shape of the command at `pos` around argument `vary`; None unless its headers
    are canonical and every argument (under 1000 bytes) is followed by a CRLF."""
    find = buf.find
    args: list[bytes] = []
    at = pos + 4  # after "*<count>\r\n"
    start = size = 0
    for index in range(count):
        line = find(b"\r\n", at, at + 6)  # '$' and at most 3 digits
        length = _SIZES.get(bytes(buf[at:line])) if line > 0 else None
        if length is None:
            return None
        at = line + 2
        if index == vary:
            start, size = at, length
        args.append(bytes(buf[at : at + length]))
        at += length + 2
        if buf[at - 2 : at] != b"\r\n":
            return None
    head, tail = bytes(buf[pos:start]), bytes(buf[start + size : at])
    length = len(head) + size + len(tail)
    return RunShape(head, size, tail, args, vary, head[:2], count, length, tail + head)


def _take_split(buf: bytearray, pos: int, limit: int, star: bytes, count: int) -> Taken | None:
    """`take_run` for any run: the window is split at every CRLF at once (in C), so the
    commands' arguments fall on fixed strides. It holds exactly the commands Redis's
    length-prefixed parse would read when every header is the canonical `*<count>` /
    `$<length>` of what follows it, which a few list operations check per column."""
    stride = 2 * count + 1
    end = min(len(buf), pos + _WINDOW)
    parts = bytes(buf[pos:end]).split(b"\r\n", limit * stride)
    taken = min(limit, (len(parts) - 1) // stride)  # each followed by a CRLF
    if taken < 2:
        return None
    stop = taken * stride
    stars = parts[0:stop:stride]
    if stars.count(star) != taken:  # the run ends at the first other command
        taken = next(index for index, part in enumerate(stars) if part != star)
        if taken < 2:
            return None
        stop = taken * stride
    columns = []
    for at in range(2, stride, 2):
        column = parts[at:stop:stride]
        headers = parts[at - 1 : stop : stride]
        try:
            if column.count(column[0]) == taken:  # one value (names, keys, bits...)
                if headers.count(_HEADERS[len(column[0])]) != taken:
                    return None
            elif headers != list(map(_HEADERS.__getitem__, map(len, column))):
                return None
        except IndexError:  # an argument of 1000 bytes or more
            return None
        columns.append(column)
    if stop == len(parts) - 1 and not parts[-1]:
        return columns, end  # the window held these commands and nothing else
    return columns, pos + sum(map(len, parts[:stop])) + 2 * stop
