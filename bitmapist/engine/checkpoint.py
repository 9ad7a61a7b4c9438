"""`Checkpointer`: folds the journal into one checkpointed bitmap per key, a step at a time.

A checkpoint reads the unfolded journal rows (up to the horizon, the newest row when it
starts) into net changes per key (`foldscan`), then writes each key with unfolded rows to
`bitmaps` (its current bits, and `keys.base_seq` = the newest sequence), a few keys per
short transaction, then raises `meta.folded_seq` and deletes the folded journal rows, a
chunk at a time. Every phase works in steps of a few ms, each in its own transaction;
writers run between the steps. Automatic checkpoints take one step after each write once the journal
is over `rows_limit` / `bytes_limit` (not while `Engine.checkpoint()` is taking them).

Two rules here hold the fast paths up, and must change together with them:

- **The newest journal row is never deleted** (`_DELETABLE`), so the journal's last
  sequence number only grows. `GUARDED_INSERT` (the in-memory store's fast write) is
  correct only because of this: it inserts a row only if the journal still ends at the
  sequence number this process saw last, which then proves nobody else wrote meanwhile
  and nothing it missed was folded away.
- `meta.folded_seq` is raised before any row is deleted: a process that finds it above
  the last row it saw rebuilds its index (`CatchUp`), since rows it never read are gone.
  Rows up to it are in every key's checkpointed bitmap, so the scan starts after it; a
  checkpoint that finds it moved (another process's checkpoint) starts again, since rows
  after it may go.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable

from pyroaring import BitMap

from ..errors import StoreError
from . import format as fmt
from . import heap
from .bitmaps import Bitmaps
from .catchup import CatchUp
from .foldscan import NetChanges
from .journal import Journal
from .keyspace import Entry, KeyIndex

# One checkpoint step folds keys until either budget is spent (a few ms of work).
_FOLD_KEYS_PER_STEP = 512
_FOLD_BYTES_PER_STEP = 256 << 10
_DELETE_ROWS_PER_STEP = 500
_DELETE_BYTES_PER_STEP = 64 << 10
# One step reads journal rows into net changes up to either budget: decoding costs
# ~15 us per key changed, ~0.25 ms per KB of rows (a fresh process's first step over a
# bulk-loaded journal took 50-110 ms with 1,000 rows per step on a loaded machine).
_SCAN_ROWS_PER_STEP = 200
_SCAN_BYTES_PER_STEP = 16 << 10
# The last phase gives free pages back to the file system (auto_vacuum=INCREMENTAL files),
# this many per step, once more than 1/_VACUUM_SLACK of the file is free: the deletes and
# rewrites of a checkpoint free pages that a growing file would otherwise keep forever.
_VACUUM_PAGES_PER_STEP = 64  # 256 KB of 4 KB pages: as much as a fold step writes
_VACUUM_SLACK = 8

# Insert one journal row only if the journal still ends at sequence ?6 (see the module
# docstring: correct only because checkpoints keep the newest row).
GUARDED_INSERT = (
    "INSERT INTO journal (seq, db, key, op, bits) SELECT ?1, ?2, ?3, ?4, ?5 "
    "WHERE (SELECT max(seq) FROM journal) = ?6"
)
# The folded rows a step may delete: up to the horizon, and never the newest row.
_DELETABLE = (
    "SELECT seq, length(bits) FROM journal WHERE seq <= ? "
    "AND seq < (SELECT max(seq) FROM journal) ORDER BY seq LIMIT ?"
)


class _Progress:
    """A checkpoint in progress: read rows after `folded_at` up to `horizon` into
    `changes`, fold `pending` keys, delete rows up to `horizon`, then free pages."""

    __slots__ = (
        "horizon",
        "pending",
        "reloads",
        "folded_at",
        "scanned_to",
        "changes",
        "deleted",
        "vacuuming",
        "scan_rows",
    )

    def __init__(
        self,
        horizon: int,
        pending: list[tuple[int, bytes]],
        reloads: int,
        folded_at: int,
        loaded: Callable[[tuple[int, bytes]], bool],
    ):
        self.horizon = horizon
        self.pending = pending
        self.reloads = reloads  # made from this index: a reload makes it stale
        self.folded_at = folded_at  # meta.folded_seq when it started
        self.scanned_to = folded_at if pending else horizon
        self.changes = NetChanges(skip=loaded)  # (loaded keys fold their bits in memory)
        self.deleted = False  # every folded row is deleted
        self.vacuuming = False  # freeing pages, until none are free
        # Rows a scan step fetches: about what the last step took within its byte budget
        # (a bulk load's rows of ~1 KB took 13 of the 200 fetched, 2% of a load's CPU).
        self.scan_rows = _SCAN_ROWS_PER_STEP


class Checkpointer:
    """The checkpoint state of one engine (see the module docstring)."""

    def __init__(
        self,
        journal: Journal,
        index: KeyIndex,
        bitmaps: Bitmaps,
        catchup: CatchUp,
        recover: Callable[[], None],
        *,
        rows_limit: int,
        bytes_limit: int,
        vacuum: bool = True,
    ):
        self.journal = journal
        self.index = index
        self.bitmaps = bitmaps
        self.catchup = catchup
        self.recover = recover  # after a failed step: make memory match the file again
        self.rows_limit = rows_limit
        self.bytes_limit = bytes_limit
        self.vacuum = vacuum and journal.incremental_vacuum
        self.running = 0  # threads inside Engine.checkpoint(), taking every step
        self._progress: _Progress | None = None

    @property
    def progress(self) -> _Progress | None:
        """The checkpoint in progress, if any."""
        progress = self._progress
        if progress is not None and progress.reloads != self.catchup.reloads:
            self._progress = progress = None  # the index was rebuilt: start again
        return progress

    def due(self) -> bool:
        """Whether a write should take a step (cheap: the fast paths ask every time)."""
        journal = self.journal
        return (
            self._progress is not None
            or journal.rows > self.rows_limit
            or journal.nbytes > self.bytes_limit
        )

    def maybe_step(self) -> None:
        """After a write: one step of checkpoint work, if one is due."""
        if self.journal.in_transaction:
            return  # a group window is open; its commit checks again
        if self.running:
            return  # checkpoint() is taking the steps: writers only wait for one
        if not self.due():
            return
        # The write itself succeeded; a failed step is retried after the next write.
        with contextlib.suppress(StoreError, sqlite3.Error):
            self.step()

    def restart(self) -> None:
        """Forget the checkpoint in progress, so that everything written so far folds."""
        self._progress = None

    def step(self) -> bool:
        """One short transaction of checkpoint work; True when the checkpoint is done."""
        journal = self.journal
        if self._scan_only():
            return False
        with self.catchup.file_write():
            try:
                journal.begin()
                self.catchup.sync()
                done = self._work()
                journal.commit()
            except BaseException as exc:
                self.recover()
                if isinstance(exc, sqlite3.Error):
                    raise journal.error(exc) from exc
                raise
        if done:
            # Sequence numbers are dense: what is left is what came after the horizon
            # (its size in bytes is not tracked again until new rows arrive).
            assert self._progress is not None
            journal.rows = journal.seq - self._progress.horizon
            journal.nbytes = 0
            self._progress = None
            heap.give_back()  # what the fold decoded and freed (~3 MiB after a bulk load)
        return done

    def _scan_only(self) -> bool:
        """A scan step, when one is next: it only reads committed rows up to the horizon,
        so it needs no write lock (and bumps no generation that would send every other
        process back to SQLite). False when a write step is next."""
        progress = self.progress
        if progress is None or progress.scanned_to >= progress.horizon:
            return False
        journal = self.journal
        try:
            with journal.errors(), journal.read_txn():
                if journal.meta_int("folded_seq") != progress.folded_at:
                    return False  # another checkpoint moved on: a write step starts again
                self._scan_some(progress)
        except BaseException:
            self._progress = None  # its changes may be half read
            raise
        return True

    def _work(self) -> bool:
        progress = self.progress
        folded = self.journal.meta_int("folded_seq")
        if progress is not None and progress.folded_at != folded and progress.pending:
            progress = None  # another checkpoint may delete rows it has yet to read
        if progress is None:
            # Caught up under the write lock: the keys with unfolded rows are known.
            progress = self._progress = _Progress(
                self.journal.seq,
                sorted(self.index.journaled),
                self.catchup.reloads,
                folded,
                self._loaded,
            )
        if progress.scanned_to < progress.horizon:
            self._scan_some(progress)
            return False
        if progress.pending:
            self._fold_some(progress)
            return False
        if not progress.deleted:
            progress.deleted = self._delete_some(progress.horizon)
            return False
        return self._vacuum_some(progress)

    def _loaded(self, name: tuple[int, bytes]) -> bool:
        """Whether the key's current bits are in memory (hot or packed)."""
        dbs = self.index.dbs
        entry = dbs[name[0]].get(name[1]) if 0 <= name[0] < len(dbs) else None
        return entry is not None and (entry.bits is not None or entry.packed is not None)

    def _vacuum_some(self, progress: _Progress) -> bool:
        """Free some of the file's free pages (truncating it); True when done. Starts only
        when a good share of the file is free, so steady writes do not churn pages."""
        if not self.vacuum:
            return True
        conn = self.journal.conn
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        if not progress.vacuuming:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            if free * _VACUUM_SLACK <= pages:
                return True
            progress.vacuuming = True
        if free == 0:
            return True
        for _ in range(min(free, _VACUUM_PAGES_PER_STEP)):
            # Python's sqlite3 steps this pragma once: one page per call, whatever its count
            conn.execute("PRAGMA incremental_vacuum")
        return free <= _VACUUM_PAGES_PER_STEP

    def _scan_some(self, progress: _Progress) -> None:
        """Read the next chunk of rows up to the horizon into the net changes."""
        limit = progress.scan_rows
        rows = self.journal.rows_between(progress.scanned_to, progress.horizon, limit)
        taken, budget = 0, _SCAN_BYTES_PER_STEP
        while taken < len(rows) and budget > 0:  # (at least one row)
            budget -= len(rows[taken][4] or b"")
            taken += 1
        progress.changes.add_rows(rows[:taken], f"{self.journal.where} journal")
        progress.scan_rows = min(_SCAN_ROWS_PER_STEP, 2 * taken + 1)
        if taken == len(rows) and len(rows) < limit:
            progress.scanned_to = progress.horizon
        else:
            progress.scanned_to = rows[taken - 1][0]

    def _delete_some(self, horizon: int) -> bool:
        """Every key with rows up to the horizon is folded: drop those rows, a chunk at a
        time (freeing a large row's pages is the slow part). True when none are left."""
        conn = self.journal.conn
        conn.execute("UPDATE meta SET value = max(value, ?) WHERE name = 'folded_seq'", (horizon,))
        if horizon >= self.journal.key_rows_upto:  # every listed row is folded: unused now
            self.journal.key_rows, self.journal.key_rows_upto = {}, 0  # (reads scan again)
        cut, budget = None, _DELETE_BYTES_PER_STEP
        for seq, size in conn.execute(_DELETABLE, (horizon, _DELETE_ROWS_PER_STEP)):
            if cut is not None and budget < (size or 0):
                break
            cut, budget = seq, budget - (size or 0)
        if cut is not None:
            conn.execute("DELETE FROM journal WHERE seq <= ?", (cut,))
            return False
        return True

    def _fold_some(self, progress: _Progress) -> None:
        """Store the current bits of some pending keys as their checkpointed bitmaps
        (inside a write transaction), until a step's budget is spent."""
        stored: list[tuple[int, bytes, int, bytes]] = []
        emptied: list[tuple[int, bytes]] = []
        folded_bytes = 0
        index, bitmaps = self.index, self.bitmaps
        pending = progress.pending
        tail: NetChanges | None = None  # the rows after the horizon, read if needed
        while pending and len(stored) + len(emptied) < _FOLD_KEYS_PER_STEP:
            db, key = pending.pop()
            entry = index.dbs[db].get(key)
            if entry is None:
                continue  # deleted since: its rows go with the rest
            packed = entry.packed is not None
            if entry.bits is not None or packed:
                bits = bitmaps.current(db, key, entry)
            else:
                if tail is None:
                    tail = NetChanges(skip=self._loaded)
                    tail.add_rows(
                        self.journal.rows_after(progress.horizon), f"{self.journal.where} journal"
                    )
                bits = self._folded_bits(db, key, entry, progress.changes, tail)
            crc, data = fmt.encode_bitmap(bits)
            if packed:
                bitmaps.folded(db, key, entry, data, len(bits))
            if bits:
                stored.append((db, key, crc, data))
            else:
                emptied.append((db, key))
            index.journaled.discard((db, key))
            folded_bytes += len(data)
            if folded_bytes >= _FOLD_BYTES_PER_STEP:
                break
        conn = self.journal.conn
        seq = self.journal.seq
        conn.executemany(
            "INSERT OR REPLACE INTO bitmaps (db, key, crc, data) VALUES (?, ?, ?, ?)", stored
        )
        conn.executemany("DELETE FROM bitmaps WHERE db = ? AND key = ?", emptied)
        conn.executemany(
            "UPDATE keys SET base_seq = ? WHERE db = ? AND key = ?",
            [(seq, db, key) for db, key, _, _ in stored] + [(seq, db, key) for db, key in emptied],
        )

    def _folded_bits(
        self, db: int, key: bytes, entry: Entry, changes: NetChanges, tail: NetChanges
    ) -> BitMap:
        """An unloaded key's current bits: its stored bitmap plus the net changes of the
        rows up to the horizon and of those after it (see `foldscan`), without reading the
        journal again for it."""
        name = (db, key)
        if tail.was_reset(db, key) or name in changes.skipped or name in tail.skipped:
            # Replaced after the horizon, or loaded (and skipped) when the rows were read
            # and unloaded since: load it whole.
            return self.bitmaps.load(db, key)
        bits = self.journal.stored_bits(db, key)
        changes.apply(db, key, bits)
        tail.apply(db, key, bits)
        return bits
