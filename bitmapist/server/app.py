"""asyncio wiring: sockets <-> RESP codec <-> command table, plus background work.

Each connection parses commands one at a time (as Redis does: a protocol error comes
after the replies of the commands before it) and runs them at once; a pipeline of plain
GETBITs or SETBITs is taken and run as a whole (`RequestParser.take_run`,
`commands.run_columns`), with the same replies in the same order. Replies wait for
the end of the event-loop turn: then the write batcher commits every write of the turn
in one transaction, and all replies go out. So a client never sees an acknowledgement
before its write is on disk, and a busy server commits many writes at a time.

A client that stops reading is paused (its commands wait) once its unsent replies pass
the transport's high-water mark, and dropped past `max_output_buffer`; a client whose
partial command grows past the limits gets a protocol error and is closed. Nobody else
is affected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from typing import Any

from ..engine import Engine, Put, Value
from .batch import Deferred
from .commands import FAST, OFFSET, execute, run_columns, run_fast
from .keyspace import Keyspace
from .resp import Ack, Error, ProtocolError, RequestParser, Status, encode, encode_int
from .session import ServerState, Session, Settings

log = logging.getLogger("bitmapist.server")

_MAX_CLIENTS = b"-ERR max number of clients reached\r\n"
_SWEEP_INTERVAL = 1.0
# Commands one connection runs per event-loop turn before others get theirs.
_COMMANDS_PER_TURN = 128
_HIGH_WATER = 64 * 1024  # asyncio's default high-water mark for a transport's buffer
# Bytes one socket read may take. Every connection reads into the same buffer (the loop
# runs one callback at a time, and the parser copies what it gets at once): a plain
# `data_received` read allocates a fresh 256 KiB bytes object per recv instead, which
# glibc serves with mmap/munmap (main.py keeps its mmap threshold at 128 KiB), ~13 us a
# read (about as much as parsing 16 commands).
# 16 KiB, as Redis reads: the buffer is resident from the start (zero-filled), and a
# large request takes a few more reads, which cost next to nothing beside its copy.
_READ_SIZE = 16 * 1024


class Connection(asyncio.BufferedProtocol):
    """One client: feeds the parser, runs commands, queues replies for the turn's end."""

    def __init__(self, server: BitmapistServer):
        self.server = server
        self.state = server.state
        self.transport: asyncio.Transport | None = None
        self.session: Session | None = None
        settings = self.state.settings
        self.parser = RequestParser(max_bulk_len=settings.max_bulk_len, max_args=settings.max_args)
        # Replies of this turn: bytes, or `_late` items encoded once writes commit.
        self.replies: list[Any] = []
        self.lazy = False  # some replies are not bytes yet
        self.closed = False
        self.write_paused = False  # the client does not read its replies
        self.backlog = False  # commands wait in the parser's buffer
        self.eof = False  # the client has shut down its side
        self.dirty = False  # in the server's list of connections to flush

    # --- asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        state = self.state
        if len(state.clients) >= state.settings.maxclients:
            state.rejected_connections += 1
            transport.write(_MAX_CLIENTS)
            transport.close()
            self.closed = True
            return
        peer = transport.get_extra_info("peername") or ("", 0)
        sock = transport.get_extra_info("sockname") or ("", 0)
        # pause_writing() comes before the buffer can pass the output limit (see send_replies)
        high = min(_HIGH_WATER, state.settings.max_output_buffer)
        transport.set_write_buffer_limits(high=high, low=high // 4)
        self.session = state.new_session(addr=_address(peer), laddr=_address(sock))
        self.parser.authenticated = self.session.authenticated
        self.server.connections.add(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.server.read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        if self.session is None or self.closed or self.session.closing:
            return
        self.parser.feed(self.server.read_buffer[:nbytes])
        self._process()

    def _process(self) -> None:
        """Run buffered commands: at most a turn's share, and none while writes are stuck."""
        session = self.session
        assert session is not None and self.transport is not None
        replies = self.replies
        server = self.server
        if not server.turn_open:  # one engine view for the whole turn, closed by flush()
            server.open_turn()
        try:
            self._run(_COMMANDS_PER_TURN)
        except ProtocolError as exc:
            replies.append(encode(exc.reply))
            session.closing = True
            log.info("client %s: %s", session.addr, exc)
        except Exception as exc:  # the parser failed: this connection cannot go on
            log.exception("request parsing failed")
            replies.append(encode(Error(f"ERR internal error: {exc}")))
            session.closing = True
        server.schedule_flush(self)

    def _run(self, budget: int) -> None:
        session = self.session
        assert session is not None
        parser, state, replies = self.parser, self.state, self.replies
        next_command, append, ready = parser.next_command, replies.append, parser.ready
        take_run = parser.take_run
        if self.write_paused or session.closing:
            return
        fast = session.authenticated and session.multi is None
        fast_count = 0  # commands run by run_fast, which execute() did not count
        last = None
        while True:
            if budget == 0:  # let others have the loop; continue after the flush
                self._set_backlog(True)
                self.server.schedule_continue(self)
                break
            if ready or not fast:
                args = ready.popleft() if ready else next_command()
            else:  # a run of commands of one arity first: GETBITs or SETBITs?
                columns = take_run(budget, OFFSET, FAST)
                if columns is None:
                    args = next_command()
                elif run_columns(state, session, columns, replies):
                    budget -= len(columns[0])
                    fast_count += len(columns[0])
                    last = columns[0][-1]
                    if parser.buffered:
                        continue
                    args = None  # (saves a look for more)
                else:
                    ready.extend(map(list, zip(*columns)))  # for the usual way
                    args = ready.popleft()
            if args is None:
                if self.backlog:
                    self._set_backlog(False)
                if self.eof:
                    session.closing = True
                break
            if fast and args[0] in FAST:
                count, last, args = run_fast(state, session, args, ready, replies, budget)
                budget -= count
                fast_count += count
                if args is None:
                    continue
            budget -= 1
            if fast_count:
                state.commands_processed += fast_count
                fast_count = 0
            last = None
            try:
                reply = execute(state, session, args)
            except Exception as exc:  # a bug must cost one reply, not the server
                log.exception("command %r failed", args[0])
                reply = Error(f"ERR internal error: {exc}")
            # Replies whose bytes are known now are encoded now; the rest (writes not
            # yet committed, aggregates that may hold them) when the turn's writes are.
            kind = type(reply)
            if kind is int:
                append(encode_int(reply))
            elif kind is Ack:  # the same bytes in RESP2 and RESP3
                append(reply)
                self.lazy = True
            elif kind is bytes or kind is Error or kind is Status:
                append(encode(reply))
            else:
                append((reply, session.protocol))
                self.lazy = True
            if session.closing:
                break
            parser.authenticated = session.authenticated
            fast = session.authenticated and session.multi is None
        if fast_count:
            state.commands_processed += fast_count
        if last is not None:
            session.last_command = last

    def _set_backlog(self, backlog: bool) -> None:
        """Stop reading while commands are already waiting in the buffer."""
        assert self.transport is not None
        if backlog != self.backlog and not self.closed:
            self.backlog = backlog
            if backlog:
                self.transport.pause_reading()
            elif not self.write_paused:
                self.transport.resume_reading()

    def continue_processing(self) -> None:
        if not self.closed and self.backlog and not self.write_paused:
            self._process()

    def eof_received(self) -> bool:
        # A half-closed client still gets the replies to everything it sent.
        self.eof = True
        if self.session is not None and not self.backlog:
            self.session.closing = True
        self.server.schedule_flush(self)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        if self.session is not None:
            self.state.drop_session(self.session)

    def pause_writing(self) -> None:
        # The client is not reading its replies: run none of its commands for now.
        assert self.transport is not None
        if not self.write_paused and not self.closed:
            self.write_paused = True
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        assert self.transport is not None
        if self.write_paused and not self.closed:
            self.write_paused = False
            if self.backlog:
                self._process()
            else:
                self.transport.resume_reading()

    # --- replies

    def send_replies(self) -> None:
        """Encode and write the replies queued this turn (their writes are committed)."""
        transport = self.transport
        if self.closed or transport is None:
            self.replies.clear()
            return
        replies, self.replies = self.replies, []
        if replies:
            if self.lazy:
                self.lazy = False
                data = b"".join(
                    [
                        x if type(x) is bytes else x.data if type(x) is Ack else _late(x)
                        for x in replies
                    ]
                )
            else:
                data = b"".join(replies)
            transport.write(data)
            # Past the high-water mark (<= the limit) asyncio has paused us already.
            if self.write_paused and (
                transport.get_write_buffer_size() > self.state.settings.max_output_buffer
            ):
                addr = self.session.addr if self.session else "?"
                log.warning("client %s: output buffer over the limit, closing", addr)
                transport.abort()
                self.closed = True
                return
        if self.session is not None and self.session.closing:
            transport.close()
            self.closed = True


def _replace_failed(failed: list[dict[int, tuple[bytes, bytes]]], dirty: list[Connection]) -> None:
    """Turn the queued replies of SETBITs whose batch failed into its error (they are
    those very bytes objects, see `WriteBatcher.failed_wire`)."""
    for swaps in failed:
        for connection in dirty:
            replies = connection.replies
            for index, item in enumerate(replies):
                swap = swaps.get(id(item))
                if swap is not None and swap[0] is item:
                    replies[index] = swap[1]
    failed.clear()


def _late(item: Any) -> bytes:
    """The bytes of a queued (value, protocol) reply."""
    return encode(item[0], item[1])


def _address(pair: Any) -> str:
    if isinstance(pair, tuple) and len(pair) >= 2:
        host = pair[0]
        return f"[{host}]:{pair[1]}" if ":" in str(host) else f"{host}:{pair[1]}"
    return str(pair)


class BitmapistServer:
    """The server: listening sockets, connections, the engine and background tasks."""

    def __init__(self, engine: Engine, settings: Settings | None = None):
        self.engine = engine
        self.state = ServerState(Keyspace(engine), settings or Settings())
        self.state.on_bgsave = self.start_background_save
        self.state.on_slurp = self.start_slurp
        self.connections: set[Connection] = set()
        #: Every connection's socket reads land here first (see `_READ_SIZE`).
        self.read_buffer = memoryview(bytearray(_READ_SIZE))
        self._dirty: list[Connection] = []
        self._flush_scheduled = False
        self.turn_open = False  # the keyspace serves this turn's reads from one view
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

    def open_turn(self) -> None:
        """Read from one engine view until the turn's `flush` (see `Keyspace.open_turn`)."""
        self.state.keyspace.open_turn()
        self.turn_open = True
        if not self._flush_scheduled:  # flush() is what closes the turn
            self._flush_scheduled = True
            assert self.loop is not None
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        """Commit the turn's writes in one batch, then send every queued reply."""
        self._flush_scheduled = False
        batcher = self.state.batcher
        try:
            batcher.flush()
        finally:
            if self.turn_open:
                self.turn_open = False
                self.state.keyspace.close_turn()
        dirty, self._dirty = self._dirty, []
        if batcher.failed_wire:  # SETBIT replies of batches that did not commit
            _replace_failed(batcher.failed_wire, dirty)
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
        try:
            await self.loop.run_in_executor(None, self.engine.checkpoint)
            self.state.lastsave = int(time.time())
            self.state.changes_since_save = 0
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
    log.info("bitmapist-server listening on %s", ", ".join(f"{h}:{p}" for h, p in addresses))
    if ready is not None:
        ready(addresses)
    try:
        await server.serve_forever()
    finally:
        log.info("shutting down")
        await server.stop()
