"""MIGRATE between bitmapist-server and a real redis-server 7.0, both ways: keys moved
(or copied) with their TTLs, REPLACE and Redis's BUSYKEY, NOKEY, AUTH to a target with a
password, IOERR for a closed port; and argument errors compared byte for byte with
redis-server's (the method of test_server_differential).
"""

from __future__ import annotations

import pytest

from .resp_client import RawConnection
from .servers import RedisServer, free_port
from .test_server_differential import pair_factory  # noqa: F401 - the fixture


@pytest.fixture
def pair(pair_factory):  # noqa: F811
    return pair_factory()


def _migrate(conn: RawConnection, port: int, key: str, *options: str, db: int = 0) -> bytes:
    return conn.call("MIGRATE", "127.0.0.1", port, key, db, 5000, *options)


def test_migrate_from_ours_to_redis_moves_the_key_with_its_ttl(pair, redis_server):
    ours, redis = pair.ours, pair.redis
    ours.call("SET", "k", "v" * 100)
    ours.call("SETBIT", "bits", 100_000, 1)
    ours.call("PEXPIRE", "bits", 100_000)
    assert _migrate(ours, redis_server.port, "k") == b"+OK\r\n"
    assert _migrate(ours, redis_server.port, "", "KEYS", "bits", "nosuch") == b"+OK\r\n"
    assert ours.call("EXISTS", "k", "bits") == b":0\r\n"
    assert redis.call("GET", "k") == b"$100\r\n" + b"v" * 100 + b"\r\n"
    assert redis.call("GETBIT", "bits", 100_000) == b":1\r\n"
    assert 90_000 < int(redis.call("PTTL", "bits")[1:-2]) <= 100_000
    assert redis.call("TTL", "k") == b":-1\r\n"


def test_migrate_from_redis_to_ours(pair, bitmapist_server):
    ours, redis = pair.ours, pair.redis
    redis.call("SET", "a", "1")
    redis.call("SET", "b", "x" * 5000, "EX", 100)
    port = bitmapist_server.port
    assert _migrate(redis, port, "", "KEYS", "a", "b", db=3) == b"+OK\r\n"
    assert redis.call("EXISTS", "a", "b") == b":0\r\n"
    ours.call("SELECT", 3)
    assert ours.call("GET", "a") == b"$1\r\n1\r\n"
    assert ours.call("STRLEN", "b") == b":5000\r\n"
    assert 90 < int(ours.call("TTL", "b")[1:-2]) <= 100
    ours.call("SELECT", 0)


def test_copy_keeps_the_source_and_replace_overwrites(pair, redis_server):
    ours, redis = pair.ours, pair.redis
    ours.call("SET", "k", "new")
    redis.call("SET", "k", "old")
    busy = _migrate(ours, redis_server.port, "k", "COPY")
    assert (
        busy
        == b"-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
    )
    assert ours.call("GET", "k") == b"$3\r\nnew\r\n"  # not deleted: not acknowledged
    assert _migrate(ours, redis_server.port, "k", "COPY", "REPLACE") == b"+OK\r\n"
    assert ours.call("GET", "k") == b"$3\r\nnew\r\n"
    assert redis.call("GET", "k") == b"$3\r\nnew\r\n"


def test_busykey_is_redis_error_and_other_keys_still_move(pair, redis_server):
    """Each acknowledged key is deleted; the reply is the target's first error (as Redis
    does, checked here by migrating the same keys from a second redis-server)."""
    ours, redis = pair.ours, pair.redis
    redis.call("SET", "b", "taken")
    for key in ("a", "b", "c"):
        ours.call("SET", key, key)
    reply = _migrate(ours, redis_server.port, "", "KEYS", "a", "b", "c")
    assert (
        reply
        == b"-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
    )
    assert ours.call("KEYS", "*") == b"*1\r\n$1\r\nb\r\n"
    assert redis.call("MGET", "a", "b", "c") == b"*3\r\n$1\r\na\r\n$5\r\ntaken\r\n$1\r\nc\r\n"


def test_the_same_target_errors_as_redis_gives(pair, tmp_path):
    """Both servers MIGRATE the same keys to one third redis-server: same replies."""
    target = RedisServer(tmp_path / "target")
    try:
        with RawConnection(target.port) as conn:
            assert conn.call("CONFIG", "SET", "requirepass", "sekret") == b"+OK\r\n"
        cases = [
            ("k",),
            ("k", "AUTH", "nope"),
            ("k", "AUTH2", "default", "nope"),
            ("k", "AUTH", "sekret", "REPLACE", "COPY"),
            ("k", "AUTH", "sekret"),
        ]
        for source in (pair.redis, pair.ours):
            source.call("SET", "k", "v")
        for case in cases:
            theirs, ours = (_migrate(c, target.port, *case) for c in (pair.redis, pair.ours))
            assert ours == theirs, case
        bad_db = ("MIGRATE", "127.0.0.1", target.port, "k", 99, 1000, "AUTH", "sekret")
        pair.check(("SET", "k", "v"))
        pair.check(bad_db)
        pair.check(("EXISTS", "k"))
        with RawConnection(target.port) as conn:
            assert conn.call("AUTH", "sekret") == b"+OK\r\n"
            assert conn.call("GET", "k") == b"$1\r\nv\r\n"
    finally:
        target.stop()


def test_nokey_and_a_closed_port(pair):
    closed = free_port()
    pair.check(("MIGRATE", "127.0.0.1", closed, "nosuch", 0, 100))
    pair.check(("MIGRATE", "127.0.0.1", closed, "", 0, 100, "KEYS", "x", "y"))
    pair.check(("MIGRATE", "127.0.0.1", closed, "", 0, 100, "KEYS"))
    pair.check(("SET", "k", "v"))
    pair.check(("MIGRATE", "127.0.0.1", closed, "k", 0, 100))
    pair.check(("MIGRATE", "nosuchhost.invalid", closed, "k", 0, 100))
    pair.check(("EXISTS", "k"))


def test_migrate_waits_for_queued_writes_of_its_keys(pair, redis_server):
    """Pipelined writes then MIGRATE: the values it sends are the written ones."""
    ours = pair.ours
    commands = [("SET", f"k{i}", f"v{i}") for i in range(50)]
    commands += [
        ("APPEND", "k7", "!"),
        ("MIGRATE", "127.0.0.1", redis_server.port, "", 0, 5000, "KEYS", "k7", "k9"),
    ]
    commands += [("EXISTS", "k7", "k9", "k8")]
    replies = ours.pipeline(commands)
    assert replies[-2:] == [b"+OK\r\n", b":1\r\n"]
    assert pair.redis.call("MGET", "k7", "k9") == b"*2\r\n$3\r\nv7!\r\n$2\r\nv9\r\n"


ERROR_CASES = [
    ("MIGRATE", "h", "1", "k", "0"),
    ("MIGRATE", "h", "1", "k", "0", "10", "BOGUS"),
    ("MIGRATE", "h", "1", "k", "0", "10", "COPY", "AUTH"),
    ("MIGRATE", "h", "1", "k", "0", "10", "AUTH2", "u"),
    ("MIGRATE", "h", "1", "k", "0", "10", "KEYS", "a"),
    ("MIGRATE", "h", "1", "k", "0", "10", "BOGUS", "KEYS", "a"),
    ("MIGRATE", "h", "1", "k", "0", "10", "KEYS", "a", "BOGUS"),
    ("MIGRATE", "h", "1", "k", "x", "10"),
    ("MIGRATE", "h", "1", "k", "0", "x"),
    ("MIGRATE", "h", "1", "k", "x", "y", "BOGUS"),
    ("MIGRATE", "h", "1", "k", "0", "9223372036854775808"),
    ("MIGRATE", "h", "1", "k", "-9223372036854775809", "1"),
    ("MIGRATE", "h", "1", "k", "0", "1.5"),
    ("MIGRATE", "h", "1", "k", "0", "-1", "AUTH", "keys", "KEYS"),
    ("COMMAND", "INFO", "migrate"),
    ("COMMAND", "DOCS", "migrate"),
    ("COMMAND", "GETKEYS", "MIGRATE", "h", "p", "k", "0", "10"),
    ("COMMAND", "GETKEYS", "MIGRATE", "h", "p", "k", "0"),
    (
        "COMMAND",
        "GETKEYS",
        "MIGRATE",
        "h",
        "p",
        "",
        "0",
        "10",
        "COPY",
        "AUTH",
        "x",
        "KEYS",
        "a",
        "b",
    ),
    ("COMMAND", "GETKEYS", "MIGRATE", "h", "p", "k", "0", "10", "KEYS", "a", "b"),
    ("COMMAND", "GETKEYS", "MIGRATE", "h", "p", "", "0", "10", "KEYS"),
    ("COMMAND", "GETKEYS", "MIGRATE", "h", "p", "", "0", "10", "AUTH", "KEYS", "a"),
    ("COMMAND", "GETKEYS", "MIGRATE", "h", "p", "k", "0", "10", "AUTH2", "a", "b", "c", "KEYS"),
    ("COMMAND", "GETKEYS", "MIGRATE", "h", "p", "", "0", "10", "x", "KEYS", "a"),
    (
        "COMMAND",
        "GETKEYS",
        "MIGRATE",
        "h",
        "p",
        "keys",
        "0",
        "10",
        "AUTH2",
        "KEYS",
        "KEYS",
        "KEYS",
        "z",
    ),
    ("COMMAND", "GETKEYSANDFLAGS", "MIGRATE", "h", "p", "", "0", "10", "KEYS", "a", "b"),
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_argument_errors_match_redis(pair_factory, protocol):  # noqa: F811
    pair_factory(protocol).run(ERROR_CASES)


def test_the_batcher_waits_for_queued_writes_of_the_keys_getkeys_names():
    """MIGRATE waits only for queued writes of its keys (waiting.BY_KEYS): the keys it
    reads must be those, in both forms (the rule COMMAND GETKEYS follows, checked
    against Redis above). A queued write reads as written before its commit, so this
    is checked on the rule itself."""
    from bitmapist.server.commands import TABLE
    from bitmapist.server.waiting import BY_KEYS, key_args

    migrate = TABLE[b"migrate"]
    assert migrate.name in BY_KEYS
    argv = [b"MIGRATE", b"h", b"1", b"k", b"0", b"10", b"COPY"]
    assert key_args(migrate, argv) == [b"k"]
    argv = [b"MIGRATE", b"h", b"1", b"", b"0", b"10", b"AUTH2", b"u", b"p", b"KEYS", b"a", b"b"]
    assert key_args(migrate, argv) == [b"a", b"b"]
