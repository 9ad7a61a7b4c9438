"""Per-connection and per-server state the command handlers read and change.

`Session` is one client connection (selected db, protocol, name, auth, MULTI queue,
WATCHed keys); `ServerState` is what all connections share (keyspace, write batcher,
settings, connected clients, WATCH registry, counters).
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .batch import WriteBatcher
from .keyspace import Keyspace

#: The Redis version we answer as (HELLO, INFO): replies match this release's.
REDIS_VERSION = "7.0.15"
#: Samples INFO's instantaneous_ops_per_sec averages (Redis: STATS_METRIC_SAMPLES).
OPS_SAMPLES = 16


@dataclass
class Settings:
    """Server settings (flags of `bitmapist-server`)."""

    requirepass: str | None = None
    maxclients: int = 10_000
    max_bulk_len: int = 512 * 1024 * 1024
    max_args: int = 1024 * 1024
    #: A client whose unsent replies exceed this many bytes is disconnected (Redis: 1gb).
    max_output_buffer: int = 256 * 1024 * 1024
    backup_path: str = ""
    checkpoint_interval: float = 60.0


class Session:
    """One client connection's state."""

    __slots__ = (
        "id",
        "db",
        "protocol",
        "name",
        "lib_name",
        "lib_ver",
        "authenticated",
        "multi",
        "multi_dirty",
        "watched",
        "watch_expiry",
        "watch_dirty",
        "closing",
        "addr",
        "laddr",
        "created",
        "last_command",
    )

    def __init__(self, client_id: int, *, authenticated: bool, addr: str = "", laddr: str = ""):
        self.id = client_id
        self.db = 0
        self.protocol = 2
        self.name: bytes | None = None
        self.lib_name: bytes | None = None
        self.lib_ver: bytes | None = None
        self.authenticated = authenticated
        self.multi: list[list[bytes]] | None = None  # queued commands while in MULTI
        self.multi_dirty = False  # a command was rejected while queuing: EXEC aborts
        self.watched: set[tuple[int, bytes]] = set()
        # Expiry (ms) of watched keys that had one at WATCH time: EXEC fails once it passes.
        self.watch_expiry: dict[tuple[int, bytes], int] = {}
        self.watch_dirty = False  # a watched key changed: EXEC returns a null array
        self.closing = False  # close once the pending replies are sent (QUIT)
        self.addr = addr
        self.laddr = laddr
        self.created = time.monotonic()
        self.last_command = b"NULL"


@dataclass
class ServerState:
    """What every connection shares."""

    keyspace: Keyspace
    settings: Settings = field(default_factory=Settings)
    batcher: WriteBatcher = field(init=False)
    clients: dict[int, Session] = field(default_factory=dict)
    watchers: dict[tuple[int, bytes], set[Session]] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    started_monotonic: float = field(default_factory=time.monotonic)
    lastsave: int = field(default_factory=lambda: int(time.time()))
    saving: bool = False
    in_exec: bool = False  # EXEC is running its queued commands (BGSAVE is only scheduled)
    commands_processed: int = 0
    #: Reads of a key by a read command, found / not found (Redis counts in `lookupKey`).
    keyspace_hits: int = 0
    keyspace_misses: int = 0
    #: Commands per second over the last samples (`sample_ops`), for INFO.
    ops_samples: list[float] = field(default_factory=list)
    _ops_last: tuple[float, int] = (0.0, 0)
    connections_received: int = 0
    rejected_connections: int = 0
    #: INFO commandstats, by a command's full name (`config|get`): calls that ran, calls
    #: refused before running (arity, NOAUTH, MULTI rules), calls that answered an error.
    command_calls: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    rejected_calls: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    failed_calls: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: INFO errorstats: error replies by their code (the first word: ERR, WRONGTYPE, ...).
    error_replies: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    saved_changes: int = 0  # `batcher.changes` at the last save
    port: int = 0
    scan_snapshots: dict[int, Any] = field(default_factory=dict)
    #: Parameters set by CONFIG SET (lower-case name -> value).
    config: dict[bytes, bytes] = field(default_factory=dict)
    #: Set by the app: start a background checkpoint (BGSAVE) / a SLURP import.
    on_bgsave: Callable[[], None] | None = None
    on_slurp: Callable[[str, int, int, int], None] | None = None
    #: Set by the app: stop the server (SHUTDOWN save, force); False when it does not
    #: stop (the checkpoint asked for failed, without force).
    on_shutdown: Callable[[bool, bool], bool] | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.batcher = WriteBatcher(
            self.keyspace, touch=self.touch, watching=lambda: bool(self.watchers)
        )

    def new_session(self, *, addr: str = "", laddr: str = "") -> Session:
        authenticated = not self.settings.requirepass
        session = Session(next(self._ids), authenticated=authenticated, addr=addr, laddr=laddr)
        self.clients[session.id] = session
        self.connections_received += 1
        return session

    @property
    def changes_since_save(self) -> int:
        """Writes committed since the last save (INFO's rdb_changes_since_last_save)."""
        return self.batcher.changes - self.saved_changes

    def saved(self) -> None:
        """A checkpoint (SAVE, BGSAVE) has just folded every committed write."""
        self.saved_changes = self.batcher.changes

    def reset_stats(self) -> None:
        """CONFIG RESETSTAT: the counters INFO reports start again from zero."""
        self.commands_processed = 0
        self.keyspace_hits = 0
        self.keyspace_misses = 0
        self.ops_samples.clear()
        self._ops_last = (time.monotonic(), 0)
        self.connections_received = 0
        self.rejected_connections = 0
        for counters in (
            self.command_calls,
            self.rejected_calls,
            self.failed_calls,
            self.error_replies,
        ):
            counters.clear()

    def count_error(self, error: str) -> None:
        """An error reply was sent: count it by its code, as Redis's `afterErrorReply`
        (the text up to the first space within 32 characters, else ERR)."""
        space = error.find(" ", 0, 31)
        self.error_replies[error[:space] if space >= 0 else "ERR"] += 1

    def looked_up(self, found: bool, count: int = 1) -> None:
        """A read command looked `count` keys up (INFO's keyspace_hits / keyspace_misses)."""
        if found:
            self.keyspace_hits += count
        else:
            self.keyspace_misses += count

    def sample_ops(self) -> None:
        """Take one commands-per-second sample (the app calls it every 100 ms, as
        Redis's `trackInstantaneousMetric`; INFO averages the last 16)."""
        now, count = time.monotonic(), self.commands_processed
        then, before = self._ops_last
        if then and now > then:
            self.ops_samples.append((count - before) / (now - then))
            del self.ops_samples[:-OPS_SAMPLES]
        self._ops_last = (now, count)

    @property
    def ops_per_sec(self) -> int:
        """INFO's instantaneous_ops_per_sec: the mean of the recent samples."""
        samples = self.ops_samples
        return int(sum(samples) / len(samples)) if samples else 0

    def drop_session(self, session: Session) -> None:
        self.unwatch(session)
        self.clients.pop(session.id, None)

    # --- WATCH

    def watch(self, session: Session, db: int, key: bytes) -> None:
        session.watched.add((db, key))
        self.watchers.setdefault((db, key), set()).add(session)
        at = self.keyspace.expiry(db, key)
        if at >= 0:
            session.watch_expiry[(db, key)] = at

    def watch_expired(self, session: Session) -> bool:
        """Whether a watched key that existed at WATCH time has expired since (EXEC fails)."""
        if not session.watch_expiry:
            return False
        now = time.time_ns() // 1_000_000
        return any(at <= now for at in session.watch_expiry.values())

    def unwatch(self, session: Session) -> None:
        for item in session.watched:
            sessions = self.watchers.get(item)
            if sessions is not None:
                sessions.discard(session)
                if not sessions:
                    del self.watchers[item]
        session.watched.clear()
        session.watch_expiry.clear()
        session.watch_dirty = False

    def touch(self, db: int, key: bytes) -> None:
        """A key changed: transactions watching it will fail."""
        sessions = self.watchers.get((db, key))
        if sessions:
            for session in sessions:
                session.watch_dirty = True

    def touch_db(self, db: int | None) -> None:
        """Every existing watched key of `db` (None: of every db) changed (FLUSHDB/ALL)."""
        for (watched_db, key), sessions in self.watchers.items():
            if (db is None or watched_db == db) and self.keyspace.exists(watched_db, key):
                for session in sessions:
                    session.watch_dirty = True

    # --- background work the app runs

    def start_background_save(self) -> None:
        if self.on_bgsave is not None:
            self.on_bgsave()

    def start_slurp(self, host: str, port: int, source_db: int, target_db: int) -> None:
        if self.on_slurp is not None:
            self.on_slurp(host, port, source_db, target_db)
