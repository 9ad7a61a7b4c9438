"""MIGRATE: move (or copy) keys to another Redis-protocol server, as Redis 7.0's
`migrateCommand` (src/cluster.c): a DUMP payload of each key, sent as `RESTORE`.

One pipelined request: `AUTH` (when asked), `SELECT db`, then `RESTORE key ttl payload
[REPLACE]` per key that exists (its remaining TTL kept). The replies are read line by
line as Redis reads them; each key the target acknowledged is deleted here (unless
COPY) through the write batcher, so the reply is sent once the deletes are committed.

Like Redis, the connection is a blocking socket with the command's timeout: the server
answers nothing else while MIGRATE waits for the target. Unlike Redis, the connection is
not cached for 10 s (every MIGRATE connects and sends `SELECT`).
"""

from __future__ import annotations

import socket
from typing import Any

from ...engine import Delete
from .. import rdb
from ..batch import Deferred
from ..resp import OK, Error, Status, strict_int
from ..session import ServerState, Session
from .arguments import NOT_INTEGER, SYNTAX, cstr, now_ms

NOKEY = Status("NOKEY")
KEYS_NEED_EMPTY_KEY = Error(
    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
)
CONNECTING = Error("IOERR error or timeout connecting to the client")
WRITING = Error("IOERR error or timeout writing to target instance")
READING = Error("IOERR error or timeout reading to target instance")
_LONG = range(-(2**63), 2**63)
_LINE_MAX = 1023  # Redis reads each reply line into a 1024-byte buffer


class _Options:
    copy = replace = False
    username: bytes | None = None
    password: bytes | None = None
    first_key = 3
    num_keys = 1


def _options(args: list[bytes]) -> _Options | Error:
    """COPY, REPLACE, AUTH password, AUTH2 username password, KEYS key... (last)."""
    options = _Options()
    position = 6
    while position < len(args):
        more = len(args) - 1 - position
        option = args[position].lower()
        if option == b"copy":
            options.copy = True
        elif option == b"replace":
            options.replace = True
        elif option == b"auth":
            if not more:
                return SYNTAX
            options.password = args[position + 1]
            position += 1
        elif option == b"auth2":
            if more < 2:
                return SYNTAX
            options.username, options.password = args[position + 1 : position + 3]
            position += 2
        elif option == b"keys":
            if args[3]:
                return KEYS_NEED_EMPTY_KEY
            options.first_key = position + 1
            options.num_keys = len(args) - position - 1
            break
        else:
            return SYNTAX
        position += 1
    return options


def _command(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def _port(text: bytes) -> int:
    """C's atoi, as Redis reads the port (then truncated to 16 bits, as getaddrinfo)."""
    digits = text.lstrip()
    sign = -1 if digits[:1] == b"-" else 1
    digits = digits[1:] if digits[:1] in (b"-", b"+") else digits
    end = 0
    while end < len(digits) and digits[end : end + 1].isdigit():
        end += 1
    return (sign * int(digits[:end] or b"0")) & 0xFFFF


def migrate(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw] [AUTH2 user pw]
    [KEYS key...]: checks in Redis's order (options, timeout, db), +NOKEY when no key
    exists, else +OK, the target's first error, or an IOERR."""
    options = _options(args)
    if type(options) is Error:
        return options
    timeout, dbid = strict_int(args[5]), strict_int(args[4])
    if timeout is None or dbid is None or timeout not in _LONG or dbid not in _LONG:
        return NOT_INTEGER
    if timeout <= 0:
        timeout = 1000
    db = session.db
    names = args[options.first_key : options.first_key + options.num_keys]
    found = []
    for name in names:
        value = state.keyspace.value(db, name)
        state.looked_up(value is not None)
        if value is not None:
            found.append((name, value))
    if not found:
        return NOKEY
    request, keys = _request(state, db, dbid, options, found)
    reply, acknowledged = _send(args[1], args[2], min(timeout, 10**12) / 1000, request, keys)
    if options.copy or not acknowledged:
        return reply

    def finish(results: list[Any]) -> Any:
        for key, existed in zip(acknowledged, results):
            if existed:
                state.touch(db, key)
        return reply

    return Deferred([Delete(key, db) for key in acknowledged], finish, len(acknowledged))


def _request(
    state: ServerState, db: int, dbid: int, options: _Options, found: list[tuple[bytes, Any]]
) -> tuple[list[bytes], list[bytes]]:
    """The commands to send (AUTH, SELECT, a RESTORE per key still alive) and those keys."""
    request = []
    if options.password is not None:
        user = () if options.username is None else (options.username,)
        request.append(_command(b"AUTH", *user, options.password))
    request.append(_command(b"SELECT", b"%d" % dbid))
    keys = []
    now = now_ms()
    for name, value in found:
        ttl = 0
        expire_at = state.keyspace.expiry(db, name)
        if expire_at >= 0:
            ttl = expire_at - now
            if ttl < 0:
                continue  # expired since it was looked up
            ttl = max(ttl, 1)
        keys.append(name)
        restore = [b"RESTORE", name, b"%d" % ttl, rdb.dump_payload(value.to_bytes())]
        request.append(_command(*restore, *((b"REPLACE",) if options.replace else ())))
    return request, keys


def _send(
    host: bytes, port: bytes, timeout: float, request: list[bytes], keys: list[bytes]
) -> tuple[Any, list[bytes]]:
    """Send the request, read the replies: (the reply, the keys the target restored).
    As Redis, a socket error before any RESTORE reply is retried once (unless it timed
    out)."""
    prefix = len(request) - len(keys)  # AUTH and SELECT replies come first
    for attempt in (0, 1):
        try:
            sock = _connect(host, port, timeout)
        except _Failure as failure:
            return failure.reply, []
        acknowledged: list[bytes] = []
        error = None
        try:
            with sock:
                try:
                    sock.sendall(b"".join(request))
                except OSError as exc:
                    raise _Failure(WRITING, isinstance(exc, TimeoutError)) from exc
                reader = _LineReader(sock)
                head = [reader.line() for _ in range(prefix)]
                for key in keys:
                    line = reader.line()
                    failed = next((h for h in head if h[:1] == b"-"), None)
                    if failed is None and line[:1] == b"-":
                        failed = line
                    if failed is None:
                        acknowledged.append(key)
                    elif error is None:
                        error = Error(
                            "ERR Target instance replied with error: " + cstr(failed[1:], 1 << 30)
                        )
        except _Failure as failure:
            if error is not None:
                return error, acknowledged
            if attempt == 0 and not acknowledged and not failure.timed_out:
                continue
            return failure.reply, acknowledged
        return (OK if error is None else error), acknowledged
    raise AssertionError("unreachable")


class _Failure(Exception):
    def __init__(self, reply: Error, timed_out: bool = False):
        super().__init__(reply)
        self.reply, self.timed_out = reply, timed_out


def _connect(host: bytes, port: bytes, timeout: float) -> socket.socket:
    """Connected within the timeout. Redis connects without blocking and reports only
    a failed name lookup or a timeout as such; a refused connection surfaces at the
    write."""
    try:
        addresses = socket.getaddrinfo(
            host.decode("utf-8", "surrogateescape"), _port(port), type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError) as exc:
        raise _Failure(CONNECTING) from exc
    family, kind, proto, _name, address = addresses[0]
    sock = socket.socket(family, kind, proto)
    sock.settimeout(timeout)
    try:
        sock.connect(address)
    except TimeoutError as exc:
        sock.close()
        raise _Failure(CONNECTING, True) from exc
    except OSError as exc:
        sock.close()
        raise _Failure(WRITING) from exc
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class _LineReader:
    """Reply lines as Redis's `connSyncReadLine` reads them (at most 1023 bytes, the
    trailing CR dropped); EOF or a timeout is a reading failure."""

    def __init__(self, sock: socket.socket):
        self.sock, self.buf = sock, b""

    def line(self) -> bytes:
        while b"\n" not in self.buf[: _LINE_MAX + 1] and len(self.buf) < _LINE_MAX:
            try:
                data = self.sock.recv(65536)
            except OSError as exc:
                raise _Failure(READING, isinstance(exc, TimeoutError)) from exc
            if not data:
                raise _Failure(READING)
            self.buf += data
        end = self.buf.find(b"\n", 0, _LINE_MAX + 1)
        if end < 0:
            line, self.buf = self.buf[:_LINE_MAX], self.buf[_LINE_MAX:]
            return line
        line, self.buf = self.buf[:end], self.buf[end + 1 :]
        return line[:-1] if line.endswith(b"\r") else line
