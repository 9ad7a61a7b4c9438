"""`--event-loop`: the server on asyncio's loop and on uvloop's (an optional extra) gives the
same replies, in order, for a pipeline of reads and writes with a reply streamed in
pieces past the output limit; asking for uvloop when it is not installed is a clear error."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys

import pytest

from bitmapist.errors import InvalidInput
from bitmapist.server.app import event_loop_factory

from .bitmapist_server import REPO_ROOT, BitmapistServerProcess
from .resp_client import command

HAVE_UVLOOP = importlib.util.find_spec("uvloop") is not None
LOOPS = [
    "asyncio",
    pytest.param(
        "uvloop",
        marks=pytest.mark.skipif(not HAVE_UVLOOP, reason="uvloop (bitmapist[uvloop]) absent"),
    ),
]


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(1 << 20)
        assert chunk, f"connection closed after {len(data)} of {size} bytes"
        data += chunk
    return data


@pytest.mark.parametrize("loop", LOOPS)
def test_replies_in_order_on_either_loop(tmp_path, loop):
    server = BitmapistServerProcess(
        tmp_path, "--event-loop", loop, "--max-output-buffer", str(1 << 20)
    )
    try:
        assert f"(event loop: {loop})" in server.log()
        conn = socket.create_connection(("127.0.0.1", server.port))
        big = b"\x81" * (3 << 20)  # streamed in pieces past the 1 MiB output limit
        conn.sendall(
            command("SET", "big", big)
            + command("SETBIT", "b", 7, 1)
            + command("GET", "b")
            + command("GET", "big")
            + command("SETBIT", "b", 0, 1)
            + command("GETRANGE", "b", 0, -1)
            + command("PING")
        )
        want = (
            b"+OK\r\n:0\r\n$1\r\n\x01\r\n"
            + b"$%d\r\n%s\r\n" % (len(big), big)
            + b":0\r\n$1\r\n\x81\r\n+PONG\r\n"
        )
        assert _read(conn, len(want)) == want
        conn.close()
    finally:
        server.stop()


def test_unknown_or_missing_loops_are_clear_errors():
    with pytest.raises(InvalidInput, match="'libev' is not auto, asyncio or uvloop"):
        event_loop_factory("libev")
    loop = event_loop_factory("asyncio")()
    assert type(loop).__module__.startswith("asyncio")
    loop.close()
    if HAVE_UVLOOP:
        return
    with pytest.raises(InvalidInput, match=r"pip install bitmapist\[uvloop\]"):
        event_loop_factory("uvloop")
    result = subprocess.run(
        [sys.executable, "-m", "bitmapist.server.main", "--event-loop", "uvloop"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "pip install bitmapist[uvloop]" in result.stderr
