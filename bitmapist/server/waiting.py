"""Which queued writes a command waits for (issue 16: the string family at pipeline speed).

The write batcher (`batch.WriteBatcher`) commits a turn's writes together; a command that
must see some of them commits the queue first. Which: the keys a command names, found by
Redis's key specs (`command_keys.key_args`, the rule of COMMAND GETKEYS), for the
commands of `BY_KEYS`; none for `KEYLESS` ones; every queued write for all others (they
may see or change any key: KEYS, SCAN, DBSIZE, INFO, FLUSH*, SWAPDB, MOVE, COPY, WATCH,
EXEC, ...). Writers of `STAGED` may also read a queued write's staged value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .batch import Deferred

if TYPE_CHECKING:
    from .commands import Command
    from .session import ServerState, Session

#: Commands that read and write nothing but the keys their key specs name (in the
#: connection's database, expiry included): they wait only for queued writes of those
#: keys (`batch.WriteBatcher.waits`), and a write they queue is known to touch only
#: them. Not here, so waiting for every queued write and queuing writes of unknown
#: keys: whatever sees or changes more (KEYS, SCAN, DBSIZE, RANDOMKEY, INFO, COPY with
#: its DB, MOVE, SWAPDB, FLUSH*, SAVE, SHUTDOWN, WATCH, EXEC, ...).
BY_KEYS = frozenset(
    (
        *("get", "strlen", "getrange", "substr", "mget", "lcs"),
        *("set", "setnx", "setex", "psetex", "getset", "getdel", "getex", "mset", "msetnx"),
        *("append", "setrange", "incr", "decr", "incrby", "decrby", "incrbyfloat"),
        *("setbit", "getbit", "bitcount", "bitpos", "bitop", "bitfield", "bitfield_ro"),
        *("type", "exists", "touch", "del", "unlink", "rename", "renamenx", "persist"),
        *("expire", "pexpire", "expireat", "pexpireat", "ttl", "pttl"),
        *("expiretime", "pexpiretime", "object|encoding", "object|refcount"),
        *("object|idletime", "object|freq", "memory|usage", "migrate"),
    )
)
#: Commands that touch no key: they wait for no queued write.
KEYLESS = frozenset(("ping", "echo", "time", "select"))
#: Writers of `BY_KEYS` that read their key by `Keyspace.value` alone: they may read the
#: value a queued write of it staged instead of committing it first (see batch.py).
STAGED = frozenset(
    ("append", "setrange", "incr", "decr", "incrby", "decrby", "incrbyfloat", "bitfield")
)


def wait(
    state: ServerState,
    session: Session,
    keyed: Command | None,
    keyless: bool,
    staged: bool,
    args: list[bytes],
) -> list[bytes] | None:
    """Commit the queued writes the command must see first (writes are queued): those of
    its keys for a command of `BY_KEYS` (but staged ones for one of `STAGED`), none for
    a `KEYLESS` one, all for the others. Returns its keys when they are known (a write
    queued by it is a write of them)."""
    batcher = state.batcher
    if keyed is not None:
        keys = key_args(keyed, args)
        if batcher.waits(session.db, keys, staged):
            batcher.flush()
        return keys
    if not keyless:
        batcher.flush()
    return None


def after_staged(state: ServerState, session: Session, keys: list[bytes], reply: Any) -> Any:
    """The reply of a `STAGED` writer that wrote nothing (an error, SETRANGE of nothing):
    when it read a queued write's staged value, the reply joins that write's batch, so
    that it is sent once the value is committed, and is the error if the commit fails."""
    batcher = state.batcher
    if not batcher.waits(session.db, keys):
        return reply
    return batcher.add(Deferred((), lambda results: reply, 0), session.db, keys)


def key_args(cmd: Command, argv: list[bytes]) -> list[bytes]:
    """`command_keys.key_args`: the keys `argv` names, by its command's key specs."""
    found = _found_keys
    if found is None:
        found = _load_key_args()
    return found(cmd, argv)


#: `command_keys.key_args` once loaded (an import statement per call cost ~0.5 us).
_found_keys: Callable[[Command, list[bytes]], list[bytes]] | None = None


def _load_key_args() -> Callable[[Command, list[bytes]], list[bytes]]:
    global _found_keys
    from .command_keys import key_args as found  # loads the command docs (~130 KB): when used

    _found_keys = found
    return found
