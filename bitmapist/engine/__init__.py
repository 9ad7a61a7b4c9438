"""The bitmap engine: Redis strings as roaring bitmaps, durable in an SQLite journal.

Shared by `EmbeddedStore` (the library's default store) and `bitmapist-server`. One
`Engine` holds 16 databases (0..15) of keys (bytes) whose values are Redis strings,
modelled exactly: `Value(bits, length)` with `Value.from_bytes` / `Value.to_bytes`.

Reads (each sees the latest committed state, including other processes' writes)::

    engine.get(key, db=0) -> Value | None      # a copy
    engine.getbit(key, offset) -> 0 | 1        engine.bitcount(key) -> int
    engine.strlen(key) -> int                  engine.exists(key) -> bool
    engine.type(key) -> "string" | "none"      engine.keys(pattern=b"*") -> list[bytes]
    engine.dbsize() -> int                     engine.expiry(key) -> ms | -1 | -2
    with engine.view() as view:                # several reads of one state, no copies
        view.value(key), view.exists(key), view.strlen(key), view.keys(...), ...

Writes are batches, atomic and committed to the file before `write` returns::

    engine.write([SetBits(key, offsets, value=True, previous=False, db=0),
                  Put(key, Value(bits, length), keep_ttl=False, expire_at=None),
                  Delete(key), Rename(src, dst, if_absent=False), Expire(key, at_ms),
                  FlushDb(db), FlushAll()]) -> one result per op (see `ops`)

Expired keys (now > expiry, as in Redis) are invisible to reads, deleted when a write
touches them and by `sweep_expired()`. Plus `checkpoint()` (fold the journal, in small
transactions), `compact()`, `backup(path)` (a consistent copy), `stats()`, `close()`.
`Engine(path, group_commit_ms=10)` commits writes in groups (a crash may lose the last
window; `flush()` commits now). Errors are `StoreError` (`CorruptStore`,
`NotABitmapistStore`, `NewerFormat` for files that cannot be opened). Format and
guarantees: docs/storage.md.
"""

from .engine import DATABASES, MAX_OFFSET, Engine, View, now_ms
from .format import FORMAT_VERSION, CorruptStore, NewerFormat, NotABitmapistStore
from .glob import compile_glob, glob_match
from .ops import Delete, Expire, FlushAll, FlushDb, Put, Rename, SetBits, WriteOp
from .value import Value

__all__ = [
    "DATABASES",
    "FORMAT_VERSION",
    "MAX_OFFSET",
    "CorruptStore",
    "Delete",
    "Engine",
    "Expire",
    "FlushAll",
    "FlushDb",
    "NewerFormat",
    "NotABitmapistStore",
    "Put",
    "Rename",
    "SetBits",
    "Value",
    "View",
    "WriteOp",
    "compile_glob",
    "glob_match",
    "now_ms",
]
