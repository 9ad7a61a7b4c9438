"""Huge GET / GETRANGE replies are streamed: the whole reply arrives byte-identical to
redis-server's, the connection stays open, later pipelined replies follow in order, and
other clients are answered meanwhile. Our server runs with an output-buffer limit far
below the replies' size: building a reply whole would pass it and cut the client off."""

from __future__ import annotations

import socket

import pytest

from .bitmapist_server import BitmapistServerProcess
from .resp_client import RawConnection, command

LIMIT = 2 * 1024 * 1024  # --max-output-buffer: below every streamed reply here
# Bits of a value 24 MiB long: sparse ids, a dense stretch and the last bit.
BITS = [5, 70_000, 3_000_000] + list(range(9_000_000, 9_200_000, 3)) + [24 * 2**23 - 1]


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory):
    server = BitmapistServerProcess(
        tmp_path_factory.mktemp("streaming"), "--max-output-buffer", str(LIMIT)
    )
    yield server
    server.stop()


def _load(port: int) -> RawConnection:
    conn = RawConnection(port, timeout=30)
    conn.call("FLUSHALL")
    for offset in BITS:
        conn.send(command("SETBIT", "big", offset, 1))
    for _ in BITS:
        conn.reply()
    return conn


COMMANDS = [
    ("GET", "big"),
    ("PING",),
    ("GETRANGE", "big", 1_000_000, -1),
    ("GETRANGE", "big", -3_000_000, -2),
    ("GETRANGE", "big", 10, 100),
    ("STRLEN", "big"),
    ("GET", "big"),
]


def test_huge_replies_arrive_whole_and_in_order(ours, redis_server):
    theirs_conn = _load(redis_server.port)
    ours_conn = _load(ours.port)
    expected = theirs_conn.pipeline(COMMANDS)
    got = ours_conn.pipeline(COMMANDS)
    assert [len(reply) for reply in got] == [len(reply) for reply in expected]
    assert got == expected
    assert ours_conn.call("PING") == b"+PONG\r\n"  # the connection is still open


def test_a_slow_reader_gets_everything_while_others_are_answered(ours, redis_server):
    expected = _load(redis_server.port).call("GET", "big")
    _load(ours.port)
    slow = socket.create_connection(("127.0.0.1", ours.port), timeout=30)
    slow.sendall(command("GET", "big") + command("SETBIT", "big", 1, 1) + command("PING"))
    other = RawConnection(ours.port)
    header = expected.index(b"\r\n") + 2
    received = bytearray(slow.recv(1000))
    assert received.startswith(expected[:header])
    # the slow client's reply is mid-stream: another client is answered, and a write to
    # the key being streamed does not change the reply already started
    assert other.call("SETBIT", "big", 6, 1) == b":0\r\n"
    assert other.call("GETBIT", "big", 6) == b":1\r\n"
    total = len(expected) + len(b":0\r\n+PONG\r\n")
    while len(received) < total:
        chunk = slow.recv(1 << 20)
        assert chunk, "connection closed mid-reply"
        received += chunk
    assert bytes(received) == expected + b":0\r\n+PONG\r\n"
    want = bytearray(expected)
    want[header] |= 0x40 | 0x02  # bits 1 and 6, set after the first reply began
    assert other.call("GET", "big") == bytes(want)


def test_exec_builds_a_huge_reply_whole(ours, redis_server):
    """Inside MULTI/EXEC a reply is part of an array: built whole, as before (its size is
    then bounded by the output-buffer limit; see docs/server.md)."""
    conns = [_load(ours.port), _load(redis_server.port)]
    commands = [("MULTI",), ("GETRANGE", "big", 0, 1_499_999), ("GET", "small"), ("EXEC",)]
    replies = []
    for conn in conns:
        conn.call("SETBIT", "small", 100, 1)
        replies.append(conn.pipeline(commands)[-1])
    assert replies[0] == replies[1]


def test_a_client_that_leaves_mid_reply_harms_nobody(ours):
    _load(ours.port)
    leaver = socket.create_connection(("127.0.0.1", ours.port), timeout=30)
    leaver.sendall(command("GET", "big") + command("GET", "big"))
    assert leaver.recv(1000).startswith(b"$%d\r\n" % (24 * 2**20))
    leaver.close()
    other = RawConnection(ours.port)
    assert other.call("PING") == b"+PONG\r\n"
    assert other.call("GETRANGE", "big", 0, 0) == b"$1\r\n\x04\r\n"
