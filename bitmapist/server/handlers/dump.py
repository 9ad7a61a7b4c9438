"""DUMP and RESTORE of string values, as Redis 7.0's `dumpCommand` / `restoreCommand`
(src/cluster.c); the payload format is in `rdb.py`.

Payloads are Redis's own, byte for byte (LZF included) for values up to 1 MiB: a value
dumped here restores into Redis and a string Redis dumped restores here. A payload of
another type (a list, a hash, ...) is refused with Redis's "Bad data format" error and
a note that only strings exist here.
"""

from __future__ import annotations

from typing import Any

from ...engine import Delete, Put, Value
from .. import rdb
from ..batch import Deferred
from ..resp import OK, Error, strict_int
from ..session import ServerState, Session
from .arguments import LLONG_MAX, NOT_INTEGER, SYNTAX, now_ms

BUSYKEY = Error("BUSYKEY Target key name already exists.")
BAD_PAYLOAD = Error("ERR DUMP payload version or checksum are wrong")
BAD_FORMAT = Error("ERR Bad data format")
NOT_A_STRING = Error("ERR Bad data format: only string values can be restored here")


def dump(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """DUMP key: the payload of its value, or nil."""
    value = state.keyspace.value(session.db, args[1])
    state.looked_up(value is not None)
    if value is None:
        return None
    return rdb.dump_payload(value.to_bytes())


def _options(args: list[bytes]) -> tuple[bool, bool] | Error:
    """RESTORE's REPLACE, ABSTTL, IDLETIME seconds, FREQ frequency (the last two are
    checked and ignored: no access times or frequencies are kept)."""
    replace = absttl = False
    idle = freq = None
    position = 4
    while position < len(args):
        option = args[position].lower()
        more = len(args) - position - 1
        if option == b"replace":
            replace = True
        elif option == b"absttl":
            absttl = True
        elif option == b"idletime" and more >= 1 and freq is None:
            idle = strict_int(args[position + 1])
            if idle is None:
                return NOT_INTEGER
            if idle < 0:
                return Error("ERR Invalid IDLETIME value, must be >= 0")
            position += 1
        elif option == b"freq" and more >= 1 and idle is None:
            freq = strict_int(args[position + 1])
            if freq is None:
                return NOT_INTEGER
            if not 0 <= freq <= 255:
                return Error("ERR Invalid FREQ value, must be >= 0 and <= 255")
            position += 1
        else:
            return SYNTAX
        position += 1
    return replace, absttl


def restore(state: ServerState, session: Session, args: list[bytes]) -> Any:
    """RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f], checks in
    Redis's order: options, an existing key, the TTL, version and checksum, the data."""
    options = _options(args)
    if type(options) is Error:
        return options
    replace, absttl = options
    db, key = session.db, args[1]
    if not replace and state.keyspace.exists(db, key):
        return BUSYKEY
    ttl = strict_int(args[2])
    if ttl is None:
        return NOT_INTEGER
    if ttl < 0:
        return Error("ERR Invalid TTL value, must be >= 0")
    payload = args[3]
    if not rdb.verify_payload(payload):
        return BAD_PAYLOAD
    try:
        data = rdb.load_string(payload)
    except rdb.BadPayload:
        return BAD_FORMAT
    except TypeError:
        return NOT_A_STRING
    now = now_ms()
    if ttl and not absttl:
        ttl += now
        if ttl > LLONG_MAX:  # wraps negative in Redis: already expired
            ttl -= 2**64
    if ttl and ttl <= now:  # expired already: the key is only deleted (with REPLACE)
        if not replace:
            return OK
        ops: list[Any] = [Delete(key, db)]
    else:
        ops = [Put(key, Value.from_bytes(data), expire_at=ttl or None, db=db)]

    def finish(results: list[Any]) -> Any:
        if type(ops[0]) is Put or results[0]:
            state.touch(db, key)
        return OK

    return Deferred(ops, finish)
