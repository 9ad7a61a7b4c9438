"""The command table: name -> handler over the keyspace, and Redis's dispatch rules.

Handlers know no bytes on the wire: they take the session, the server state and the
arguments, and return a reply value (`resp` types) or a `Deferred` write. `execute()`
follows Redis 7.0's `processCommand`: unknown command / subcommand, arity, NOAUTH, MULTI
queuing, then the call. Error texts are Redis's, to the byte.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from ..engine import Delete, Expire, FlushAll, FlushDb, Put, Rename, Value, now_ms
from . import bitops, info, scan
from .batch import Deferred
from .resp import NULL_ARRAY, OK, Error, Map, Status, Verbatim, _strict_int
from .session import REDIS_VERSION, ServerState, Session

Handler = Callable[[ServerState, Session, list[bytes]], Any]

QUEUED = Status("QUEUED")
NOAUTH = Error("NOAUTH Authentication required.")
SYNTAX = Error("ERR syntax error")
NOT_INTEGER = Error("ERR value is not an integer or out of range")
WRONGPASS = Error("WRONGPASS invalid username-password pair or user is disabled.")
_LLONG_MAX = 2**63 - 1
_LLONG_MIN = -(2**63)


class Command(NamedTuple):
    """One command: Redis's full name (`client|setname`), arity, handler, flags."""

    name: str
    arity: int
    handler: Handler
    batched: bool = False  # a writer that may return Deferred (no flush before it)
    noauth: bool = False  # allowed before AUTH
    unqueued: bool = False  # runs at once inside MULTI (EXEC, DISCARD, MULTI, WATCH, QUIT)
    subcommands: dict[bytes, Command] | None = None


TABLE: dict[bytes, Command] = {}


def command(
    name: str, arity: int, *, parent: str | None = None, **flags: bool
) -> Callable[[Handler], Handler]:
    """Register a handler (a subcommand when `parent` is given)."""

    def register(handler: Handler) -> Handler:
        if parent is None:
            TABLE[name.encode()] = Command(name, arity, handler, **flags)
        else:
            container = TABLE[parent.encode()]
            assert container.subcommands is not None
            container.subcommands[name.encode()] = Command(
                f"{parent}|{name}", arity, handler, **flags
            )
        return handler

    return register


def container(name: str, arity: int = -2) -> None:
    """Register a command that only has subcommands (CLIENT, COMMAND)."""
    TABLE[name.encode()] = Command(name, arity, _no_handler, subcommands={})


def _no_handler(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return Error("ERR no subcommand given")


# --- dispatch


def _cstr(data: bytes, limit: int) -> str:
    """`%.<limit>s` of a C string: stops at NUL, at most `limit` bytes."""
    end = data.find(b"\0")
    if end >= 0:
        data = data[:end]
    return data[:limit].decode("utf-8", "surrogateescape")


def unknown_command(args: list[bytes]) -> Error:
    text = ""
    for arg in args[1:]:
        if len(text.encode("utf-8", "surrogateescape")) >= 128:
            break
        room = 128 - len(text.encode("utf-8", "surrogateescape"))
        text += f"'{_cstr(arg, room)}' "
    return Error(f"ERR unknown command '{_cstr(args[0], 128)}', with args beginning with: {text}")


def lookup(args: list[bytes]) -> Command | Error:
    """The command `args` names, or the error Redis gives for it."""
    cmd = _resolve(args)
    if type(cmd) is Error:
        return cmd
    arity = cmd.arity
    if (arity > 0 and len(args) != arity) or len(args) < -arity:
        return Error(f"ERR wrong number of arguments for '{cmd.name}' command")
    return cmd


def _resolve(args: list[bytes]) -> Command | Error:
    cmd = TABLE.get(args[0].lower())
    if cmd is None:
        return unknown_command(args)
    if cmd.subcommands is not None and len(args) >= 2:
        sub = cmd.subcommands.get(args[1].lower())
        if sub is None:
            return Error(
                f"ERR unknown subcommand '{_cstr(args[1], 128)}'. "
                f"Try {_cstr(args[0], 1 << 30).upper()} HELP."
            )
        cmd = sub
    return cmd


def _reject(state: ServerState, session: Session, args: list[bytes], error: Error) -> Error:
    """Redis's `rejectCommand`: flag the transaction; a rejected EXEC aborts it."""
    if session.multi is not None:
        session.multi_dirty = True
    if args[0].lower() == b"exec" and not error.startswith("ERR unknown"):
        _discard(state, session)
        reason = error[4:] if error.startswith("ERR ") else error
        return Error(f"EXECABORT Transaction discarded because of: {reason}")
    return error


# Plain (subcommand-less) commands by their name as sent: skips lower() and arity parsing.
# Each entry: handler, fewest and most arguments, whether it is a batched writer.
_PLAIN: dict[bytes, tuple[Handler, int, int, bool]] = {}


def execute(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """Run one command for `session` and return its reply (Redis's `processCommand`)."""
    state.commands_processed += 1
    session.last_command = args[0]
    plain = _PLAIN.get(args[0])
    if plain is not None and session.authenticated and session.multi is None:
        handler, fewest, most, batched = plain
        if fewest <= len(args) <= most:
            if not batched and state.batcher.queued:
                state.batcher.flush()  # reads (and unbatched writes) see the writes before
            reply = handler(state, session, args)
            return state.batcher.add(reply) if type(reply) is Deferred else reply
    cmd = lookup(args)
    if type(cmd) is Command and TABLE.get(args[0].lower()) is cmd and len(_PLAIN) < 4096:
        # a top-level command without subcommands
        arity = cmd.arity
        most = arity if arity > 0 else 1 << 62
        _PLAIN[args[0]] = (cmd.handler, abs(arity), most, cmd.batched)
    if type(cmd) is Error:
        return _reject(state, session, args, cmd)
    if not session.authenticated and not cmd.noauth:
        return _reject(state, session, args, NOAUTH)
    if session.multi is not None and not cmd.unqueued:
        session.multi.append(args)
        return QUEUED
    return call(state, session, cmd, args)


def call(state: ServerState, session: Session, cmd: Command, args: list[bytes]) -> Any:
    """Invoke a handler; deferred writes go to the batcher, reads see earlier writes."""
    batcher = state.batcher
    if not cmd.batched and batcher.queued:
        batcher.flush()
    reply = cmd.handler(state, session, args)
    if type(reply) is Deferred:
        return batcher.add(reply)
    return reply


def sync(state: ServerState) -> None:
    """Commit queued writes so that the reads that follow see them."""
    if state.batcher:
        state.batcher.flush()


# --- argument parsing


def _offset(state: ServerState, arg: bytes) -> int | None:
    """A bit offset: Redis's strict integer syntax, in [0, max_bulk_len * 8)."""
    if arg.isdigit() and len(arg) < 12 and (arg[0] != 48 or len(arg) == 1):
        offset = int(arg)  # the common case: plain digits without a leading zero
    else:
        offset = _strict_int(arg)
        if offset is None or offset < 0:
            return None
    return None if (offset >> 3) >= state.settings.max_bulk_len else offset


# --- connection


@command("ping", -1)
def ping(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if len(args) > 2:
        return Error("ERR wrong number of arguments for 'ping' command")
    return Status("PONG") if len(args) == 1 else args[1]


@command("echo", 2)
def echo(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return args[1]


@command("quit", -1, noauth=True, unqueued=True)
def quit_(state: ServerState, session: Session, args: list[bytes]) -> Any:
    session.closing = True
    return OK


def _auth(state: ServerState, username: bytes, password: bytes) -> bool:
    if username != b"default":
        return False
    required = state.settings.requirepass
    return required is None or password == required.encode()


@command("auth", -2, noauth=True)
def auth(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if len(args) > 3:
        return SYNTAX
    if len(args) == 2:
        if state.settings.requirepass is None:
            return Error(
                "ERR AUTH <password> called without any password configured for the "
                "default user. Are you sure your configuration is correct?"
            )
        username, password = b"default", args[1]
    else:
        username, password = args[1], args[2]
    if not _auth(state, username, password):
        return WRONGPASS
    session.authenticated = True
    return OK


def _valid_client_name(name: bytes) -> bool:
    return all(33 <= byte <= 126 for byte in name)


_BAD_NAME = Error("ERR Client names cannot contain spaces, newlines or special characters.")


@command("hello", -1, noauth=True)
def hello(state: ServerState, session: Session, args: list[bytes]) -> Any:
    version = 0
    position = 1
    if len(args) >= 2:
        parsed = _strict_int(args[1])
        if parsed is None:
            return Error("ERR Protocol version is not an integer or out of range")
        version = parsed
        position = 2
        if version < 2 or version > 3:
            return Error("NOPROTO unsupported protocol version")
    credentials = None
    name = None
    while position < len(args):
        more = len(args) - 1 - position
        option = args[position].lower()
        if option == b"auth" and more >= 2:
            credentials = (args[position + 1], args[position + 2])
            position += 3
        elif option == b"setname" and more:
            name = args[position + 1]
            if not _valid_client_name(name):
                return _BAD_NAME
            position += 2
        else:
            return Error(f"ERR Syntax error in HELLO option '{_cstr(args[position], 1 << 30)}'")
    if credentials is not None:
        if not _auth(state, *credentials):
            return WRONGPASS
        session.authenticated = True
    if not session.authenticated:
        return Error(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise "
            "the HELLO AUTH <user> <pass> option can be used to authenticate the client and "
            "select the RESP protocol version at the same time"
        )
    if name is not None:
        session.name = name or None
    if version:
        session.protocol = version
    return Map(
        {
            b"server": b"redis",
            b"version": REDIS_VERSION.encode(),
            b"proto": session.protocol,
            b"id": session.id,
            b"mode": b"standalone",
            b"role": b"master",
            b"modules": [],
        }
    )


@command("select", 2)
def select(state: ServerState, session: Session, args: list[bytes]) -> Any:
    index = _strict_int(args[1])
    if index is None:
        return NOT_INTEGER
    if not -(2**31) <= index < 2**31:
        return Error("ERR value is out of range, value must between -2147483648 and 2147483647")
    if not 0 <= index < 16:
        return Error("ERR DB index is out of range")
    session.db = index
    return OK


container("client")


@command("id", 2, parent="client")
def client_id(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return session.id


@command("getname", 2, parent="client")
def client_getname(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return session.name


@command("setname", 3, parent="client")
def client_setname(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if not _valid_client_name(args[2]):
        return _BAD_NAME
    session.name = args[2] or None
    return OK


@command("setinfo", 4, parent="client")
def client_setinfo(state: ServerState, session: Session, args: list[bytes]) -> Any:
    # Redis 7.2's CLIENT SETINFO: redis-py sends it on connect.
    attribute = args[2].lower()
    if attribute not in (b"lib-name", b"lib-ver"):
        return Error(f"ERR Unrecognized option '{_cstr(args[2], 1 << 30)}'")
    if not _valid_client_name(args[3]) and args[3]:
        return Error(
            f"ERR {attribute.decode()} cannot contain spaces, newlines or special characters."
        )
    if attribute == b"lib-name":
        session.lib_name = args[3] or None
    else:
        session.lib_ver = args[3] or None
    return OK


@command("list", -2, parent="client")
def client_list(state: ServerState, session: Session, args: list[bytes]) -> Any:
    text = "".join(info.client_line(state, other) + "\n" for other in state.clients.values())
    return Verbatim(text.encode("utf-8", "surrogateescape"))


@command("info", 2, parent="client")
def client_info(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return Verbatim((info.client_line(state, session) + "\n").encode("utf-8", "surrogateescape"))


@command("time", 1)
def time_(state: ServerState, session: Session, args: list[bytes]) -> Any:
    micros = time.time_ns() // 1000
    return [b"%d" % (micros // 1_000_000), b"%d" % (micros % 1_000_000)]


@command("info", -1)
def info_(state: ServerState, session: Session, args: list[bytes]) -> Any:
    sync(state)
    return Verbatim(info.render(state, [arg.lower() for arg in args[1:]]))


# --- keys


@command("dbsize", 1)
def dbsize(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return state.keyspace.dbsize(session.db)


@command("type", 2)
def type_(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return Status("string" if state.keyspace.exists(session.db, args[1]) else "none")


@command("exists", -2)
def exists(state: ServerState, session: Session, args: list[bytes]) -> Any:
    keyspace, db = state.keyspace, session.db
    return sum(1 for key in args[1:] if keyspace.exists(db, key))


def _delete(state: ServerState, session: Session, args: list[bytes]) -> Any:
    db = session.db
    keys = args[1:]

    def finish(results: list[Any]) -> int:
        deleted = 0
        for key, existed in zip(keys, results):
            if existed:
                deleted += 1
                state.touch(db, key)
        return deleted

    return Deferred([Delete(key, db) for key in keys], finish)


command("del", -2, batched=True)(_delete)
command("unlink", -2, batched=True)(_delete)


@command("keys", 2)
def keys(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return state.keyspace.keys(session.db, args[1])


@command("scan", -2)
def scan_(state: ServerState, session: Session, args: list[bytes]) -> Any:
    cursor = scan.parse_cursor(args[1])
    if cursor is None:
        return Error("ERR invalid cursor")
    count, pattern, kind = 10, None, None
    position = 2
    while position < len(args):
        option = args[position].lower()
        more = len(args) - position
        if option == b"count" and more >= 2:
            count = _strict_int(args[position + 1])
            if count is None or not -(2**63) <= count < 2**63:
                return NOT_INTEGER
            if count < 1:
                return SYNTAX
        elif option == b"match" and more >= 2:
            pattern = args[position + 1]
            if pattern == b"*":
                pattern = None
        elif option == b"type" and more >= 2:
            kind = args[position + 1]
        else:
            return SYNTAX
        position += 2
    next_cursor, found = scan.scan(state, session.db, cursor, count, pattern, kind)
    return [b"%d" % next_cursor, found]


def _rename(state: ServerState, session: Session, args: list[bytes], nx: bool) -> Any:
    db, src, dst = session.db, args[1], args[2]
    if src == dst:
        sync(state)
        if not state.keyspace.exists(db, src):
            return Error("ERR no such key")
        return 0 if nx else OK

    def finish(results: list[Any]) -> Any:
        if results[0] is None:
            return Error("ERR no such key")
        if results[0] is False:
            return 0
        state.touch(db, src)
        state.touch(db, dst)
        return 1 if nx else OK

    return Deferred([Rename(src, dst, if_absent=nx, db=db)], finish)


@command("rename", 3, batched=True)
def rename(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _rename(state, session, args, False)


@command("renamenx", 3, batched=True)
def renamenx(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _rename(state, session, args, True)


def _expire(state: ServerState, session: Session, args: list[bytes], base: int, unit: int) -> Any:
    nx = xx = gt = lt = False
    for option in args[3:]:
        lowered = option.lower()
        if lowered == b"nx":
            nx = True
        elif lowered == b"xx":
            xx = True
        elif lowered == b"gt":
            gt = True
        elif lowered == b"lt":
            lt = True
        else:
            return Error(f"ERR Unsupported option {_cstr(option, 1 << 30)}")
    if nx and (xx or gt or lt):
        return Error("ERR NX and XX, GT or LT options at the same time are not compatible")
    if gt and lt:
        return Error("ERR GT and LT options at the same time are not compatible")
    when = _strict_int(args[2])
    if when is None:
        return NOT_INTEGER
    name = args[0].lower().decode("utf-8", "surrogateescape")
    invalid = Error(f"ERR invalid expire time in '{name}' command")
    if unit == 1000:
        if when > _LLONG_MAX // 1000 or when < -(_LLONG_MAX // 1000):
            return invalid
        when *= 1000
    if when > _LLONG_MAX - base:
        return invalid
    when += base
    db, key = session.db, args[1]
    if nx or xx or gt or lt:
        sync(state)
        current = state.keyspace.expiry(db, key)
        if current == -2:
            return 0
        if (
            (nx and current != -1)
            or (xx and current == -1)
            or (gt and (current == -1 or when <= current))
            or (lt and current != -1 and when >= current)
        ):
            return 0

    def finish(results: list[Any]) -> int:
        if not results[0]:
            return 0
        state.touch(db, key)
        return 1

    return Deferred([Expire(key, when, db)], finish)


@command("expire", -3, batched=True)
def expire(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _expire(state, session, args, now_ms(), 1000)


@command("pexpire", -3, batched=True)
def pexpire(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _expire(state, session, args, now_ms(), 1)


@command("expireat", -3, batched=True)
def expireat(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _expire(state, session, args, 0, 1000)


@command("pexpireat", -3, batched=True)
def pexpireat(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _expire(state, session, args, 0, 1)


def _ttl(state: ServerState, session: Session, key: bytes, divisor: int) -> int:
    at = state.keyspace.expiry(session.db, key)
    if at < 0:
        return at
    ttl = max(0, at - now_ms())
    return ttl if divisor == 1 else (ttl + 500) // 1000


@command("ttl", 2)
def ttl(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _ttl(state, session, args[1], 1000)


@command("pttl", 2)
def pttl(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return _ttl(state, session, args[1], 1)


@command("expiretime", 2)
def expiretime(state: ServerState, session: Session, args: list[bytes]) -> Any:
    at = state.keyspace.expiry(session.db, args[1])
    return at if at < 0 else at // 1000


@command("pexpiretime", 2)
def pexpiretime(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return state.keyspace.expiry(session.db, args[1])


@command("persist", 2)
def persist(state: ServerState, session: Session, args: list[bytes]) -> Any:
    db, key = session.db, args[1]
    if state.keyspace.expiry(db, key) < 0:
        return 0

    def finish(results: list[Any]) -> int:
        state.touch(db, key)
        return 1

    return Deferred([Expire(key, None, db)], finish)


def _flush_mode(args: list[bytes]) -> Error | None:
    if len(args) > 2 or (len(args) == 2 and args[1].lower() not in (b"sync", b"async")):
        return SYNTAX
    return None


@command("flushdb", -1)
def flushdb(state: ServerState, session: Session, args: list[bytes]) -> Any:
    error = _flush_mode(args)
    if error:
        return error
    state.touch_db(session.db)
    return Deferred([FlushDb(session.db)], lambda results: OK)


@command("flushall", -1)
def flushall(state: ServerState, session: Session, args: list[bytes]) -> Any:
    error = _flush_mode(args)
    if error:
        return error
    state.touch_db(None)
    return Deferred([FlushAll()], lambda results: OK)


# --- strings


@command("get", 2)
def get(state: ServerState, session: Session, args: list[bytes]) -> Any:
    value = state.keyspace.value(session.db, args[1])
    return None if value is None else value.to_bytes()


@command("strlen", 2)
def strlen(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return state.keyspace.strlen(session.db, args[1])


def _getrange(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """GETRANGE / SUBSTR: Redis 7.0's `getrangeCommand`, inclusive ends, negative from the end."""
    start, end = _strict_int(args[2]), _strict_int(args[3])
    if start is None or end is None:
        return NOT_INTEGER
    value = state.keyspace.value(session.db, args[1])
    if value is None or (start < 0 and end < 0 and start > end):
        return b""
    length = value.length
    start = max(0, start + length if start < 0 else start)
    end = min(length - 1, max(0, end + length if end < 0 else end))
    if start > end or length == 0:
        return b""
    return value.to_bytes()[start : end + 1]


command("getrange", 4)(_getrange)
command("substr", 4)(_getrange)


@command("set", -3, batched=True)
def set_(state: ServerState, session: Session, args: list[bytes]) -> Any:
    nx = xx = get_old = keepttl = False
    unit_flag: bytes | None = None  # ex, px, exat or pxat
    expire_arg: bytes | None = None
    position = 3
    while position < len(args):
        option = args[position]
        lowered = option.lower()
        has_next = position + 1 < len(args)
        if lowered == b"nx" and not xx:
            nx = True
        elif lowered == b"xx" and not nx:
            xx = True
        elif lowered == b"get":
            get_old = True
        elif lowered == b"keepttl" and unit_flag is None:
            keepttl = True
        elif (
            lowered in (b"ex", b"px", b"exat", b"pxat")
            and not keepttl
            and has_next
            and (unit_flag is None or unit_flag == lowered)
        ):
            unit_flag = lowered
            expire_arg = args[position + 1]
            position += 1
        else:
            return SYNTAX
        position += 1
    expire_at = None
    if expire_arg is not None:
        milliseconds = _strict_int(expire_arg)
        if milliseconds is None:
            return NOT_INTEGER
        seconds = unit_flag in (b"ex", b"exat")
        invalid = Error("ERR invalid expire time in 'set' command")
        if milliseconds <= 0 or (seconds and milliseconds > _LLONG_MAX // 1000):
            return invalid
        if seconds:
            milliseconds *= 1000
        if unit_flag in (b"ex", b"px"):
            milliseconds += now_ms()
            if milliseconds > _LLONG_MAX:  # wraps negative in Redis
                return invalid
        expire_at = milliseconds
    db, key = session.db, args[1]
    old: Any = None
    if nx or xx or get_old:
        sync(state)
        current = state.keyspace.value(db, key)
        if get_old:
            old = None if current is None else current.to_bytes()
        if (nx and current is not None) or (xx and current is None):
            return old if get_old else None
    value = Value.from_bytes(args[2])

    def finish(results: list[Any]) -> Any:
        state.touch(db, key)
        return old if get_old else OK

    return Deferred([Put(key, value, keep_ttl=keepttl, expire_at=expire_at, db=db)], finish)


# --- bits


@command("setbit", 4, batched=True)
def setbit(state: ServerState, session: Session, args: list[bytes]) -> Any:
    offset = _offset(state, args[2])  # (plain forms usually come through run_fast)
    if offset is None:
        return Error("ERR bit offset is not an integer or out of range")
    bit = args[3]
    if bit == b"1":
        on = True
    elif bit == b"0":
        on = False
    else:
        number = _strict_int(bit)
        if number is None or not -(2**63) <= number < 2**63 or number & ~1:
            return Error("ERR bit is not an integer or out of range")
        on = bool(number)
    batcher = state.batcher
    return batcher.acks[batcher.setbit(session.db, args[1], offset, on)]


@command("getbit", 3)
def getbit(state: ServerState, session: Session, args: list[bytes]) -> Any:
    offset = _offset(state, args[2])  # (plain forms usually come through run_fast)
    if offset is None:
        return Error("ERR bit offset is not an integer or out of range")
    return state.keyspace.getbit(session.db, args[1], offset)


# --- the hot path: runs of plain GETBIT and SETBIT

_ZERO, _ONE = b":0\r\n", b":1\r\n"
_GETBIT, _SETBIT = 1, 2
#: GETBIT and SETBIT by their name as sent, in the spellings clients use.
FAST: dict[bytes, int] = {}
for _name, _kind in ((b"getbit", _GETBIT), (b"setbit", _SETBIT)):
    FAST[_name] = FAST[_name.upper()] = FAST[_name.capitalize()] = _kind


def run_fast(
    state: ServerState,
    session: Session,
    args: list[bytes],
    ready: deque[list[bytes]],
    replies: list[Any],
    budget: int,
) -> tuple[int, bytes, list[bytes] | None]:
    """Run `args`, then the commands waiting in `ready`, while they are GETBIT or SETBIT
    in their plain forms (digits for the offset, 0 or 1 for the bit), at most `budget`.

    Only for an authenticated session outside MULTI. Replies are appended to `replies`
    as bytes: GETBIT's, and SETBIT's batch's `wire` objects (sent after the commit; the
    server swaps them for the error if it fails). Returns how many ran, the last one's
    name (for `last_command`; the caller also counts them in `commands_processed`) and
    the first command not run (None if none was taken): anything else, errors
    included, is left to `execute`.
    """
    db = session.db
    keyspace, batcher = state.keyspace, state.batcher
    max_bulk = state.settings.max_bulk_len
    append = replies.append
    count = 0
    name = args[0]
    while True:
        kind = FAST.get(args[0])
        if kind is None:
            break
        arg = args[2] if len(args) > 2 else b""
        if not (arg.isdigit() and len(arg) < 12 and (arg[0] != 48 or len(arg) == 1)):
            break
        offset = int(arg)
        if (offset >> 3) >= max_bulk:
            break
        try:
            if kind == _GETBIT:
                if len(args) != 3:
                    break
                if batcher.queued:
                    batcher.flush()  # reads see the writes before them
                append(_ONE if keyspace.getbit(db, args[1], offset) else _ZERO)
            else:
                if len(args) != 4:
                    break
                bit = args[3]
                if bit != b"1" and bit != b"0":
                    break
                previous = batcher.setbit(db, args[1], offset, bit == b"1")
                append(batcher.wire[previous])  # after the call: it may start a batch
        except Exception:  # noqa: BLE001 - execute() runs it again and reports it
            break
        count += 1
        name = args[0]
        if count == budget or not ready:
            return count, name, None
        args = ready.popleft()
    return count, name, args


#: The argument in which runs of GETBIT or SETBIT commands usually differ: the offset.
OFFSET = 2
_GETBIT_NAMES = frozenset(name for name, kind in FAST.items() if kind == _GETBIT)
_SETBIT_NAMES = frozenset(name for name, kind in FAST.items() if kind == _SETBIT)


def _plain_offsets(column: list[bytes]) -> list[int] | None:
    """The offsets of a column when each is plain digits without a leading zero (what
    `run_fast` takes one at a time), checked with a few C-level passes; else None."""
    if not b"".join(column).isdigit() or b"" in column:
        return None
    # Some offset starts with 0 (rare): is each such one "0"?
    if b" 0" in b" " + b" ".join(column) and any(
        offset[0] == 48 and len(offset) > 1 for offset in column
    ):
        return None
    return list(map(int, column))


def run_columns(
    state: ServerState, session: Session, columns: list[list[bytes]], replies: list[Any]
) -> bool:
    """Run a run of commands given as argument columns (`RequestParser.take_run`) when
    they are all plain GETBITs, or all plain SETBITs of one bit value (`run_fast`'s
    forms): checked and run column by column, so that most of the work per command
    happens in C. Replies are appended as `run_fast` does.

    Only for an authenticated session outside MULTI. Returns False, having run
    nothing, for any other run.
    """
    width = len(columns)
    if width == 3:
        names = _GETBIT_NAMES
    elif width == 4:
        names = _SETBIT_NAMES
    else:
        return False
    spellings = columns[0]  # mostly one name object repeated: count() checks identity first
    first = spellings[0]
    if first not in names or (
        spellings.count(first) != len(spellings) and not names.issuperset(spellings)
    ):
        return False
    offsets = _plain_offsets(columns[2])
    if offsets is None or max(offsets) >> 3 >= state.settings.max_bulk_len:
        return False
    keys = columns[1]
    db, batcher = session.db, state.batcher
    if width == 3:
        if batcher.queued:
            batcher.flush()  # reads see the writes before them
        try:
            if keys.count(keys[0]) == len(keys):
                bits = state.keyspace.bits(db, keys[0])
                found = [_ONE if offset in bits else _ZERO for offset in offsets]
            else:
                getbit = state.keyspace.getbit
                found = [_ONE if getbit(db, k, o) else _ZERO for k, o in zip(keys, offsets)]
        except Exception:  # noqa: BLE001 - execute() runs them again and reports it
            return False
        replies.append(b"".join(found))
        return True
    values = columns[3]
    ones = values.count(b"1")
    if ones != len(values) and (ones or values.count(b"0") != len(values)):
        return False  # a mix of 1s and 0s (or other bit values)
    try:
        replies.append(batcher.setbits(db, keys, offsets, bool(ones)))
    except Exception:  # noqa: BLE001 - nothing was queued; execute() reports it
        return False
    return True


@command("bitcount", -2)
def bitcount(state: ServerState, session: Session, args: list[bytes]) -> Any:
    keyspace, db = state.keyspace, session.db
    if len(args) == 2:
        return keyspace.bitcount(db, args[1])
    value = keyspace.value(db, args[1])
    if value is None:
        return 0  # Redis 7.0 looks the key up before parsing the range
    return bitops.bitcount(value, args[2:])


@command("bitpos", -3)
def bitpos(state: ServerState, session: Session, args: list[bytes]) -> Any:
    bit = _strict_int(args[2])
    if bit is None or not -(2**63) <= bit < 2**63:
        return NOT_INTEGER
    if bit not in (0, 1):
        return Error("ERR The bit argument must be 1 or 0.")
    value = state.keyspace.value(session.db, args[1])
    if value is None:
        return -1 if bit else 0
    return bitops.bitpos(value, bit, args[3:])


@command("bitop", -4)
def bitop(state: ServerState, session: Session, args: list[bytes]) -> Any:
    operation = args[1].lower()
    if operation not in (b"and", b"or", b"xor", b"not"):
        return SYNTAX
    if operation == b"not" and len(args) != 4:
        return Error("ERR BITOP NOT must be called with a single source key.")
    db, dest = session.db, args[2]
    result = bitops.bitop(operation, state.keyspace.values(db, args[3:]))

    def finish(results: list[Any]) -> int:
        if result is not None or results[0]:
            state.touch(db, dest)
        return 0 if result is None else result.length

    op = Delete(dest, db) if result is None else Put(dest, result, db=db)
    return Deferred([op], finish)


# --- transactions


@command("multi", 1, unqueued=True)
def multi(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if session.multi is not None:
        return Error("ERR MULTI calls can not be nested")
    session.multi = []
    session.multi_dirty = False
    return OK


def _discard(state: ServerState, session: Session) -> None:
    session.multi = None
    session.multi_dirty = False
    state.unwatch(session)


@command("exec", 1, unqueued=True)
def exec_(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if session.multi is None:
        return Error("ERR EXEC without MULTI")
    if state.watch_expired(session):
        session.watch_dirty = True
    if session.multi_dirty or session.watch_dirty:
        reply = (
            Error("EXECABORT Transaction discarded because of previous errors.")
            if session.multi_dirty
            else NULL_ARRAY
        )
        _discard(state, session)
        return reply
    queued = session.multi
    session.multi = None
    state.unwatch(session)
    replies = []
    for queued_args in queued:
        cmd = lookup(queued_args)
        if type(cmd) is Error:  # cannot happen: it was checked when queued
            replies.append(cmd)
            continue
        state.commands_processed += 1
        replies.append(call(state, session, cmd, queued_args))
    return replies


@command("discard", 1, unqueued=True)
def discard(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if session.multi is None:
        return Error("ERR DISCARD without MULTI")
    _discard(state, session)
    return OK


@command("watch", -2, unqueued=True)
def watch(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if session.multi is not None:
        return Error("ERR WATCH inside MULTI is not allowed")
    for key in args[1:]:
        state.watch(session, session.db, key)
    return OK


@command("unwatch", 1)
def unwatch(state: ServerState, session: Session, args: list[bytes]) -> Any:
    state.unwatch(session)
    return OK


# --- persistence


@command("save", 1)
def save(state: ServerState, session: Session, args: list[bytes]) -> Any:
    state.keyspace.checkpoint()
    state.lastsave = int(time.time())
    state.changes_since_save = 0
    return OK


@command("bgsave", -1)
def bgsave(state: ServerState, session: Session, args: list[bytes]) -> Any:
    schedule = False
    if len(args) > 1:
        if len(args) == 2 and args[1].lower() == b"schedule":
            schedule = True
        else:
            return SYNTAX
    if state.saving:
        if schedule:
            return Status("Background saving scheduled")
        return Error("ERR Background save already in progress")
    state.start_background_save()
    return Status("Background saving started")


@command("lastsave", 1)
def lastsave(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return state.lastsave


@command("slurp", -2)
def slurp(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if len(args) > 3:
        return Error("ERR wrong number of arguments for 'slurp' command")
    source_db = 0
    if len(args) == 3:
        parsed = _strict_int(args[2])
        if parsed is None or not 0 <= parsed < 2**31:
            return NOT_INTEGER
        source_db = parsed
    address = args[1].decode("utf-8", "surrogateescape")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return Error(f"ERR SLURP needs host:port, got '{address}'")
    state.start_slurp(host, int(port), source_db, session.db)
    return OK


# --- COMMAND (enough for redis-cli and client libraries)


def _command_entry(cmd: Command) -> list[Any]:
    from .command_docs import command_info

    return command_info(cmd)


container("command", -1)


def _command_all(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return [_command_entry(cmd) for cmd in TABLE.values()]


TABLE[b"command"] = TABLE[b"command"]._replace(handler=_command_all)


@command("count", 2, parent="command")
def command_count(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return len(TABLE)


@command("info", -2, parent="command")
def command_info_(state: ServerState, session: Session, args: list[bytes]) -> Any:
    names = args[2:]
    if not names:
        return _command_all(state, session, args)
    replies: list[Any] = []
    for name in names:
        cmd = _find(name)
        replies.append(None if cmd is None else _command_entry(cmd))
    return replies


@command("docs", -2, parent="command")
def command_docs(state: ServerState, session: Session, args: list[bytes]) -> Any:
    from .command_docs import command_doc

    names = args[2:] or [name for name in TABLE]
    docs = Map()
    for name in names:
        cmd = _find(name)
        if cmd is not None:
            docs[cmd.name.encode()] = command_doc(cmd)
    return docs


@command("list", -2, parent="command")
def command_list(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return [cmd.name.encode() for cmd in TABLE.values()]


def _find(name: bytes) -> Command | None:
    head, _, sub = name.lower().partition(b"|")
    cmd = TABLE.get(head)
    if cmd is not None and sub:
        cmd = (cmd.subcommands or {}).get(sub)
    return cmd
