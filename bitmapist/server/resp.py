"""Sans-IO RESP codec: bytes in -> commands, replies -> bytes, exactly as Redis 7.0 does.

`RequestParser` is fed raw bytes from a client and yields commands (lists of `bytes`
arguments). It follows Redis's `processMultibulkBuffer` / `processInlineBuffer` to the byte:
the same accepted forms (inline commands with `sdssplitargs` quoting, `*<n>` multibulk
with strict integers, `*0`/`*-1` ignored, the bulk's trailing two bytes skipped unchecked),
the same C-string quirks (a NUL byte hides a header's line end) and the same protocol error
texts. A protocol error is final for that connection: Redis replies to the commands before
it, then the error, then closes.

Replies are Python values handlers return; `encode(value, protocol)` writes them for
RESP2 or RESP3:

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
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Container, Iterable
from itertools import chain, islice
from operator import itemgetter
from struct import Struct
from typing import Any

import hiredis

__all__ = [
    "Ack",
    "DEFAULT_MAX_ARGS",
    "DEFAULT_MAX_BULK_LEN",
    "DEFAULT_MAX_INLINE",
    "Error",
    "Later",
    "Map",
    "NULL_ARRAY",
    "ProtocolError",
    "RequestParser",
    "Set",
    "Status",
    "Verbatim",
    "encode",
    "encode_int",
    "encode_many",
    "split_args",
]

#: Redis's `proto-max-bulk-len` default: longest accepted argument.
DEFAULT_MAX_BULK_LEN = 512 * 1024 * 1024
#: Most arguments in one command. Redis accepts up to INT_MAX; we stop far earlier.
DEFAULT_MAX_ARGS = 1024 * 1024
#: Redis's PROTO_INLINE_MAX_SIZE: longest inline command or header line.
DEFAULT_MAX_INLINE = 64 * 1024
_INT_MAX = 2**31 - 1
# The fast path parses at most this many bytes / commands at a time.
_FAST_WINDOW = 256 * 1024
_FAST_BATCH = 1024
_HEADER = [len(b"%d" % size) + 3 for size in range(1000)]  # len(b"$<size>\r\n")
_BULK = [size + _HEADER[size] + 2 for size in range(1000)]  # len(b"$<size>\r\n<data>\r\n")
_BIG_AGGREGATE = re.compile(rb"[*%~>|][0-9]{5}")
_BIG_ARRAY = re.compile(rb"\*[0-9]{5}")  # (a literal first byte: a much faster scan)
# Type bytes hiredis accepts besides '*' and '$' whose values could pass for a command
# ('+', '=' and '(' give bytes; '~', '>' and '|' give lists; '%' maps): a window without
# any of them holds only '*' arrays of '$' bulks, which the batch check relies on.
_LOOKALIKES = b"+=(~>|%"
_HEADER_T, _BULK_T = tuple(_HEADER), tuple(_BULK)  # for itemgetter(*sizes)
# A well-formed bulk header (Redis's strict integer syntax), for the fast path.
_BULK_HEADER = re.compile(rb"\$(0|[1-9][0-9]{0,17})\r\n")
# `take_run`: the canonical headers of arguments shorter than 1000 bytes, the counts it
# takes, and how far it looks (128 commands of up to 128 bytes).
_RUN_HEADERS = tuple(b"$%d" % size for size in range(1000))
_RUN_SIZES = {header: size for size, header in enumerate(_RUN_HEADERS)}
_RUN_COUNTS = {b"*%d" % count: count for count in range(1, 10)}
# `_take_same`'s unpackers by (head, argument, tail, commands) sizes; cleared when full
# (32 of up to ~4 KB each: a client cycling through shapes costs a new one per run).
_SAME_SHAPES: dict[tuple[int, int, int, int], Any] = {}
_RUN_WINDOW = 16 * 1024
# Limits Redis applies before a client has authenticated (when a password is set).
_UNAUTH_MAX_ARGS = 10
_UNAUTH_MAX_BULK = 16384


class ProtocolError(Exception):
    """The client broke the protocol; `reply` is the error Redis sends before closing."""

    def __init__(self, message: str):
        super().__init__(message)
        self.reply = Error(f"ERR Protocol error: {message}")


def _strict_int(text: bytes) -> int | None:
    """Redis's `string2ll`: optional '-', no '+', no spaces, no leading zeros; else None."""
    digits = text[1:] if text[:1] == b"-" else text
    if not digits.isdigit() or (digits[0] == 48 and len(text) != 1) or len(digits) > 19:
        return None  # "-0" is rejected too, as in Redis
    value = int(text)
    if not -(2**63) <= value < 2**63:
        return None
    return value


# Characters C's isspace() accepts; only some of them end an unquoted token.
_ISSPACE = frozenset(b" \t\n\v\f\r")
_TOKEN_END = frozenset(b" \n\r\t")
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_HEX = frozenset(b"0123456789abcdefABCDEF")


def split_args(line: bytes) -> list[bytes] | None:
    """Redis's `sdssplitargs`: split an inline command; None on unbalanced quotes."""
    end = line.find(b"\0")
    if end >= 0:  # a C string ends at its first NUL
        line = line[:end]
    args: list[bytes] = []
    pos, size = 0, len(line)
    while True:
        while pos < size and line[pos] in _ISSPACE:
            pos += 1
        if pos >= size:
            return args
        current = bytearray()
        in_double = in_single = False
        while True:
            char = line[pos] if pos < size else 0
            nxt = line[pos + 1] if pos + 1 < size else 0
            if in_double:
                if (
                    char == 0x5C
                    and nxt == 0x78
                    and pos + 3 < size
                    and line[pos + 2] in _HEX
                    and line[pos + 3] in _HEX
                ):
                    current.append(int(line[pos + 2 : pos + 4], 16))
                    pos += 3
                elif char == 0x5C and nxt:
                    pos += 1
                    current.append(_ESCAPES.get(nxt, nxt))
                elif char == 0x22:
                    if nxt and nxt not in _ISSPACE:
                        return None  # a closing quote must end the token
                    pos += 1
                    break
                elif not char:
                    return None
                else:
                    current.append(char)
            elif in_single:
                if char == 0x5C and nxt == 0x27:
                    pos += 1
                    current.append(0x27)
                elif char == 0x27:
                    if nxt and nxt not in _ISSPACE:
                        return None
                    pos += 1
                    break
                elif not char:
                    return None
                else:
                    current.append(char)
            elif not char or char in _TOKEN_END:
                pos += 1
                break
            elif char == 0x22:
                in_double = True
            elif char == 0x27:
                in_single = True
            else:
                current.append(char)
            pos += 1
        args.append(bytes(current))


_SENTINEL = b"*1\r\n$1\r\n!\r\n"
_SENTINEL_REPLY = [b"!"]


def _took_all(reader: Any) -> bool:
    """Whether `reader` has parsed every byte fed to it into complete replies.

    A command fed after them comes back whole and alone only then: a partial command
    left in the reader would take its bytes (or fail on them).
    """
    try:
        reader.feed(_SENTINEL)
        return reader.gets() == _SENTINEL_REPLY and reader.gets() is False
    except Exception:  # noqa: BLE001 - the partial command did not accept them
        return False


class RequestParser:
    """Incremental request parser for one connection (see the module docstring).

    `feed(data)` appends bytes; `parse()` returns the complete commands received so far
    and raises `ProtocolError` once the stream is broken (after which it must not be fed).
    `authenticated = False` applies Redis's tighter pre-AUTH limits.
    """

    __slots__ = (
        "_buf",
        "_pos",
        "_args",
        "_remaining",
        "_bulk_len",
        "_shape",
        "ready",
        "max_bulk_len",
        "max_args",
        "max_inline",
        "authenticated",
    )

    def __init__(
        self,
        *,
        max_bulk_len: int = DEFAULT_MAX_BULK_LEN,
        max_args: int = DEFAULT_MAX_ARGS,
        max_inline: int = DEFAULT_MAX_INLINE,
    ):
        self._buf = bytearray()
        self._pos = 0
        self._args: list[bytes] = []
        self._remaining = 0  # arguments still expected by the current multibulk
        self._bulk_len = -1  # length of the bulk being received, -1 before its header
        self._shape: tuple[Any, ...] | None = None  # the last run's, see `_take_same`
        #: Commands parsed ahead by the fast path: `next_command` pops them first (a
        #: caller may pop them itself, in order, before calling it).
        self.ready: deque[list[bytes]] = deque()
        self.max_bulk_len = max_bulk_len
        self.max_args = max_args
        self.max_inline = max_inline
        self.authenticated = True

    def feed(self, data: bytes | memoryview) -> None:
        """Append bytes received from the client."""
        self._buf += data

    @property
    def buffered(self) -> int:
        """Bytes received but not yet consumed (a partial command)."""
        return len(self._buf) - self._pos

    def next_command(self) -> list[bytes] | None:
        """The next complete command, or None until more bytes arrive.

        Raises `ProtocolError` when the stream is broken (commands before the break were
        returned by earlier calls, as Redis executes them before replying the error).
        """
        ready = self.ready
        if ready:
            return ready.popleft()
        buf = self._buf
        if (
            self._remaining == 0
            and self.authenticated
            and self._pos < len(buf)
            and buf[self._pos] == 0x2A
            and self._fast_fill()
        ):
            return ready.popleft()
        try:
            while self._pos < len(buf):
                if self._remaining:
                    command = self._multibulk_args()
                elif buf[self._pos] == 0x2A:  # '*'
                    command = self._multibulk_header()
                else:
                    command = self._inline()
                if command is None:
                    return None
                if command:
                    return command
            return None
        finally:
            self._consumed(self._pos)

    def take_run(self, limit: int, vary: int, names: Container[bytes]) -> list[list[bytes]] | None:
        """Consume up to `limit` complete commands at the front of the buffer that all
        have the same number (1 to 9) of arguments, each under 1000 bytes and without a
        CRLF inside, the first one's first argument (its name) in `names`, and return
        them as argument columns: `columns[i][j]` is argument `i` of the `j`-th command.
        None, consuming nothing, when the buffer does not start with two such commands
        (`next_command` takes it from there).

        Commands that are all the first one but for argument `vary`, of one length
        there, are taken whole (`_take_same`); others are split at every CRLF.
        """
        buf, pos = self._buf, self._pos
        if self._remaining or self.ready or not self.authenticated or self.max_bulk_len < 1000:
            return None
        shape = self._shape  # the last run's, if the buffer starts with a command of it
        if (
            shape is None
            or shape[4] != vary
            or not buf.startswith(shape[0], pos)
            or not buf.startswith(shape[2], pos + shape[5])
        ):
            star = bytes(buf[pos : pos + 2])
            count = _RUN_COUNTS.get(star)
            if count is None or count > self.max_args:
                return None
            # the name first: other commands are not worth a split
            line = buf.find(b"\r\n", pos + 4, pos + 10)
            size = _RUN_SIZES.get(bytes(buf[pos + 4 : line])) if line > 0 else None
            if size is None or bytes(buf[line + 2 : line + 2 + size]) not in names:
                return None
            shape = self._shape = self._first_shape(vary, count) if vary < count else None
            if shape is None:
                return self._take_split(limit, star, count)
        elif shape[3][0] not in names:
            return None
        return self._take_same(limit, shape) or self._take_split(limit, shape[7], shape[8])

    def _take_same(self, limit: int, shape: tuple[Any, ...]) -> list[list[bytes]] | None:
        """`take_run` for commands equal to the first one but for one argument, which has
        the same length in all of them: the first command's bytes around it (`shape`,
        see `_first_shape`) are the rest of every command, so one struct unpack takes
        that argument from each, and one comparison checks the whole run against the
        bytes they imply."""
        buf, pos = self._buf, self._pos
        head, size, tail, args, vary, before_tail, between, _, _ = shape
        whole = before_tail + len(tail)
        taken = min(limit, (len(buf) - pos) // whole)
        if taken < 2 or not buf.startswith(head, pos + (taken - 1) * whole):
            return None
        key = (len(head), size, len(tail), taken)
        unpack = _SAME_SHAPES.get(key)
        if unpack is None:
            if len(_SAME_SHAPES) >= 32:
                _SAME_SHAPES.clear()
            unpack = _SAME_SHAPES[key] = Struct(
                f"{len(head)}x{size}s{len(tail)}x" * taken
            ).unpack_from
        varied = unpack(buf, pos)
        end = pos + taken * whole
        # the buffer starts with `head` (checked): then value, `between`, value... `tail`
        if not buf.startswith(between.join(varied), pos + len(head)) or not buf.startswith(
            tail, end - len(tail)
        ):
            return None
        self._consumed(end)
        columns = [[arg] * taken for arg in args]
        columns[vary] = list(varied)
        return columns

    def _first_shape(self, vary: int, count: int) -> tuple[Any, ...] | None:
        """The first command's bytes before and after argument `vary`'s value, that
        value's size, its arguments, and a few sums of those; None unless its headers are
        canonical and every argument (under 1000 bytes) is followed by a CRLF."""
        buf, pos = self._buf, self._pos
        find = buf.find
        args: list[bytes] = []
        at = pos + 4  # after "*<count>\r\n"
        start = size = 0
        for index in range(count):
            line = find(b"\r\n", at, at + 6)  # '$' and at most 3 digits
            length = _RUN_SIZES.get(bytes(buf[at:line])) if line > 0 else None
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
        return head, size, tail, args, vary, len(head) + size, tail + head, head[:2], count

    def _take_split(self, limit: int, star: bytes, count: int) -> list[list[bytes]] | None:
        """`take_run` for any run: the window is split at every CRLF at once (in C), so
        the commands' arguments fall on fixed strides. It holds exactly the commands
        Redis's length-prefixed parse would read when every header is the canonical
        `*<count>` / `$<length>` of what follows it, which a few list operations check
        per column."""
        buf, pos = self._buf, self._pos
        stride = 2 * count + 1
        end = min(len(buf), pos + _RUN_WINDOW)
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
                    if headers.count(_RUN_HEADERS[len(column[0])]) != taken:
                        return None
                elif headers != list(map(_RUN_HEADERS.__getitem__, map(len, column))):
                    return None
            except IndexError:  # an argument of 1000 bytes or more
                return None
            columns.append(column)
        if stop == len(parts) - 1 and not parts[-1]:
            self._consumed(end)  # the window held these commands and nothing else
        else:
            self._consumed(pos + sum(map(len, parts[:stop])) + 2 * stop)
        return columns

    def _fast_fill(self) -> bool:
        """Parse well-formed multibulk commands with hiredis (C); False if none.

        hiredis accepts only canonical integers, so a run of '*' arrays of '$' bulk
        strings took exactly its canonical length, which a few C-level passes compute
        for the whole batch. Anything else (inline commands, errors, other types,
        limits, huge counts, a byte that could start another type) goes through
        `_fast_fill_checked`, which verifies each argument's position, or stops the
        fast path and is left to the exact parser.
        """
        buf, pos = self._buf, self._pos
        end = min(len(buf), pos + _FAST_WINDOW)
        if self.max_bulk_len < 1000:  # the size tables assume sizes below 1000 pass
            return False
        if len(buf[pos:end].translate(None, _LOOKALIKES)) != end - pos:
            return self._fast_fill_checked(pos, end)
        # hiredis spends time per *declared* element when freed: big counts go the slow way.
        big = _BIG_ARRAY.search(buf, pos, end)
        if big is not None:
            end = big.start()
        if end <= pos:
            return False
        reader = hiredis.Reader()
        reader.feed(buf, pos, end - pos)
        try:
            commands = list(islice(iter(reader.gets, False), _FAST_BATCH))
        except Exception:  # noqa: BLE001 - a hiredis error somewhere in the window
            return self._fast_fill_checked(pos, end)
        if not commands:
            return False
        try:
            # Without the look-alike bytes, a reply that is not a list of bytes (a nested
            # array, a null, an integer...) makes the join (or the chain) raise TypeError.
            flat = list(chain.from_iterable(commands))
            b"".join(flat)
            counts = list(map(len, commands))
            if min(counts) == 0 or (self.max_args < 10_000 and max(counts) > self.max_args):
                return self._fast_fill_checked(pos, end)
            if self.max_bulk_len >= _FAST_WINDOW and _took_all(reader):
                stop = end  # no argument can pass the limit, and no partial command is left
            else:
                # an IndexError (a count or size of 1000 or more) takes the checked way
                # (index 0 first, taken back after: one index alone gives no tuple)
                stop = pos + sum(itemgetter(0, *counts)(_HEADER_T)) - _HEADER_T[0]
                stop += sum(itemgetter(0, *map(len, flat))(_BULK_T)) - _BULK_T[0]
        except (IndexError, TypeError):
            return self._fast_fill_checked(pos, end)
        self.ready.extend(commands)
        self._consumed(stop)
        return True

    def _consumed(self, pos: int) -> None:
        """Parsed up to `pos`: compact the buffer now and then, not after every command."""
        buf = self._buf
        if pos == len(buf) or (pos > 65536 and pos * 2 > len(buf)):
            del buf[:pos]
            pos = 0
        self._pos = pos

    def _fast_fill_checked(self, pos: int, end: int) -> bool:
        """`_fast_fill` verifying the position of every argument (see there)."""
        buf = self._buf
        big = _BIG_AGGREGATE.search(buf, pos, end)
        if big is not None:
            end = big.start()
        if end <= pos:
            return False
        reader = hiredis.Reader()
        reader.feed(buf, pos, end - pos)
        ready = self.ready
        max_args, max_bulk = self.max_args, self.max_bulk_len
        try:
            for _ in range(_FAST_BATCH):
                command = reader.gets()
                # a '~' set or '>' push parses as a list too: each command must be a '*'
                if type(command) is not list or not command or buf[pos] != 0x2A:
                    break
                if len(command) > max_args:
                    break
                count = len(command)
                at = pos + (_HEADER[count] if count < 1000 else len(b"%d" % count) + 3)
                for arg in command:
                    # simple strings come back as bytes too: each element must be a '$' bulk
                    if type(arg) is not bytes or buf[at] != 0x24:
                        at = -1
                        break
                    size = len(arg)
                    if size < 1000:
                        at += _HEADER[size] + size + 2
                    elif size <= max_bulk:
                        at += len(b"%d" % size) + size + 5
                    else:
                        at = -1
                        break
                if at < 0:
                    break
                ready.append(command)
                pos = at
        except Exception:  # noqa: BLE001 - hiredis errors, or a RESP3 map with list keys
            pass  # whatever it is, the exact parser will report it the Redis way
        self._consumed(pos)
        return bool(ready)

    def parse(self) -> list[list[bytes]]:
        """Every complete command in the buffer, in order (see `next_command`)."""
        commands: list[list[bytes]] = []
        while (command := self.next_command()) is not None:
            commands.append(command)
        return commands

    def _line_end(self, what: str) -> int:
        """Index of the '\\r' ending the header at `_pos`, or -1 if it has not arrived."""
        buf, pos = self._buf, self._pos
        end = buf.find(b"\r", pos)
        if end >= 0 and buf.find(b"\0", pos, end) >= 0:
            end = -1  # Redis's strchr stops at NUL
        if end < 0:
            if len(buf) - pos > self.max_inline:
                raise ProtocolError(f"too big {what} count string")
            return -1
        if end + 2 > len(buf):
            return -1  # the byte after '\r' is skipped unchecked but must have arrived
        return end

    def _multibulk_header(self) -> list[bytes] | None:
        end = self._line_end("mbulk")
        if end < 0:
            return None
        count = _strict_int(bytes(self._buf[self._pos + 1 : end]))
        if count is None or count > _INT_MAX or count > self.max_args:
            raise ProtocolError("invalid multibulk length")
        if count > _UNAUTH_MAX_ARGS and not self.authenticated:
            raise ProtocolError("unauthenticated multibulk length")
        self._pos = end + 2
        if count <= 0:
            return []  # Redis ignores empty multibulks
        self._remaining = count
        self._args = []
        return self._multibulk_args()

    def _multibulk_args(self) -> list[bytes] | None:
        buf = self._buf
        args = self._args
        size = len(buf)
        bulk_header = _BULK_HEADER.match
        while self._remaining:
            if self._bulk_len < 0:
                pos = self._pos
                match = bulk_header(buf, pos)  # fast path: a well-formed `$<n>\r\n`
                if (
                    match is not None
                    and int(match.group(1)) <= self.max_bulk_len
                    and (self.authenticated or int(match.group(1)) <= _UNAUTH_MAX_BULK)
                ):
                    self._bulk_len = int(match.group(1))
                    self._pos = match.end()
                else:
                    self._bulk_header()
                    if self._bulk_len < 0:
                        return None
            start = self._pos
            stop = start + self._bulk_len
            if stop + 2 > size:
                return None
            args.append(bytes(buf[start:stop]))
            self._pos = stop + 2  # Redis skips the CRLF without looking at it
            self._bulk_len = -1
            self._remaining -= 1
        self._args = []
        return args

    def _bulk_header(self) -> None:
        """Parse a `$<n>` header exactly as Redis does (errors, NULs, partial lines)."""
        buf = self._buf
        end = self._line_end("bulk")
        if end < 0:
            return
        pos = self._pos
        if buf[pos] != 0x24:  # '$'
            got = bytes(buf[pos : pos + 1]).decode("utf-8", "surrogateescape")
            raise ProtocolError(f"expected '$', got '{got}'")
        length = _strict_int(bytes(buf[pos + 1 : end]))
        if length is None or length < 0 or length > self.max_bulk_len:
            raise ProtocolError("invalid bulk length")
        if length > _UNAUTH_MAX_BULK and not self.authenticated:
            raise ProtocolError("unauthenticated bulk length")
        self._pos = end + 2
        self._bulk_len = length

    def _inline(self) -> list[bytes] | None:
        buf, pos = self._buf, self._pos
        newline = buf.find(b"\n", pos)
        if newline >= 0 and buf.find(b"\0", pos, newline) >= 0:
            newline = -1  # Redis's strchr stops at NUL
        if newline < 0:
            if len(buf) - pos > self.max_inline:
                raise ProtocolError("too big inline request")
            return None
        end = newline - 1 if newline > pos and buf[newline - 1] == 13 else newline
        args = split_args(bytes(buf[pos:end]))
        if args is None:
            raise ProtocolError("unbalanced quotes in request")
        self._pos = newline + 1
        return args


# --- replies


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
    elif kind is bool:
        out.append((b"#t\r\n" if value else b"#f\r\n") if resp3 else _INTS[int(value) + 2])
    elif value is NULL_ARRAY:
        out.append(b"_\r\n" if resp3 else b"*-1\r\n")
    elif kind is str:
        data = value.encode("utf-8", "surrogateescape")
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    else:
        raise TypeError(f"cannot encode {value!r} as a RESP reply")


def encode_int(value: int) -> bytes:
    """The wire bytes of an integer reply (`:n`)."""
    return _INTS[value + 2] if -2 <= value < 1022 else b":%d\r\n" % value


def encode(value: Any, protocol: int = 2) -> bytes:
    """The wire bytes of one reply in RESP `protocol` (2 or 3)."""
    out: list[bytes] = []
    _encode_into(out, value, protocol == 3)
    return b"".join(out)


def encode_many(values: Iterable[Any], protocol: int = 2) -> bytes:
    """The wire bytes of several replies, back to back."""
    out: list[bytes] = []
    resp3 = protocol == 3
    for value in values:
        _encode_into(out, value, resp3)
    return b"".join(out)
