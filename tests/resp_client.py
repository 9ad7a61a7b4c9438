"""A raw RESP client for tests: send bytes, read back whole replies as their raw bytes.

Used to compare our server's wire output with a real redis-server's, byte for byte.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence

EOF = b"<EOF>"  # what `reply()` returns once the server closed the connection


def command(*args: bytes | str | int) -> bytes:
    """One command as a RESP multibulk request."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class RawConnection:
    """A plain TCP connection speaking raw RESP."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = bytearray()
        self.closed = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def call(self, *args: bytes | str | int) -> bytes:
        """Send one command, return its raw reply."""
        self.send(command(*args))
        return self.reply()

    def pipeline(self, commands: Sequence[Sequence[bytes | str | int]]) -> list[bytes]:
        """Send every command at once, return their raw replies in order."""
        self.send(b"".join(command(*args) for args in commands))
        return [self.reply() for _ in commands]

    def _fill(self) -> bool:
        if self.closed:
            return False
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            return False
        self.buf += data
        return True

    def _line(self, pos: int) -> int | None:
        while True:
            end = self.buf.find(b"\r\n", pos)
            if end >= 0:
                return end
            if not self._fill():
                return None

    def _skip(self, pos: int) -> int | None:
        """Position just after the complete reply starting at `pos`, reading as needed."""
        end = self._line(pos)
        if end is None:
            return None
        kind = self.buf[pos : pos + 1]
        head = bytes(self.buf[pos + 1 : end])
        after = end + 2
        if kind in (b"$", b"=", b"!") and head != b"-1":
            stop = after + int(head) + 2
            while len(self.buf) < stop:
                if not self._fill():
                    return None
            return stop
        if kind in (b"*", b"~", b">", b"%", b"|") and head != b"-1":
            count = int(head) * (2 if kind in (b"%", b"|") else 1)
            if kind == b"|":  # an attribute precedes the actual reply
                count += 1
            for _ in range(count):
                after = self._skip(after)
                if after is None:
                    return None
            return after
        return after

    def reply(self) -> bytes:
        """The next whole reply as raw bytes, or `EOF` if the server closed first."""
        if not self.buf and not self._fill():
            return EOF
        end = self._skip(0)
        if end is None:
            return EOF
        data = bytes(self.buf[:end])
        del self.buf[:end]
        return data

    def read_until_close(self, timeout: float = 5.0) -> bytes:
        """Everything the server sends until it closes the connection (then `EOF`)."""
        deadline = time.monotonic() + timeout
        self.sock.settimeout(timeout)
        while not self.closed and time.monotonic() < deadline:
            try:
                self._fill()
            except TimeoutError:
                break
        data = bytes(self.buf) + (EOF if self.closed else b"")
        self.buf.clear()
        return data

    def is_closed(self, timeout: float = 5.0) -> bool:
        """Whether the server closes the connection (within `timeout`) without sending more."""
        self.sock.settimeout(timeout)
        try:
            return not self._fill()
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
