"""`Keyspace`: the few engine operations the command handlers use, in one place.

Handlers never touch the engine directly: they read through these methods and write by
returning engine ops (`bitmapist.engine.ops`), which `batch.WriteBatcher` groups into one
durable `write` per event-loop turn. Keys are bytes, `db` is 0..15, times are ms since
the epoch. A logically expired key is absent from every read.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from typing import Any

from ..engine import Engine, Value

#: What `bits` gives for a missing key (tell it apart with `is`).
NO_BITS: frozenset[int] = frozenset()


class Keyspace:
    """Reads and writes of Redis strings over an engine (see the module docstring)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._view: Any = None  # the engine view of the current event-loop turn
        self._view_manager: Any = None  # its context manager, open between turns' ends
        self._memo: dict[tuple[int, bytes], Value | None] = {}  # values read this turn
        self._counts: dict[tuple[int, bytes], int] = {}  # and BITCOUNTs (`bitcount`)
        self._tests: dict[tuple[int, bytes], Container[int]] = {}  # and `bits` (`bits`)
        #: Whether a turn is open (`open_turn`) / has opened its engine view (its first read).
        self.turn = False
        self.reading = False

    def open_turn(self) -> None:
        """Serve reads from one engine view (one lock, one catch-up check) until `close_turn`.

        The server opens a turn at the first command of an event-loop turn and closes it
        when the turn's writes are committed, so all connections of a turn share the view.
        The view itself is opened by the turn's first read: a turn of commands that read
        no key (PING, ECHO, CLIENT ...) costs no lock and no catch-up check.
        """
        self.turn = True

    def close_turn(self) -> None:
        """End the turn `open_turn` started (no-op when none is open)."""
        self.turn = self.reading = False
        manager = self._view_manager
        if manager is None:
            return
        self._view = self._view_manager = None
        self._memo = {}
        self._counts = {}
        self._tests = {}
        manager.__exit__(None, None, None)

    def _opened(self) -> Any:
        """The turn's view, opened now: by the turn's first read (callers are in a turn)."""
        manager = self.engine.view()
        self._view = manager.__enter__()
        self._view_manager = manager
        self.reading = True
        return self._view

    def _value(self, db: int, key: bytes) -> Value | None:
        """A value read through the turn's view, remembered until the next write."""
        try:
            return self._memo[(db, key)]
        except KeyError:
            view = self._view or self._opened()
            value = self._memo[(db, key)] = view.value(key, db)
            return value

    # --- reads

    def value(self, db: int, key: bytes) -> Value | None:
        """The whole value (shared with the engine: never modify it), or None if absent."""
        if self.turn:
            return self._value(db, key)
        with self.engine.view() as view:
            return view.value(key, db)

    def values(self, db: int, keys: Sequence[bytes]) -> list[Value | None]:
        """Several values read from one consistent state (shared: never modify)."""
        if self.turn:
            return [self._value(db, key) for key in keys]
        with self.engine.view() as view:
            return [view.value(key, db) for key in keys]

    def getbit(self, db: int, key: bytes, offset: int) -> int:
        if not self.turn:
            return self.engine.getbit(key, offset, db=db)
        try:  # `bits` inline: this is the hottest read
            bits = self._tests[(db, key)]
        except KeyError:
            bits = self._read_bits(db, key)
        return 1 if offset in bits else 0

    def bits(self, db: int, key: bytes) -> Container[int]:
        """The offsets of the key's set bits (`NO_BITS` when absent), for many `in` tests
        (shared with the engine: never modify it). A key the engine holds packed is
        tested in place, not decoded (engine `View.bits`)."""
        try:  # runs of GETBIT/SETBIT read one key each
            return self._tests[(db, key)]
        except KeyError:
            return self._read_bits(db, key)

    def _read_bits(self, db: int, key: bytes) -> Container[int]:
        """`bits` not read yet this turn."""
        name = (db, key)
        if not self.turn or name in self._memo:  # (a staged value, or no turn)
            value = self.value(db, key)
            bits = NO_BITS if value is None else value.bits
        else:
            found = (self._view or self._opened()).bits(key, db)
            bits = NO_BITS if found is None else found
        if self.turn:
            self._tests[name] = bits
        return bits

    def bitcount(self, db: int, key: bytes) -> int:
        if not self.turn:
            return self.engine.bitcount(key, db=db)
        try:  # BITCOUNT of one key many times a turn (a month's actives, polled)
            return self._counts[(db, key)]
        except KeyError:
            pass
        value = self._memo.get((db, key))
        # a cold bitmap stays packed (and a missing key memoized as None counts 0 there)
        if value is not None:
            count = len(value.bits)
        else:
            count = (self._view or self._opened()).count(key, db)
        self._counts[(db, key)] = count
        return count

    def strlen(self, db: int, key: bytes) -> int:
        if not self.turn:
            return self.engine.strlen(key, db=db)
        return (self._view or self._opened()).strlen(key, db)

    def exists(self, db: int, key: bytes) -> bool:
        if not self.turn:
            return self.engine.exists(key, db=db)
        return (self._view or self._opened()).exists(key, db)

    def keys(self, db: int, pattern: bytes = b"*") -> list[bytes]:
        if not self.turn:
            return self.engine.keys(pattern, db=db)
        return (self._view or self._opened()).keys(pattern, db)

    def dbsize(self, db: int) -> int:
        if not self.turn:
            return self.engine.dbsize(db=db)
        return (self._view or self._opened()).dbsize(db)

    def expiry(self, db: int, key: bytes) -> int:
        """The key's expiry time in ms; -1 when it has none, -2 when it does not exist."""
        if not self.turn:
            return self.engine.expiry(key, db=db)
        return (self._view or self._opened()).expiry(key, db)

    def expiries(self, db: int) -> list[int]:
        """The expiry times (ms) of the db's keys that have one (for INFO keyspace)."""
        with self.engine.view() as view:
            found = (view.expiry(key, db) for key in view.keys(b"*", db))
            return [at for at in found if at >= 0]

    def stage(self, db: int, key: bytes, value: Value) -> bool:
        """Let this turn's reads of `key` see `value`, the whole value a queued write
        leaves it with (its expiry kept), until the next `write`. Stages nothing and
        returns False when no turn is open or the key has an expiry (it could expire
        before the commit, which `value` would not show)."""
        if not self.turn or (self._view or self._opened()).expiry(key, db) >= 0:
            return False
        self._memo[(db, key)] = value
        self._counts.pop((db, key), None)
        self._tests.pop((db, key), None)
        return True

    # --- writes

    def write(self, ops: Sequence[Any]) -> list[Any]:
        """Apply `ops` atomically and durably; one result per op."""
        self._memo = {}  # values change (lengths, replaced bitmaps): read them afresh
        self._counts = {}
        self._tests = {}
        return self.engine.write(ops)

    # --- persistence

    def checkpoint(self) -> None:
        self.engine.checkpoint()

    def stats(self) -> dict[str, Any]:
        return self.engine.stats()
