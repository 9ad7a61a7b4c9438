"""Sans-IO request parsing: bytes from a client -> commands, exactly as Redis 7.0 reads them.

`RequestParser` is fed raw bytes and hands out commands (lists of `bytes` arguments). It
follows Redis's `processMultibulkBuffer` / `processInlineBuffer` to the byte: the same
accepted forms (inline commands with `sdssplitargs` quoting, `*<n>` multibulk with strict
integers, `*0`/`*-1` ignored, the bulk's trailing two bytes skipped unchecked), the same
C-string quirks (a NUL byte hides a header's line end) and the same protocol error texts.
A protocol error is final for that connection: Redis replies to the commands before it,
then the error, then closes.

Behind that one interface are two fast paths, each checked to give exactly what the
exact parse would: hiredis's C reader (as redis-py uses it) for runs of well-formed
multibulk commands, each argument's position verified; and `take_run` (`runs.py`), which
takes commands of one shape at once as argument columns.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Container

import hiredis

from .resp import Error, strict_int
from .runs import RunShape, lone_command, take_run

__all__ = [
    "DEFAULT_MAX_ARGS",
    "DEFAULT_MAX_BULK_LEN",
    "DEFAULT_MAX_INLINE",
    "ProtocolError",
    "RequestParser",
    "split_args",
]

#: Redis's `proto-max-bulk-len` default: longest accepted argument.
DEFAULT_MAX_BULK_LEN = 512 * 1024 * 1024
#: Most arguments in one command. Redis accepts up to INT_MAX; we stop far earlier.
DEFAULT_MAX_ARGS = 1024 * 1024
#: Redis's PROTO_INLINE_MAX_SIZE: longest inline command or header line.
DEFAULT_MAX_INLINE = 64 * 1024
_INT_MAX = 2**31 - 1
# hiredis parses at most this many bytes / commands at a time.
_FAST_WINDOW = 256 * 1024
_FAST_BATCH = 1024
_HEADER = [len(b"%d" % size) + 3 for size in range(1000)]  # len(b"$<size>\r\n")
# The longest command `lone` takes: 9 arguments of 999 bytes and their headers.
_LONE_MAX = 4 + 9 * (6 + 999 + 2)
# hiredis spends time per *declared* element when freed: big counts go the exact way.
_BIG_AGGREGATE = re.compile(rb"[*%~>|][0-9]{5}")
# A well-formed bulk header (Redis's strict integer syntax), for the exact parser.
_BULK_HEADER = re.compile(rb"\$(0|[1-9][0-9]{0,17})\r\n")
# Limits Redis applies before a client has authenticated (when a password is set).
_UNAUTH_MAX_ARGS = 10
_UNAUTH_MAX_BULK = 16384


class ProtocolError(Exception):
    """The client broke the protocol; `reply` is the error Redis sends before closing."""

    def __init__(self, message: str):
        super().__init__(message)
        self.reply = Error(f"ERR Protocol error: {message}")


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


class RequestParser:
    """Incremental request parser for one connection (see the module docstring).

    `feed(data)` appends bytes; `next_command()` returns the next complete command and
    `take_run()` a run of them as columns; both raise `ProtocolError` once the stream is
    broken (after which the parser must not be fed). `authenticated = False` applies
    Redis's tighter pre-AUTH limits; the others are set when it is made. `fast=False`
    leaves only the exact parse (the reference the fast paths are tested against).
    """

    __slots__ = (
        "_buf",
        "_pos",
        "_args",
        "_remaining",
        "_bulk_len",
        "_shape",
        "_ready",
        "_fast",
        "_short",
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
        fast: bool = True,
    ):
        self._buf = bytearray()
        self._pos = 0
        self._args: list[bytes] = []
        self._remaining = 0  # arguments still expected by the current multibulk
        self._bulk_len = -1  # length of the bulk being received, -1 before its header
        self._shape: RunShape | None = None  # the last run's (see `runs.take_run`)
        self._ready: deque[list[bytes]] = deque()  # parsed ahead by hiredis
        self._fast = fast
        self.max_bulk_len = max_bulk_len
        self.max_args = max_args
        # `take_run` and `lone` may take commands (9 arguments under 1000 bytes at most)
        self._short = fast and max_bulk_len >= 1000 and max_args >= 9
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
        ready = self._ready
        if ready:
            return ready.popleft()
        buf = self._buf
        if (
            self._fast
            and self._remaining == 0
            and self.authenticated
            and self._pos < len(buf)
            and buf[self._pos] == 0x2A
            and self._fill_with_hiredis()
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

    def lone(self, data: bytes | memoryview) -> list[bytes] | None:
        """The command `data` holds when nothing is buffered before it and it is exactly
        one complete command that `take_run` could read (1 to 9 arguments, each under
        1000 bytes, no CRLF inside, canonical headers): a request on its own, parsed
        without buffering it. None otherwise, consuming nothing (`feed` it then)."""
        if (
            self._pos != len(self._buf)
            or self._ready
            or self._remaining
            or not self._short
            or len(data) > _LONE_MAX
        ):
            return None
        return lone_command(bytes(data))

    def take_run(self, limit: int, vary: int, names: Container[bytes]) -> list[list[bytes]] | None:
        """Consume up to `limit` complete commands at the front of the buffer that all
        have the same number (1 to 9) of arguments, each under 1000 bytes and without a
        CRLF inside, the first one's first argument (its name) in `names`, and return
        them as argument columns: `columns[i][j]` is argument `i` of the `j`-th command.
        None, consuming nothing, when the buffer does not start with two such commands
        (`next_command` takes it from there). Commands that differ only in argument
        `vary` are taken fastest.
        """
        if not self._short or self._remaining or self._ready or not self.authenticated:
            return None
        taken = take_run(self._buf, self._pos, limit, vary, names, self._shape)
        if taken is None:
            return None
        (columns, end), self._shape = taken
        self._consumed(end)
        return columns

    def _fill_with_hiredis(self) -> bool:
        """Parse well-formed multibulk commands with hiredis (C) into `_ready`; False if
        none. hiredis accepts more than Redis (other RESP types, no limits), so each
        command counts only if it is a '*' array of '$' bulks at exactly the position its
        canonical size implies, within the limits; the first that is not (or a hiredis
        error) is left to the exact parser, which reports it the Redis way."""
        buf, pos = self._buf, self._pos
        end = min(len(buf), pos + _FAST_WINDOW)
        big = _BIG_AGGREGATE.search(buf, pos, end)
        if big is not None:
            end = big.start()
        if end <= pos:
            return False
        reader = hiredis.Reader()
        reader.feed(buf, pos, end - pos)
        ready, header = self._ready, _HEADER
        max_args, max_bulk = self.max_args, self.max_bulk_len
        try:
            for _ in range(_FAST_BATCH):
                command = reader.gets()
                # a '~' set or '>' push parses as a list too: each command must be a '*'
                if type(command) is not list or not command or buf[pos] != 0x2A:
                    break
                count = len(command)
                if count > max_args:
                    break
                at = pos + (header[count] if count < 1000 else len(b"%d" % count) + 3)
                for arg in command:
                    # simple strings come back as bytes too: each element must be a '$' bulk
                    if type(arg) is not bytes or buf[at] != 0x24:
                        at = -1
                        break
                    size = len(arg)
                    if size > max_bulk:
                        at = -1
                        break
                    at += (header[size] if size < 1000 else len(b"%d" % size) + 3) + size + 2
                if at < 0:
                    break
                ready.append(command)
                pos = at
        except Exception:  # noqa: BLE001 - hiredis errors, or a RESP3 map with list keys
            pass  # whatever it is, the exact parser will report it the Redis way
        self._consumed(pos)
        return bool(ready)

    def _consumed(self, pos: int) -> None:
        """Parsed up to `pos`: compact the buffer now and then, not after every command."""
        buf = self._buf
        if pos == len(buf) or (pos > 65536 and pos * 2 > len(buf)):
            del buf[:pos]
            pos = 0
        self._pos = pos

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
        count = strict_int(bytes(self._buf[self._pos + 1 : end]))
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
        length = strict_int(bytes(buf[pos + 1 : end]))
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
