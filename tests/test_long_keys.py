"""Keys longer than 65,535 bytes (Redis allows 512 MB) work like any other (issue 16).

The one-row form of a batch of bit changes (OP_SETS) holds a key's length in 16 bits: a
longer key once failed the whole batch (`ushort format requires ...`), on the server every
write of the turn, and a cold read or a checkpoint of its journal rows failed the same way.
Such keys now get journal rows of their own.
"""

from __future__ import annotations

import pytest

from bitmapist.engine import Engine, Put, SetBits, Value
from bitmapist.engine.format import SETS_MAX_KEY

from .resp_client import RawConnection
from .test_server_differential import Pair, same_reply

SIZES = [SETS_MAX_KEY, SETS_MAX_KEY + 1, (1 << 20) + 1]  # the last: larger than the fast log


@pytest.mark.parametrize("size", SIZES, ids=["longest-in-a-row", "one-more", "1MiB+1"])
@pytest.mark.parametrize("group_commit_ms", [None, 5.0], ids=["log", "group-commit"])
def test_long_keys_in_batches_with_short_ones_survive_reopen_and_checkpoint(
    tmp_path, size, group_commit_ms
):
    path = tmp_path / "long.db"
    long, short = b"k" * size, b"short"
    with Engine(path, group_commit_ms=group_commit_ms) as engine:
        engine.write([SetBits(long, [1]), SetBits(short, [1])])  # creates both
        for offset in (2, 3, 4):  # both exist now: the one-row fast path's case
            engine.write([SetBits(long, [offset]), SetBits(short, [offset])])
        engine.write([SetBits(long, [3], False), SetBits(short, [3], False)])
        engine.write([Put(long + b"v", Value.from_bytes(b"ab")), SetBits(short, [9])])
    with Engine(path) as engine:  # cold: bits read back from the journal rows
        assert sorted(engine.get(long).bits) == [1, 2, 4]
        assert engine.get(long + b"v").to_bytes() == b"ab"
        engine.write([SetBits(long, [7]), SetBits(short, [7])])
        engine.checkpoint()
        assert engine.stats()["journal_rows"] == 0
    with Engine(path) as engine:
        assert sorted(engine.get(long).bits) == [1, 2, 4, 7]
        assert sorted(engine.get(short).bits) == [1, 2, 4, 7, 9]
        assert sorted(engine.keys(b"k*")) == [long, long + b"v"]


def test_a_long_key_fails_no_other_write_of_a_servers_turn(redis_server, bitmapist_server):
    """Pipelined with other writes (one batch, one commit on our server), compared with
    redis-server byte for byte; then SAVE (a checkpoint here) and the same reads again."""
    long = "L" * 70_000
    pair = Pair(redis_server.port, bitmapist_server.port)
    try:
        pair.call("FLUSHALL")
        writes = [
            ("SETBIT", long, 5, 1),
            ("SETBIT", "short", 5, 1),
            ("SET", "plain", "v"),
            ("SETBIT", long, 6, 1),
            ("SETBIT", "short", 6, 1),
            ("SETBIT", long, 5, 0),
            ("APPEND", long + "x", "ab"),
        ]
        reads = [
            ("GET", long),
            ("GET", "short"),
            ("GET", "plain"),
            ("STRLEN", long + "x"),
            ("BITCOUNT", long),
            ("EXISTS", long, long + "x", "short"),
        ]
        for sequence in (writes + reads, [("SAVE",)], reads):
            expected = pair.redis.pipeline(sequence)
            got = pair.ours.pipeline(sequence)
            for args, ours, theirs in zip(sequence, got, expected, strict=True):
                assert same_reply(args, ours, theirs), (
                    f"{str(args)[:60]}: redis replied {theirs[:80]!r}, ours {ours[:80]!r}"
                )
        with RawConnection(bitmapist_server.port) as conn:
            assert b"write failed" not in conn.call("SETBIT", long, 9, 1)
    finally:
        pair.call("FLUSHALL")
        pair.close()
