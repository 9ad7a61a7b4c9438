"""Hostile and careless clients: each gets an error and/or a closed connection, while the
server keeps serving everyone else and loses nothing. Also durability (kill -9) and the
signals (SIGTERM/SIGINT: flush and exit 0; SIGUSR1: backup)."""

from __future__ import annotations

import random
import signal
import socket
import threading
import time

import pytest
import redis

from bitmapist.bitbytes import to_bitmap
from bitmapist.engine import Engine

from .bitmapist_server import BitmapistServerProcess
from .resp_client import EOF, RawConnection, command


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    """A server with small limits, so that exceeding them is cheap to test."""
    server = BitmapistServerProcess(
        tmp_path_factory.mktemp("limited"),
        "--max-bulk-len",
        "1000",
        "--max-args",
        "100",
        "--max-output-buffer",
        "2000000",
    )
    yield server
    server.stop()


@pytest.fixture
def healthy(limited):
    """A well-behaved client with a sentinel key that must survive every test."""
    client = limited.client()
    client.flushall()
    client.setbit("sentinel", 1234, 1)
    yield client
    assert client.ping()
    assert client.getbit("sentinel", 1234) == 1
    assert client.bitcount("sentinel") == 1
    client.close()


def test_malformed_resp_closes_only_that_client(limited, healthy):
    with RawConnection(limited.port) as bad:
        bad.send(b"*1\r\n$4\r\nPING\r\n*2\r\n$x\r\n")
        assert bad.read_until_close() == (
            b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n" + EOF
        )
    assert healthy.setbit("other", 1, 1) == 0


def test_bulk_length_over_the_limit(limited, healthy):
    with RawConnection(limited.port) as bad:
        bad.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1001\r\n")
        assert bad.read_until_close() == b"-ERR Protocol error: invalid bulk length\r\n" + EOF
    with RawConnection(limited.port) as fine:  # exactly at the limit is accepted
        assert fine.call("SET", "k", b"x" * 1000) == b"+OK\r\n"


def test_huge_declared_lengths(limited, healthy):
    for data in (b"*1\r\n$99999999999999999999\r\n", b"*9223372036854775807\r\n"):
        with RawConnection(limited.port) as bad:
            bad.send(data)
            reply = bad.read_until_close()
            assert reply.startswith(b"-ERR Protocol error: invalid") and reply.endswith(EOF)


def test_too_many_arguments(limited, healthy):
    with RawConnection(limited.port) as fine:
        assert fine.call("EXISTS", *(["k"] * 99)) == b":0\r\n"
    with RawConnection(limited.port) as bad:
        bad.send(command("EXISTS", *(["k"] * 100)))
        assert bad.read_until_close() == b"-ERR Protocol error: invalid multibulk length\r\n" + EOF


def test_endless_inline_line_and_header(limited, healthy):
    for data in (b"PING" + b"x" * 70_000, b"*1\r\n$" + b"1" * 70_000):
        with RawConnection(limited.port) as bad:
            bad.send(data)
            reply = bad.read_until_close()
            assert reply.startswith(b"-ERR Protocol error: too big") and reply.endswith(EOF)


def test_slow_client_sending_one_byte_at_a_time(limited, healthy):
    with RawConnection(limited.port) as slow:
        for byte in command("SETBIT", "slow", "77", "1") + command("GETBIT", "slow", "77"):
            slow.send(bytes([byte]))
            assert healthy.ping()  # others are served meanwhile
        assert slow.reply() == b":0\r\n"
        assert slow.reply() == b":1\r\n"


def test_half_closed_client_still_gets_its_replies(limited, healthy):
    with RawConnection(limited.port) as half:
        half.send(command("SETBIT", "h", "1", "1") + b"PING\r\n" + command("GETBIT", "h", "1"))
        half.sock.shutdown(socket.SHUT_WR)
        assert half.read_until_close() == b":0\r\n+PONG\r\n:1\r\n" + EOF
    assert healthy.getbit("h", 1) == 1
    with RawConnection(limited.port) as half:  # more than one turn's worth of commands
        half.send(b"".join(command("SETBIT", "h2", offset, "1") for offset in range(5000)))
        half.sock.shutdown(socket.SHUT_WR)
        assert half.read_until_close(timeout=20) == b":0\r\n" * 5000 + EOF
    assert healthy.bitcount("h2") == 5000


def test_client_that_stops_reading_is_paused_and_loses_nothing(limited, healthy):
    healthy.setbit("big", 7999, 1)  # a 1000-byte value: as long as the limits allow
    reply = b"$1000\r\n" + b"\x00" * 999 + b"\x01\r\n"
    with RawConnection(limited.port) as lazy:
        for _ in range(100):  # 20,000 GETs: 20 MB of replies nobody reads for now
            lazy.send(command("GET", "big") * 200)
            assert healthy.ping()  # the server keeps serving others meanwhile
        for _ in range(20_000):  # then every reply arrives, in order
            assert lazy.reply() == reply


def test_a_thousand_connections(limited, healthy):
    conns = []
    try:
        for _ in range(1000):
            conns.append(RawConnection(limited.port))
        for index, conn in enumerate(conns):
            conn.send(command("SETBIT", "many", index, "1"))
        for conn in conns:
            assert conn.reply() == b":0\r\n"
        assert healthy.bitcount("many") == 1000
    finally:
        for conn in conns:
            conn.close()
    assert healthy.ping()


def test_bad_bytes_in_many_connections_lose_nothing(limited, healthy):
    rng = random.Random(4)
    for _ in range(50):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        with RawConnection(limited.port) as bad:
            bad.send(junk)
            bad.sock.shutdown(socket.SHUT_WR)
            assert bad.read_until_close().endswith(EOF)
    assert healthy.dbsize() >= 1


# --- durability and signals


def _writer(port: int, acked: list[int], stop: threading.Event) -> None:
    """Pipelines SETBITs and records each offset whose reply arrived (acknowledged)."""
    offset = 0
    try:
        with RawConnection(port, timeout=5) as conn:
            while not stop.is_set():
                batch = list(range(offset, offset + 50))
                conn.send(b"".join(command("SETBIT", "durable", o * 7, "1") for o in batch))
                for o in batch:
                    if conn.reply() == EOF:
                        return
                    acked.append(o * 7)
                offset += 50
    except OSError:
        return


def test_acknowledged_writes_survive_kill_9(tmp_path):
    server = BitmapistServerProcess(tmp_path)
    rng = random.Random(9)
    try:
        all_acked: list[int] = []
        for _ in range(5):
            acked: list[int] = []
            stop = threading.Event()
            writers = [
                threading.Thread(target=_writer, args=(server.port, acked, stop)) for _ in range(2)
            ]
            for thread in writers:
                thread.start()
            time.sleep(rng.uniform(0.05, 0.4))
            server.kill()
            stop.set()
            for thread in writers:
                thread.join(10)
            all_acked.extend(acked)
            server.start()
            client = server.client()
            stored = to_bitmap(client.get("durable"))
            missing = [o for o in all_acked if o not in stored]
            assert not missing, f"{len(missing)} acknowledged bits lost"
            client.close()
        assert len(all_acked) > 100  # the writers really wrote
    finally:
        server.stop()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_graceful_shutdown_exits_0_with_data(tmp_path, signum):
    server = BitmapistServerProcess(tmp_path)
    client = server.client()
    client.setbit("kept", 42, 1)
    client.close()
    server.signal(signum)
    assert server.process.wait(timeout=20) == 0
    with Engine(server.db_path) as engine:
        assert engine.getbit(b"kept", 42) == 1


def test_sigusr1_writes_a_consistent_backup(tmp_path):
    backup = tmp_path / "backup.db"
    server = BitmapistServerProcess(tmp_path / "srv", "-bak", str(backup))
    try:
        client = server.client()
        for offset in range(100):
            client.setbit("backed", offset, 1)
        server.signal(signal.SIGUSR1)
        deadline = time.monotonic() + 20
        while not backup.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        with Engine(backup) as engine:
            assert engine.bitcount(b"backed") == 100
        assert client.ping()
        client.close()
    finally:
        server.stop()


def test_slurp_imports_a_running_redis(redis_server, bitmapist_server):
    source = redis_server.client()
    source.flushall()
    source.setbit("trackist_active_2026-3", 5, 1)
    source.set("plain", b"\x00\xffdata")
    source.set("expiring", "x", ex=1000)
    source.lpush("a_list", "not a string")
    target = bitmapist_server.client()
    target.flushall()
    assert target.execute_command("SLURP", f"127.0.0.1:{redis_server.port}") in (b"OK", "OK")
    deadline = time.monotonic() + 20
    while target.dbsize() < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(target.keys()) == [b"expiring", b"plain", b"trackist_active_2026-3"]
    assert target.get("plain") == b"\x00\xffdata"
    assert target.getbit("trackist_active_2026-3", 5) == 1
    assert 990 < target.ttl("expiring") <= 1000
    with pytest.raises(redis.ResponseError):
        target.execute_command("SLURP", "nohostport")
