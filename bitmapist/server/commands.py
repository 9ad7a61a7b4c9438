"""The command table and Redis's dispatch rules.

`COMMANDS` lists every command the server knows, with Redis's arity and the flags
dispatch needs; handlers live in `handlers/` by family. `execute()` follows Redis 7.0's
`processCommand`: unknown command / subcommand, arity, NOAUTH, MULTI queuing, then the
call. EXEC (which runs the queued commands) and COMMAND (which describes the table) are
here because they work on the table itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from .batch import Deferred
from .handlers import (
    bitfield,
    bits,
    config,
    connection,
    databases,
    dump,
    floats,
    help,
    keys,
    lcs,
    migrate,
    monitoring,
    objects,
    server,
    sort,
    strings,
    transactions,
    updates,
)
from .handlers.arguments import SYNTAX, cstr
from .handlers.transactions import discard_transaction
from .resp import NULL_ARRAY, Error, Map, Status
from .session import ServerState, Session
from .waiting import BY_KEYS, KEYLESS, STAGED, after_staged, key_args, wait

Handler = Callable[[ServerState, Session, list[bytes]], Any]

QUEUED = Status("QUEUED")
NOAUTH = Error("NOAUTH Authentication required.")
NOT_IN_MULTI = Error("ERR Command not allowed inside a transaction")


class Command(NamedTuple):
    """One command: Redis's full name (`client|setname`), arity, handler, flags."""

    name: str
    arity: int
    handler: Handler
    batched: bool = False  # a writer that may return Deferred (no flush before it)
    noauth: bool = False  # allowed before AUTH
    unqueued: bool = False  # runs at once inside MULTI (EXEC, DISCARD, MULTI, WATCH, QUIT)
    nomulti: bool = False  # refused inside MULTI (SAVE, SHUTDOWN: Redis's no_multi flag)
    subcommands: dict[bytes, Command] | None = None


def _container(name: str, arity: int, *subcommands: Command) -> Command:
    """A command that only has subcommands (CLIENT, COMMAND)."""
    return Command(
        name,
        arity,
        _no_subcommand,
        subcommands={sub.name.partition("|")[2].encode(): sub for sub in subcommands},
    )


def _no_subcommand(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return Error("ERR no subcommand given")


# --- dispatch


def unknown_command(args: list[bytes]) -> Error:
    text = ""
    for arg in args[1:]:
        if len(text.encode("utf-8", "surrogateescape")) >= 128:
            break
        room = 128 - len(text.encode("utf-8", "surrogateescape"))
        text += f"'{cstr(arg, room)}' "
    return Error(f"ERR unknown command '{cstr(args[0], 128)}', with args beginning with: {text}")


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
                f"ERR unknown subcommand '{cstr(args[1], 128)}'. "
                f"Try {cstr(args[0], 1 << 30).upper()} HELP."
            )
        cmd = sub
    return cmd


def _reject(state: ServerState, session: Session, args: list[bytes], error: Error) -> Error:
    """Redis's `rejectCommand`: flag the transaction; a rejected EXEC aborts it."""
    if session.multi is not None:
        session.multi_dirty = True
    cmd = _resolve(args)
    if type(cmd) is not Error:  # unknown commands and subcommands have no stats
        state.rejected_calls[cmd.name] += 1
    if args[0].lower() == b"exec" and not error.startswith("ERR unknown"):
        discard_transaction(state, session)
        reason = error[4:] if error.startswith("ERR ") else error
        error = Error(f"EXECABORT Transaction discarded because of: {reason}")
    state.count_error(error)
    return error


def execute(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """Run one command for `session` and return its reply (Redis's `processCommand`)."""
    state.commands_processed += 1
    session.last_command = args[0]
    plain = _PLAIN.get(args[0])
    if plain is not None and session.authenticated and session.multi is None:
        handler, fewest, most, batched, name, keyed, keyless, staged = plain
        if fewest <= len(args) <= most:
            keys = None
            if not batched and state.batcher.queued:
                keys = wait(state, session, keyed, keyless, staged, args)
            reply = handler(state, session, args)
            state.command_calls[name] += 1
            kind = type(reply)
            if kind is Deferred:
                if keys is None and keyed is not None:
                    keys = key_args(keyed, args)
                return state.batcher.add(reply, session.db, keys)
            if kind is Error:
                _failed(state, name, reply)
            if staged and keys is not None:
                return after_staged(state, session, keys, reply)
            return reply
    cmd = lookup(args)
    if type(cmd) is Error:
        return _reject(state, session, args, cmd)
    if not session.authenticated and not cmd.noauth:
        return _reject(state, session, args, NOAUTH)
    if session.multi is not None and not cmd.unqueued:
        if cmd.nomulti:
            return _reject(state, session, args, NOT_IN_MULTI)
        session.multi.append(args)
        return QUEUED
    return call(state, session, cmd, args)


def call(state: ServerState, session: Session, cmd: Command, args: list[bytes]) -> Any:
    """Invoke a handler; deferred writes go to the batcher, reads see earlier writes."""
    batcher = state.batcher
    keyed = cmd if cmd.name in BY_KEYS else None
    staged = cmd.name in STAGED
    keys = None
    if not cmd.batched and batcher.queued:
        keys = wait(state, session, keyed, cmd.name in KEYLESS, staged, args)
    reply = cmd.handler(state, session, args)
    state.command_calls[cmd.name] += 1
    if type(reply) is Deferred:
        if keys is None and keyed is not None:
            keys = key_args(keyed, args)
        return batcher.add(reply, session.db, keys)
    if type(reply) is Error:
        _failed(state, cmd.name, reply)
    if staged and keys is not None:
        return after_staged(state, session, keys, reply)
    return reply


def _failed(state: ServerState, name: str, error: Error) -> None:
    """A command answered an error (INFO commandstats' failed_calls, errorstats)."""
    state.failed_calls[name] += 1
    state.count_error(error)


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
        discard_transaction(state, session)
        return reply
    queued = session.multi
    session.multi = None
    state.unwatch(session)
    replies = []
    state.in_exec = True
    try:
        for queued_args in queued:
            cmd = lookup(queued_args)
            if type(cmd) is Error:  # cannot happen: it was checked when queued
                replies.append(cmd)
                continue
            state.commands_processed += 1
            replies.append(call(state, session, cmd, queued_args))
    finally:
        state.in_exec = False
    return replies


# --- COMMAND (enough for redis-cli and client libraries)


def _command_all(state: ServerState, session: Session, args: list[bytes]) -> Any:
    from .command_docs import command_info

    return [command_info(cmd) for cmd in TABLE.values()]


def command_count(state: ServerState, session: Session, args: list[bytes]) -> Any:
    return len(TABLE)


def command_info_(state: ServerState, session: Session, args: list[bytes]) -> Any:
    from .command_docs import command_info

    names = args[2:]
    if not names:
        return _command_all(state, session, args)
    return [None if (cmd := find(name)) is None else command_info(cmd) for name in names]


def command_docs(state: ServerState, session: Session, args: list[bytes]) -> Any:
    from .command_docs import command_doc

    docs = Map()
    for name in args[2:] or list(TABLE):
        cmd = find(name)
        if cmd is not None:
            docs[cmd.name.encode()] = command_doc(cmd)
    return docs


def command_list(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]: commands
    and subcommands (Redis lists them in its hash table's order, we in the table's)."""
    from .command_keys import list_names  # loads the command docs: only when asked

    kind, arg = None, b""
    position = 2
    while position < len(args):
        if args[position].lower() != b"filterby" or len(args) - 1 - position != 2:
            return SYNTAX
        kind, arg = args[position + 1].lower(), args[position + 2]
        if kind not in (b"module", b"aclcat", b"pattern"):
            return SYNTAX
        position += 3
    return list_names(TABLE.values(), kind, arg)


def command_getkeys(state: ServerState, session: Session, args: list[bytes]) -> Any:
    from .command_keys import getkeys  # loads the command docs: only when asked

    return getkeys(_named(args[2:]), args[2:], with_flags=False)


def command_getkeysandflags(state: ServerState, session: Session, args: list[bytes]) -> Any:
    from .command_keys import getkeys  # loads the command docs: only when asked

    return getkeys(_named(args[2:]), args[2:], with_flags=True)


def _named(argv: list[bytes]) -> Command | None:
    """The command `argv` calls (Redis's `lookupCommand`): a container's subcommand when
    an argument follows it (None if it has no such subcommand), else the command."""
    cmd = TABLE.get(argv[0].lower())
    if cmd is not None and cmd.subcommands is not None and len(argv) >= 2:
        return cmd.subcommands.get(argv[1].lower())
    return cmd


def find(name: bytes) -> Command | None:
    """The command (or `container|sub` subcommand) named `name`, any case; else None."""
    head, _, sub = name.lower().partition(b"|")
    cmd = TABLE.get(head)
    if cmd is not None and sub:
        cmd = (cmd.subcommands or {}).get(sub)
    return cmd


# --- the table

C = Command
COMMANDS: list[Command] = [
    # connection
    C("ping", -1, connection.ping),
    C("echo", 2, connection.echo),
    C("quit", -1, connection.quit_, noauth=True, unqueued=True),
    C("auth", -2, connection.auth, noauth=True),
    C("hello", -1, connection.hello, noauth=True),
    C("select", 2, connection.select),
    C("reset", 1, connection.reset, noauth=True, unqueued=True),
    _container(
        "client",
        -2,
        C("client|id", 2, connection.client_id),
        C("client|getname", 2, connection.client_getname),
        C("client|setname", 3, connection.client_setname),
        C("client|setinfo", 4, connection.client_setinfo),
        C("client|list", -2, connection.client_list),
        C("client|info", 2, connection.client_info),
        C("client|help", 2, help.help_),
    ),
    # server
    C("time", 1, server.time_),
    C("info", -1, server.info_),
    C("dbsize", 1, server.dbsize),
    _container(
        "config",
        -2,
        C("config|get", -3, config.config_get),
        C("config|set", -4, config.config_set),
        C("config|resetstat", 2, config.config_resetstat),
        C("config|help", 2, help.help_),
    ),
    _container(
        "function",
        -2,
        C("function|flush", -2, config.function_flush),
        C("function|list", -2, config.function_list),
        C("function|help", 2, help.help_),
    ),
    C("wait", 3, config.wait),
    _container(
        "slowlog",
        -2,
        C("slowlog|get", -2, monitoring.slowlog_get),
        C("slowlog|len", 2, monitoring.slowlog_len),
        C("slowlog|reset", 2, monitoring.slowlog_reset),
        C("slowlog|help", 2, help.help_),
    ),
    _container(
        "latency",
        -2,
        C("latency|latest", 2, monitoring.latency_latest),
        C("latency|reset", -2, monitoring.latency_reset),
        C("latency|help", 2, help.help_),
    ),
    # keys
    C("type", 2, keys.type_),
    C("exists", -2, keys.exists),
    C("touch", -2, keys.touch),
    C("randomkey", 1, keys.randomkey),
    C("copy", -3, keys.copy),
    C("del", -2, keys.delete, batched=True),
    C("unlink", -2, keys.delete, batched=True),
    C("keys", 2, keys.keys),
    C("scan", -2, keys.scan_),
    C("rename", 3, keys.rename, batched=True),
    C("renamenx", 3, keys.renamenx, batched=True),
    C("expire", -3, keys.expire, batched=True),
    C("pexpire", -3, keys.pexpire, batched=True),
    C("expireat", -3, keys.expireat, batched=True),
    C("pexpireat", -3, keys.pexpireat, batched=True),
    C("ttl", 2, keys.ttl),
    C("pttl", 2, keys.pttl),
    C("expiretime", 2, keys.expiretime),
    C("pexpiretime", 2, keys.pexpiretime),
    C("persist", 2, keys.persist),
    C("move", 3, databases.move),
    C("swapdb", 3, databases.swapdb),
    _container(
        "object",
        -2,
        C("object|encoding", 3, objects.object_encoding),
        C("object|refcount", 3, objects.object_refcount),
        C("object|idletime", 3, objects.object_idletime),
        C("object|freq", 3, objects.object_freq),
        C("object|help", 2, objects.object_help),
    ),
    _container(
        "memory",
        -2,
        C("memory|usage", -3, objects.memory_usage_),
        C("memory|help", 2, objects.memory_help),
    ),
    C("sort", -2, sort.sort),
    C("dump", 2, dump.dump),
    C("restore", -4, dump.restore),
    C("migrate", -6, migrate.migrate),
    C("sort_ro", -2, sort.sort_ro),
    C("flushdb", -1, server.flushdb),
    C("flushall", -1, server.flushall),
    # strings
    C("get", 2, strings.get),
    C("strlen", 2, strings.strlen),
    C("getrange", 4, strings.getrange),
    C("substr", 4, strings.getrange),
    C("set", -3, strings.set_, batched=True),
    C("setnx", 3, strings.setnx),
    C("setex", 4, strings.setex, batched=True),
    C("psetex", 4, strings.psetex, batched=True),
    C("getset", 3, strings.getset),
    C("getdel", 2, strings.getdel),
    C("getex", -2, strings.getex),
    C("mget", -2, strings.mget),
    C("mset", -3, strings.mset, batched=True),
    C("msetnx", -3, strings.msetnx),
    C("lcs", -3, lcs.lcs),
    C("append", 3, updates.append),
    C("setrange", 4, updates.setrange),
    C("incr", 2, updates.incr),
    C("decr", 2, updates.decr),
    C("incrby", 3, updates.incrby),
    C("decrby", 3, updates.decrby),
    C("incrbyfloat", 3, floats.incrbyfloat),
    # bitmaps
    C("setbit", 4, bits.setbit, batched=True),
    C("getbit", 3, bits.getbit),
    C("bitcount", -2, bits.bitcount),
    C("bitpos", -3, bits.bitpos),
    C("bitop", -4, bits.bitop),
    C("bitfield", -2, bitfield.bitfield),
    C("bitfield_ro", -2, bitfield.bitfield_ro),
    # transactions
    C("multi", 1, transactions.multi, unqueued=True),
    C("exec", 1, exec_, unqueued=True),
    C("discard", 1, transactions.discard, unqueued=True),
    C("watch", -2, transactions.watch, unqueued=True),
    C("unwatch", 1, transactions.unwatch),
    # persistence
    C("save", 1, server.save, nomulti=True),
    C("bgsave", -1, server.bgsave),
    C("lastsave", 1, server.lastsave),
    C("shutdown", -1, server.shutdown, nomulti=True),
    C("slurp", -2, server.slurp),
    # introspection
    _container(
        "command",
        -1,
        C("command|count", 2, command_count),
        C("command|info", -2, command_info_),
        C("command|docs", -2, command_docs),
        C("command|list", -2, command_list),
        C("command|getkeys", -4, command_getkeys),
        C("command|getkeysandflags", -4, command_getkeysandflags),
        C("command|help", 2, help.help_),
    )._replace(handler=_command_all),
]
del C

#: Commands by their lower-case name.
TABLE: dict[bytes, Command] = {cmd.name.encode(): cmd for cmd in COMMANDS}


class _Plain(NamedTuple):
    """A command without subcommands, ready to call: `execute`'s shortcut."""

    handler: Handler
    fewest: int  # arguments, its name included
    most: int
    batched: bool
    name: str  # for INFO commandstats
    keyed: Command | None  # the command if it is one of `BY_KEYS`
    keyless: bool  # one of `KEYLESS`
    staged: bool  # one of `STAGED`


#: Commands without subcommands by the spellings clients send (lower, upper and
#: capitalized): `execute` calls them without lower() and arity parsing.
_PLAIN: dict[bytes, _Plain] = {
    spelling: _Plain(
        cmd.handler,
        abs(cmd.arity),
        cmd.arity if cmd.arity > 0 else 1 << 62,
        cmd.batched,
        cmd.name,
        cmd if cmd.name in BY_KEYS else None,
        cmd.name in KEYLESS,
        cmd.name in STAGED,
    )
    for name, cmd in TABLE.items()
    if cmd.subcommands is None
    for spelling in (name, name.upper(), name.capitalize())
}
