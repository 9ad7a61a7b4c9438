"""Bounded differential fuzzing: mutated request streams to redis-server and to
bitmapist-server must produce the same bytes (replies, protocol errors, closes).

Each stream is a pipeline of valid commands with random damage (flipped, inserted,
deleted or duplicated bytes, truncation, CR/LF/NUL/'*'/'$' noise). The client then shuts
down its side, so both servers answer everything and close. `fuzz/fuzz_server.py` runs
the same comparison for as long as you like.
"""

from __future__ import annotations

import random
import re
import socket

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from .resp_client import RawConnection, command

# Commands whose replies are the same on both servers (no clocks, ids or hash order).
BASE_COMMANDS = [
    ("SETBIT", "k", "7", "1"),
    ("SETBIT", "k", "100", "0"),
    ("GETBIT", "k", "7"),
    ("BITCOUNT", "k"),
    ("BITCOUNT", "k", "0", "-1", "BIT"),
    ("BITPOS", "k", "1"),
    ("SET", "s", "va\r\nlue"),
    ("GET", "s"),
    ("STRLEN", "s"),
    ("DEL", "s", "k"),
    ("EXISTS", "k", "s"),
    ("ECHO", "hi"),
    ("PING",),
    ("BITOP", "OR", "d", "k", "s"),
    ("BITOP", "NOT", "d", "k"),
    ("EXPIRE", "k", "100"),
    ("TTL", "k"),
    ("TYPE", "d"),
    ("MULTI",),
    ("EXEC",),
    ("SELECT", "1"),
    ("RENAME", "d", "e"),
    ("DBSIZE",),
    ("BITFIELD", "k", "GET", "u8", "0", "SET", "i5", "#3", "-7", "INCRBY", "u4", "2", "9"),
    ("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "200", "OVERFLOW", "FAIL"),
    ("BITFIELD_RO", "k", "GET", "i64", "1", "GET", "u63", "#2"),
]
_NOISE = [b"\r", b"\n", b"\r\n", b"\x00", b"*", b"$", b"-", b"0", b"9", b" ", b'"', b"'"]


def mutate(rng: random.Random, data: bytes, rounds: int) -> bytes:
    """`data` with `rounds` random edits."""
    buf = bytearray(data)
    for _ in range(rounds):
        where = rng.randrange(len(buf) + 1)
        action = rng.randrange(6)
        if action == 0 and buf:
            buf[min(where, len(buf) - 1)] = rng.randrange(256)
        elif action == 1:
            buf[where:where] = rng.choice(_NOISE)
        elif action == 2 and buf:
            del buf[where : where + rng.randrange(1, 4)]
        elif action == 3:
            start = rng.randrange(len(buf) + 1)
            buf[where:where] = buf[start : start + rng.randrange(1, 12)]
        elif action == 4:
            del buf[where:]
        else:
            buf[where:where] = str(rng.randrange(-3, 70000)).encode()
    return bytes(buf)


def _run(rng: random.Random) -> bytes:
    """GETBITs or SETBITs the same but for their offsets: what the server takes as a run
    (see `RequestParser.take_run`)."""
    name, offsets = rng.choice(["GETBIT", "SETBIT", "getbit"]), rng.choice([9, 99, 99999])
    bit = rng.choice(["0", "1"])
    return b"".join(
        command(name, "k", rng.randrange(offsets), *([bit] if "S" in name else []))
        for _ in range(rng.randrange(2, 20))
    )


def stream(rng: random.Random) -> bytes:
    """A pipeline of valid commands (multibulk or inline), then damaged."""
    parts = []
    for _ in range(rng.randrange(1, 8)):
        if rng.random() < 0.2:
            parts.append(_run(rng))
            continue
        args = rng.choice(BASE_COMMANDS)
        if rng.random() < 0.3:
            parts.append(" ".join(args).replace("\r\n", "").encode() + b"\r\n")
        else:
            parts.append(command(*args))
    return mutate(rng, b"".join(parts), rng.randrange(0, 4))


def exchange(port: int, data: bytes) -> bytes:
    """Everything a server sends back for `data` (then half-close) until it closes."""
    with RawConnection(port, timeout=5) as conn:
        conn.send(data)
        conn.sock.shutdown(socket.SHUT_WR)
        return conn.read_until_close(timeout=5)


def compare(redis_port: int, our_port: int, data: bytes) -> tuple[bytes, bytes]:
    """Run `data` on both servers from the same empty state; (redis's bytes, ours)."""
    for port in (redis_port, our_port):
        with RawConnection(port) as conn:
            assert conn.call("FLUSHALL") == b"+OK\r\n"
    return exchange(redis_port, data), exchange(our_port, data)


def redis_only_command(redis_port: int, output: bytes) -> bool:
    """Whether `output` (ours) rejects as unknown a command Redis has (a mutation made
    MGET out of GET, say): those are outside what bitmapist-server implements."""
    names = re.findall(rb"-ERR unknown command '([^']*)'", output)
    with RawConnection(redis_port) as conn:
        return any(conn.call("COMMAND", "INFO", name) != b"*1\r\n*-1\r\n" for name in names)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1))
def test_mutated_streams_match_redis(redis_server, bitmapist_server, seed):
    data = stream(random.Random(seed))
    expected, got = compare(redis_server.port, bitmapist_server.port, data)
    assume(got == expected or not redis_only_command(redis_server.port, got))
    assert got == expected, f"input {data!r}"


def test_server_still_healthy_after_fuzzing(bitmapist_server):
    client = bitmapist_server.client()
    client.setbit("after-fuzz", 3, 1)
    assert client.getbit("after-fuzz", 3) == 1
    client.close()
