"""Connection commands: PING, ECHO, QUIT, AUTH, HELLO, SELECT, CLIENT ..."""

from __future__ import annotations

from typing import Any

from .. import info
from ..resp import OK, Error, Map, Status, Verbatim, strict_int
from ..session import REDIS_VERSION, ServerState, Session
from .arguments import NOT_INTEGER, SYNTAX, WRONGPASS, cstr


def ping(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if len(args) > 2:
        return Error("ERR wrong number of arguments for 'ping' command")
    return Status("PONG") if len(args) == 1 else args[1]


def echo(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return args[1]


def quit_(state: ServerState, session: Session, args: list[bytes]) -> Any:
    session.closing = True
    return OK


def _auth(state: ServerState, username: bytes, password: bytes) -> bool:
    if username != b"default":
        return False
    required = state.settings.requirepass
    return required is None or password == required.encode()


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


def hello(state: ServerState, session: Session, args: list[bytes]) -> Any:
    version = 0
    position = 1
    if len(args) >= 2:
        parsed = strict_int(args[1])
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
            return Error(f"ERR Syntax error in HELLO option '{cstr(args[position], 1 << 30)}'")
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


def select(state: ServerState, session: Session, args: list[bytes]) -> Any:
    index = strict_int(args[1])
    if index is None:
        return NOT_INTEGER
    if not -(2**31) <= index < 2**31:
        return Error("ERR value is out of range, value must between -2147483648 and 2147483647")
    if not 0 <= index < 16:
        return Error("ERR DB index is out of range")
    session.db = index
    return OK


def client_id(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return session.id


def client_getname(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return session.name


def client_setname(state: ServerState, session: Session, args: list[bytes]) -> Any:
    if not _valid_client_name(args[2]):
        return _BAD_NAME
    session.name = args[2] or None
    return OK


def client_setinfo(state: ServerState, session: Session, args: list[bytes]) -> Any:
    # Redis 7.2's CLIENT SETINFO: redis-py sends it on connect.
    attribute = args[2].lower()
    if attribute not in (b"lib-name", b"lib-ver"):
        return Error(f"ERR Unrecognized option '{cstr(args[2], 1 << 30)}'")
    if not _valid_client_name(args[3]) and args[3]:
        return Error(
            f"ERR {attribute.decode()} cannot contain spaces, newlines or special characters."
        )
    if attribute == b"lib-name":
        session.lib_name = args[3] or None
    else:
        session.lib_ver = args[3] or None
    return OK


# CLIENT LIST TYPE: Redis's client type names; every client here is a normal one.
_CLIENT_TYPES = (b"normal", b"slave", b"replica", b"pubsub", b"master")


def client_list(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """CLIENT LIST [TYPE type | ID id ...], parsed as Redis 7.0's clientCommand."""
    clients = list(state.clients.values())
    if len(args) == 4 and args[2].lower() == b"type":
        kind = args[3].lower()
        if kind not in _CLIENT_TYPES:
            return Error(f"ERR Unknown client type '{cstr(args[3], 1 << 30)}'")
        if kind != b"normal":
            clients = []
    elif len(args) > 3 and args[2].lower() == b"id":
        clients = []
        for arg in args[3:]:
            client_id = strict_int(arg)
            if client_id is None:
                return Error("ERR Invalid client ID")
            if client_id in state.clients:
                clients.append(state.clients[client_id])
    elif len(args) != 2:
        return SYNTAX
    text = "".join(info.client_line(state, other) + "\n" for other in clients)
    return Verbatim(text.encode("utf-8", "surrogateescape"))


def client_info(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return Verbatim((info.client_line(state, session) + "\n").encode("utf-8", "surrogateescape"))


def reset(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """RESET: the connection's state as a new connection's (Redis's
    `clearClientConnectionState`): no transaction or WATCH, db 0, RESP2, no name, and
    logged out when a password is required."""
    session.multi = None
    session.multi_dirty = False
    state.unwatch(session)
    session.db = 0
    session.protocol = 2
    session.name = None
    session.authenticated = not state.settings.requirepass
    return Status("RESET")
