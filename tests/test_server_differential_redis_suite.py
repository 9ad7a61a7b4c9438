"""Differential tests for what Redis's own test suite (tests/unit/*.tcl of redis/redis, run
against bitmapist-server as an external server: see docs/server.md) found wrong.

Same method as test_server_differential: the same commands to redis-server 7.0 and
bitmapist-server, replies compared byte for byte in RESP2 and RESP3.
"""

# The case tables below are data: one line holds several commands.
# ruff: noqa: E501
from __future__ import annotations

import re

import pytest

from .test_server_differential import pair_factory, parse_reply  # noqa: F401 - the fixture

# The two strings of the suite's "LCS basic" tests (unit/type/string.tcl).
RNA1 = "CACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTTCGTCCGGGTGTG"
RNA2 = "ATTAAAGGTTTATACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT"

CASES = {
    "lcs": [
        ("SET", "v1", RNA1),
        ("SET", "v2", RNA2),
        ("LCS", "v1", "v2"),
        ("LCS", "v1", "v2", "LEN"),
        ("LCS", "v1", "v2", "IDX"),
        ("LCS", "v1", "v2", "IDX", "WITHMATCHLEN"),
        ("LCS", "v1", "v2", "IDX", "WITHMATCHLEN", "MINMATCHLEN", "5"),
        ("LCS", "v1", "v2", "idx", "minmatchlen", "-3", "withmatchlen"),
        ("LCS", "v2", "v1", "IDX", "MINMATCHLEN", "222"),
        ("SET", "a", "ohmytext"),
        ("SET", "b", "mynewtext"),
        ("LCS", "a", "b"),
        ("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"),
        ("LCS", "a", "a", "IDX"),
        ("LCS", "a", "nosuch"),
        ("LCS", "nosuch", "b", "IDX"),
        ("LCS", "nosuch", "other", "LEN"),
        ("SET", "e", ""),
        ("LCS", "e", "a", "IDX", "WITHMATCHLEN"),
        ("SET", "n", "12345"),
        ("SET", "m", "a1b2c3"),
        ("LCS", "n", "m", "IDX", "WITHMATCHLEN"),
        ("SET", "x", "ab"),
        ("SET", "y", "ba"),
        ("LCS", "x", "y"),
        ("LCS", "x", "y", "IDX"),
        ("SET", "x", "abcXbcaYcab"),
        ("SET", "y", "cabYbcaXabc"),
        ("LCS", "x", "y", "IDX", "WITHMATCHLEN"),
        ("LCS", "y", "x"),
    ],
    "lcs errors": [
        ("SET", "a", "ohmytext"),
        ("LCS", "a"),
        ("LCS", "a", "b", "LEN", "IDX"),
        ("LCS", "a", "b", "IDX", "LEN"),
        ("LCS", "a", "b", "NOPE"),
        ("LCS", "a", "b", "MINMATCHLEN"),
        ("LCS", "a", "b", "MINMATCHLEN", "x"),
        ("LCS", "a", "b", "MINMATCHLEN", "1.5", "LEN"),
        ("LCS", "a", "b", "LEN", "LEN"),
        ("MULTI",),
        ("LCS", "a", "b", "LEN"),
        ("LCS", "a"),
        ("EXEC",),
    ],
    "command getkeys": [
        ("COMMAND", "GETKEYS", "get", "a"),
        ("COMMAND", "GETKEYS", "GET", "a", "b"),
        ("COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"),
        ("COMMAND", "GETKEYS", "mset", "a", "1", "b"),
        ("COMMAND", "GETKEYS", "bitop", "and", "d", "a", "b"),
        ("COMMAND", "GETKEYS", "lcs", "a", "b"),
        ("COMMAND", "GETKEYS", "object", "encoding", "k"),
        ("COMMAND", "GETKEYS", "memory", "usage", "k", "samples", "5"),
        ("COMMAND", "GETKEYS", "config", "get", "x"),
        ("COMMAND", "GETKEYS", "config", "nosub"),
        ("COMMAND", "GETKEYS", "nosuch", "x"),
        ("COMMAND", "GETKEYS", "set", "a"),
        ("COMMAND", "GETKEYS", "ping", "x"),
        ("COMMAND", "GETKEYS", "get"),
        ("COMMAND", "GETKEYS"),
        ("COMMAND", "GETKEYSANDFLAGS", "copy", "a", "b", "db", "1"),
        ("COMMAND", "GETKEYSANDFLAGS", "rename", "a", "b"),
        ("COMMAND", "GETKEYSANDFLAGS", "bitop", "or", "d", "a", "b"),
        ("COMMAND", "GETKEYSANDFLAGS", "bitfield", "k", "get", "u8", "0"),
        ("COMMAND", "GETKEYSANDFLAGS", "bitfield", "k", "get", "u8", "0", "incrby", "u8", "0", "1"),
        ("COMMAND", "GETKEYSANDFLAGS", "bitfield", "k", "overflow", "sat", "get", "u8"),
        ("COMMAND", "GETKEYSANDFLAGS", "bitfield_ro", "k", "get", "u8", "0"),
        ("COMMAND", "GETKEYSANDFLAGS", "del", "a", "b", "c"),
        ("COMMAND", "GETKEYSANDFLAGS", "set", "k", "v", "get"),
        ("COMMAND", "GETKEYSANDFLAGS", "set", "k", "v", "EX", "5", "GeT"),
        ("COMMAND", "GETKEYSANDFLAGS", "set", "k", "get"),
        ("COMMAND", "GETKEYSANDFLAGS", "set", "k", "v", "getx"),
        ("COMMAND", "INFO", "command|getkeys", "command|getkeysandflags"),
        ("COMMAND", "DOCS", "command|getkeys"),
    ],
    "help": [
        ("CLIENT", "HELP"),
        ("COMMAND", "HELP"),
        ("CONFIG", "HELP"),
        ("FUNCTION", "HELP"),
        ("SLOWLOG", "HELP"),
        ("LATENCY", "help"),
        ("OBJECT", "HELP"),
        ("MEMORY", "HELP"),
        ("CLIENT", "HELP", "x"),
        ("COMMAND", "NOPE"),
        ("COMMAND", "INFO", "client|help", "command|help", "config|help"),
        ("COMMAND", "DOCS", "function|help", "slowlog|help", "latency|help"),
        ("COMMAND", "GETKEYS", "client", "help"),
        ("MULTI",),
        ("CONFIG", "HELP"),
        ("EXEC",),
    ],
    "command list errors": [
        ("COMMAND", "LIST", "FILTERBY"),
        ("COMMAND", "LIST", "FILTERBY", "pattern"),
        ("COMMAND", "LIST", "FILTERBY", "nope", "x"),
        ("COMMAND", "LIST", "FILTERBY", "pattern", "x", "y"),
        ("COMMAND", "LIST", "nope"),
        ("COMMAND", "LIST", "FILTERBY", "module", "x"),
        ("COMMAND", "LIST", "FILTERBY", "aclcat", "nosuch"),
        ("COMMAND", "LIST", "FILTERBY", "pattern", "nomatch*"),
    ],
}


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("case", sorted(CASES))
def test_cases_from_redis_suite_match_redis(pair_factory, case, protocol):  # noqa: F811
    pair_factory(protocol).run(CASES[case])


# Calls that run, fail, are refused (arity, NOAUTH, inside MULTI) or are unknown, one by
# one and as a pipelined run of GETBITs / SETBITs (which the server takes as one column).
_STATS_SEQUENCE = [
    ("SET", "a", "1"),
    ("GET", "a"),
    ("SET",),
    ("NOSUCH", "x"),
    ("CONFIG", "NOSUB"),
    ("CONFIG", "GET"),
    ("INCR", "a"),
    ("SET", "a", "x"),
    ("INCR", "a"),
    ("LCS", "a", "b", "LEN", "IDX"),
    ("GETBIT", "a", "-1"),
    ("MULTI",),
    ("SET", "k", "v"),
    ("INCR", "k"),
    ("GET",),
    ("EXEC",),
    ("MULTI",),
    ("SET", "k", "v"),
    ("INCR", "k"),
    ("EXEC",),
    ("EXEC",),
    ("MULTI",),
    ("MULTI",),
    ("DISCARD",),
    ("BITFIELD", "f", "GET", "u99", "0"),
    ("EXPIRE", "k", "x"),
]


def _section(client, name: str) -> bytes:
    """An INFO section, without the usec fields (not measured here) of commandstats."""
    text = parse_reply(client.call("INFO", name))
    return re.sub(rb"usec=\d+,usec_per_call=[\d.]+,", b"", text)


def _lines(client, name: str) -> list[bytes]:
    """The section's lines, sorted: Redis lists commands in its hash table's order."""
    return sorted(_section(client, name).split(b"\r\n"))


def test_info_commandstats_and_errorstats_count_like_redis(pair_factory):  # noqa: F811
    pair = pair_factory()
    pair.run([("CONFIG", "RESETSTAT")])
    for args in _STATS_SEQUENCE:
        pair.call(*args)
    for client in (pair.redis, pair.ours):
        client.pipeline([("SETBIT", "b", offset, "1") for offset in range(5)])
        client.pipeline([("GETBIT", "b", offset) for offset in range(5)])
    for section in ("commandstats", "errorstats"):
        assert _lines(pair.ours, section) == _lines(pair.redis, section), section
    stats = [
        re.search(rb"total_error_replies:\d+", parse_reply(client.call("INFO", "stats")))
        for client in (pair.redis, pair.ours)
    ]
    assert stats[0] and stats[1] and stats[0].group() == stats[1].group()
    pair.run([("CONFIG", "RESETSTAT")])
    for section in ("errorstats", "commandstats"):  # empty but for CONFIG RESETSTAT, INFO
        assert _lines(pair.ours, section) == _lines(pair.redis, section), section


def test_info_sections_like_redis(pair_factory):  # noqa: F811
    pair = pair_factory()
    for client in (pair.redis, pair.ours):
        replication = parse_reply(client.call("INFO", "replication"))
        assert re.fullmatch(rb".*master_replid:[0-9a-f]{40}\r\n.*", replication, re.S)
    masked = [
        re.sub(rb"master_replid:[0-9a-f]{40}", b"ID", parse_reply(c.call("INFO", "replication")))
        for c in (pair.redis, pair.ours)
    ]
    assert masked[0] == masked[1]
    for names in [(), ("default",), ("all",), ("everything",), ("cpu", "default")]:
        headers = [
            re.findall(rb"^# (\w+)", parse_reply(c.call("INFO", *names)), re.M)
            for c in (pair.redis, pair.ours)
        ]
        redis_headers = [h for h in headers[0] if h != b"Latencystats"]  # not kept here
        assert [h for h in headers[1] if h != b"Keys"] == redis_headers, names


@pytest.mark.parametrize(
    "filter_",
    [
        ("PATTERN", "get*"),
        ("pattern", "*EXPIRE*"),
        ("pattern", "incr*"),
        ("pattern", "object|*"),
        ("ACLCAT", "bitmap"),
        ("aclcat", "String"),
    ],
)
def test_command_list_filters_like_redis(pair_factory, filter_):  # noqa: F811
    # commands and subcommands we all implement: the same names (Redis: hash table order)
    pair = pair_factory()
    redis, ours = pair.call("COMMAND", "LIST", "FILTERBY", *filter_)
    assert sorted(parse_reply(ours)) == sorted(parse_reply(redis))
    assert parse_reply(ours)


def _changes(client) -> int:
    text = parse_reply(client.call("INFO", "persistence"))
    return int(re.search(rb"rdb_changes_since_last_save:(\d+)", text).group(1))


# unit/bitops.tcl's "SETBIT/BITFIELD only increase dirty when the value changed", step by
# step: creating a key always counts, a write that changes nothing does not, growing does.
_DIRTY_STEPS = [
    [("SETBIT", "foo", "0", "0"), ("BITFIELD", "foo2", "SET", "i5", "0", "0")],
    [("SETBIT", "foo", "0", "0"), ("BITFIELD", "foo2", "SET", "i5", "0", "0")],
    [("SETBIT", "foo", "0", "1"), ("SETBIT", "foo", "0", "1")],
    [("SETBIT", "foo", "0", "0"), ("SETBIT", "foo", "0", "0")],
    [
        ("BITFIELD", "foo3", "INCRBY", "i5", "0", "1"),
        ("BITFIELD", "foo3", "INCRBY", "i5", "0", "1"),
    ],
    [("SETBIT", "foo", "90", "0"), ("BITFIELD", "foo2", "SET", "i5", "90", "0")],
    [("SETBIT", "foo", "90", "0"), ("SETBIT", "foo", "200", "1"), ("SETBIT", "foo", "300", "0")],
    [("SETBIT", "new", "7", "0"), ("SETBIT", "new", "15", "1")],
    # (not ("SETBIT", "new2", "7", "0") twice in one pipeline: a known difference, the
    # second also counts when both are in one group commit, see docs/server.md)
]


@pytest.mark.parametrize("pipelined", [False, True])
def test_setbit_counts_changes_like_redis(pair_factory, pipelined):  # noqa: F811
    pair = pair_factory()
    for step in _DIRTY_STEPS:
        before = _changes(pair.redis), _changes(pair.ours)
        for client in (pair.redis, pair.ours):
            if pipelined:
                client.pipeline(step)
            else:
                for args in step:
                    client.call(*args)
        after = _changes(pair.redis), _changes(pair.ours)
        assert after[1] - before[1] == after[0] - before[0], step
