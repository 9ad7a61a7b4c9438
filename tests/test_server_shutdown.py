"""SHUTDOWN stops a real bitmapist-server subprocess as Redis stops: no reply, the
connection closes, exit status 0, and every answered write is there after a restart."""

from __future__ import annotations

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
