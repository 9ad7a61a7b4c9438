"""Every write command, pipelined from several connections, then `kill -9` of the server
(or a full disk under it): after a restart every acknowledged write is there.

Each connection writes groups of keys of its own (`a`, `b`, an integer `n`, and the same
names in db 1 for MOVE), one random write command after another. A redis-server runs each
group's commands in the same order and, after each, records the group's state (values,
whether a TTL is set): the replies our server gave must be Redis's, and after the restart
each group's state must be the one after some prefix of its commands at least as long as
the prefix our server acknowledged (commits keep each connection's order).
"""

from __future__ import annotations

import random
import resource
import threading
import time
import zlib

import pytest

from .bitmapist_server import BitmapistServerProcess
from .resp_client import EOF, RawConnection, command

CONNECTIONS = 3
GROUPS = 12  # per connection
STEPS = 60  # commands per group
CHUNK = 40  # commands per pipelined send
# A DUMP payload of the string "restored" (Redis 7.0: RDB 10, CRC64).
RESTORED = b"\x00\x08restored\n\x00\x8d\xac\xb5\xd6\xc5\x1b\x8d\xa7"


def _write(rng: random.Random, g: str) -> tuple:
    """One random write of group `g`'s keys (some answer errors: those count too)."""
    a, b, n = f"{g}:a", f"{g}:b", f"{g}:n"
    word = rng.choice(["x", "yz", "", "12", "\xff\x00"])
    offset = str(rng.choice([0, 3, 70, 9000, 70_000]))
    return rng.choice(
        [
            ("SET", a, word),
            ("SET", a, word, "EX", "100000"),
            ("SET", b, word, "KEEPTTL", "GET"),
            ("SETNX", b, word),
            ("SETEX", a, "100000", word),
            ("PSETEX", b, "100000000", word),
            ("MSET", a, word, b, "v"),
            ("MSETNX", a, word, b, "w"),
            ("GETSET", b, word),
            ("GETDEL", a),
            ("GETEX", b, "PERSIST"),
            ("GETEX", a, "EX", "100000"),
            ("SETBIT", a, offset, str(rng.randrange(2))),
            ("SETBIT", b, offset, "1"),
            ("APPEND", a, word),
            ("SETRANGE", b, offset, word or "q"),
            ("INCR", n),
            ("INCRBY", n, str(rng.randrange(-1000, 1000))),
            ("DECRBY", n, "7"),
            ("INCRBYFLOAT", n, "1.5"),
            ("BITFIELD", a, "INCRBY", "u8", offset, "3", "SET", "i5", "#2", "-3"),
            ("BITOP", rng.choice(["AND", "OR", "XOR"]), b, a, b),
            ("BITOP", "NOT", a, b),
            ("DEL", a),
            ("UNLINK", b, a),
            ("EXPIRE", a, "100000"),
            ("PEXPIRE", b, "100000000", "NX"),
            ("PERSIST", a),
            ("RENAME", a, b),
            ("RENAMENX", b, a),
            ("COPY", a, b, "REPLACE"),
            ("COPY", b, a, "DB", "1"),
            ("MOVE", a, "1"),
            ("RESTORE", b, "0", RESTORED, "REPLACE"),
            ("SORT", f"{g}:none", "STORE", a),
            ("INCR", a),
        ]
    )


def _state(conn: RawConnection, g: str) -> tuple:
    """The group's values and whether each has a TTL, in db 0 and db 1."""
    keys = [f"{g}:a", f"{g}:b", f"{g}:n"]
    reads = [("SELECT", "0")]
    reads += [("GET", k) for k in keys] + [("TTL", k) for k in keys]
    reads += [("SELECT", "1")] + [("GET", k) for k in keys[:2]] + [("TTL", k) for k in keys[:2]]
    reads += [("SELECT", "0")]
    replies = conn.pipeline(reads)
    return tuple(_short(r) for r in replies)


def _short(reply: bytes) -> bytes:
    """A reply as the state compares it: a TTL as set or not, a long value by its hash."""
    if reply.startswith(b":") and int(reply[1:-2]) >= 0:
        return b":ttl"
    if len(reply) > 40:
        return b"%d bytes, crc %08x" % (len(reply), zlib.crc32(reply))
    return reply


def _scripts(seed: int) -> list[list[tuple]]:
    """Per connection, its commands in order (its groups' commands interleaved)."""
    rng = random.Random(seed)
    scripts = []
    for c in range(CONNECTIONS):
        steps = [(f"c{seed}.{c}.{j}", s) for s in range(STEPS) for j in range(GROUPS)]
        scripts.append([_write(rng, g) for g, _ in steps])
    return scripts


def _oracle(redis_port: int, scripts: list[list[tuple]]):
    """Redis's reply to every command, and each group's states after each of its commands."""
    replies: list[list[bytes]] = []
    states: dict[str, list[tuple]] = {}
    with RawConnection(redis_port, timeout=30) as conn:
        conn.call("FLUSHALL")
        for script in scripts:
            got = []
            for args in script:
                group = _group(args)
                states.setdefault(group, [_state(conn, group)])
                got.append(conn.call(*args))
                states[group].append(_state(conn, group))
            replies.append(got)
    return replies, states


def _writer(port: int, script: list[tuple], replies: list[bytes], stop: threading.Event):
    """Pipeline the script in chunks, appending each reply as it arrives, until killed."""
    try:
        with RawConnection(port, timeout=30) as conn:
            for start in range(0, len(script), CHUNK):
                if stop.is_set():
                    return
                chunk = script[start : start + CHUNK]
                conn.send(b"".join(command(*args) for args in chunk))
                for _ in chunk:
                    reply = conn.reply()
                    if reply == EOF:
                        return  # the server was killed
                    replies.append(reply)
    except OSError:
        return  # the server was killed


def _group(args: tuple) -> str:
    """The group a command writes: its first key's (BITOP's first argument is its op)."""
    key = args[2] if args[0] == "BITOP" else args[1]
    return key.rsplit(":", 1)[0]


def _check_prefixes(port: int, scripts, expected, states, got) -> int:
    """After a kill: our replies are Redis's, and every group holds a state at or past
    the prefix of its writes that was acknowledged. Returns how many were."""
    with RawConnection(port, timeout=30) as conn:
        for script, theirs, ours in zip(scripts, expected, got, strict=True):
            assert ours == theirs[: len(ours)], "a reply differs from redis-server's"
            done = {_group(args): 0 for args in script}
            for args in script[: len(ours)]:
                done[_group(args)] += 1
            for group, count in done.items():
                now = _state(conn, group)
                assert now in states[group][count:], (
                    f"{group}: {count} acknowledged writes, state {now} is not one they "
                    "or later writes left"
                )
    return sum(map(len, got))


def _run(server, scripts, kill_after: int | None) -> list[list[bytes]]:
    """Every connection pipelines its script; with `kill_after`, the server gets SIGKILL
    once that many replies arrived (mid-pipeline: more commands are in flight)."""
    got: list[list[bytes]] = [[] for _ in scripts]
    stop = threading.Event()
    threads = [
        threading.Thread(target=_writer, args=(server.port, script, replies, stop))
        for script, replies in zip(scripts, got, strict=True)
    ]
    for thread in threads:
        thread.start()
    if kill_after is not None:
        deadline = time.monotonic() + 60
        while sum(map(len, got)) < kill_after and time.monotonic() < deadline:
            time.sleep(0.001)
        server.kill()
        stop.set()
    for thread in threads:
        thread.join(60)
    return got


@pytest.mark.parametrize("seed", [1, 2])
def test_every_acknowledged_write_survives_kill_9(tmp_path, redis_server, seed):
    scripts = _scripts(seed)
    expected, states = _oracle(redis_server.port, scripts)
    server = BitmapistServerProcess(tmp_path, "--checkpoint-interval", "1")
    try:
        total = sum(map(len, scripts))
        got = _run(server, scripts, random.Random(seed).randrange(total // 5, total * 4 // 5))
        server.start()
        acked = _check_prefixes(server.port, scripts, expected, states, got)
        assert acked < total, "the kill came after every write"
    finally:
        server.stop()


def test_every_acknowledged_write_survives_a_full_disk(tmp_path, redis_server):
    """Writes past the file size limit answer `write failed` and change nothing: Redis
    running only the others gives the same replies and leaves the same state."""
    scripts = _scripts(3)
    server = BitmapistServerProcess(tmp_path, "--checkpoint-interval", "0")
    try:
        limit = 192 * 1024
        resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (limit, limit))
        got = _run(server, scripts, None)
        assert [len(replies) for replies in got] == [len(script) for script in scripts]
        failed = [r.startswith(b"-ERR write failed") for replies in got for r in replies]
        assert any(failed), "the file size limit was never reached"
        assert not all(failed)
        server.stop()
        server.start()
        with (
            RawConnection(redis_server.port) as redis,
            RawConnection(server.port) as ours,
        ):
            redis.call("FLUSHALL")
            for script, replies in zip(scripts, got, strict=True):
                for args, reply in zip(script, replies, strict=True):
                    if not reply.startswith(b"-ERR write failed"):
                        assert redis.call(*args) == reply, f"{args}: not Redis's reply"
                for group in {_group(args) for args in script}:
                    assert _state(ours, group) == _state(redis, group), group
    finally:
        server.stop()
