"""What an adversarial round against bitmapist-server found (issue 16's "also found" list
and the round after it), each compared with a real redis-server 7.0.15 where Redis
answers: the reply must be Redis's byte for byte, no client may block the others for
long, and no acknowledged write may be lost.
"""

from __future__ import annotations

import socket
import time

import pytest

from bitmapist import Bitmapist
from bitmapist.stores.embedded import EmbeddedStore

from .bitmapist_server import BitmapistServerProcess
from .resp_client import RawConnection, command
from .test_server_differential import Pair, pair_factory, same_reply  # noqa: F401

# A glob whose regex form backtracks over every way of splitting a key among its stars.
HOSTILE_GLOB = "*a*a*a*a*a*a*a*a*b"


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory):
    """A server of this module's own, whose log the tests read."""
    server = BitmapistServerProcess(tmp_path_factory.mktemp("adversarial"))
    yield server
    server.stop()


# --- issue 16's "also found" list


@pytest.mark.timeout(120)  # a backtracking matcher takes hours on these keys
def test_many_star_globs_answer_at_once_on_long_keys(pair_factory):  # noqa: F811
    pair = pair_factory()
    for key in ("a" * 60_000, "a" * 200 + "c", "ab" * 100):
        pair.check(("SET", key, "1"))
    for args in (
        ("KEYS", HOSTILE_GLOB),
        ("KEYS", "*a*a*a*a*a*a*a*a*a*a*a*a*c"),
        ("SCAN", "0", "MATCH", HOSTILE_GLOB, "COUNT", "1000"),
    ):
        pair.check(args)


@pytest.mark.timeout(120)
def test_event_names_with_a_hostile_prefix_answer_at_once(tmp_path):
    store = EmbeddedStore(tmp_path / "names.db")
    client = Bitmapist(store)
    client.mark_unique("a" * 300, 1)
    client.mark_unique("ab", 1)
    try:
        assert client.get_event_names(prefix=HOSTILE_GLOB) == []
        assert client.get_event_names(prefix="*a*a*a*a*a*a*a*a*a") == ["a" * 300]
    finally:
        client.close()


@pytest.mark.timeout(120)  # bit by bit in Python: ~2 s per MB on the event loop
def test_a_huge_value_of_ones_does_not_stall_other_clients(own_server):
    """SET and GET of 16 MiB of 0xff (a bitmap of 134 million bits) once took ~30 s and
    ~15 s on the event loop; a PING of another client waits for neither."""
    value = b"\xff" * (16 << 20)
    with (
        RawConnection(own_server.port, timeout=60) as writer,
        RawConnection(own_server.port, timeout=60) as other,
    ):
        writer.send(command("SET", "ones", value) + command("GET", "ones"))
        time.sleep(0.05)  # the SET is being read or run
        started = time.monotonic()
        assert other.call("PING") == b"+PONG\r\n"
        waited = time.monotonic() - started
        assert writer.reply() == b"+OK\r\n"
        assert writer.reply() == b"$%d\r\n%s\r\n" % (len(value), value)
    assert waited < 10, f"a PING waited {waited:.1f} s behind a 16 MiB SET and GET"


# --- replies to clients that go away


def test_a_client_that_resets_mid_reply_costs_no_more_pieces(own_server):
    """A client that resets its connection in the middle of a streamed GET: asyncio only
    schedules connection_lost, and the rest of the reply (64 pieces of 256 KiB here, a
    512 MB value has 2,048) used to be made and written to the dead transport at once,
    blocking every client and logging asyncio's 'socket.send() raised exception' per piece."""
    pattern = b"\x92\x49\x24"  # every third bit: bitset containers, the costly kind
    value = pattern * ((16 << 20) // len(pattern))
    with RawConnection(own_server.port, timeout=60) as conn:
        assert conn.call("SET", "dense", value) == b"+OK\r\n"
        for _ in range(5):
            sock = socket.create_connection(("127.0.0.1", own_server.port))
            sock.sendall(command("GET", "dense"))
            sock.recv(1000)
            # SO_LINGER 0: close with a reset, as a killed client does
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01" + b"\x00" * 7)
            sock.close()
        assert conn.call("STRLEN", "dense") == b":%d\r\n" % len(value)
    assert "socket.send() raised exception" not in own_server.log()


# --- commands whose options or context were not checked as Redis checks them

TRANSACTION_AND_CLIENT_CASES = [
    ("MULTI",),
    ("SAVE",),  # no_multi in Redis: refused when queued, and EXEC aborts
    ("EXEC",),
    ("MULTI",),
    ("BGSAVE", "x"),
    ("EXEC",),
    ("CLIENT", "LIST", "TYPE", "bogus"),
    ("CLIENT", "LIST", "TYPE", "normal", "x"),
    ("CLIENT", "LIST", "TYPE", "MASTER"),
    ("CLIENT", "LIST", "TYPE", "replica"),
    ("CLIENT", "LIST", "TYPE", "slave"),
    ("CLIENT", "LIST", "TYPE", "pubsub"),
    ("CLIENT", "LIST", "ID"),
    ("CLIENT", "LIST", "ID", "x"),
    ("CLIENT", "LIST", "ID", "0", "x"),
    ("CLIENT", "LIST", "ID", "1.5"),
    ("CLIENT", "LIST", "ID", "0", "-1", "9223372036854775807"),
    ("CLIENT", "LIST", "ID", "9223372036854775808"),
    ("CLIENT", "LIST", "BOGUS"),
    ("CLIENT", "LIST", "BOGUS", "x"),
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_transaction_rules_and_client_list_options_match_redis(pair_factory, protocol):  # noqa: F811
    pair_factory(protocol).run(TRANSACTION_AND_CLIENT_CASES)


def test_bgsave_inside_exec_is_scheduled_as_in_redis(pair_factory):  # noqa: F811
    pair = pair_factory()
    pair.run([("MULTI",), ("BGSAVE",), ("EXEC",)])


# --- values near the 512 MB limit


def _peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_writes_refused_by_length_make_no_copy_of_a_512_mb_value(own_server):
    """APPEND/SETRANGE past proto-max-bulk-len and INCR/INCRBYFLOAT of a value too long to
    be a number answer Redis's error from the value's length, and OBJECT and MEMORY USAGE
    know a value that long is `raw`, and LCS refuses the table from the lengths: each used to
    make the value's 512 MB of bytes first
    (peak RSS +0.5-1 GB, ~1 s on the loop each)."""
    assert own_server.process is not None
    with RawConnection(own_server.port, timeout=60) as conn:
        assert conn.call("SETBIT", "huge", 2**32 - 1, 1) == b":0\r\n"  # 512 MB, one bit
        before = _peak_rss_mib(own_server.process.pid)
        for args, reply in [
            (("APPEND", "huge", "x"), b"-ERR string exceeds maximum allowed size"),
            (("SETRANGE", "huge", 2**29, "x"), b"-ERR string exceeds maximum allowed size"),
            (("SETRANGE", "huge", 0, ""), b":536870912\r\n"),
            (("INCR", "huge"), b"-ERR value is not an integer or out of range\r\n"),
            (("DECRBY", "huge", 5), b"-ERR value is not an integer or out of range\r\n"),
            (("INCRBYFLOAT", "huge", 1), b"-ERR value is not a valid float\r\n"),
            (("OBJECT", "ENCODING", "huge"), b"$3\r\nraw\r\n"),
            (("OBJECT", "REFCOUNT", "huge"), b":1\r\n"),
            (("MEMORY", "USAGE", "huge"), b":"),
            (("LCS", "huge", "huge", "LEN"), b"-ERR Insufficient memory, transient memory"),
            (("LCS", "huge", "nosuch", "LEN"), b"-ERR Insufficient memory, transient memory"),
        ]:
            assert conn.call(*args).startswith(reply), args
        assert conn.call("DEL", "huge") == b":1\r\n"
    grown = _peak_rss_mib(own_server.process.pid) - before
    assert grown < 256, f"peak RSS grew {grown:.0f} MiB answering errors about a 512 MB value"


@pytest.fixture(scope="module")
def small_output_server(tmp_path_factory: pytest.TempPathFactory):
    server = BitmapistServerProcess(
        tmp_path_factory.mktemp("small-output"), "--max-output-buffer", str(2 << 20)
    )
    yield server
    server.stop()


def test_old_values_past_the_output_limit_are_streamed(small_output_server, redis_server):
    """GETSET, SET ... GET, GETEX, GETDEL and MGET answer with the value as GET does: a
    value past --max-output-buffer (Redis's normal clients have no limit) used to be built
    whole and cut the client off."""
    value = bytes(range(256)) * (6 << 12)  # 6 MiB
    commands = [
        ("SET", "k", value),
        ("GETSET", "k", value[::-1]),
        ("SET", "k", value, "GET"),
        ("GETEX", "k", "EX", "1000"),
        ("GETEX", "k", "PERSIST"),
        ("MGET", "k", "nosuch", "k"),
        ("HELLO", "3"),
        ("MGET", "nosuch", "k"),
        ("GETDEL", "k"),
        ("EXISTS", "k"),
        ("PING",),
    ]
    with (
        RawConnection(redis_server.port, timeout=60) as redis,
        RawConnection(small_output_server.port, timeout=60) as ours,
    ):
        redis.call("DEL", "k")
        for args in commands:  # one at a time: a client sending 24 MiB values must read too
            theirs = redis.call(*args)
            assert same_reply(args, ours.call(*args), theirs), args[:2]


# --- CONFIG SET checks values as Redis 7.0 does, and CONFIG GET reads them back normalized

CONFIG_CASES = [
    ("CONFIG", "SET", "maxmemory", "1gb"),
    ("CONFIG", "GET", "maxmemory"),
    ("CONFIG", "SET", "maxmemory", "1Kb"),
    ("CONFIG", "GET", "maxmemory"),
    ("CONFIG", "SET", "maxmemory", "00012"),
    ("CONFIG", "GET", "maxmemory"),
    ("CONFIG", "SET", "maxmemory", "99999999999999999999"),
    ("CONFIG", "GET", "maxmemory"),
    ("CONFIG", "SET", "maxmemory", "17179869184gb"),
    ("CONFIG", "GET", "maxmemory"),
    *[("CONFIG", "SET", "maxmemory", v) for v in ("-1", "1.5", " 1", "+1", "0x10", "1 gb")],
    ("CONFIG", "SET", "maxmemory", "0"),
    ("CONFIG", "SET", "maxmemory-policy", "bogus"),
    ("CONFIG", "SET", "maxmemory-policy", "ALLKEYS-LRU"),
    ("CONFIG", "GET", "maxmemory-policy"),
    ("CONFIG", "SET", "maxmemory-policy", "noeviction"),
    *[("CONFIG", "SET", "save", v) for v in ("900 1 300", "x y", "0 1", "1 -1", " 3600 1")],
    *[("CONFIG", "SET", "save", v) for v in ("3600  1", "3600\t1", '"3600" 1')],
    ("CONFIG", "SET", "save", "3600 1 300 100 60 +10000"),
    ("CONFIG", "GET", "save"),
    ("CONFIG", "SET", "save", "5 4294967297"),
    ("CONFIG", "GET", "save"),
    ("CONFIG", "SET", "save", ""),
    ("CONFIG", "GET", "save"),
    ("CONFIG", "SET", "appendonly", "maybe"),
    ("CONFIG", "SET", "appendonly", "NO"),
    ("CONFIG", "GET", "appendonly"),
    ("CONFIG", "SET", "appendfsync", "sometimes"),
    *[("CONFIG", "SET", "timeout", v) for v in ("-1", "4294967296", "1.0", "01", "")],
    ("CONFIG", "SET", "hz", "1000"),
    ("CONFIG", "GET", "hz"),
    ("CONFIG", "SET", "hz", "0"),
    ("CONFIG", "GET", "hz"),
    ("CONFIG", "SET", "hz", "10"),
    ("CONFIG", "SET", "loglevel", "bogus"),
    ("CONFIG", "SET", "slowlog-max-len", "-1"),
    ("CONFIG", "SET", "slowlog-log-slower-than", "-2"),
    ("CONFIG", "SET", "port", "99999"),
    ("CONFIG", "SET", "databases", "32"),
    ("CONFIG", "SET", "dir", "/"),
    ("CONFIG", "SET", "dbfilename", "../x"),
    ("CONFIG", "SET", "maxclients", "0"),
    ("CONFIG", "SET", "proto-max-bulk-len", "1048575"),
    ("CONFIG", "SET", "proto-max-bulk-len", "18446744073709551615"),
    ("CONFIG", "GET", "proto-max-bulk-len"),
    ("CONFIG", "SET", "notify-keyspace-events", "Q"),
    ("CONFIG", "SET", "notify-keyspace-events", "KEA"),
    ("CONFIG", "GET", "notify-keyspace-events"),
    ("CONFIG", "SET", "notify-keyspace-events", "nmExg$"),
    ("CONFIG", "GET", "notify-keyspace-events"),
    ("CONFIG", "SET", "notify-keyspace-events", ""),
    ("CONFIG", "SET", "lua-time-limit", "7"),
    ("CONFIG", "GET", "busy-reply-threshold"),
    ("CONFIG", "SET", "lua-time-limit", "1", "busy-reply-threshold", "2"),
    ("CONFIG", "GET", "lua-time-limit"),
    ("CONFIG", "SET", "lua-time-limit", "-1"),
    ("CONFIG", "SET", "busy-reply-threshold", "5000"),
    ("CONFIG", "SET", "slave-read-only", "no"),
    ("CONFIG", "GET", "replica-read-only"),
    ("CONFIG", "SET", "replica-read-only", "yes"),
    ("CONFIG", "SET", "list-max-ziplist-size", "9"),
    ("CONFIG", "GET", "list-max-listpack-size"),
    ("CONFIG", "SET", "list-max-ziplist-size", "-2"),
    ("CONFIG", "SET", "maxmemory", "1", "maxmemory", "2"),
    ("CONFIG", "SET", "maxmemory", "1", "MAXMEMORY", "2"),
    ("CONFIG", "SET", "maxmemory", "5", "timeout", "-5"),
    ("CONFIG", "SET", "databases", "1", "nosuch", "1"),
    ("CONFIG", "SET", "nosuch", "1", "databases", "1"),
    ("CONFIG", "SET", "maxmemory", "x", "nosuch", "1"),
    ("CONFIG", "GET", "maxmemory"),
]


def test_config_set_checks_values_like_redis(pair_factory):  # noqa: F811
    pair = pair_factory()
    try:
        pair.run(CONFIG_CASES)
    finally:  # the servers are shared: back to the defaults
        pair.call("CONFIG", "SET", "maxmemory", "0", "save", "", "hz", "10", "timeout", "0")
        pair.call("CONFIG", "SET", "notify-keyspace-events", "", "busy-reply-threshold", "5000")


def test_config_set_requirepass_takes_effect_as_in_redis(own_server, tmp_path):
    """A password set by CONFIG SET protects the server (it used to be remembered only):
    new connections must AUTH, the connection that set it stays in; "" removes it."""
    from .servers import RedisServer

    redis = RedisServer(tmp_path / "redis")
    pair = Pair(redis.port, own_server.port)
    try:
        pair.run([("CONFIG", "SET", "requirepass", "s3cret"), ("PING",)])
        newcomer = Pair(redis.port, own_server.port)
        newcomer.run([("GET", "x"), ("AUTH", "wrong"), ("AUTH", "s3cret"), ("GET", "x")])
        later = Pair(redis.port, own_server.port)
        later.run([("PING",)])
        pair.run([("CONFIG", "SET", "requirepass", ""), ("AUTH", "x")])
        later.run([("PING",)])  # no password any more: the unauthenticated client is in
        for conn in (newcomer, later):
            conn.close()
    finally:
        pair.call("CONFIG", "SET", "requirepass", "")
        pair.close()
        redis.stop()


def test_restore_of_hostile_payloads_matches_redis(pair_factory):  # noqa: F811
    """Lengths that lie (past the payload, 2**32-1, 2**64-1), LZF streams whose lengths
    or back references lie, and an LZF string of declared length 0 (liblzf's error return
    is 0, so Redis restores an empty string)."""
    from bitmapist.server.rdb import crc64

    def payload(body: bytes) -> bytes:
        body += b"\x0a\x00"
        return body + crc64(body).to_bytes(8, "little")

    bodies = [
        b"\x00\x80\xff\xff\xff\xffabc",
        b"\x00\x81" + (2**64 - 1).to_bytes(8, "big") + b"abc",
        b"\x00\x81" + (3).to_bytes(8, "big") + b"abc",
        b"\x00\x40\x03abc",
        b"\x00\xc3\x80\xff\xff\xff\xff\x06\x00a\xe0\x06\x00\x00a",
        b"\x00\xc3\x06\x80\xff\xff\xff\xff\x00a\xe0\x06\x00\x00a",
        b"\x00\xc3\x06\x80\x20\x00\x00\x01\x00a\xe0\x06\x00\x00a",
        b"\x00\xc3\x06\x00\x00a\xe0\x06\x00\x00a",
        b"\x00\xc3\x00\x00",
        b"\x00\xc3\x02\x05\x20\x00\x00",
        b"\x00\xc3\x03\x05\x01ab",
        b"\x00\xc3\x02\x03\x00a",
        b"\x00\xc0",
        b"\x00",
    ]
    pair = pair_factory()
    for n, body in enumerate(bodies):
        pair.run([("RESTORE", f"k{n}", "0", payload(body)), ("GET", f"k{n}")])
    pair.run([("DBSIZE",)])


# --- arguments whose size hides their cost

HUGE_EXPONENTS = [
    "1e1000000",  # a 10-byte argument: 64 s of big-integer arithmetic on the loop
    "1e5000000",
    "1e-1000000",
    "0x1p9999999999",
    "0x1p" + "9" * 5000,
    "1e" + "9" * 5000,
    "1e-" + "9" * 5000,
    "0e-99999999",  # zero whatever the exponent: valid
    "0x0p99999999999",
    "0." + "0" * 5000 + "1e9000",
    "0x0." + "0" * 5000 + "1p20000",
]


@pytest.mark.timeout(120)
def test_incrbyfloat_of_huge_exponents_answers_at_once(redis_server, own_server):
    pair = Pair(redis_server.port, own_server.port)
    try:
        for increment in HUGE_EXPONENTS:
            pair.run([("SET", "f", "1"), ("INCRBYFLOAT", "f", increment)])
        pair.run([("SET", "f", "1e" + "9" * 5000), ("INCRBYFLOAT", "f", "1")])
    finally:
        pair.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_exec_with_writes_and_a_huge_read_matches_redis(pair_factory, protocol):  # noqa: F811
    """An EXEC whose replies hold a write's (known once it commits) and a huge value's:
    the array must not be streamed element by element before the write's reply is known."""
    pair = pair_factory(protocol)
    pair.run([("SET", "big", b"x" * (2 << 20))])
    sequence = [
        ("MULTI",),
        ("SET", "a", "1"),
        ("GET", "big"),
        ("INCR", "n"),
        ("MGET", "big", "nosuch"),  # (a read of "a" here would commit the writes first)
        ("EXEC",),
        ("MGET", "big", "nosuch", "a"),
    ]
    expected = pair.redis.pipeline(sequence)
    assert pair.ours.pipeline(sequence) == expected
