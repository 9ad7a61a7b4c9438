"""SORT / SORT_RO and DUMP / RESTORE (and their COMMAND entries) against redis-server 7.0:
the same commands to both servers, replies compared byte for byte in RESP2 and RESP3
(the method of test_server_differential); payloads restored across the two servers.

Our server holds only strings, so SORT of an existing key is WRONGTYPE and of a missing
key empty; what these cases pin is the option parsing, the order of its checks and its
errors, and STORE of the empty result (which deletes the destination).
"""

# The case tables below are data: one line holds several commands.
# ruff: noqa: E501
from __future__ import annotations

import random

import pytest

from .test_server_differential import pair_factory  # noqa: F401 - the fixture

SORT_CASES = {
    "sort of a missing key": [
        ("SORT", "nosuch"),
        ("SORT", "nosuch", "ASC"),
        ("SORT", "nosuch", "desc", "alpha"),
        ("SORT", "nosuch", "LIMIT", "0", "10"),
        ("SORT", "nosuch", "LIMIT", "-5", "-1"),
        ("SORT", "nosuch", "LIMIT", "9223372036854775807", "-9223372036854775808"),
        ("SORT", "nosuch", "BY", "w_*"),
        ("SORT", "nosuch", "BY", "nosort"),
        ("SORT", "nosuch", "GET", "#", "GET", "o_*->f", "GET", "x"),
        ("SORT", "nosuch", "by", "w_*", "limit", "1", "2", "get", "#", "desc", "alpha"),
        ("SORT_RO", "nosuch"),
        ("SORT_RO", "nosuch", "BY", "w_*", "GET", "#", "LIMIT", "0", "1", "DESC", "ALPHA"),
    ],
    "sort of a string": [
        ("SET", "s", "3"),
        ("SORT", "s"),
        ("SORT", "s", "ALPHA", "LIMIT", "0", "1"),
        ("SORT", "s", "BY", "w_*", "GET", "#"),
        ("SORT_RO", "s"),
        ("SORT", "s", "STORE", "d"),
        ("EXISTS", "d"),
        ("SET", "d", "keep"),
        ("SORT", "s", "STORE", "d"),
        ("GET", "d"),
        ("SORT", "s", "LIMIT", "x", "1"),
        ("SORT", "s", "NOPE"),
        ("INFO", "keyspace"),
    ],
    "sort errors in order": [
        ("SORT", "k", "LIMIT"),
        ("SORT", "k", "LIMIT", "0"),
        ("SORT", "k", "LIMIT", "0", "x"),
        ("SORT", "k", "LIMIT", "x", "0"),
        ("SORT", "k", "LIMIT", "1.5", "2"),
        ("SORT", "k", "LIMIT", "9223372036854775808", "1"),
        ("SORT", "k", "LIMIT", "x", "1", "NOPE"),
        ("SORT", "k", "NOPE", "LIMIT", "x", "1"),
        ("SORT", "k", "BY"),
        ("SORT", "k", "GET"),
        ("SORT", "k", "STORE"),
        ("SORT", "k", "ASC", "BOGUS"),
        ("SORT", "k", "GET", "#", "BY"),
        ("SORT_RO", "k", "STORE", "d"),
        ("SORT_RO", "k", "LIMIT", "0", "1", "STORE", "d"),
        ("SORT_RO", "k", "STORE"),
        ("SORT",),
        ("SORT_RO",),
    ],
    "sort store": [
        ("SET", "d", "old"),
        ("EXPIRE", "d", "100"),
        ("SORT", "nosuch", "STORE", "d"),
        ("EXISTS", "d"),
        ("TTL", "d"),
        ("SORT", "nosuch", "STORE", "d"),
        ("SET", "d1", "a"),
        ("SET", "d2", "b"),
        ("SORT", "nosuch", "STORE", "d1", "STORE", "d2"),
        ("MGET", "d1", "d2"),
        ("SORT", "nosuch", "store", "d1", "LIMIT", "0", "1", "BY", "nosort", "GET", "#"),
        ("EXISTS", "d1"),
        ("SET", "d3", "c"),
        ("SORT", "nosuch", "STORE", "d3", "LIMIT", "x", "1"),
        ("GET", "d3"),
        ("SORT", "d3", "STORE", "d3"),
        ("GET", "d3"),
    ],
    "sort in a transaction and watched": [
        ("SET", "d", "v"),
        ("WATCH", "d"),
        ("MULTI",),
        ("SORT", "nosuch", "STORE", "d"),
        ("SORT_RO", "d"),
        ("SORT", "nosuch", "BOGUS"),
        ("EXEC",),
        ("EXISTS", "d"),
    ],
    "sort command entries": [
        ("COMMAND", "INFO", "sort", "sort_ro"),
        ("COMMAND", "DOCS", "sort", "sort_ro"),
        ("COMMAND", "GETKEYS", "sort", "a"),
        ("COMMAND", "GETKEYSANDFLAGS", "sort", "a", "BY", "w_*", "GET", "x", "STORE", "d"),
        ("COMMAND", "GETKEYS", "sort", "a", "STORE", "b", "STORE", "c", "LIMIT", "0", "1"),
        ("COMMAND", "GETKEYS", "sort", "a", "LIMIT", "store", "b"),
        ("COMMAND", "GETKEYS", "sort", "a", "GET", "store", "BY", "store", "store", "d"),
        ("COMMAND", "GETKEYS", "sort", "a", "STORE"),
        ("COMMAND", "GETKEYSANDFLAGS", "sort_ro", "a", "GET", "#", "STORE", "d"),
        ("COMMAND", "GETKEYS", "sort"),
    ],
}


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("case", sorted(SORT_CASES))
def test_sort_matches_redis(pair_factory, case, protocol):  # noqa: F811
    pair_factory(protocol).run(SORT_CASES[case])


# --- DUMP / RESTORE


def _payload(body: bytes, version: int = 10) -> bytes:
    """A DUMP payload around an RDB object, its checksum right."""
    from bitmapist.server.rdb import crc64

    body += version.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


#: Values whose payloads take each form: ints of each width, raw, LZF, and the edges.
DUMP_VALUES = [
    b"", b"0", b"-1", b"127", b"128", b"-128", b"-129", b"32767", b"32768", b"-32769",
    b"2147483647", b"2147483648", b"-2147483648", b"-2147483649", b"12345678901",
    b"012", b"+1", b"-0", b"1 ", b"abc", b"x" * 20, b"x" * 21, b"ab" * 11, b"abc" * 40,
    bytes(range(256)) * 3, b"hello world, " * 700, b"\x00\xff" * 5000, b"a" * 70000,
    # past 1 MiB (once dumped uncompressed here): a sparse bitmap, and bytes LZF cannot shrink
    bytes(2_500_000) + b"\x01" + bytes(range(256)) * 5000, random.Random(3).randbytes(1_200_000),
]  # fmt: skip

RESTORE_CASES = {
    "restore errors in order": [
        ("SET", "k", "v"),
        ("RESTORE", "k", "0", "x"),
        ("RESTORE", "k", "x", "x"),
        ("RESTORE", "k", "-1", "x", "REPLACE"),
        ("RESTORE", "new", "x", "x"),
        ("RESTORE", "new", "-1", "x"),
        ("RESTORE", "new", "0", "x"),
        ("RESTORE", "new", "0", ""),
        ("RESTORE", "k", "0", "x", "BOGUS"),
        ("RESTORE", "k", "0", "x", "IDLETIME"),
        ("RESTORE", "k", "0", "x", "IDLETIME", "x"),
        ("RESTORE", "k", "0", "x", "IDLETIME", "-1"),
        ("RESTORE", "k", "0", "x", "IDLETIME", "1", "FREQ", "1"),
        ("RESTORE", "k", "0", "x", "FREQ", "1", "IDLETIME", "1"),
        ("RESTORE", "k", "0", "x", "FREQ", "256"),
        ("RESTORE", "k", "0", "x", "FREQ", "-1"),
        ("RESTORE", "k", "0", "x", "FREQ", "1.5"),
        ("RESTORE", "k", "0", "x", "freq", "0", "replace", "absttl"),
        ("RESTORE", "k", "0", "x", "idletime", "0", "idletime", "5"),
        ("RESTORE", "k", "0"),
        ("DUMP",),
        ("DUMP", "a", "b"),
        ("DUMP", "nosuch"),
        ("INFO", "keyspace"),
    ],
    "restore payloads": [
        ("SET", "k", "v"),
        ("RESTORE", "new", "0", _payload(b"\x00\x03abc")),
        ("GET", "new"),
        ("RESTORE", "new", "0", _payload(b"\x00\x03abc")),
        ("RESTORE", "new", "0", _payload(b"\x00\x03xyz"), "REPLACE"),
        ("GET", "new"),
        ("RESTORE", "i8", "0", _payload(b"\x00\xc0\xff")),
        ("RESTORE", "i16", "0", _payload(b"\x00\xc1\x00\x80")),
        ("RESTORE", "i32", "0", _payload(b"\x00\xc2\xff\xff\xff\x7f")),
        ("MGET", "i8", "i16", "i32"),
        ("RESTORE", "old", "0", _payload(b"\x00\x03abc", version=9)),
        ("RESTORE", "future", "0", _payload(b"\x00\x03abc", version=11)),
        ("RESTORE", "bad", "0", _payload(b"\x00\x03abc")[:-1] + b"?"),
        ("RESTORE", "short", "0", _payload(b"\x00\x05abc")),
        ("GET", "short"),
        ("RESTORE", "long", "0", _payload(b"\x00\x0dabc")),
        ("RESTORE", "trailing", "0", _payload(b"\x00\x03abcXX")),
        ("GET", "trailing"),
        ("RESTORE", "badtype", "0", _payload(b"\x08\x03abc")),
        ("RESTORE", "badtype", "0", _payload(b"\x63\x03abc")),
        ("RESTORE", "badenc", "0", _payload(b"\x00\xc4abc")),
        ("RESTORE", "badlen", "0", _payload(b"\x00\x82abc")),
        ("RESTORE", "lzf", "0", _payload(b"\x00\xc3\x06\x15\x00a\xe0\x06\x00\x00a")),
        ("GET", "lzf"),
        ("RESTORE", "badlzf", "0", _payload(b"\x00\xc3\x06\x16\x00a\xe0\x06\x00\x00a")),
        ("RESTORE", "badlzf", "0", _payload(b"\x00\xc3\x03\x15\x00a\xe0")),
        ("RESTORE", "badlzf", "0", _payload(b"\x00\xc3\x03\x15\x00a\x20\x05")),
        # liblzf's edges: an empty output (Redis takes whatever liblzf makes of the input),
        # a reference before the start, an output shorter than announced
        ("RESTORE", "lzf0", "0", _payload(b"\x00\xc3\x00\x00")),
        ("RESTORE", "lzf1", "0", _payload(b"\x00\xc3\x02\x00\x00a")),
        ("RESTORE", "lzf2", "0", _payload(b"\x00\xc3\x02\x00\x20\x00")),
        ("RESTORE", "lzf3", "0", _payload(b"\x00\xc3\x00\x05")),
        ("RESTORE", "lzf4", "0", _payload(b"\x00\xc3\x02\x05\x20\x00")),
        ("RESTORE", "lzf5", "0", _payload(b"\x00\xc3\x02\x05\x00a")),
        ("RESTORE", "lzf6", "0", _payload(b"\x00\xc3\x03\x02\x00a\x00")),
        # lengths no LZF input this short can reach (1 GiB, 1 TiB): refused, not allocated
        ("RESTORE", "lzf7", "0", _payload(b"\x00\xc3\x02\x80\x40\x00\x00\x00\x00a")),
        (
            "RESTORE",
            "lzf8",
            "0",
            _payload(b"\x00\xc3\x02\x81" + (1 << 40).to_bytes(8, "big") + b"\x00a"),
        ),
        ("MGET", "lzf0", "lzf1", "lzf2", "lzf3", "lzf4", "lzf5", "lzf6", "lzf7", "lzf8"),
        ("EXISTS", "old", "future", "bad", "short", "trailing", "badtype", "badenc", "badlzf"),
        ("DBSIZE",),
    ],
    "restore ttl": [
        ("RESTORE", "a", "100000", _payload(b"\x00\x01a")),
        ("PTTL", "a"),
        ("RESTORE", "b", "0", _payload(b"\x00\x01b")),
        ("TTL", "b"),
        ("RESTORE", "c", "4102444800000", _payload(b"\x00\x01c"), "ABSTTL"),
        ("PEXPIRETIME", "c"),
        ("RESTORE", "d", "1", _payload(b"\x00\x01d"), "ABSTTL"),
        ("EXISTS", "d"),
        ("SET", "e", "old"),
        ("RESTORE", "e", "1", _payload(b"\x00\x01e"), "ABSTTL", "REPLACE"),
        ("EXISTS", "e"),
        ("SET", "f", "old"),
        ("EXPIRE", "f", "1000"),
        ("RESTORE", "f", "0", _payload(b"\x00\x01f"), "REPLACE"),
        ("TTL", "f"),
        ("GET", "f"),
        ("RESTORE", "g", "9223372036854775807", _payload(b"\x00\x01g")),
        ("EXISTS", "g"),
        ("RESTORE", "h", "9223372036854775807", _payload(b"\x00\x01h"), "ABSTTL"),
        ("PEXPIRETIME", "h"),
        ("RESTORE", "i", "5", _payload(b"\x00\x01i"), "IDLETIME", "100", "FREQ", "3"),
    ],
    "dump and restore in a transaction": [
        ("SET", "k", "12"),
        ("WATCH", "k"),
        ("MULTI",),
        ("DUMP", "k"),
        ("RESTORE", "k", "0", _payload(b"\x00\xc0\x0d"), "REPLACE"),
        ("DUMP", "k"),
        ("RESTORE", "k", "0", "x"),
        ("EXEC",),
        ("GET", "k"),
    ],
    "dump and restore command entries": [
        ("COMMAND", "INFO", "dump", "restore"),
        ("COMMAND", "DOCS", "dump", "restore"),
        ("COMMAND", "GETKEYSANDFLAGS", "dump", "a"),
        ("COMMAND", "GETKEYSANDFLAGS", "restore", "a", "0", "x", "REPLACE"),
    ],
}


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("case", sorted(RESTORE_CASES))
def test_restore_matches_redis(pair_factory, case, protocol):  # noqa: F811
    pair_factory(protocol).run(RESTORE_CASES[case])


@pytest.mark.parametrize("value", DUMP_VALUES, ids=lambda value: f"{len(value)}:{value[:8]!r}")
def test_dump_is_redis_payload_and_restores_across_servers(pair_factory, value):  # noqa: F811
    """Byte-identical DUMP (int, raw and LZF forms), and each server RESTOREs the other's
    payload to the same value."""
    pair = pair_factory()
    pair.check(("SET", "k", value))
    theirs, ours = pair.call("DUMP", "k")
    assert ours == theirs
    payload = pair.redis.call("DUMP", "k")
    payload = payload.split(b"\r\n", 1)[1][:-2]
    assert pair.ours.call("RESTORE", "from_redis", "0", payload) == b"+OK\r\n"
    assert pair.redis.call("RESTORE", "from_ours", "0", payload) == b"+OK\r\n"
    expected = pair.redis.call("GET", "k")
    assert pair.ours.call("GET", "from_redis") == expected
    assert pair.redis.call("GET", "from_ours") == expected


def test_a_list_payload_is_refused_clearly(pair_factory):  # noqa: F811
    """Redis restores a list; this server holds only strings and says so."""
    pair = pair_factory()
    pair.redis.call("RPUSH", "l", "a", "b")
    payload = pair.redis.call("DUMP", "l").split(b"\r\n", 1)[1][:-2]
    assert pair.ours.call("RESTORE", "l", "0", payload) == (
        b"-ERR Bad data format: only string values can be restored here\r\n"
    )
    assert pair.ours.call("EXISTS", "l") == b":0\r\n"


def test_lzf_round_trips_what_it_compresses():
    """Our compressor's output decompresses to its input (random, repetitive data)."""
    import random

    from bitmapist.server.rdb import lzf_compress, lzf_decompress

    rng = random.Random(7)
    for _ in range(300):
        alphabet = rng.choice([b"ab", b"abcdef", bytes(range(256))])
        data = bytes(rng.choice(alphabet) for _ in range(rng.randrange(21, 3000)))
        packed = lzf_compress(data, len(data) - 4)
        if packed is not None:
            assert lzf_decompress(packed, len(data)) == data


def test_dump_of_random_values_is_redis_payload(pair_factory):  # noqa: F811
    """LZF's choices (matches near the end, literal runs, long references) for many
    repetitive random values: our DUMP is Redis's, byte for byte."""
    import random

    rng = random.Random(11)
    pair = pair_factory()
    commands = []
    for index in range(300):
        alphabet = rng.choice([b"ab", b"abc", b"abcdefgh", bytes(range(256))])
        value = bytes(rng.choice(alphabet) for _ in range(rng.randrange(21, 600)))
        commands += [("SET", f"k{index}", value), ("DUMP", f"k{index}")]
    theirs = pair.redis.pipeline(commands)
    ours = pair.ours.pipeline(commands)
    assert ours == theirs
