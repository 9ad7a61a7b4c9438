"""How many commits a pipeline costs: a command waits only for the queued writes of the
keys it names (`batch.WriteBatcher.waits`), so a pipeline of writes of different keys,
and reads of keys nobody writes between them, is one commit; a command of a key with a
queued write still sees it committed. Counted by INFO's write_batches_committed (each is
one SQLite transaction) on the real server; every pipeline is sent with one write, so
the server reads it in one turn."""

from __future__ import annotations

import pytest

from bitmapist.server.command_keys import key_args
from bitmapist.server.commands import find
from bitmapist.server.waiting import BY_KEYS, KEYLESS

from .resp_client import RawConnection, command

N = 100


def _commits(conn: RawConnection) -> int:
    info = conn.call("INFO", "stats")
    for line in info.split(b"\r\n"):
        if line.startswith(b"write_batches_committed:"):
            return int(line.split(b":")[1])
    raise AssertionError("INFO has no write_batches_committed")


def _pipeline(conn: RawConnection, commands: list[tuple]) -> tuple[list[bytes], int]:
    """The replies of `commands` sent in one write, and how many commits they took."""
    before = _commits(conn)
    conn.send(b"".join(command(*args) for args in commands))
    replies = [conn.reply() for _ in commands]
    return replies, _commits(conn) - before


@pytest.fixture
def conn(bitmapist_server):
    with RawConnection(bitmapist_server.port) as conn:
        conn.call("FLUSHALL")
        yield conn


def test_incrs_of_different_keys_are_one_commit(conn):
    replies, commits = _pipeline(conn, [("INCR", f"k{i}") for i in range(N)])
    assert replies == [b":1\r\n"] * N
    assert commits == 1


def test_incrs_of_one_key_each_see_the_one_before(conn):
    replies, commits = _pipeline(conn, [("INCR", "k")] * N)
    assert replies == [b":%d\r\n" % i for i in range(1, N + 1)]
    assert commits == 1  # each reads the value the one before it staged
    assert conn.call("GET", "k") == b"$3\r\n100\r\n"


def test_writers_of_a_few_keys_read_the_staged_values(conn, redis_server):
    commands = []
    for i in range(N // 4):
        key = f"k{i % 3}"
        commands += [
            ("INCR", key),
            ("APPEND", key, "5"),
            ("SETRANGE", key, "0", "1"),
            ("INCRBYFLOAT", key, "0.5"),
        ]
    replies, commits = _pipeline(conn, commands)
    assert commits == 1
    with RawConnection(redis_server.port) as redis:
        redis.call("FLUSHALL")
        assert replies == redis.pipeline(commands)  # errors (not integers) included
    assert b"-ERR value is not an integer or out of range\r\n" in replies


def test_a_key_with_an_expiry_is_not_staged(conn):
    conn.call("SET", "k", "0", "EX", "1000")
    replies, commits = _pipeline(conn, [("INCR", "k")] * 10)
    assert replies == [b":%d\r\n" % i for i in range(1, 11)]
    assert commits == 10  # it could expire between a write and the next one's commit
    assert conn.call("TTL", "k") in (b":1000\r\n", b":999\r\n")


def test_a_read_of_a_staged_value_waits_for_its_commit(conn):
    replies, commits = _pipeline(conn, [("INCR", "k"), ("INCR", "k"), ("GET", "k"), ("INCR", "k")])
    assert replies == [b":1\r\n", b":2\r\n", b"$1\r\n2\r\n", b":3\r\n"]
    assert commits == 2  # GET commits the INCRs first: a reader does not read staged values


def test_reads_of_keys_without_queued_writes_commit_nothing(conn):
    conn.call("SET", "r", "x")
    commands = []
    for i in range(N // 4):
        commands += [
            ("APPEND", f"a{i}", "x"),
            ("GET", "r"),
            ("BITFIELD", f"b{i}", "INCRBY", "u8", "0", "1"),
            ("GETBIT", "r", "1"),
        ]
    replies, commits = _pipeline(conn, commands)
    assert replies[:4] == [b":1\r\n", b"$1\r\nx\r\n", b"*1\r\n:1\r\n", b":1\r\n"]
    assert commits == 1


def test_setbits_and_other_writes_of_different_keys_share_a_commit(conn):
    commands = [("SETBIT", "s", i, 1) if i % 2 else ("INCR", f"k{i}") for i in range(N)]
    replies, commits = _pipeline(conn, commands)
    assert replies == [b":0\r\n" if i % 2 else b":1\r\n" for i in range(N)]
    assert commits == 1


def test_a_read_of_a_key_with_a_queued_write_sees_it(conn):
    replies, commits = _pipeline(
        conn, [("INCR", "a"), ("INCR", "b"), ("GET", "a"), ("SETBIT", "c", 0, 1), ("GET", "c")]
    )
    assert replies == [b":1\r\n", b":1\r\n", b"$1\r\n1\r\n", b":0\r\n", b"$1\r\n\x80\r\n"]
    assert commits == 2  # before GET a and before GET c (nothing is left queued)


def test_a_write_of_unknown_keys_makes_every_command_wait(conn):
    conn.call("SET", "a", "5")
    replies, commits = _pipeline(conn, [("INCR", "b"), ("FLUSHDB",), ("INCR", "a"), ("DBSIZE",)])
    assert replies == [b":1\r\n", b"+OK\r\n", b":1\r\n", b":1\r\n"]
    assert commits == 3


def test_commands_waiting_for_their_keys_name_them_by_key_specs():
    """Every command of BY_KEYS has key specs (COMMAND GETKEYS' rule) that find its key;
    the keyless ones have none."""
    for name in BY_KEYS:
        cmd = find(name.encode())
        assert cmd is not None, name
        argv = [*cmd.name.encode().split(b"|"), b"k1", b"k2", b"k3", b"k4"]
        found = key_args(cmd, argv[: max(abs(cmd.arity), 3)])
        assert found and set(found) <= {b"k1", b"k2", b"k3", b"k4"}, name
    for name in KEYLESS:
        cmd = find(name.encode())
        assert cmd is not None, name
        assert key_args(cmd, [name.encode(), b"x", b"y"]) == [], name


def test_connections_writing_one_key_in_a_turn_serialize(bitmapist_server, conn):
    """Staged values are the server's, not a connection's: four clients' pipelined INCRs
    and APPENDs of the same keys, sent at once, get every count once and lose none."""
    clients = [RawConnection(bitmapist_server.port) for _ in range(4)]
    try:
        commands = [("INCR", "n"), ("APPEND", "s", "x")] * N
        data = b"".join(command(*args) for args in commands)
        for client in clients:
            client.send(data)
        replies = [client.reply() for client in clients for _ in commands]
    finally:
        for client in clients:
            client.close()
    counts = sorted(int(reply[1:]) for reply in replies[0::2])
    lengths = sorted(int(reply[1:]) for reply in replies[1::2])
    assert counts == lengths == list(range(1, 4 * N + 1))
    assert conn.call("GET", "n") == b"$3\r\n%d\r\n" % (4 * N)
    assert conn.call("STRLEN", "s") == b":%d\r\n" % (4 * N)


def test_bitfields_of_one_key_read_the_staged_values(conn):
    commands = [("BITFIELD", "k", "INCRBY", "u8", "0", "1", "GET", "u4", "4")] * N
    replies, commits = _pipeline(conn, commands)
    assert replies == [b"*2\r\n:%d\r\n:%d\r\n" % (i, i & 15) for i in range(1, N + 1)]
    assert commits == 1
    # a long value is not copied to be staged: each BITFIELD commits the one before
    conn.call("SETRANGE", "k", str(1 << 17), "x")
    replies, commits = _pipeline(conn, [("BITFIELD", "k", "INCRBY", "u8", "0", "1")] * 10)
    assert replies == [b"*1\r\n:%d\r\n" % (N + i) for i in range(1, 11)]
    assert commits == 10


def _journal_rows(conn: RawConnection) -> int:
    for line in conn.call("INFO", "persistence").split(b"\r\n"):
        if line.startswith(b"journal_rows:"):
            return int(line.split(b":")[1])
    raise AssertionError("INFO has no journal_rows")


def test_a_pipeline_rewriting_a_key_writes_its_last_value_once(conn):
    """A staged Put takes the place of the key's queued one: one engine Put (one journal
    row) per key and batch, whatever the pipeline did to it before; a BITFIELD's bit
    writes in between keep their place."""
    conn.call("SAVE")  # (the journal starts empty)
    commands = [("INCR", "n"), ("APPEND", "s", "x"), ("SETRANGE", "r", "1", "ab")] * (N // 2)
    commands += [
        ("INCRBY", "n", "5"),
        ("BITFIELD", "r", "SET", "u8", "0", "65"),
        ("APPEND", "r", "!"),
    ]
    before = _journal_rows(conn)
    replies, commits = _pipeline(conn, commands)
    assert commits == 1
    assert replies[-3:] == [b":%d\r\n" % (N // 2 + 5), b"*1\r\n:0\r\n", b":4\r\n"]
    # n, s and r's Puts, r's BITFIELD bits (set, and no clears: one row), r's last Put
    assert _journal_rows(conn) - before == 5
    assert conn.call("MGET", "n", "s", "r") == (
        b"*3\r\n$2\r\n%d\r\n$%d\r\n%s\r\n$4\r\nAab!\r\n" % (N // 2 + 5, N // 2, b"x" * (N // 2))
    )
