"""Group commit: writes of one event-loop turn go to the engine as one durable batch.

A write handler returns `Deferred(ops, finish)` instead of a reply. The batcher queues the
ops and hands back a `Later` placeholder; `flush()` writes every queued op in one
`Keyspace.write` (one SQLite commit) and fills each placeholder with `finish(results)`.
Replies are sent only after `flush()`, so an acknowledged write is always durable.

A command waits only for the writes it could see: the dispatcher asks `waits(db, keys)`
with the keys the command names (by Redis's key specs, `command_keys.key_args`) and
commits the queue first only when a queued write touches one of them, or when one of
unknown keys is queued (`add` without keys: FLUSHALL, SWAPDB, MOVE, COPY...). A command
that may see other keys (KEYS, SCAN, DBSIZE, INFO, EXEC...) commits the queue first
whatever it holds. So a pipeline of INCRs of different keys, or of reads of keys
nobody is writing between them, is one commit; the reads see the committed state,
which no queued write changes.

Writes of a key after a queued write of it (INCR k, INCR k, ...: a pipeline over a few
keys) need not commit it first either, when every queued write of the key left a whole
value (`Deferred.value`: APPEND, SETRANGE, INCR & co., BITFIELD of a value up to 64 KiB)
and the key has no expiry: that
value is staged in the turn's reads (`Keyspace.stage`) and the key is `staged`. Only
writers that read their key through `Keyspace.value` alone read it so
(`waits(..., staged=True)`); their replies are in the same batch as the writes they
read, so they fail with it. Any other command of the key commits the queue first.
Such a write that replaces the whole value (a `Put`: APPEND, INCR...) takes the place
of the key's queued `Put` when that was staged too: the engine gets one `Put` per key
per batch however often a pipeline rewrites it (both replies wait for that one).

SETBIT, the hot path, does better: while only SETBITs are queued, their previous bits
are known from the engine plus an overlay of the queued ones, so a SETBIT never forces
a commit; every SETBIT of a batch replies with one of two shared placeholders (no
object per command; a run of them gets one `Acks`), and `flush()` merges them into one
engine op per key and value. If that commit fails, those very replies become the error.
Queued SETBITs and other writes share a commit while their keys differ; a write of a
key the other queue holds commits both first, so writes of one key stay in order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from ..engine import Put, SetBits
from .keyspace import Keyspace
from .resp import Ack, Acks, Error, Later

log = logging.getLogger("bitmapist.server")


class Deferred(NamedTuple):
    """Engine ops to write, how to turn their results into the reply, and how many
    changes the command makes (INFO's changes since save; Redis counts some commands'
    changes one by one, e.g. BITFIELD's writes that change a field)."""

    ops: Sequence[Any]
    finish: Callable[[list[Any]], Any]
    changes: int = 1
    #: The whole value the write leaves its one key with, expiry kept (APPEND, INCR...),
    #: or None: then the batcher may let writers of that key read it before the commit.
    value: Any = None


class WriteBatcher:
    """Queues deferred writes and commits them together (see the module docstring).

    SETBITs live in their own compact queue: the final value of every queued bit per
    key (`_bits`), their count, two shared replies (0 and 1, `acks`) that every single
    SETBIT of the batch gets, and one `Acks` per run; other writes in `_ops`/`_pending`,
    their keys in `_keys` (or `_anywhere` set). The two queues never hold the same key:
    queuing a write of a key the other one holds commits both first, so the order of
    each key's writes is kept (different keys commute).
    """

    def __init__(
        self,
        keyspace: Keyspace,
        *,
        max_ops: int = 10_000,
        touch: Callable[[int, bytes], None] | None = None,
        watching: Callable[[], bool] | None = None,
    ):
        self.keyspace = keyspace
        self.max_ops = max_ops  # bounds the latency and memory of one commit
        self.touch = touch  # told of every key whose bits a SETBIT changed (WATCH)...
        self.watching = watching  # ...when anyone watches at all
        self._ops: list[Any] = []
        self._pending: list[tuple[Later, Callable[[list[Any]], Any], int, int, int]] = []
        self._keys: set[tuple[int, bytes]] = set()  # the keys `_ops` write
        self._anywhere = False  # whether `_ops` hold a write of unknown keys
        self._staged: set[tuple[int, bytes]] = set()  # keys whose queued value is staged
        # Staged keys whose last queued op is a whole-value Put: its index in `_ops`.
        self._puts: dict[tuple[int, bytes], int] = {}
        self._bits: dict[tuple[int, bytes], dict[int, bool]] = {}  # queued SETBITs
        self._bit_count = 0
        #: The current batch's replies of one SETBIT whose previous bit was 0 or 1.
        self.acks = (Ack(0), Ack(1))
        #: The replies of the current batch's runs of SETBITs.
        self._runs: list[Acks] = []
        #: Whether any write is queued (a plain attribute: read on every command).
        self.queued = False
        self.commits = 0
        #: Committed changes (for INFO): SETBITs that change their bit or create or grow
        #: their string, and other write commands.
        self.changes = 0
        self._bit_changes = 0  # the current batch's SETBITs that change their bit
        self._changed_keys: set[tuple[int, bytes]] = set()  # their keys, while watched

    def __bool__(self) -> bool:
        return self.queued

    def setbits(
        self, db: int, keys: Sequence[bytes], offsets: Sequence[int], value: bool
    ) -> Ack | Acks:
        """Queue SETBIT `keys[i]` `offsets[i]` `value` for every i, in order, and return
        their replies (each the previous bit, as of the queued writes): for one SETBIT the
        batch's shared `Ack`, for more an `Acks` of their wire bytes. Either becomes the
        error if the batch fails to commit. Queues nothing if it raises (a failed read)."""
        if self._bit_count + len(offsets) > self.max_ops or (
            self._pending and self._ops_touch(db, keys)
        ):
            self.flush()
        previous: list[bool] = []
        append = previous.append
        queues = self._bits
        key = keys[0]
        if keys.count(key) == len(keys):  # the common case: one key (object), read once
            present = self.keyspace.bits(db, key).__contains__  # (before queuing: may fail)
            queued = queues.get((db, key))
            if queued is None:
                queued = queues[(db, key)] = {}
            known = queued.get
            for offset in offsets:
                before = known(offset)
                append(present(offset) if before is None else before)
                queued[offset] = value
        else:
            # Every bitmap is read before anything is queued (a read may fail).
            bits = {key: self.keyspace.bits(db, key) for key in set(keys)}
            for key, offset in zip(keys, offsets):
                queued = queues.get((db, key))
                if queued is None:
                    queued = queues[(db, key)] = {}
                before = queued.get(offset)
                append(offset in bits[key] if before is None else before)
                queued[offset] = value
        self.queued = True
        count = len(previous)
        self._bit_count += count
        changed = count - previous.count(value)
        if not value and changed < count:  # a 0 bit left 0 changes the string if it grows it
            changed += self._growths(db, keys, offsets, previous)
        self._bit_changes += changed
        if self.watching is not None and self.watching():
            self._remember_changed(db, keys, offsets, previous, value)
        if count == 1:
            return self.acks[previous[0]]
        # all new bits (or all set already) is the usual run
        if previous.count(previous[0]) == count:
            data = _WIRE[previous[0]] * count
        else:
            data = b"".join([_WIRE[bit] for bit in previous])
        acks = Acks(data, count)
        self._runs.append(acks)
        return acks

    def _growths(
        self, db: int, keys: Sequence[bytes], offsets: Sequence[int], previous: list[bool]
    ) -> int:
        """How many of these SETBITs of a 0 that was 0 create or grow their string (a
        change for INFO, as Redis counts it; 1 bits never need this: a set bit is inside
        its string). Lengths are the committed ones: a SETBIT growing a string already
        grown in the same batch counts again."""
        bits = {key: self.keyspace.strlen(db, key) * 8 for key in set(keys)}
        return sum(
            1
            for key, offset, before in zip(keys, offsets, previous)
            if not before and offset >= bits[key]
        )

    def _remember_changed(
        self,
        db: int,
        keys: Sequence[bytes],
        offsets: Sequence[int],
        previous: list[bool],
        value: bool,
    ) -> None:
        """Remember, for WATCH, the keys of the SETBITs that change them as Redis 7.0 sees
        it: they create or grow the string (past its stored length) or change the bit."""
        sizes: dict[bytes, int] = {}
        for key in set(keys):
            current = self.keyspace.value(db, key)
            sizes[key] = 0 if current is None else current.length * 8
        self._changed_keys.update(
            (db, key)
            for key, offset, before in zip(keys, offsets, previous)
            if before != value or offset >= sizes[key]
        )

    def waits(self, db: int, keys: Sequence[bytes], staged: bool = False) -> bool:
        """Whether a command of these keys (of `db`) must see queued writes, committed:
        one of them is written by a queued write, or a write of unknown keys is queued.
        With `staged` (a writer that reads its key by `Keyspace.value` alone), not for
        keys whose queued value is staged."""
        if not self.queued:
            return False
        bits = self._bits
        if staged and not self._anywhere:
            queued, ready = self._keys, self._staged
            return any(
                ((db, key) in queued and (db, key) not in ready) or (db, key) in bits
                for key in keys
            )
        return self._ops_touch(db, keys) or any((db, key) in bits for key in keys)

    def _ops_touch(self, db: int, keys: Sequence[bytes]) -> bool:
        if self._anywhere:
            return True
        queued = self._keys
        return any((db, key) in queued for key in keys)

    def add(self, deferred: Deferred, db: int = 0, keys: Sequence[bytes] | None = None) -> Later:
        """Queue a write of `keys` (of `db`; None: keys unknown, any key or database);
        its reply is filled in by the next `flush()`."""
        bits = self._bits
        if self._bit_count and (keys is None or any((db, key) in bits for key in keys)):
            self.flush()  # keep the order: the key's queued SETBITs go first
        replaces = None
        if keys is None:
            self._anywhere = True
        elif deferred.ops:  # (a reply joining the batch writes nothing)
            replaces = self._remember(db, keys, deferred)
        later = Later()
        if replaces is None:
            start = len(self._ops)
            self._ops.extend(deferred.ops)
            stop = len(self._ops)
        else:  # the key's queued Put gives way to this one
            self._ops[replaces] = deferred.ops[0]
            start, stop = replaces, replaces + 1
        self._pending.append((later, deferred.finish, start, stop, deferred.changes))
        self.queued = True
        if len(self._ops) >= self.max_ops or len(self._pending) >= self.max_ops:
            self.flush()
        return later

    def _remember(self, db: int, keys: Sequence[bytes], deferred: Deferred) -> int | None:
        """Note that queued ops write `keys`, and stage the deferred's value when it is
        their one key's whole new value and every write of that key queued before was
        staged. Returns the index in `_ops` of the key's queued Put that this write's
        one Put replaces (both staged), or None."""
        queued, staged, puts = self._keys, self._staged, self._puts
        value = deferred.value
        replaces = None
        for key in keys:
            item = (db, key)
            if (
                value is not None
                and len(keys) == 1
                and (item not in queued or item in staged)
                and self.keyspace.stage(db, key, value)
            ):
                ops = deferred.ops
                if len(ops) == 1 and type(ops[0]) is Put:
                    replaces = puts.get(item)
                    if replaces is None:
                        puts[item] = len(self._ops)
                else:
                    puts.pop(item, None)
                staged.add(item)
            else:
                staged.discard(item)
                puts.pop(item, None)
            queued.add(item)
        return replaces

    def flush(self) -> None:
        """Commit every queued op and SETBIT in one batch and fill in their replies."""
        self.queued = False
        if not self._pending and not self._bit_count:
            return
        ops, pending = self._ops, self._pending
        self._ops, self._pending, self._keys, self._anywhere = [], [], set(), False
        self._staged = set()  # (the write below unstages their values)
        self._puts = {}
        bits, acks, runs, bit_count = self._bits, self.acks, self._runs, self._bit_count
        bit_changes, changed_keys = self._bit_changes, self._changed_keys
        if bit_count:  # after the other ops: none of them writes a key of theirs
            self._bits, self._bit_count, self._runs = {}, 0, []
            self._bit_changes, self._changed_keys = 0, set()
            self.acks = (Ack(0), Ack(1))
            ops = ops + _merge_setbits(bits)
        try:
            results = self.keyspace.write(ops) if ops else []
        except Exception as exc:  # the batch is all-or-nothing: every write in it failed
            laters = [later for later, *_ in pending]
            if bit_count:
                laters.extend(acks)
            error = _fail(laters, exc, len(ops))
            for run in runs:
                run.fail(error)
            return
        self.commits += 1
        if bit_count:
            self.changes += bit_changes
            if self.touch is not None:
                for db, key in changed_keys:
                    self.touch(db, key)
        for later, finish, start, stop, changes in pending:
            self.changes += changes  # (mostly one per command: Redis counts per key)
            later.value = finish(results[start:stop])


# A SETBIT's reply by its previous bit.
_WIRE = (b":0\r\n", b":1\r\n")


def _fail(laters: list[Any], exc: Exception, count: int) -> Error:
    """The batch is all-or-nothing: every write in it failed. Returns the error reply."""
    log.exception("write batch of %d ops failed", count)
    error = Error(f"ERR write failed: {exc}")
    for later in laters:
        if type(later) is Ack:
            later.fail(error)
        else:
            later.value = error
    return error


def _merge_setbits(bits: dict[tuple[int, bytes], dict[int, bool]]) -> list[SetBits]:
    """At most two SetBits per key: the offsets finally set and those finally cleared.

    The final value of each bit is all that matters: bits of one key are disjoint
    between the two ops, every op grows the string to its offsets whatever the order,
    and keys are independent of one another.
    """
    merged: list[SetBits] = []
    for (db, key), offsets in bits.items():
        if all(offsets.values()):
            merged.append(SetBits(key, list(offsets), True, False, db))
        elif not any(offsets.values()):
            merged.append(SetBits(key, list(offsets), False, False, db))
        else:
            merged.append(SetBits(key, [o for o, v in offsets.items() if v], True, False, db))
            merged.append(SetBits(key, [o for o, v in offsets.items() if not v], False, False, db))
    return merged
