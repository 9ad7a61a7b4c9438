"""One client connection: socket bytes -> request parser -> commands -> queued replies.

Each connection parses commands one at a time (as Redis does: a protocol error comes
after the replies of the commands before it) and runs them at once; a read that holds one
whole command and nothing else (a client waiting for each reply) is parsed and run
without buffering it (`RequestParser.lone`); a pipeline of plain
GETBITs or SETBITs is taken and run as a whole (`RequestParser.take_run`,
`handlers.bits.run`), with the same replies in the same order. When writes are queued,
replies wait for the end of the event-loop iteration (`app.BitmapistServer.flush`): then
the write batcher commits every connection's writes in one transaction, and all replies
go out. A write's reply is an `Ack`/`Acks` until then, which its batch turns into the
error if the commit fails. The first connection of an iteration that leaves no write
queued (a read commits the queue before it runs) sends its replies at once instead
(`app.BitmapistServer.end_turn`).

A client that stops reading is paused (its commands wait) once its unsent replies pass
the transport's high-water mark, and dropped past `max_output_buffer`. A huge bulk
reply (`resp.Streamed`, a GET of a value of 1 MiB or more) is not built whole: its pieces
are made and written one at a time while the transport's buffer is below the high-water
mark, and the next when the client has read it down (`resume_writing`), so it never
passes the limit; the connection runs no more commands until it is written. A client whose
partial command grows past the limits gets a protocol error and is closed. Nobody else
is affected.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .commands import execute
from .handlers import bits
from .request import ProtocolError, RequestParser
from .resp import (
    NO_REPLY,
    Ack,
    Acks,
    Error,
    Later,
    Status,
    Streamed,
    bulk_pieces,
    encode,
    encode_int,
)
from .session import Session

if TYPE_CHECKING:
    from .app import BitmapistServer

log = logging.getLogger("bitmapist.server")

_MAX_CLIENTS = b"-ERR max number of clients reached\r\n"
# Commands one connection runs per event-loop turn before others get theirs.
_COMMANDS_PER_TURN = 128
_HIGH_WATER = 64 * 1024  # asyncio's default high-water mark for a transport's buffer
_LONG_BULK = 4096  # bulk replies this long are queued as pieces (`resp.bulk_pieces`)


class Connection(asyncio.BufferedProtocol):
    """One client: feeds the parser, runs commands, queues replies for the turn's end."""

    def __init__(self, server: BitmapistServer):
        self.server = server
        self.state = server.state
        self.keyspace = server.state.keyspace
        self.transport: asyncio.Transport | None = None
        self.session: Session | None = None
        settings = self.state.settings
        self.parser = RequestParser(max_bulk_len=settings.max_bulk_len, max_args=settings.max_args)
        # Replies of this turn: bytes, or `_late` items encoded once writes commit.
        self.replies: list[Any] = []
        self.lazy = False  # some replies are not bytes yet
        self.may_stream = False  # and one of them may be streamed (`_streamed`)
        self.closed = False
        self.write_paused = False  # the client does not read its replies
        self.backlog = False  # commands wait in the parser's buffer
        self.eof = False  # the client has shut down its side
        self.dirty = False  # in the server's list of connections to flush
        # Wire bytes still to write behind a streamed reply, as iterators of pieces.
        self.outbox: list[Iterator[bytes]] = []

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
        session = self.session
        if session is None or self.closed or session.closing:
            return
        data = self.server.read_buffer[:nbytes]
        args = self.parser.lone(data)
        if args is None or self.write_paused or self.outbox:
            self.parser.feed(data)
            self._process()
            return
        # One whole command with nothing before it (a request on its own, the common
        # case of a client waiting for each reply): run it without buffering or looking
        # for a run; the same `_execute` and the same end of the turn as any other.
        if not self.keyspace.turn:  # (see `_process`)
            self.keyspace.open_turn()
        self._execute(args)
        self.parser.authenticated = session.authenticated
        self.server.end_turn(self)

    def _process(self) -> None:
        """Run buffered commands: at most a turn's share, and none while writes are stuck."""
        session = self.session
        assert session is not None and self.transport is not None
        replies = self.replies
        server = self.server
        if not self.keyspace.turn:  # reads share one engine view until the turn ends
            self.keyspace.open_turn()
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
        server.end_turn(self)

    def _run(self, budget: int) -> None:
        """Run up to `budget` buffered commands: runs of plain GETBITs or SETBITs at once
        (`handlers.bits.run`), the others one at a time."""
        session = self.session
        assert session is not None
        parser = self.parser
        if self.write_paused or self.outbox or session.closing:
            return
        while True:
            if budget == 0:  # let others have the loop; continue after the flush
                self._set_backlog(True)
                self.server.schedule_continue(self)
                return
            args: list[bytes] | None = None
            if session.authenticated and session.multi is None:
                columns = parser.take_run(budget, bits.OFFSET, bits.RUN_NAMES)
                if columns is not None:
                    budget -= self._run_columns(columns)
                    if parser.buffered:
                        continue
                else:
                    args = parser.next_command()
            else:
                args = parser.next_command()
            if args is None:
                if self.backlog:
                    self._set_backlog(False)
                if self.eof:
                    session.closing = True
                return
            budget -= 1
            self._execute(args)
            if session.closing:
                return
            parser.authenticated = session.authenticated

    def _run_columns(self, columns: list[list[bytes]]) -> int:
        """Run the commands of a run (argument columns); returns how many there were."""
        session, state = self.session, self.state
        assert session is not None
        count = len(columns[0])
        try:
            handled = bits.run(state, session, columns, self.replies)
        except Exception as exc:  # a failed read: none of them ran, each gets the error
            log.exception("command %r failed", columns[0][0])
            self.replies.extend([encode(Error(f"ERR internal error: {exc}"))] * count)
            handled = True
        if handled:
            if len(columns) == 4:  # SETBITs' `Acks` (GETBITs' replies are bytes)
                self.lazy = True
            state.commands_processed += count
            state.command_calls["getbit" if len(columns) == 3 else "setbit"] += count
            session.last_command = columns[0][-1]
        else:  # not all plain GETBITs or SETBITs: one at a time, as any command
            for args in zip(*columns):
                self._execute(list(args))
        return count

    def _execute(self, args: list[bytes]) -> None:
        """Run one command and queue its reply."""
        session = self.session
        assert session is not None
        try:
            reply = execute(self.state, session, args)
        except Exception as exc:  # a bug must cost one reply, not the server
            log.exception("command %r failed", args[0])
            reply = Error(f"ERR internal error: {exc}")
        # Replies whose bytes are known now are encoded now; the rest (writes not yet
        # committed, aggregates that may hold them) when the turn's writes are.
        kind = type(reply)
        if kind is int:
            self.replies.append(encode_int(reply))
        elif kind is Ack:  # the same bytes in RESP2 and RESP3
            self.replies.append(reply)
            self.lazy = True
        elif kind is bytes and len(reply) >= _LONG_BULK:
            self.replies.extend(bulk_pieces(reply))
        elif kind is bytes or kind is Error or kind is Status:
            self.replies.append(encode(reply))
        elif kind is Streamed:  # written piece by piece by send_replies
            self.replies.append(reply)
            self.lazy = self.may_stream = True
        elif (
            kind is list
            and any(type(item) is Streamed for item in reply)
            and all(item is None or type(item) in _FINAL for item in reply)
        ):
            # An array with a huge element (MGET): its header and elements in turn, so
            # that the huge one is streamed as GET's is. Not one with a write's reply
            # (EXEC), whose bytes are known only once the write commits.
            self.replies.append(b"*%d\r\n" % len(reply))
            for item in reply:
                self.replies.append(
                    item if type(item) is Streamed else encode(item, session.protocol)
                )
            self.lazy = self.may_stream = True
        elif reply is not NO_REPLY:
            self.replies.append((reply, session.protocol))
            self.lazy = True
            if kind is Later:  # a write's old value, maybe huge (GETSET, GETDEL ...)
                self.may_stream = True

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
        self.outbox.clear()  # a streamed reply's copy of the bits goes with the client
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
            if self.outbox:
                self._pump()
            elif self.backlog:
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
                if self.may_stream:
                    self.may_stream = False
                    if any(
                        type(x) is Streamed or (type(x) is tuple and _streamed(x) is not None)
                        for x in replies
                    ):
                        self._stream(replies)
                        return
                data = b"".join([x if type(x) is bytes else _late(x) for x in replies])
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

    def _stream(self, replies: list[Any]) -> None:
        """Queue replies some of which are streamed, and start writing them."""
        assert self.transport is not None
        self.transport.pause_reading()  # no commands run until the stream is written
        batch: list[bytes] = []
        for item in replies:
            streamed = _streamed(item)
            if streamed is not None:
                self.outbox.append(iter(batch))
                self.outbox.append(streamed.pieces())
                batch = []
            else:
                batch.append(item if type(item) is bytes else _late(item))
        self.outbox.append(iter(batch))
        self._pump()

    def _pump(self) -> None:
        """Write queued pieces until the transport's buffer passes its high-water mark
        (asyncio then calls pause_writing; resume_writing calls this again)."""
        transport = self.transport
        assert transport is not None and self.session is not None
        outbox = self.outbox
        # is_closing: a send failed (the client reset the connection) and connection_lost
        # is only scheduled: making the rest of a huge reply for nobody would block the loop.
        while outbox and not self.write_paused and not self.closed:
            if transport.is_closing():
                outbox.clear()
                return
            piece = next(outbox[0], None)
            if piece is None:
                outbox.pop(0)
            elif piece:
                transport.write(piece)
        if outbox or self.closed:
            return
        if self.session.closing:
            transport.close()
            self.closed = True
        elif self.parser.buffered:  # commands that came meanwhile: run them next turn
            self.backlog = True
            self.server.schedule_continue(self)
        elif not self.write_paused:  # else resume_writing resumes reading
            transport.resume_reading()


_FINAL = (bytes, Streamed)  # array elements whose bytes are known when the command runs


def _streamed(item: Any) -> Streamed | None:
    """The reply to stream that `item` is: a huge GET's, or a write's whose reply is a
    huge old value (GETSET, GETDEL, SET ... GET), known once the write committed."""
    if type(item) is Streamed:
        return item
    if type(item) is tuple and type(item[0]) is Later and type(item[0].value) is Streamed:
        return item[0].value
    return None


def _late(item: Any) -> bytes:
    """The bytes of a reply queued before its write committed: an `Ack` or `Acks` (whose
    bytes are final now), or a (value, protocol) pair."""
    kind = type(item)
    if kind is Ack or kind is Acks:
        return item.data
    return encode(item[0], item[1])


def _address(pair: Any) -> str:
    if isinstance(pair, tuple) and len(pair) >= 2:
        host = pair[0]
        return f"[{host}]:{pair[1]}" if ":" in str(host) else f"{host}:{pair[1]}"
    return str(pair)
