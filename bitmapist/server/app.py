"""asyncio wiring: listening sockets, the end of every event-loop turn, background work.

Connections (`connection.py`) queue their replies during a turn; at its end `flush`
commits the turn's writes in one batch and only then sends every reply, so a client never
sees an acknowledgement before its write is on disk, and a busy server commits many
writes at a time (the first connection of a turn that leaves no write queued answers at
once: `end_turn`). Checkpoints, backups (SIGUSR1), expiry sweeps and SLURP imports run in
the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from typing import Any

from ..engine import Engine, Put, Value
from ..errors import InvalidInput
from .batch import Deferred
from .connection import Connection
from .keyspace import Keyspace
from .session import ServerState, Settings

log = logging.getLogger("bitmapist.server")

_SWEEP_INTERVAL = 1.0
# Bytes one socket read may take. Every connection reads into the same buffer (the loop
# runs one callback at a time, and the parser copies what it gets at once): a plain
# `data_received` read allocates a fresh 256 KiB bytes object per recv instead, which
# glibc serves with mmap/munmap, ~13 us a read (about as much as parsing 16 commands).
# 16 KiB, as Redis reads: the buffer is resident from the start (zero-filled), and a
# large request takes a few more reads, which cost next to nothing beside its copy.
_READ_SIZE = 16 * 1024


class BitmapistServer:
    """The server: listening sockets, connections, the engine and background tasks."""

    def __init__(self, engine: Engine, settings: Settings | None = None):
        self.engine = engine
        self.state = ServerState(Keyspace(engine), settings or Settings())
        self.state.on_bgsave = self.start_background_save
        self.state.on_slurp = self.start_slurp
        self.state.on_shutdown = self.shutdown
        self.connections: set[Connection] = set()
        #: Every connection's socket reads land here first (see `_READ_SIZE`).
        self.read_buffer = memoryview(bytearray(_READ_SIZE))
        self._dirty: list[Connection] = []
        self._flush_scheduled = False
        self._servers: list[asyncio.base_events.Server] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._save_task: asyncio.Future[Any] | None = None
        self._stopping: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    # --- the end of every event-loop turn: commit, then reply

    def schedule_flush(self, connection: Connection) -> None:
        if not connection.dirty:
            connection.dirty = True
            self._dirty.append(connection)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            assert self.loop is not None
            self.loop.call_soon(self.flush)

    def schedule_continue(self, connection: Connection) -> None:
        """Run more of `connection`'s buffered commands in a later turn."""
        assert self.loop is not None
        self.loop.call_soon(connection.continue_processing)

    def end_turn(self, connection: Connection) -> None:
        """`connection` ran its commands. Its replies wait for `flush` at the end of the
        event-loop iteration (one commit for every connection's writes, one pass sending
        every reply) unless it is the first connection of the iteration and no write is
        queued (a read commits the queue before it runs): then they go out at once, and
        a lone client is answered without waiting for another pass of the loop. A turn
        that opened an engine view leaves it open until `flush`, so that the iteration's
        other connections read through it (and its cached bits); a turn that read no key
        (PING, ECHO, ...) ends here, and schedules nothing."""
        if self._flush_scheduled or self.state.batcher.queued or connection.dirty:
            if not connection.dirty:
                connection.dirty = True
                self._dirty.append(connection)
            if not self._flush_scheduled:
                self._flush_scheduled = True
                assert self.loop is not None
                self.loop.call_soon(self.flush)
            return
        if self.state.keyspace.reading:
            self._flush_scheduled = True  # the first of the iteration: the others wait
            assert self.loop is not None
            self.loop.call_soon(self.flush)
        else:
            self.state.keyspace.close_turn()
        connection.send_replies()

    def flush(self) -> None:
        """Commit the turn's writes in one batch, then send every queued reply."""
        self._flush_scheduled = False
        batcher = self.state.batcher
        try:
            batcher.flush()
        finally:
            self.state.keyspace.close_turn()
        dirty, self._dirty = self._dirty, []
        for connection in dirty:
            connection.dirty = False
            connection.send_replies()

    # --- running

    async def start(self, host: str | None, port: int) -> list[tuple[str, int]]:
        """Listen on host:port (host None: every interface); returns the bound addresses."""
        self.loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await self.loop.create_server(
            lambda: Connection(self), host=host, port=port, reuse_address=True, backlog=1024
        )
        self._servers.append(server)
        addresses = [sock.getsockname()[:2] for sock in server.sockets]
        self.state.port = addresses[0][1] if addresses else port
        self._spawn(self._sweep_expired())
        self._spawn(self._sample_ops())
        if self.state.settings.checkpoint_interval > 0:
            self._spawn(self._checkpoints())
        return addresses

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sweep_expired(self) -> None:
        """Delete expired keys now and then (reads already ignore them)."""
        while True:
            await asyncio.sleep(_SWEEP_INTERVAL)
            try:
                self.state.batcher.flush()
                self.engine.sweep_expired()
            except Exception:
                log.exception("expiry sweep failed")

    async def _sample_ops(self) -> None:
        """Sample the command rate every 100 ms, as Redis's serverCron does."""
        while True:
            await asyncio.sleep(0.1)
            self.state.sample_ops()

    async def _checkpoints(self) -> None:
        """Fold the journal regularly, in a thread, in small steps (no stalls)."""
        while True:
            await asyncio.sleep(self.state.settings.checkpoint_interval)
            if self._save_task is None:
                await self._background_save()

    def start_background_save(self) -> None:
        """BGSAVE: a full checkpoint in a worker thread."""
        if self._save_task is None:
            self._save_task = asyncio.ensure_future(self._background_save())

    async def _background_save(self) -> None:
        assert self.loop is not None
        self.state.saving = True
        committed = self.state.batcher.changes  # what this checkpoint will hold
        try:
            await self.loop.run_in_executor(None, self.engine.checkpoint)
            self.state.lastsave = int(time.time())
            self.state.saved_changes = committed
        except Exception:
            log.exception("checkpoint failed")
        finally:
            self.state.saving = False
            self._save_task = None

    async def backup(self, path: str) -> None:
        """A consistent copy of the database at `path` (SIGUSR1)."""
        assert self.loop is not None
        log.info("backing up database to %s", path)
        started = time.monotonic()
        try:
            self.state.batcher.flush()
            await self.loop.run_in_executor(None, self.engine.backup, path)
        except Exception:
            log.exception("backup to %s failed", path)
        else:
            log.info("backup saved to %s in %.1fs", path, time.monotonic() - started)

    def start_slurp(self, host: str, port: int, source_db: int, target_db: int) -> None:
        """SLURP: import every string key of a running Redis, in the background."""
        from .slurp import slurp

        async def run() -> None:
            started = time.monotonic()
            log.info("importing redis dataset from %s:%d db %d", host, port, source_db)
            try:
                imported, skipped = await slurp(host, port, source_db, target_db, self._import)
            except Exception:
                log.exception("redis import from %s:%d failed", host, port)
                return
            log.info(
                "imported %d keys from redis in %.1fs; skipped %d non-strings",
                imported,
                time.monotonic() - started,
                skipped,
            )

        self._spawn(run())

    def _import(self, items: list[tuple[int, bytes, bytes, int | None]]) -> None:
        ops = [Put(key, Value.from_bytes(data), expire_at=at, db=db) for db, key, data, at in items]
        self.state.batcher.add(Deferred(ops, lambda results: None))
        self.state.batcher.flush()

    async def serve_forever(self) -> None:
        assert self._stopping is not None
        await self._stopping.wait()

    def shutdown(self, save: bool, force: bool) -> bool:
        """SHUTDOWN: stop serving, after a checkpoint when `save`. False (and the server
        keeps running) when that checkpoint fails, unless `force`."""
        if save:
            try:
                self.engine.checkpoint()
                self.state.lastsave = int(time.time())
                self.state.saved()
            except Exception:
                log.exception("checkpoint before SHUTDOWN failed")
                if not force:
                    return False
        log.info("SHUTDOWN received")
        self.request_stop()
        return True

    def request_stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()

    async def stop(self) -> None:
        """Stop listening, commit and answer what is pending, close the engine."""
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._save_task is not None:
            with contextlib.suppress(Exception):
                await self._save_task
        self.flush()
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        self.flush()  # commands that arrived meanwhile; closes the turn's engine view
        self.engine.close()


def event_loop_factory(kind: str = "auto") -> Callable[[], asyncio.AbstractEventLoop]:
    """What makes the server's event loop: uvloop's (libuv, its transports in C: ~7 us
    less per request than asyncio's on a round trip of one command) for "uvloop", or for
    "auto" when it is installed (`pip install bitmapist[uvloop]`); asyncio's otherwise.
    Raises InvalidInput for "uvloop" when it is not installed, or an unknown `kind`."""
    if kind not in ("auto", "asyncio", "uvloop"):
        raise InvalidInput(f"event loop {kind!r} is not auto, asyncio or uvloop")
    if kind != "asyncio":
        try:
            import uvloop
        except ImportError:
            if kind == "uvloop":
                raise InvalidInput(
                    "event loop 'uvloop' is not installed: pip install bitmapist[uvloop]"
                ) from None
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


async def run_server(
    engine: Engine,
    settings: Settings,
    host: str | None,
    port: int,
    *,
    ready: Any = None,
) -> None:
    """Serve until SIGTERM/SIGINT; SIGUSR1 writes a backup when `settings.backup_path`."""
    server = BitmapistServer(engine, settings)
    addresses = await server.start(host, port)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, server.request_stop)
    if settings.backup_path:
        loop.add_signal_handler(
            signal.SIGUSR1, lambda: asyncio.ensure_future(server.backup(settings.backup_path))
        )
    log.info(
        "bitmapist-server listening on %s (event loop: %s)",
        ", ".join(f"{h}:{p}" for h, p in addresses),
        type(loop).__module__.partition(".")[0],
    )
    if ready is not None:
        ready(addresses)
    try:
        await server.serve_forever()
    finally:
        log.info("shutting down")
        await server.stop()
