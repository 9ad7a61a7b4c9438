"""SHUTDOWN stops a real bitmapist-server subprocess as Redis stops: no reply, the
connection closes, exit status 0, and every answered write is there after a restart."""

from __future__ import annotations

import resource

import pytest

from .bitmapist_server import BitmapistServerProcess
from .resp_client import EOF, RawConnection, command


@pytest.mark.parametrize(
    "options",
    [(), ("NOSAVE",), ("SAVE",), ("now", "force"), ("SAVE", "NOW", "FORCE"), ("nosave", "now")],
)
def test_shutdown_stops_the_server_and_keeps_the_data(tmp_path, options):
    server = BitmapistServerProcess(tmp_path)
    try:
        client, other = RawConnection(server.port), RawConnection(server.port)
        assert client.call("SET", "k", "v") == b"+OK\r\n"
        assert client.call("SETBIT", "b", "7", "1") == b":0\r\n"
        # one pipeline: the PING after SHUTDOWN is never answered
        client.send(command("PING") + command("SHUTDOWN", *options) + command("PING"))
        assert client.reply() == b"+PONG\r\n"
        assert client.reply() == EOF
        assert other.reply() == EOF  # every client is disconnected
        assert server.process is not None and server.process.wait(timeout=20) == 0
        server.start()
        again = RawConnection(server.port)
        assert again.call("GET", "k") == b"$1\r\nv\r\n"
        assert again.call("GETBIT", "b", "7") == b":1\r\n"
        again.close()
    finally:
        server.stop()


def test_shutdown_refusals_leave_the_server_running(tmp_path):
    server = BitmapistServerProcess(tmp_path)
    try:
        client = RawConnection(server.port)
        assert client.call("SHUTDOWN", "ABORT") == b"-ERR No shutdown in progress.\r\n"
        assert client.call("SHUTDOWN", "SAVE", "NOSAVE") == b"-ERR syntax error\r\n"
        assert client.call("MULTI") == b"+OK\r\n"
        assert client.call("SHUTDOWN") == b"-ERR Command not allowed inside a transaction\r\n"
        assert client.call("EXEC").startswith(b"-EXECABORT")
        assert client.call("PING") == b"+PONG\r\n"
        assert server.process is not None and server.process.poll() is None
    finally:
        server.stop()


def test_shutdown_save_that_cannot_checkpoint_answers_an_error_and_keeps_serving(tmp_path):
    # A real failure: the server's files may no longer grow (RLIMIT_FSIZE on the process,
    # as a full disk), so the checkpoint SAVE asks for fails. Redis then answers an error
    # and keeps running; with FORCE it stops anyway. Writes answered before are kept.
    server = BitmapistServerProcess(tmp_path, "--checkpoint-interval", "0")
    try:
        client = RawConnection(server.port)
        assert client.call("SET", "k", "v") == b"+OK\r\n"
        for offset in range(0, 300_000, 7):  # journal rows for the checkpoint to fold
            client.send(command("SETBIT", "b", offset, "1"))
        assert {client.reply() for _ in range(0, 300_000, 7)} == {b":0\r\n"}
        assert server.process is not None
        resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
        for options in (("SAVE",), ("save", "now")):
            assert client.call("SHUTDOWN", *options) == (
                b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
            )
            assert server.process.poll() is None
            assert client.call("PING") == b"+PONG\r\n"
            assert client.call("GET", "k") == b"$1\r\nv\r\n"
        client.send(command("SHUTDOWN", "SAVE", "FORCE"))
        assert client.reply() == EOF
        # It stops cleanly, but its log (stderr, a file) cannot grow either: when stderr is
        # buffered (no PYTHONUNBUFFERED), the log lines it could not write are still pending
        # at exit and Python ends with 120, its status for "could not flush stdio".
        assert server.process.wait(timeout=20) in (0, 120)
        server.start()
        again = RawConnection(server.port)
        assert again.call("GET", "k") == b"$1\r\nv\r\n"
        assert again.call("BITCOUNT", "b") == b":%d\r\n" % len(range(0, 300_000, 7))
        again.close()
    finally:
        server.stop()
