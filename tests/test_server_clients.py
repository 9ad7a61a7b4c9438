"""Real clients against bitmapist-server: redis-py (sync, asyncio, RESP2/RESP3), redis-cli,
and upstream bitmapist 3.119 (in its own venv) giving the same answers as on redis-server."""

from __future__ import annotations

import asyncio
import re
import subprocess

import pytest
import redis
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .resp_client import EOF, RawConnection
from .servers import redis_cli_binary
from .upstream import run_upstream


@pytest.fixture
def server(bitmapist_server):
    client = bitmapist_server.client()
    client.flushall()
    client.close()
    return bitmapist_server


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_sync(server, protocol):
    client = redis.Redis(host="127.0.0.1", port=server.port, protocol=protocol)
    assert client.ping()
    assert client.setbit("b", 7, 1) == 0
    assert client.setbit("b", 7, 1) == 1
    assert client.getbit("b", 7) == 1
    assert client.get("b") == b"\x01"
    assert client.bitcount("b") == 1
    assert client.set("s", "hello", ex=100) is True
    assert client.set("s", "x", nx=True) is None
    assert 99 <= client.ttl("s") <= 100
    assert client.exists("s", "b", "none") == 2
    assert client.type("s") in (b"string", "string")
    assert client.bitop("OR", "dest", "b", "s") == 5
    assert sorted(client.keys("*")) == [b"b", b"dest", b"s"]
    assert sorted(client.scan_iter(match="*", count=2)) == [b"b", b"dest", b"s"]
    assert client.dbsize() == 3
    pipe = client.pipeline(transaction=True)
    pipe.setbit("p", 1, 1).setbit("p", 2, 1).bitcount("p")
    assert pipe.execute() == [0, 0, 2]
    info = client.info()
    assert info["redis_version"] == "7.0.15"
    assert client.info("keyspace")["db0"]["keys"] == 4
    assert client.client_id() > 0
    client.client_setname("tester")
    assert client.client_getname() in (b"tester", "tester")
    client.select(5)
    assert client.dbsize() == 0
    assert client.delete("p") == 0
    client.select(0)
    assert client.delete("p") == 1
    assert client.time()[0] > 0
    client.close()


def test_redis_py_watch_transaction(server):
    client = redis.Redis(host="127.0.0.1", port=server.port)
    other = redis.Redis(host="127.0.0.1", port=server.port)
    client.set("counter", "1")
    with client.pipeline() as pipe:
        pipe.watch("counter")
        other.set("counter", "2")
        pipe.multi()
        pipe.set("counter", "3")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert client.get("counter") == b"2"
    client.close()
    other.close()


def test_redis_py_asyncio(server):
    async def scenario() -> list:
        client = aioredis.Redis(host="127.0.0.1", port=server.port)
        await client.setbit("a", 3, 1)
        results = await asyncio.gather(*(client.setbit("a", offset, 1) for offset in range(100)))
        count = await client.bitcount("a")
        async with client.pipeline(transaction=True) as pipe:
            pipe.getbit("a", 3).getbit("a", 1000)
            piped = await pipe.execute()
        await client.aclose()
        return [sum(results), count, piped]

    assert asyncio.run(scenario()) == [1, 100, [1, 0]]


def _cli(port: int, *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(
        [redis_cli_binary(), "-p", str(port), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_redis_cli(server, redis_server):
    redis_server.client().flushall()
    outputs = {}
    for name, port in (("redis", redis_server.port), ("ours", server.port)):
        lines = [
            _cli(port, "setbit", "k", "10", "1"),
            _cli(port, "setbit", "k", "10", "1"),
            _cli(port, "bitcount", "k"),
            _cli(port, "get", "k"),
            _cli(port, "getbit", "nokey", "3"),
            _cli(port, "-n", "2", "set", "other", "v"),
            _cli(port, "-n", "2", "dbsize"),
            _cli(port, "dbsize"),
            _cli(port, "--scan"),
            _cli(port, "nosuchcommand"),
            _cli(port, "-3", "hello"),  # RESP3 from the start
            _cli(port, "-3", "get", "none"),
            _cli(port, stdin="PING\nSETBIT j 1 1\nBITCOUNT j\n"),
            _cli(port, "info", "keyspace").replace("avg_ttl=0", "avg_ttl"),
        ]
        outputs[name] = [line.replace(f":{port}", ":PORT") for line in lines]
    for index, (expected, got) in enumerate(zip(outputs["redis"], outputs["ours"])):
        if index == 10:  # HELLO carries the client id
            expected, got = (re.sub(r"id \d+", "id N", text) for text in (expected, got))
        assert got == expected, f"line {index}"


UPSTREAM_SCENARIO = """
import os
from datetime import datetime, timezone
import bitmapist
from bitmapist import (mark_event, unmark_event, MonthEvents, WeekEvents, DayEvents, HourEvents,
    YearEvents, BitOpAnd, BitOpOr, BitOpXor, BitOpNot, delete_all_events, get_event_names)

bitmapist.setup_redis("default", "127.0.0.1", int(os.environ["PORT"]))
bitmapist.TRACK_HOURLY = True
now = datetime(2026, 3, 14, 15, 9, tzinfo=timezone.utc)
prev = datetime(2026, 2, 20, 1, 2, tzinfo=timezone.utc)
for user in (1, 2, 3, 1000, 70000, 2**20 + 5):
    mark_event("active", user, now=now)
for user in (2, 3, 5):
    mark_event("active", user, now=prev)
    mark_event("song:played", user, now=prev, track_unique=True)
unmark_event("active", 3, now=now)
month, last_month = MonthEvents("active", 2026, 3), MonthEvents("active", 2026, 2)
print(len(month), len(last_month), 2 in month, 3 in month, 70000 in month)
print(len(WeekEvents("active").from_date(now)), len(DayEvents("active", 2026, 3, 14)))
print(len(HourEvents("active", 2026, 3, 14, 15)), len(YearEvents("active", 2026)))
print(len(BitOpAnd(month, last_month)), len(BitOpOr(month, last_month)))
print(len(BitOpXor(month, last_month)), len(BitOpAnd(BitOpOr(month, last_month), month)))
print(list(BitOpAnd(month, last_month)), sorted(BitOpOr(month, last_month).get_uuids())[:5])
print(len(BitOpNot(last_month)), month.has_events_marked(), last_month.next().has_events_marked())
print(sorted(get_event_names(batch=2)))
delete_all_events()
print(len(month), sorted(get_event_names()))
"""


def test_upstream_bitmapist_gets_the_same_answers(server, redis_server):
    redis_server.client().flushall()
    expected = run_upstream(UPSTREAM_SCENARIO, env={"PORT": str(redis_server.port)})
    got = run_upstream(UPSTREAM_SCENARIO, env={"PORT": str(server.port)})
    assert got == expected
    assert "5 3 True False True" in got  # the scenario did real work


def test_requirepass_and_maxclients(tmp_path):
    from .bitmapist_server import BitmapistServerProcess

    server = BitmapistServerProcess(tmp_path, "--requirepass", "s3cret", "--maxclients", "3")
    try:
        no_retry = Retry(NoBackoff(), 0)  # redis-py retries failed AUTHs for seconds
        anonymous = redis.Redis(host="127.0.0.1", port=server.port, protocol=2, retry=no_retry)
        with pytest.raises(redis.AuthenticationError):
            anonymous.ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=server.port, password="wrong", retry=no_retry).ping()
        authed = redis.Redis(host="127.0.0.1", port=server.port, password="s3cret")
        assert authed.setbit("k", 1, 1) == 0
        resp3 = redis.Redis(host="127.0.0.1", port=server.port, password="s3cret", protocol=3)
        assert resp3.getbit("k", 1) == 1
        third = redis.Redis(host="127.0.0.1", port=server.port, password="s3cret")
        assert third.ping()
        with RawConnection(server.port) as fourth:
            assert fourth.read_until_close() == b"-ERR max number of clients reached\r\n" + EOF
        assert authed.getbit("k", 1) == 1  # the others keep working
        for client in (anonymous, authed, resp3, third):
            client.close()
    finally:
        server.stop()


def test_hot_bytes_packs_cold_bitmaps_and_answers_the_same(tmp_path):
    from .bitmapist_server import BitmapistServerProcess

    server = BitmapistServerProcess(tmp_path, "--hot-bytes", "0")  # everything packed
    try:
        client = redis.Redis(host="127.0.0.1", port=server.port)
        for day in range(5):
            for uid in range(day, 5000, 7):
                client.setbit(f"day{day}", uid * 977, 1)
        assert client.info("memory")["packed_bitmaps"] == 5
        assert [client.bitcount(f"day{day}") for day in range(5)] == [
            len(range(day, 5000, 7)) for day in range(5)
        ]
        assert client.getbit("day3", 3 * 977) == 1  # decoded for this, packed again after
        assert client.getbit("day3", 4 * 977) == 0
        assert client.info("memory")["packed_bitmaps"] == 5
        client.close()
    finally:
        server.stop()


def test_bad_hot_bytes_is_refused_with_the_allowed_range(tmp_path):
    import subprocess
    import sys

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bitmapist.server.main",
            "--hot-bytes",
            "-1",
            "-db",
            str(tmp_path / "x.db"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "-1 must be an integer >= 0" in run.stderr
