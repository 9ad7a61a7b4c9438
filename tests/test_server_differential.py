"""Differential test: the same raw command sequences to redis-server and bitmapist-server.

Replies are compared byte for byte, in RESP2 and RESP3. The only normalizations are for
values that legitimately differ between two servers: client ids, clocks (TIME, LASTSAVE;
TTLs agree within CLOCK_SKEW_MS), the order of KEYS (a hash table's order in Redis) and
SCAN cursors (checked separately: same keys over a full iteration).
"""

# The case tables below are data: one line holds several commands.
# ruff: noqa: E501
from __future__ import annotations

import os
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .resp_client import EOF, RawConnection, command

TWO_POW_32 = 2**32


def parse_reply(raw: bytes):
    """A raw reply of bulk strings, integers and arrays as Python values."""

    def parse(pos: int):
        end = raw.index(b"\r\n", pos)
        kind, head = raw[pos : pos + 1], raw[pos + 1 : end]
        if kind == b"$":
            size = int(head)
            return raw[end + 2 : end + 2 + size], end + 4 + size
        if kind == b"*":
            items, pos = [], end + 2
            for _ in range(int(head)):
                item, pos = parse(pos)
                items.append(item)
            return items, pos
        return head, end + 2

    return parse(0)[0]


def _split_array(raw: bytes) -> tuple[bytes, list[bytes]]:
    """An array reply's header and its elements' raw bytes (elements are bulk strings)."""
    header, _, rest = raw.partition(b"\r\n")
    items = []
    while rest:
        length_line, _, rest = rest.partition(b"\r\n")
        size = int(length_line[1:])
        items.append(length_line + b"\r\n" + rest[: size + 2])
        rest = rest[size + 2 :]
    return header, items


# Replies that read the clock, by the milliseconds of their unit. The two servers read it a
# moment apart (on a loaded machine, hundreds of ms), which can move a TTL across a rounding
# step: their times must agree within CLOCK_SKEW_MS, -1 and -2 exactly.
_CLOCK_READINGS = {b"ttl": 1000, b"pttl": 1, b"expiretime": 1000, b"pexpiretime": 1}
CLOCK_SKEW_MS = 2000


def same_reply(args: tuple, ours: bytes, theirs: bytes) -> bool:
    """Whether our reply to `args` is Redis's, but for what `normalize` masks and clock
    readings a moment apart."""
    unit = _CLOCK_READINGS.get(str(args[0]).lower().encode())
    if unit and ours[:1] == theirs[:1] == b":":
        our_time, their_time = int(ours[1:-2]), int(theirs[1:-2])
        if our_time >= 0 and their_time >= 0:
            return abs(our_time - their_time) * unit <= CLOCK_SKEW_MS
    return normalize(args, ours) == normalize(args, theirs)


def normalize(args: tuple, raw: bytes) -> bytes:
    """Reply bytes with server-specific values masked (see the module docstring)."""
    name = str(args[0]).lower()
    sub = str(args[1]).lower() if len(args) > 1 else ""
    if raw.startswith(b"-"):
        return raw
    if name == "hello":
        return re.sub(rb"\$2\r\nid\r\n:\d+\r\n", b"$2\r\nid\r\n:ID\r\n", raw)
    if name == "client" and sub == "id":
        return b":ID\r\n"
    if name in ("time", "lastsave"):
        return raw[:1]
    if name == "keys" and raw[:1] == b"*":
        header, items = _split_array(raw)
        return header + b"\r\n" + b"".join(sorted(items))
    if name == "info":  # Redis's avg_ttl is a sampled estimate
        return re.sub(rb"avg_ttl=\d+", b"avg_ttl=N", raw.split(b"\r\n", 1)[1])
    return raw


class Pair:
    """One connection to redis-server and one to bitmapist-server, driven in lockstep."""

    def __init__(self, redis_port: int, our_port: int, protocol: int = 2):
        self.redis = RawConnection(redis_port)
        self.ours = RawConnection(our_port)
        if protocol == 3:
            self.check(("HELLO", "3"))

    def call(self, *args) -> tuple[bytes, bytes]:
        return self.redis.call(*args), self.ours.call(*args)

    def check(self, args: tuple) -> bytes:
        expected, got = self.call(*args)
        assert same_reply(args, got, expected), (
            f"{args!r}: redis replied {expected!r}, bitmapist-server {got!r}"
        )
        return got

    def run(self, sequence) -> None:
        for args in sequence:
            self.check(tuple(args))

    def close(self) -> None:
        self.redis.close()
        self.ours.close()


@pytest.fixture
def pair_factory(redis_server, bitmapist_server):
    pairs = []
    cleaner = Pair(redis_server.port, bitmapist_server.port)
    cleaner.call("FLUSHALL")
    cleaner.close()

    def make(protocol: int = 2) -> Pair:
        pair = Pair(redis_server.port, bitmapist_server.port, protocol)
        pairs.append(pair)
        return pair

    yield make
    for pair in pairs:
        pair.close()


# --- hand-written edge cases


def _words(text: str) -> tuple[str, ...]:
    """A command written as one line of words (long BITFIELDs)."""
    return tuple(text.split())


CASES = {
    "connection": [
        ("PING",),
        ("PING", "hello"),
        ("PING", "a", "b"),
        ("ECHO", "x"),
        ("ECHO",),
        ("ECHO", ""),
        ("SELECT", "15"),
        ("SELECT", "16"),
        ("SELECT", "-1"),
        ("SELECT", "x"),
        ("SELECT", "99999999999"),
        ("SELECT", "0"),
        ("AUTH", "x"),
        ("AUTH", "default", "x"),
        ("AUTH", "a", "b", "c"),
        ("AUTH", "nobody", "x"),
        ("CLIENT",),
        ("CLIENT", "NOPE"),
        ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME", "bad name"),
        ("CLIENT", "SETNAME", "ok"),
        ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME", ""),
        ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME"),
        ("CLIENT", "GETNAME", "x"),
        ("CLIENT", "ID"),
        ("FOO",),
        ("FOO", "a", "b"),
        ("foo", "x" * 200),
        ("HELLO", "4"),
        ("HELLO", "x"),
        ("HELLO", "2", "FOO"),
        ("HELLO", "3", "AUTH", "a", "b"),
        ("HELLO", "2", "SETNAME", "a b"),
        ("HELLO", "2", "SETNAME", "me"),
        ("CLIENT", "GETNAME"),
        ("HELLO", "2", "AUTH", "default"),
        ("TIME",),
        ("TIME", "x"),
        ("DBSIZE", "x"),
        ("LASTSAVE",),
        ("QUIT", "x"),
    ],
    "strings": [
        ("GET", "k"),
        ("SET", "k", "hello"),
        ("GET", "k"),
        ("STRLEN", "k"),
        ("STRLEN", "none"),
        ("TYPE", "k"),
        ("TYPE", "none"),
        ("SET", "k", "v", "NX"),
        ("SET", "k", "v2", "XX"),
        ("GET", "k"),
        ("SET", "k2", "v", "XX"),
        ("SET", "k", "v3", "GET"),
        ("SET", "n", "v", "GET"),
        ("SET", "k", "v", "NX", "GET"),
        ("SET", "k", "v", "NX", "XX"),
        ("SET", "k", "v", "EX"),
        ("SET", "k", "v", "EX", "0"),
        ("SET", "k", "v", "EX", "-5"),
        ("SET", "k", "v", "EX", "x"),
        ("SET", "k", "v", "PX", "10", "EX", "10"),
        ("SET", "k", "v", "EX", "10", "EX", "20"),
        ("TTL", "k"),
        ("SET", "k", "v", "KEEPTTL"),
        ("TTL", "k"),
        ("SET", "k", "v", "KEEPTTL", "EX", "1"),
        ("SET", "k", "v", "EX", "100", "KEEPTTL"),
        ("SET", "k", "v"),
        ("TTL", "k"),
        ("SET", "k", "v", "EXAT", "1"),
        ("GET", "k"),
        ("EXISTS", "k"),
        ("SET", "k", "v", "PXAT", "99999999999999"),
        ("TTL", "k"),
        ("SET", "k", "v", "FOO"),
        ("SET", "k"),
        ("SET", "e", ""),
        ("GET", "e"),
        ("STRLEN", "e"),
        ("BITCOUNT", "e"),
        ("BITPOS", "e", "0"),
        ("BITPOS", "e", "1"),
        ("SET", "b", b"\x00\xff\x10binary\r\n"),
        ("GET", "b"),
        ("BITCOUNT", "b"),
        ("SET", "k", "v", "ex", "9223372036854775807"),
        ("SET", "k", "v", "px", "9223372036854775807"),
    ],
    "getrange": [
        ("GETRANGE", "none", "0", "-1"),
        ("GETRANGE", "none", "5", "1"),
        ("GETRANGE", "none", "x", "1"),
        ("SET", "k", "Hello, world"),
        ("GETRANGE", "k", "0", "4"),
        ("GETRANGE", "k", "0", "-1"),
        ("GETRANGE", "k", "-3", "-1"),
        ("GETRANGE", "k", "-1", "-3"),
        ("GETRANGE", "k", "-100", "3"),
        ("GETRANGE", "k", "-100", "-50"),
        ("GETRANGE", "k", "-50", "-100"),
        ("GETRANGE", "k", "3", "-100"),
        ("GETRANGE", "k", "5", "1"),
        ("GETRANGE", "k", "10", "100"),
        ("GETRANGE", "k", "12", "12"),
        ("GETRANGE", "k", "100", "200"),
        ("GETRANGE", "k", "0", "9223372036854775807"),
        ("GETRANGE", "k", "-9223372036854775808", "-1"),
        ("GETRANGE", "k", "0", "9223372036854775808"),
        ("GETRANGE", "k", "x", "1"),
        ("GETRANGE", "k", "1", "01"),
        ("GETRANGE", "k", "1", " 1"),
        ("GETRANGE", "k", "0"),
        ("GETRANGE", "k", "0", "1", "2"),
        ("GETRANGE", "k"),
        ("SUBSTR", "k", "1", "-2"),
        ("SUBSTR", "k", "0"),
        ("SET", "e", ""),
        ("GETRANGE", "e", "0", "-1"),
        ("GETRANGE", "e", "0", "0"),
        ("SETBIT", "b", "100", "1"),
        ("GETRANGE", "b", "12", "12"),
        ("GETRANGE", "b", "-1", "-1"),
        ("GETRANGE", "b", "0", "-1"),
        ("STRLEN", "b"),
        ("STRLEN", "e"),
        ("STRLEN", "b", "x"),
        ("STRLEN",),
    ],
    "string_writes": [
        ("SETNX", "k", "a"),
        ("SETNX", "k", "b"),
        ("GET", "k"),
        ("SETNX", "k"),
        ("SETEX", "e", "100", "v"),
        ("TTL", "e"),
        ("SETEX", "e", "0", "v"),
        ("SETEX", "e", "-1", "v"),
        ("SETEX", "e", "x", "v"),
        ("SETEX", "e", "9223372036854775807", "v"),
        ("PSETEX", "p", "100000", "v"),
        ("PTTL", "p"),
        ("PSETEX", "p", "0", "v"),
        ("PSETEX", "p", "9223372036854775807", "v"),
        ("GETSET", "k", "c"),
        ("GETSET", "none", "c"),
        ("GET", "none"),
        ("GETSET", "e", "x"),
        ("TTL", "e"),
        ("GETDEL", "none"),
        ("GETDEL", "none2"),
        ("GETDEL", "k"),
        ("EXISTS", "k"),
        ("MSET", "a", "1", "b", "2"),
        ("MSET", "a", "1", "b"),
        ("MSET", "a"),
        ("MGET", "a", "b", "none"),
        ("MGET",),
        ("MSETNX", "a", "9", "c", "3"),
        ("MSETNX", "c", "3", "d", "4"),
        ("MSETNX", "c", "3", "d"),
        ("MGET", "a", "c", "d"),
        ("SET", "g", "v"),
        ("GETEX", "g"),
        ("GETEX", "g", "EX", "100"),
        ("TTL", "g"),
        ("GETEX", "g", "PERSIST"),
        ("TTL", "g"),
        ("GETEX", "g", "EX", "0"),
        ("GETEX", "g", "EX", "x"),
        ("GETEX", "g", "PX"),
        ("GETEX", "g", "EX", "10", "PX", "10"),
        ("GETEX", "g", "EX", "10", "EX", "20"),
        ("GETEX", "g", "PERSIST", "EX", "10"),
        ("GETEX", "g", "EX", "10", "PERSIST"),
        ("GETEX", "g", "KEEPTTL"),
        ("GETEX", "g", "NX"),
        ("GETEX", "none", "EX", "10"),
        ("GETEX", "none", "EX", "0"),
        ("GETEX", "g", "EXAT", "1"),
        ("EXISTS", "g"),
        ("GETEX",),
    ],
    "string_updates": [
        ("APPEND", "s", "ab"),
        ("APPEND", "s", "cd"),
        ("GET", "s"),
        ("APPEND", "s", ""),
        ("APPEND", "s"),
        ("SETRANGE", "s", "1", "XY"),
        ("GET", "s"),
        ("SETRANGE", "s", "6", "Z"),
        ("GET", "s"),
        ("SETRANGE", "s", "0", ""),
        ("SETRANGE", "none", "5", ""),
        ("EXISTS", "none"),
        ("SETRANGE", "r", "3", "a"),
        ("GET", "r"),
        ("SETRANGE", "s", "-1", "a"),
        ("SETRANGE", "s", "x", "a"),
        ("SETRANGE", "s", "536870911", "ab"),
        ("SETRANGE", "s", "1"),
        ("SET", "t", "v", "EX", "100"),
        ("APPEND", "t", "w"),
        ("TTL", "t"),
        ("INCR", "n"),
        ("INCR", "n"),
        ("DECR", "n"),
        ("DECR", "m"),
        ("INCRBY", "n", "10"),
        ("INCRBY", "n", "-20"),
        ("DECRBY", "n", "5"),
        ("DECRBY", "n", "-9223372036854775808"),
        ("INCRBY", "n", "x"),
        ("INCRBY", "n", "1.5"),
        ("INCR", "s"),
        ("SET", "big", "9223372036854775807"),
        ("INCR", "big"),
        ("SET", "small", "-9223372036854775808"),
        ("DECR", "small"),
        ("INCRBY", "small", "-1"),
        ("SET", "z", "007"),
        ("INCR", "z"),
        ("SET", "z", " 7"),
        ("INCR", "z"),
        ("SET", "z", "-0"),
        ("INCR", "z"),
        ("SET", "z", "7"),
        ("EXPIRE", "z", "100"),
        ("INCR", "z"),
        ("TTL", "z"),
        ("INCR",),
        ("INCRBY", "n"),
        ("SETBIT", "b", "7", "1"),
        ("INCR", "b"),
        ("APPEND", "b", "x"),
        ("GET", "b"),
    ],
    "keys_more": [
        ("SET", "a", "1"),
        ("SET", "b", "2"),
        ("TOUCH", "a", "b", "none"),
        ("TOUCH",),
        ("COPY", "a", "c"),
        ("GET", "c"),
        ("COPY", "a", "c"),
        ("COPY", "a", "c", "REPLACE"),
        ("COPY", "a", "a"),
        ("COPY", "none", "x"),
        ("COPY", "a", "x", "DB", "1"),
        ("COPY", "a", "x", "DB", "16"),
        ("COPY", "a", "x", "DB", "x"),
        ("COPY", "a", "x", "DB"),
        ("COPY", "a", "a", "DB", "0"),
        ("COPY", "a", "x", "FOO"),
        ("SELECT", "1"),
        ("GET", "x"),
        ("SELECT", "0"),
        ("SET", "e", "v", "EX", "100"),
        ("COPY", "e", "f"),
        ("TTL", "f"),
        ("COPY", "a"),
    ],
    "monitoring": [
        ("SLOWLOG", "RESET"),  # (earlier tests may have left slow commands in Redis's log)
        ("RANDOMKEY",),
        ("RANDOMKEY", "x"),
        ("SET", "only", "1"),
        ("RANDOMKEY",),
        ("SLOWLOG", "LEN"),
        ("SLOWLOG", "LEN", "x"),
        ("SLOWLOG", "RESET"),
        ("SLOWLOG", "RESET", "x"),
        ("SLOWLOG", "GET"),
        ("SLOWLOG", "GET", "5"),
        ("SLOWLOG", "GET", "-1"),
        ("SLOWLOG", "GET", "-2"),
        ("SLOWLOG", "GET", "x"),
        ("SLOWLOG", "GET", "1", "2"),
        ("SLOWLOG",),
        ("SLOWLOG", "NOPE"),
        ("LATENCY", "LATEST"),
        ("LATENCY", "LATEST", "x"),
        ("LATENCY", "RESET"),
        ("LATENCY", "RESET", "command"),
        ("LATENCY",),
    ],
    "config": [
        ("CONFIG", "GET", "databases"),
        ("CONFIG", "GET", "maxmemory"),
        ("CONFIG", "GET", "maxmemory-policy"),
        ("CONFIG", "GET", "nosuch"),
        ("CONFIG", "GET", "appendonly"),
        ("CONFIG", "GET", "timeout"),
        ("CONFIG", "GET", "TIMEOUT"),
        ("CONFIG", "GET"),
        ("CONFIG",),
        ("CONFIG", "NOPE"),
        ("CONFIG", "SET", "nosuch", "1"),
        ("CONFIG", "SET", "timeout", "0"),
        ("CONFIG", "SET", "timeout"),
        ("CONFIG", "SET", "timeout", "0", "hz"),
        ("CONFIG", "RESETSTAT"),
        ("CONFIG", "RESETSTAT", "x"),
        ("FUNCTION", "FLUSH"),
        ("FUNCTION", "FLUSH", "ASYNC"),
        ("FUNCTION", "FLUSH", "sync"),
        ("FUNCTION", "FLUSH", "x"),
        ("FUNCTION", "FLUSH", "SYNC", "x"),
        ("FUNCTION", "LIST"),
        ("FUNCTION", "LIST", "WITHCODE"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "x"),
        ("FUNCTION", "LIST", "x"),
        ("FUNCTION",),
        ("WAIT", "0", "0"),
        ("WAIT", "x", "0"),
        ("WAIT", "0", "x"),
        ("WAIT", "0", "-1"),
        ("WAIT", "0"),
    ],
    "bits": [
        ("SETBIT", "b", "7", "1"),
        ("SETBIT", "b", "7", "1"),
        ("SETBIT", "b", "7", "0"),
        ("SETBIT", "b", "7", "0"),
        ("GETBIT", "b", "7"),
        ("GETBIT", "b", "1000"),
        ("GETBIT", "none", "5"),
        ("STRLEN", "b"),
        ("SETBIT", "b", "100", "1"),
        ("STRLEN", "b"),
        ("GET", "b"),
        ("SETBIT", "b", "-1", "1"),
        ("SETBIT", "b", "x", "1"),
        ("SETBIT", "b", "1", "2"),
        ("SETBIT", "b", "1", "-1"),
        ("SETBIT", "b", "1", "x"),
        ("SETBIT", "b", "01", "1"),
        ("SETBIT", "b", "1", "01"),
        ("SETBIT", "b", "+1", "1"),
        ("SETBIT", "b", " 1", "1"),
        ("SETBIT", "b", "4294967296", "1"),
        ("SETBIT", "b", "99999999999999999999", "1"),
        ("GETBIT", "b", "-1"),
        ("GETBIT", "b", "4294967296"),
        ("GETBIT", "b", "4294967295"),
        ("SETBIT", "b"),
        ("BITCOUNT", "b"),
        ("BITCOUNT", "none"),
        ("BITCOUNT", "b", "0", "0"),
        ("BITCOUNT", "b", "0", "-1"),
        ("BITCOUNT", "b", "-2", "-1"),
        ("BITCOUNT", "b", "-1", "-2"),
        ("BITCOUNT", "b", "-1", "-2", "x"),  # 0: Redis checks this range before the unit
        ("BITCOUNT", "b", "-2", "-1", "x"),
        ("BITCOUNT", "b", "5", "2"),
        ("BITCOUNT", "b", "0", "100"),
        ("BITCOUNT", "b", "-100", "100"),
        ("BITCOUNT", "b", "0", "7", "BIT"),
        ("BITCOUNT", "b", "7", "7", "bit"),
        ("BITCOUNT", "b", "0", "-1", "BYTE"),
        ("BITCOUNT", "b", "0", "-1", "FOO"),
        ("BITCOUNT", "b", "0"),
        ("BITCOUNT", "b", "a", "b"),
        ("BITCOUNT", "none", "a"),
        ("BITCOUNT", "b", "0", "1", "BIT", "x"),
        ("BITCOUNT", "b", "-5", "-1", "BIT"),
        ("BITPOS", "b", "1"),
        ("BITPOS", "b", "0"),
        ("BITPOS", "b", "2"),
        ("BITPOS", "b", "x"),
        ("BITPOS", "none", "1"),
        ("BITPOS", "none", "0"),
        ("BITPOS", "none", "x"),
        ("BITPOS", "b", "1", "1"),
        ("BITPOS", "b", "1", "1", "5"),
        ("BITPOS", "b", "0", "0", "0"),
        ("BITPOS", "b", "1", "0", "-1", "BIT"),
        ("BITPOS", "b", "1", "8", "100", "bit"),
        ("BITPOS", "b", "0", "2", "-1", "BIT"),
        ("BITPOS", "b", "1", "5", "2"),
        ("BITPOS", "b", "1", "0", "1", "x"),
        ("BITPOS", "b", "1", "a"),
        ("BITPOS", "b", "1", "0", "a"),
        ("SET", "ff", b"\xff\xff"),
        ("BITPOS", "ff", "0"),
        ("BITPOS", "ff", "0", "0"),
        ("BITPOS", "ff", "0", "0", "-1"),
        ("BITPOS", "ff", "0", "0", "15", "BIT"),
        ("BITPOS", "ff", "0", "3", "BIT"),
        ("BITPOS", "ff", "1", "-1"),
        ("BITPOS", "b", "1", "0", "1", "BYTE", "x"),
    ],
    "bitfield": [
        # Redis's tests/unit/bitfield.tcl, then the edges
        ("BITFIELD", "bf", "SET", "i8", "0", "-100"),
        ("BITFIELD", "bf", "SET", "i8", "0", "101"),
        ("BITFIELD", "bf", "GET", "i8", "0"),
        ("BITFIELD", "bf", "SET", "u8", "0", "255"),
        ("BITFIELD", "bf", "SET", "u8", "0", "100"),
        ("BITFIELD", "bf", "GET", "u8", "0"),
        ("DEL", "bf"),
        _words("BITFIELD bf SET u8 #0 65 SET u8 #1 66 SET u8 #2 67"),
        ("GET", "bf"),
        _words("BITFIELD bf SET u8 #0 10 INCRBY u8 #0 100 INCRBY u8 #0 100"),
        ("BITFIELD", "bf", "OVERFLOW", "WRAP", "INCRBY", "u8", "#0", "257", "GET", "u8", "#0"),
        ("BITFIELD", "bf", "overflow", "wrap", "incrby", "u8", "#0", "255", "get", "u8", "#0"),
        ("BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "u8", "#0", "257", "GET", "u8", "#0"),
        ("BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "u8", "#0", "-255", "GET", "u8", "#0"),
        _words("BITFIELD bf SET i8 #0 100 OVERFLOW WRAP INCRBY i8 #0 257"),
        _words("BITFIELD bf OvErFlOw Sat IncrBy i8 #0 257 INCRBY i8 #0 -255"),
        _words("BITFIELD bf OVERFLOW FAIL INCRBY i8 #0 -1 INCRBY u8 #0 -1"),
        _words("BITFIELD bf OVERFLOW FAIL SET u4 0 16 SET u4 0 15 SET i4 0 -9"),
        ("GET", "bf"),
        ("SET", "bf", "1"),
        _words("BITFIELD bf GET u1 0 GET u8 0 GET i64 0 GET u63 1"),
        ("DEL", "bf"),
        _words("BITFIELD bf SET i8 0 10 SET i8 64 10 INCRBY i8 10 99900"),
        ("GET", "bf"),
        # every width, unaligned, past the end (zeros), negative values
        ("SET", "bf", b"\x12\x34\x56\x78\x9a\xbc\xde\xf0\x0f"),
        _words("BITFIELD bf GET u1 3 GET u7 3 GET i7 3 GET u13 5 GET i13 5"),
        _words("BITFIELD bf GET u63 0 GET u63 9 GET i64 0 GET i64 7 GET i64 8"),
        _words("BITFIELD bf GET u32 60 GET i32 60 GET u8 72 GET i16 1000"),
        _words("BITFIELD bf SET i5 3 -7 GET i5 3 GET u16 0 SET u63 9 1"),
        ("GET", "bf"),
        ("BITFIELD", "bf", "SET", "u3", "75", "7", "GET", "u16", "70"),
        ("STRLEN", "bf"),
        ("GET", "bf"),
        # i64 / u63 boundaries, WRAP SAT FAIL
        ("BITFIELD", "e", "SET", "i64", "0", "9223372036854775807", "INCRBY", "i64", "0", "1"),
        ("BITFIELD", "e", "INCRBY", "i64", "0", "-1", "INCRBY", "i64", "0", "-9223372036854775808"),
        _words("BITFIELD e OVERFLOW SAT INCRBY i64 0 -9223372036854775808 INCRBY i64 0 -1"),
        _words(
            "BITFIELD e OVERFLOW SAT INCRBY i64 0 9223372036854775807 INCRBY i64 0 9223372036854775807"
        ),
        _words(
            "BITFIELD e OVERFLOW FAIL INCRBY i64 0 1 INCRBY i64 0 -9223372036854775808 GET i64 0"
        ),
        _words("BITFIELD e SET i64 0 -9223372036854775808 GET i64 0 GET u63 0 GET u63 1"),
        _words("BITFIELD e SET u63 0 9223372036854775807 SET u63 0 -1 GET u63 0"),
        _words("BITFIELD e OVERFLOW SAT SET u63 0 -1 SET u63 0 -1 SET u8 0 -5 GET u8 0"),
        _words("BITFIELD e OVERFLOW FAIL SET u63 0 -1 SET u63 0 9223372036854775807"),
        _words("BITFIELD e SET u63 0 4611686018427387904 INCRBY u63 0 4611686018427387904"),
        _words(
            "BITFIELD e OVERFLOW SAT INCRBY u63 0 9223372036854775807 INCRBY u63 0 -9223372036854775808"
        ),
        _words("BITFIELD e OVERFLOW WRAP INCRBY u63 0 -1 INCRBY u63 0 9223372036854775807"),
        _words("BITFIELD e SET i1 0 1 SET i1 0 -1 SET i1 0 -2 INCRBY i1 0 1"),
        _words("BITFIELD e OVERFLOW SAT SET i1 0 5 INCRBY i1 0 -3 SET u1 0 2 INCRBY u1 0 -1"),
        _words("BITFIELD e OVERFLOW FAIL SET i1 0 1 SET u1 0 1 INCRBY u1 0 1"),
        _words(
            "BITFIELD e SET i63 1 -4611686018427387904 INCRBY i63 1 -1 OVERFLOW SAT INCRBY i63 1 -9223372036854775808"
        ),
        ("GET", "e"),
        # offsets: #N (times the width), the 512 MB limit, a product past 2**63
        ("BITFIELD", "o", "GET", "u8", "#536870911", "GET", "i64", "#67108863"),
        ("BITFIELD", "o", "GET", "u8", "#536870912"),
        ("BITFIELD", "o", "GET", "u8", "4294967295", "GET", "i64", "4294967290"),
        ("BITFIELD", "o", "GET", "u8", "4294967296"),
        ("BITFIELD", "o", "GET", "i64", "#288230376151711745"),
        ("BITFIELD", "o", "GET", "i64", "#144115188075855872"),
        _words("BITFIELD o GET i64 #-9223372036854775808 GET u8 #-9223372036854775808"),
        ("BITFIELD", "o", "GET", "i2", "#-4611686018427387904"),
        ("BITFIELD", "o", "GET", "u7", "#-9223372036854775808"),
        ("BITFIELD", "o", "GET", "u3", "#6148914691236517206", "GET", "u8", "#2305843009213693953"),
        ("BITFIELD", "o", "GET", "u8", "#-1"),
        ("BITFIELD", "o", "GET", "u8", "-1"),
        ("BITFIELD", "o", "GET", "u8", "#"),
        ("BITFIELD", "o", "GET", "u8", "##1"),
        ("BITFIELD", "o", "GET", "u8", "01"),
        ("BITFIELD", "o", "GET", "u8", "#01"),
        ("BITFIELD", "o", "GET", "u8", "1.0"),
        ("BITFIELD", "o", "GET", "u8", "99999999999999999999"),
        ("BITFIELD", "o", "GET", "u8", ""),
        ("BITFIELD", "o", "GET", "u8", "#0", "GET", "u8", "#1"),
        ("EXISTS", "o"),
        ("BITFIELD", "o", "SET", "u8", "#2", "1", "SET", "u8", "5", "0"),
        ("STRLEN", "o"),
        ("GET", "o"),
        # types
        ("BITFIELD", "t", "GET", "u64", "0"),
        ("BITFIELD", "t", "GET", "i65", "0"),
        ("BITFIELD", "t", "GET", "i0", "0"),
        ("BITFIELD", "t", "GET", "u0", "0"),
        ("BITFIELD", "t", "GET", "I8", "0"),
        ("BITFIELD", "t", "GET", "U8", "0"),
        ("BITFIELD", "t", "GET", "x8", "0"),
        ("BITFIELD", "t", "GET", "i", "0"),
        ("BITFIELD", "t", "GET", "", "0"),
        ("BITFIELD", "t", "GET", "i08", "0"),
        ("BITFIELD", "t", "GET", "i-8", "0"),
        ("BITFIELD", "t", "GET", "i+8", "0"),
        ("BITFIELD", "t", "GET", "i8 ", "0"),
        ("BITFIELD", "t", "GET", "i8\x00junk", "0"),
        ("BITFIELD", "t", "GET\x00junk", "i8", "0"),
        ("BITFIELD", "t", "GET", "i99999999999999999999", "0"),
        # syntax: missing arguments, unknown subcommands and OVERFLOW types, the first error wins
        ("BITFIELD",),
        ("BITFIELD", "t"),
        ("BITFIELD", "t", "GET"),
        ("BITFIELD", "t", "GET", "i8"),
        ("BITFIELD", "t", "SET", "i8", "0"),
        ("BITFIELD", "t", "INCRBY", "i8", "0"),
        ("BITFIELD", "t", "FOO", "i8", "0"),
        ("BITFIELD", "t", "OVERFLOW"),
        ("BITFIELD", "t", "OVERFLOW", "BAD"),
        ("BITFIELD", "t", "OVERFLOW", "SAT"),
        ("BITFIELD", "t", "OVERFLOW", "SAT", "OVERFLOW", "FAIL", "GET", "u8", "0"),
        ("BITFIELD", "t", "GET", "u8", "0", "OVERFLOW"),
        ("BITFIELD", "t", "SET", "i8", "0", "x"),
        ("BITFIELD", "t", "SET", "i8", "0", "1.5"),
        ("BITFIELD", "t", "SET", "i8", "0", "-0"),
        ("BITFIELD", "t", "SET", "i8", "0", "9223372036854775808"),
        ("BITFIELD", "t", "INCRBY", "i8", "0", "-9223372036854775809"),
        ("BITFIELD", "t", "SET", "i8", "0", "1", "SET", "i99", "0", "1"),
        ("BITFIELD", "t", "SET", "i8", "0", "1", "OVERFLOW", "NOPE", "SET", "u64", "0", "1"),
        ("BITFIELD", "t", "GET", "u8", "x", "OVERFLOW", "NOPE"),
        ("BITFIELD", "t", "SET", "u8", "4294967288", "1"),
        ("EXISTS", "t"),
        ("BITFIELD", "t", "SET", "u8", "8", "1", "GET", "u8", "8", "GET"),
        ("EXISTS", "t"),
        # OVERFLOW FAIL still creates and grows the string (to the farthest field)
        ("BITFIELD", "f", "OVERFLOW", "FAIL", "SET", "u4", "0", "100"),
        ("GET", "f"),
        ("BITFIELD", "f", "OVERFLOW", "FAIL", "SET", "u4", "100", "100", "GET", "u4", "0"),
        ("STRLEN", "f"),
        ("BITFIELD", "f", "SET", "u8", "0", "0"),
        ("STRLEN", "f"),
        # the expiry is kept, as by SETBIT
        ("SET", "x", "abc", "EX", "1000"),
        ("BITFIELD", "x", "SET", "u8", "#3", "100", "INCRBY", "u8", "#0", "1"),
        ("TTL", "x"),
        ("GET", "x"),
        # a wrong-arity name in MULTI, and BITFIELD queued in one
        ("MULTI",),
        ("BITFIELD", "m", "INCRBY", "u2", "0", "3"),
        ("BITFIELD", "m", "INCRBY", "u2", "0", "3"),
        ("BITFIELD_RO", "m", "GET", "u2", "0"),
        ("EXEC",),
    ],
    "bitfield_ro": [
        ("SET", "r", "\x81"),
        ("BITFIELD_RO", "r"),
        _words("BITFIELD_RO r GET u1 0 GET i8 0 get u8 #0 GET u8 #1"),
        ("BITFIELD_RO", "r", "SET", "u8", "0", "1"),
        ("BITFIELD_RO", "r", "INCRBY", "u8", "0", "1"),
        ("BITFIELD_RO", "r", "GET", "u8", "0", "OVERFLOW", "SAT", "SET", "u8", "0", "1"),
        ("BITFIELD_RO", "r", "OVERFLOW", "SAT", "GET", "u8", "0"),
        ("BITFIELD_RO", "r", "OVERFLOW", "SAT"),
        ("BITFIELD_RO", "r", "OVERFLOW", "NO"),
        ("BITFIELD_RO", "r", "SET", "u8", "0", "x"),
        ("BITFIELD_RO", "r", "SET", "u64", "0", "1"),
        ("BITFIELD_RO", "r", "GET", "u8", "0", "SET"),
        ("BITFIELD_RO", "r", "GET", "u8"),
        ("BITFIELD_RO",),
        ("BITFIELD_RO", "none", "GET", "u8", "0"),
        ("BITFIELD_RO", "none"),
        ("EXISTS", "none"),
        ("GET", "r"),
        ("bitfield_ro", "r", "get", "i4", "#1"),
    ],
    "bitop": [
        ("SETBIT", "a", "3", "1"),
        ("SETBIT", "b", "20", "1"),
        ("SETBIT", "b", "3", "1"),
        ("BITOP", "AND", "d", "a", "b"),
        ("GET", "d"),
        ("BITOP", "OR", "d", "a", "b"),
        ("GET", "d"),
        ("BITOP", "XOR", "d", "a", "b"),
        ("GET", "d"),
        ("BITOP", "NOT", "d", "a"),
        ("GET", "d"),
        ("BITOP", "NOT", "d", "b"),
        ("GET", "d"),
        ("BITCOUNT", "d"),
        ("BITOP", "AND", "d", "a", "none"),
        ("GET", "d"),
        ("STRLEN", "d"),
        ("BITOP", "OR", "d", "none", "none2"),
        ("EXISTS", "d"),
        ("BITOP", "NOT", "d", "none"),
        ("BITOP", "NOT", "d", "a", "b"),
        ("BITOP", "NAND", "d", "a"),
        ("BITOP", "AND", "d"),
        ("BITOP", "and", "a", "a", "b"),
        ("GET", "a"),
        ("BITOP", "or", "d", "a"),
        ("GET", "d"),
        ("SET", "d", "x", "EX", "100"),
        ("BITOP", "OR", "d", "a"),
        ("TTL", "d"),
        ("SET", "z", b"\x00\x00\x00"),
        ("BITOP", "AND", "d", "z", "a"),
        ("GET", "d"),
        ("BITOP", "XOR", "d", "a", "a"),
        ("GET", "d"),
        ("BITOP", "NOT", "d", "z"),
        ("GET", "d"),
    ],
    "keys": [
        ("SET", "a1", "x"),
        ("SET", "a2", "x"),
        ("SET", "b1", "x"),
        ("SETBIT", "c[1]", "0", "1"),
        ("KEYS", "*"),
        ("KEYS", "a*"),
        ("KEYS", "?1"),
        ("KEYS", "[ab]1"),
        ("KEYS", "[^a]*"),
        ("KEYS", "c\\[*"),
        ("KEYS", "nomatch"),
        ("KEYS", ""),
        ("DBSIZE",),
        ("EXISTS", "a1"),
        ("EXISTS", "a1", "a1", "a2", "none"),
        ("EXISTS",),
        ("DEL", "a1", "a1", "none"),
        ("DEL", "a1"),
        ("UNLINK", "a2", "b1"),
        ("DEL",),
        ("DBSIZE",),
        ("SET", "r", "v", "EX", "100"),
        ("RENAME", "r", "r2"),
        ("TTL", "r2"),
        ("EXISTS", "r"),
        ("RENAME", "none", "x"),
        ("RENAME", "r2", "r2"),
        ("RENAME", "none", "none"),
        ("SET", "o", "1"),
        ("RENAME", "o", "r2"),
        ("GET", "r2"),
        ("TTL", "r2"),
        ("RENAMENX", "r2", "o"),
        ("SET", "p", "2"),
        ("RENAMENX", "r2", "p"),
        ("RENAMENX", "r2", "r2"),
        ("RENAMENX", "none", "p"),
        ("RENAME", "x"),
        ("SELECT", "3"),
        ("SET", "in3", "v"),
        ("DBSIZE",),
        ("KEYS", "*"),
        ("GET", "p"),
        ("SELECT", "0"),
        ("GET", "in3"),
        ("DBSIZE",),
        ("FLUSHDB", "x"),
        ("FLUSHDB", "SYNC", "x"),
        ("FLUSHDB", "ASYNC"),
        ("DBSIZE",),
        ("SELECT", "3"),
        ("DBSIZE",),
        ("FLUSHALL", "sync"),
        ("DBSIZE",),
        ("FLUSHALL", "bad"),
        ("INFO", "keyspace"),
        ("SET", "x", "1"),
        ("SET", "y", "1", "EX", "100"),
        ("INFO", "keyspace"),
        ("INFO", "KEYSPACE", "nosuch"),
        ("INFO", "nosuchsection"),
    ],
    "expiry": [
        ("SET", "k", "v"),
        ("TTL", "k"),
        ("PTTL", "k"),
        ("TTL", "none"),
        ("PTTL", "none"),
        ("EXPIRE", "k", "100"),
        ("TTL", "k"),
        ("PTTL", "k"),
        ("EXPIRETIME", "none"),
        ("PEXPIRETIME", "k"),
        ("PERSIST", "k"),
        ("PERSIST", "k"),
        ("PERSIST", "none"),
        ("TTL", "k"),
        ("EXPIRE", "none", "10"),
        ("EXPIRE", "k", "x"),
        ("EXPIRE", "k", "10", "NX"),
        ("EXPIRE", "k", "20", "NX"),
        ("EXPIRE", "k", "5", "GT"),
        ("EXPIRE", "k", "50", "GT"),
        ("TTL", "k"),
        ("EXPIRE", "k", "60", "LT"),
        ("EXPIRE", "k", "6", "LT"),
        ("TTL", "k"),
        ("EXPIRE", "k", "7", "XX"),
        ("TTL", "k"),
        ("PERSIST", "k"),
        ("EXPIRE", "k", "7", "XX"),
        ("EXPIRE", "k", "7", "GT"),
        ("EXPIRE", "k", "7", "LT"),
        ("TTL", "k"),
        ("EXPIRE", "k", "1", "NX", "XX"),
        ("EXPIRE", "k", "1", "GT", "LT"),
        ("EXPIRE", "k", "1", "FOO"),
        ("EXPIRE", "k", "x", "FOO"),
        ("EXPIRE", "k", "9223372036854775807"),
        ("PEXPIRE", "k", "9223372036854775807"),
        ("EXPIRE", "k", "-9223372036854775808"),
        ("EXPIREAT", "k", "9223372036854775807"),
        ("PEXPIREAT", "k", "9223372036854775807"),
        ("TTL", "k"),
        ("PEXPIRE", "k", "100000"),
        ("TTL", "k"),
        ("PEXPIREAT", "k", "99999999999999"),
        ("TTL", "k"),
        ("EXPIREAT", "k", "1"),
        ("EXISTS", "k"),
        ("SET", "k", "v"),
        ("EXPIRE", "k", "0"),
        ("GET", "k"),
        ("SET", "k", "v"),
        ("EXPIRE", "k", "-1"),
        ("EXISTS", "k"),
        ("PEXPIRE", "none", "-1"),
        ("SETBIT", "k", "1", "1"),
        ("PEXPIRE", "k", "100000"),
        ("SETBIT", "k", "2", "1"),
        ("TTL", "k"),
        ("EXPIRE",),
        ("EXPIRE", "k"),
        ("TTL",),
        ("PERSIST", "a", "b"),
    ],
    "scan_errors": [
        ("SCAN",),
        ("SCAN", "x"),
        ("SCAN", " 1"),
        ("SCAN", "0", "COUNT"),
        ("SCAN", "0", "COUNT", "0"),
        ("SCAN", "0", "COUNT", "-1"),
        ("SCAN", "0", "COUNT", "x"),
        ("SCAN", "0", "FOO", "x"),
        ("SCAN", "0", "MATCH"),
        ("SCAN", "0", "TYPE", "hash"),
        ("SCAN", "18446744073709551616"),
        ("SCAN", "0", "MATCH", "*", "COUNT", "10", "TYPE", "string"),
    ],
    "transactions": [
        ("EXEC",),
        ("DISCARD",),
        ("MULTI",),
        ("MULTI",),
        ("SET", "t", "1"),
        ("SETBIT", "t2", "3", "1"),
        ("GET", "t"),
        ("WATCH", "t"),
        ("UNWATCH",),
        ("EXEC",),
        ("GET", "t"),
        ("MULTI",),
        ("SET", "t", "2"),
        ("DISCARD",),
        ("GET", "t"),
        ("MULTI",),
        ("SET", "t", "3"),
        ("NOSUCHCOMMAND",),
        ("EXEC",),
        ("GET", "t"),
        ("MULTI",),
        ("GET",),
        ("EXEC",),
        ("MULTI",),
        ("SETBIT", "t", "x", "1"),
        ("SET", "t", "4"),
        ("EXEC",),
        ("GET", "t"),
        ("WATCH", "t"),
        ("SET", "t", "5"),
        ("MULTI",),
        ("SET", "t", "6"),
        ("EXEC",),
        ("GET", "t"),
        ("WATCH", "t"),
        ("MULTI",),
        ("SET", "t", "7"),
        ("EXEC",),
        ("GET", "t"),
        ("WATCH", "none"),
        ("DEL", "none"),
        ("MULTI",),
        ("PING",),
        ("EXEC",),
        ("WATCH", "t"),
        ("EXPIRE", "t", "100"),
        ("MULTI",),
        ("PING",),
        ("EXEC",),
        ("WATCH", "t"),
        ("FLUSHDB",),
        ("MULTI",),
        ("PING",),
        ("EXEC",),
        ("WATCH",),
        ("WATCH", "sb"),
        ("SETBIT", "sb", "1", "1"),
        ("MULTI",),
        ("PING",),
        ("EXEC",),
        ("MULTI",),
        ("EXEC",),
        ("UNWATCH", "x"),
        ("EXEC", "x"),
        ("MULTI",),
        ("SET", "t", "8"),
        ("EXEC", "x"),
        ("GET", "t"),
        ("MULTI",),
        ("QUIT",),
    ],
    "persistence": [
        ("SAVE", "x"),
        ("BGSAVE", "x"),
        ("BGSAVE", "SCHEDULE", "x"),
        ("LASTSAVE", "x"),
        ("SAVE",),
        ("LASTSAVE",),
    ],
    "incrbyfloat": [
        ("SET", "f", "10.5"),
        ("INCRBYFLOAT", "f", "0.1"),
        ("INCRBYFLOAT", "f", "5.0e3"),
        ("INCRBYFLOAT", "g", "0x10"),
        ("INCRBYFLOAT", "g", "-0x1.8p1"),
        ("INCRBYFLOAT", "g", "inf"),
        ("INCRBYFLOAT", "g", "-Infinity"),
        ("INCRBYFLOAT", "g", "nan"),
        ("INCRBYFLOAT", "g", ""),
        ("INCRBYFLOAT", "g", " 1"),
        ("INCRBYFLOAT", "g", "1 "),
        ("INCRBYFLOAT", "g", "1."),
        ("INCRBYFLOAT", "g", ".5"),
        ("INCRBYFLOAT", "g", "+.5e1"),
        ("INCRBYFLOAT", "g", "1e"),
        ("INCRBYFLOAT", "g", "1e5000"),
        ("INCRBYFLOAT", "g", "1e-5000"),
        ("INCRBYFLOAT", "g", "x"),
        ("INCRBYFLOAT", "x", "0.1"),
        ("INCRBYFLOAT", "x", "0.2"),
        ("INCRBYFLOAT", "x", "-0.3"),
        ("INCRBYFLOAT", "x", "-0.0"),
        ("INCRBYFLOAT", "y", "3.0000000000000000001e-6"),
        ("INCRBYFLOAT", "y", "3.814697265625e-06"),
        ("INCRBYFLOAT", "y", "-1e-18"),
        ("INCRBYFLOAT", "big", "1e4930"),
        ("INCRBYFLOAT", "big", "1e4932"),
        ("INCRBYFLOAT", "big", "1e4932"),
        ("INCRBYFLOAT", "big2", "-1e4932"),
        ("INCRBYFLOAT", "big2", "-1e4932"),
        ("INCRBYFLOAT", "big2", "-1e-4940"),
        ("INCRBYFLOAT", "i", "9223372036854775807"),
        ("INCRBYFLOAT", "i", "1"),
        ("GET", "i"),
        ("SET", "e", ""),
        ("INCRBYFLOAT", "e", "1"),
        ("SET", "e", "abc"),
        ("INCRBYFLOAT", "e", "1"),
        ("SET", "e", "1" * 5121),
        ("INCRBYFLOAT", "e", "1"),
        ("INCRBYFLOAT", "n", "1" * 5121),
        ("INCRBYFLOAT", "n", "1" * 5120),
        ("SET", "t", "1.5", "EX", "100"),
        ("INCRBYFLOAT", "t", "1"),
        ("TTL", "t"),
        ("INCRBYFLOAT", "f"),
        ("INCRBYFLOAT", "f", "1", "2"),
        ("OBJECT", "ENCODING", "f"),
    ],
    "object": [
        ("SET", "s", "abc"),
        ("SET", "n", "123"),
        ("SET", "big", "12345"),
        ("SET", "neg", "-5"),
        ("SET", "zero", "0"),
        ("SET", "lead", "0123"),
        ("SET", "plus", "+1"),
        ("SET", "long", "x" * 44),
        ("SET", "longer", "x" * 45),
        ("SET", "huge", "y" * 300),
        ("SET", "int20", "-9223372036854775808"),
        ("SET", "over", "9223372036854775808"),
        ("SET", "empty", ""),
        ("SET", "big-key-" + "k" * 40, "v"),
        ("SET", "bytes", "a\x00b"),
        *[
            (sub, *args, key)
            for key in (
                "s",
                "n",
                "big",
                "neg",
                "zero",
                "lead",
                "plus",
                "long",
                "longer",
                "huge",
                "int20",
                "over",
                "empty",
                "big-key-" + "k" * 40,
                "bytes",
                "nokey",
            )
            for sub, *args in (
                ("OBJECT", "ENCODING"),
                ("OBJECT", "REFCOUNT"),
                ("OBJECT", "FREQ"),
                ("MEMORY", "USAGE"),
            )
        ],
        # (Redis's idle time of a key just written is 0 or 1: a shared integer's, any)
        ("OBJECT", "IDLETIME", "nokey"),
        ("OBJECT", "IDLETIME"),
        ("OBJECT",),
        ("OBJECT", "HELP"),
        ("OBJECT", "help", "x"),
        ("OBJECT", "NOPE", "s"),
        ("OBJECT", "ENCODING"),
        ("OBJECT", "ENCODING", "s", "t"),
        ("OBJECT", "REFCOUNT"),
        ("MEMORY",),
        ("MEMORY", "HELP"),
        ("MEMORY", "USAGE"),
        ("MEMORY", "NOPE"),
        ("MEMORY", "USAGE", "s", "SAMPLES", "0"),
        ("MEMORY", "USAGE", "s", "SAMPLES", "5"),
        ("MEMORY", "USAGE", "s", "SAMPLES", "-1"),
        ("MEMORY", "USAGE", "s", "SAMPLES", "x"),
        ("MEMORY", "USAGE", "s", "SAMPLES"),
        ("MEMORY", "USAGE", "s", "BAD"),
        ("MEMORY", "USAGE", "nokey", "SAMPLES", "99999999999999999999"),
        ("MEMORY", "USAGE", "nokey", "SAMPLES", "-1"),
        # (not a SETBIT-built string: Redis says "raw" until a restart, see docs/server.md)
        ("SET", "n", "7"),
        ("INCR", "n"),
        ("OBJECT", "ENCODING", "n"),
        ("OBJECT", "REFCOUNT", "n"),
    ],
    "databases": [
        ("SET", "m", "v", "EX", "100"),
        ("MOVE", "m", "1"),
        ("EXISTS", "m"),
        ("SELECT", "1"),
        ("GET", "m"),
        ("TTL", "m"),
        ("MOVE", "m", "0"),
        ("SELECT", "0"),
        ("GET", "m"),
        ("SET", "m2", "a"),
        ("SELECT", "2"),
        ("SET", "m2", "b"),
        ("SELECT", "0"),
        ("MOVE", "m2", "2"),
        ("GET", "m2"),
        ("MOVE", "m2", "0"),
        ("MOVE", "nokey", "1"),
        ("MOVE", "m2", "16"),
        ("MOVE", "m2", "-1"),
        ("MOVE", "m2", "x"),
        ("MOVE", "m2", "2147483648"),
        ("MOVE", "m2", "99999999999999999999"),
        ("MOVE", "m2"),
        ("MOVE", "m2", "1", "2"),
        ("MOVE", "nokey", "0"),
        ("SET", "a", "1"),
        ("SET", "b", "2", "PX", "100000"),
        ("SELECT", "3"),
        ("SET", "c", "3"),
        ("SELECT", "0"),
        ("SWAPDB", "0", "3"),
        ("GET", "a"),
        ("GET", "c"),
        ("DBSIZE",),
        ("SELECT", "3"),
        ("GET", "a"),
        ("TTL", "b"),
        ("DBSIZE",),
        ("SWAPDB", "3", "0"),
        ("GET", "a"),
        ("SWAPDB", "0", "0"),
        ("SWAPDB", "0", "16"),
        ("SWAPDB", "-1", "0"),
        ("SWAPDB", "x", "0"),
        ("SWAPDB", "0", "x"),
        ("SWAPDB", "x", "y"),
        ("SWAPDB", "0", "2147483648"),
        ("SWAPDB", "0"),
        ("SWAPDB", "0", "5"),
        ("DBSIZE",),
        ("SWAPDB", "5", "6"),
        ("SELECT", "5"),
        ("DBSIZE",),
    ],
    "reset": [
        ("SET", "in-db0", "x"),
        ("SELECT", "3"),
        ("CLIENT", "SETNAME", "x"),
        ("MULTI",),
        ("SET", "r", "1"),
        ("RESET",),
        ("EXEC",),
        ("GET", "r"),
        ("CLIENT", "GETNAME"),
        ("DBSIZE",),
        ("RESET", "x"),
        ("reset",),
        ("HELLO", "3"),
        ("RESET",),
        ("GET", "nokey"),
        ("WATCH", "r"),
        ("RESET",),
        ("EXEC",),
    ],
    "shutdown_refusals": [
        ("SHUTDOWN", "ABORT"),
        ("SHUTDOWN", "abort", "x"),
        ("SHUTDOWN", "NOSAVE", "SAVE"),
        ("SHUTDOWN", "BAD"),
        ("SHUTDOWN", "ABORT", "NOW"),
        ("SHUTDOWN", "SAVE", "ABORT"),
        ("MULTI",),
        ("SHUTDOWN",),
        ("EXEC",),
    ],
    "command": [
        ("COMMAND", "INFO", "get"),
        ("COMMAND", "INFO", "getrange", "substr"),
        ("COMMAND", "DOCS", "getrange"),
        ("COMMAND", "INFO", "setbit", "bitop", "nosuch"),
        ("COMMAND", "INFO", "bitfield", "BITFIELD_RO"),
        ("COMMAND", "DOCS", "bitfield", "bitfield_ro"),
        ("COMMAND", "INFO", "client|id"),
        ("COMMAND", "DOCS", "bitcount"),
        ("COMMAND", "DOCS", "get", "set", "nosuch"),
        ("COMMAND", "NOPE"),
        ("COMMAND", "COUNT", "x"),
    ],
}


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("case", sorted(CASES))
def test_hand_written_cases_match_redis(pair_factory, case, protocol):
    pair_factory(protocol).run(CASES[case])


def test_hello_switches_protocol_like_redis(pair_factory):
    pair = pair_factory(2)
    pair.run(
        [
            ("GET", "none"),
            ("HELLO",),
            ("HELLO", "3"),
            ("GET", "none"),
            ("HELLO",),
            ("CLIENT", "GETNAME"),
            ("HELLO", "3", "SETNAME", "x"),
            ("CLIENT", "GETNAME"),
            ("MULTI",),
            ("GET", "none"),
            ("EXEC",),
            ("HELLO", "2"),
            ("GET", "none"),
        ]
    )


def test_watch_sees_other_clients_writes(pair_factory):
    watcher, writer = pair_factory(), pair_factory()
    watcher.run([("SET", "w", "1"), ("WATCH", "w"), ("MULTI",), ("SET", "w", "from watcher")])
    writer.run([("SET", "w", "from writer")])
    watcher.run([("EXEC",), ("GET", "w")])


@pytest.mark.parametrize(
    "write",
    [("5", "1"), ("3", "0"), ("5", "0"), ("9", "0")],
    ids=["same-1", "same-0", "changes", "grows"],
)
def test_watch_ignores_setbits_that_change_nothing(pair_factory, write):
    # Redis 7.0 signals a SETBIT only when it creates or grows the string or changes the bit
    watcher, writer = pair_factory(), pair_factory()
    watcher.run([("SETBIT", "w", "5", "1"), ("WATCH", "w"), ("MULTI",), ("GET", "w")])
    writer.run([("SETBIT", "w", *write)])
    watcher.run([("EXEC",), ("GET", "w")])


@pytest.mark.parametrize(
    "write",
    [
        ("SET", "u8", "0", "5"),  # the same value: no change
        ("OVERFLOW", "FAIL", "SET", "u4", "0", "100"),  # refused: no change
        ("OVERFLOW", "FAIL", "SET", "u4", "100", "100"),  # refused, yet grows the string
        ("SET", "u8", "0", "6"),
        ("SET", "u8", "16", "0"),  # grows the string
        ("INCRBY", "u8", "0", "0"),
        ("GET", "u8", "0"),
    ],
    ids=["same", "fail", "fail-grows", "changes", "grows", "incrby-0", "get"],
)
@pytest.mark.parametrize("watched", ["w", "new"])
def test_watch_sees_bitfield_writes_as_redis(pair_factory, write, watched):
    # Redis 7.0 signals a BITFIELD only when one of its writes runs and changes a field
    # or grows the string; a refused write still creates or grows it, unsignalled
    watcher, writer = pair_factory(), pair_factory()
    watcher.run([("BITFIELD", "w", "SET", "u8", "0", "5"), ("WATCH", watched), ("MULTI",)])
    watcher.run([("GET", watched)])
    writer.run([("BITFIELD", watched, *write)])
    watcher.run([("EXEC",), ("GET", watched)])


def test_info_counts_bitfield_changes_like_redis(pair_factory):
    pair = pair_factory()
    pair.run([("SAVE",)])
    for client in (pair.redis, pair.ours):
        client.call("BITFIELD", "c", "SET", "u8", "0", "1", "SET", "u8", "8", "2", "GET", "u8", "0")
        client.call("BITFIELD", "c", "SET", "u8", "0", "1", "INCRBY", "u8", "8", "1")
        client.call("BITFIELD", "c", "OVERFLOW", "FAIL", "INCRBY", "u8", "8", "300")
        client.call("BITFIELD", "c2", "OVERFLOW", "FAIL", "SET", "u8", "0", "300")
        client.call("BITFIELD_RO", "c", "GET", "u8", "0")
        info = client.call("INFO", "persistence")
        assert b"rdb_changes_since_last_save:3\r\n" in info, info


def test_info_counts_changes_since_the_last_save(pair_factory):
    pair = pair_factory()
    pair.run([("SETBIT", "c", "1", "1"), ("SETBIT", "c", "1", "1"), ("SET", "d", "x"), ("SAVE",)])
    for client in (pair.redis, pair.ours):
        client.call("SETBIT", "c", "2", "1")
        client.call("SETBIT", "c", "2", "1")
        client.call("SET", "d", "y")
        info = client.call("INFO", "persistence")
        assert b"rdb_changes_since_last_save:2\r\n" in info, info


# Every read command, on keys present, absent and expired: each lookup is a hit or a miss.
_LOOKUPS = [
    ("SET", "h", "abc"),
    ("SETBIT", "b", "7", "1"),
    ("SET", "e", "x"),
    ("PEXPIRE", "e", "1"),
    ("GET", "h"),
    ("GET", "nope"),
    ("GET", "e"),
    ("STRLEN", "h"),
    ("STRLEN", "nope"),
    ("GETRANGE", "h", "0", "1"),
    ("GETRANGE", "nope", "0", "1"),
    ("GETRANGE", "h", "x", "1"),
    ("GETBIT", "b", "7"),
    ("GETBIT", "b", "100"),
    ("GETBIT", "nope", "1"),
    ("GETBIT", "b", "-1"),
    ("BITCOUNT", "b"),
    ("BITCOUNT", "nope"),
    ("BITCOUNT", "b", "0", "-1"),
    ("BITCOUNT", "nope", "0", "x"),
    ("BITPOS", "b", "1"),
    ("BITPOS", "nope", "1"),
    ("BITPOS", "b", "2"),
    ("BITOP", "OR", "dest", "b", "nope", "h"),
    ("EXISTS", "h", "nope", "b", "h"),
    ("TOUCH", "h", "nope"),
    ("TYPE", "h"),
    ("TYPE", "nope"),
    ("MGET", "h", "nope", "b"),
    ("TTL", "h"),
    ("PTTL", "nope"),
    ("EXPIRETIME", "h"),
    ("PEXPIRETIME", "nope"),
    ("GETSET", "g", "1"),
    ("GETSET", "g", "2"),
    ("GETDEL", "g"),
    ("GETDEL", "g"),
    ("GETEX", "h"),
    ("GETEX", "nope", "PERSIST"),
    ("GETEX", "h", "BAD"),
    ("SET", "h", "abc", "GET"),
    ("SET", "n", "v", "NX", "GET"),
    ("SET", "h", "v", "NX"),
    ("COPY", "h", "h2"),
    ("COPY", "nope", "h3"),
    ("COPY", "h", "h"),
    ("APPEND", "h", "d"),
    ("SETRANGE", "h", "1", "x"),
    ("INCR", "i"),
    ("SETNX", "h", "x"),
    ("MSETNX", "h", "1"),
    ("RENAME", "h2", "h4"),
    ("EXPIRE", "h4", "100"),
    ("PERSIST", "h4"),
    ("DEL", "h4", "nope"),
    ("SETBIT", "b", "1", "1"),
    ("BITFIELD", "b", "GET", "u8", "0"),
    ("BITFIELD", "nope", "GET", "u8", "0"),
    ("BITFIELD", "nope"),
    ("BITFIELD_RO", "b", "GET", "u8", "0", "GET", "i4", "4"),
    ("BITFIELD_RO", "nope"),
    ("BITFIELD_RO", "b", "GET", "u64", "0"),
    ("BITFIELD_RO", "b", "SET", "u8", "0", "1"),
    ("BITFIELD", "b", "SET", "u8", "0", "1"),
    ("BITFIELD", "nope2", "INCRBY", "u8", "0", "1", "GET", "u8", "0"),
    ("KEYS", "zz*"),
    ("SCAN", "0", "MATCH", "zz*"),
    ("DBSIZE",),
]


def _stats(client: RawConnection) -> dict[bytes, bytes]:
    text = parse_reply(client.call("INFO", "stats"))
    return dict(line.split(b":", 1) for line in text.split(b"\r\n") if b":" in line)


def test_info_counts_keyspace_hits_and_misses_like_redis(pair_factory):
    pair = pair_factory()
    pair.run([("CONFIG", "RESETSTAT")])
    pair.run(_LOOKUPS[:4])
    time.sleep(0.01)  # "e" expires
    pair.run(_LOOKUPS[4:])
    for client in (pair.redis, pair.ours):  # runs of GETBITs (taken as one column)
        client.pipeline([("GETBIT", "b", offset) for offset in range(5)])
        client.pipeline([("GETBIT", key, 7) for key in ("b", "nope", "b", "h")])
    redis, ours = _stats(pair.redis), _stats(pair.ours)
    for field in (b"keyspace_hits", b"keyspace_misses", b"total_commands_processed"):
        assert ours[field] == redis[field], (field, ours[field], redis[field])


def test_info_reports_the_command_rate(pair_factory):
    # an approximation as Redis's: 100 ms samples, averaged over the last 16
    pair = pair_factory()
    for _attempt in range(100):
        pair.ours.pipeline([("PING",)] * 200)
        if _stats(pair.ours)[b"instantaneous_ops_per_sec"] != b"0":
            break
        time.sleep(0.05)  # let the 100 ms sampler see the commands
    else:
        raise AssertionError("instantaneous_ops_per_sec stayed 0")


def test_offsets_near_the_top_of_the_range(pair_factory):
    # Redis allocates 512 MB for these keys: only a handful of commands, no GET.
    pair = pair_factory(3)
    top = TWO_POW_32 - 1
    pair.run(
        [
            ("SETBIT", "top", top, "1"),
            ("GETBIT", "top", top),
            ("GETBIT", "top", top - 1),
            ("BITCOUNT", "top"),
            ("STRLEN", "top"),
            ("BITPOS", "top", "1"),
            ("BITPOS", "top", "1", "-1"),
            ("BITCOUNT", "top", "-1", "-1"),
            ("BITCOUNT", "top", top - 7, top, "BIT"),
            ("BITPOS", "top", "0", "-1", "-1"),
            ("SETBIT", "top", top, "0"),
            ("BITCOUNT", "top"),
            ("BITPOS", "top", "1"),
            ("BITFIELD", "top", "SET", "u8", top - 7, "200", "GET", "i64", top - 10),
            ("BITFIELD_RO", "top", "GET", "u8", top - 7, "GET", "i64", top, "GET", "u8", "#1"),
            ("BITFIELD", "top", "OVERFLOW", "SAT", "INCRBY", "u8", "#536870911", "100"),
            ("BITCOUNT", "top"),
            ("STRLEN", "top"),
            ("DEL", "top"),
        ]
    )


def _near_limits(signed: bool, width: int) -> list[int]:
    """Values at and around a field's limits and int64's, as Redis's bitfield.tcl fuzzes."""
    low, high = (-(2 ** (width - 1)), 2 ** (width - 1) - 1) if signed else (0, 2**width - 1)
    near = {low - 1, low, low + 1, -1, 0, 1, high - 1, high, high + 1, 2 * low, 2 * high + 1}
    near |= {-(2**63), 2**63 - 1, -(2**62), 2**62}
    return sorted(value for value in near if -(2**63) <= value < 2**63)


@pytest.mark.parametrize("overflow", ["WRAP", "SAT", "FAIL"])
def test_bitfield_overflow_at_every_width_matches_redis(pair_factory, overflow):
    pair = pair_factory(3)
    for signed, widths in ((True, range(1, 65)), (False, range(1, 64))):
        for width in widths:
            field = f"{'i' if signed else 'u'}{width}"
            values = _near_limits(signed, width)
            args: list[object] = ["BITFIELD", "ov", "OVERFLOW", overflow]
            for value in values:  # SET each value, then add each increment to it
                for increment in values:
                    args += ["SET", field, 3, value, "INCRBY", field, 3, increment]
            pair.check(tuple(args))


def test_bitfield_writes_past_the_last_bit_are_refused(bitmapist_server):
    # A known difference: Redis grows the string up to 8 bytes past 512 MB for a field
    # that starts below bit 2**32 and ends past it; roaring offsets end at 2**32 - 1.
    with RawConnection(bitmapist_server.port) as conn:
        for write in (("SET", "u8", TWO_POW_32 - 7, "1"), ("INCRBY", "i64", TWO_POW_32 - 63, "1")):
            assert conn.call("BITFIELD", "past", *write) == (
                b"-ERR bit offset is not an integer or out of range\r\n"
            )
        assert conn.call("BITFIELD", "past", "GET", "i64", TWO_POW_32 - 1) == b"*1\r\n:0\r\n"
        assert conn.call("EXISTS", "past") == b":0\r\n"


def test_scan_visits_the_same_keys(pair_factory):
    pair = pair_factory()
    names = [f"key:{index}" for index in range(150)] + ["other"]
    for name in names:
        pair.call("SETBIT", name, "1", "1")
    for match, count in ((None, "10"), ("key:1*", "7"), (None, "1000")):
        found = {}
        for side, conn in (("redis", pair.redis), ("ours", pair.ours)):
            cursor, seen = b"0", set()
            for _ in range(1000):
                args = ["SCAN", cursor, "COUNT", count] + (["MATCH", match] if match else [])
                cursor, keys = parse_reply(conn.call(*args))
                seen.update(keys)
                if cursor == b"0":
                    break
            found[side] = seen
        assert found["ours"] == found["redis"]


# --- protocol level: malformed input gets Redis's error, then the connection closes

RAW_INPUTS = [
    b"*1\r\n$4\r\nPING\r\n",
    b"PING\r\n",
    b"PING\n\r\n\n  ping  \r\n",
    b"*a\r\n",
    b"*-1\r\n*0\r\nPING\r\n",
    b"*-0\r\n",
    b"*01\r\n$4\r\nPING\r\n",
    b"*1 \r\n",
    b"*+1\r\n$4\r\nPING\r\n",
    b"*3000000000\r\n",
    b"*1\r\n$999999999999\r\n",
    b"*1\r\n$536870913\r\n",
    b"*1\r\n$-1\r\n",
    b"*1\r\n$\r\n",
    b"*1\r\n+PING\r\n",
    b"*1\r\n\n\r\n",
    b"*2\r\n$4\r\nECHO\r\n:12\r\n",
    b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n",
    b"*2\r\n$4\r\necho\nbar\r\n$1\r\nx\r\n",
    b"*1\r\n$4\r\nPI\x00G\r\n",
    b'ECHO "a\\x41\\n" \r\n',
    b'ECHO "unbalanced\r\n',
    b'ECHO "a"b\r\n',
    b"ECHO 'a\\'b'\r\n",
    b'ECHO "\\xzz"\r\n',
    b"ECHO x\ty\r\n",
    b"SET k v\r\nGET k\r\nDEL k\r\n",
    b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n",
    b"QUIT\r\nPING\r\n",
    b"*1\r\n$" + b"9" * 30 + b"\r\n",
    b"x" * 70000,
    b"*1\r\n" + b"$" * 70000,
    b"*" + b"1" * 70000,
    # after a well-formed command, other RESP types that hiredis parses as commands too
    b"*1\r\n$4\r\nPING\r\n~1\r\n$4\r\nPING\r\n",
    b"*1\r\n$4\r\nPING\r\n>1\r\n$4\r\nPING\r\n",
    b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n+ab\r\n",
    b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n=6\r\ntxt:ab\r\n",
    b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n(12\r\n",
    b"*1\r\n$4\r\nPING\r\n|1\r\n$1\r\na\r\n$1\r\nb\r\n*1\r\n$4\r\nPING\r\n",
    # arguments holding those type bytes are plain data
    b"*2\r\n$4\r\nECHO\r\n$7\r\n+=(~>|%\r\n*1\r\n$4\r\nPING\r\n",
]


@pytest.mark.parametrize("data", RAW_INPUTS, ids=range(len(RAW_INPUTS)))
def test_raw_protocol_matches_redis(redis_server, bitmapist_server, data):
    outputs = []
    for port in (redis_server.port, bitmapist_server.port):
        with RawConnection(port) as conn:
            conn.send(data)
            outputs.append(conn.read_until_close(timeout=0.5))
    assert outputs[1] == outputs[0]


# --- generated sequences

KEYS = st.sampled_from(["k1", "k2", "k3", "dest"])
OFFSETS = st.one_of(
    st.integers(0, 64), st.integers(0, 5000), st.sampled_from(["-1", "x", "01", "4294967296"])
)
SMALL_INTS = st.one_of(st.integers(-20, 20), st.sampled_from(["x", "-0", "+1", "1.5"]))
BITS = st.sampled_from(["0", "1", "0", "1", "2", "x"])
VALUES = st.binary(max_size=12)


def _no_short_expiry(value):
    """A positive time to live made long enough to outlast any sequence (100 s as PX,
    28 h as EX): the two servers get each command a moment apart, so a key expiring
    within a sequence can be gone from one and not yet from the other (an EXISTS under
    load once differed that way with EX 1). Expiry itself is exercised with EXPIREAT
    and PEXPIREAT of a time already past (the key goes at once in both)."""
    return 100_000 if isinstance(value, int) and value > 0 else value


FIELD_TYPES = st.one_of(
    st.sampled_from(["i1", "u1", "i8", "u8", "i63", "u63", "i64", "u64", "i0", "x8", "I8"]),
    st.builds(lambda sign, width: f"{sign}{width}", st.sampled_from("iu"), st.integers(1, 64)),
)
FIELD_OFFSETS = st.one_of(
    st.integers(0, 80).map(str),
    st.integers(0, 10).map(lambda index: f"#{index}"),
    st.sampled_from(["-1", "#-1", "x", "4294967296", "#"]),  # (no 512 MB values)
)
FIELD_NUMBERS = st.one_of(
    st.integers(-300, 300),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from(["x", str(2**63), "-0"]),
    st.integers(1, 63).flatmap(
        lambda width: st.sampled_from([2**width, 2**width - 1, -(2**width), 2 ** (width - 1)])
    ),
)


@st.composite
def _bitfield(draw):
    """BITFIELD or BITFIELD_RO with a few subcommands, mostly well formed."""
    args = [draw(st.sampled_from(["BITFIELD", "BITFIELD", "BITFIELD_RO", "bitfield"])), draw(KEYS)]
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["GET", "SET", "INCRBY", "OVERFLOW", "get", "incrby", "BAD"]))
        if kind == "OVERFLOW":
            args += [kind, draw(st.sampled_from(["WRAP", "SAT", "FAIL", "sat", "nope"]))]
        elif kind != "BAD":
            args += [kind, draw(FIELD_TYPES), draw(FIELD_OFFSETS)]
            if kind.upper() != "GET":
                args.append(draw(FIELD_NUMBERS))
    if draw(st.integers(0, 9)) == 0 and len(args) > 2:
        args.pop()  # a missing argument
    return tuple(args)


def _commands():
    return st.one_of(
        _bitfield(),
        st.tuples(st.just("SETBIT"), KEYS, OFFSETS, BITS),
        st.tuples(st.just("GETBIT"), KEYS, OFFSETS),
        st.tuples(st.just("BITCOUNT"), KEYS),
        st.tuples(st.just("BITCOUNT"), KEYS, SMALL_INTS, SMALL_INTS),
        st.tuples(
            st.just("BITCOUNT"), KEYS, SMALL_INTS, SMALL_INTS, st.sampled_from(["BIT", "BYTE", "x"])
        ),
        st.tuples(st.just("BITPOS"), KEYS, BITS),
        st.tuples(st.just("BITPOS"), KEYS, BITS, SMALL_INTS),
        st.tuples(st.just("BITPOS"), KEYS, BITS, SMALL_INTS, SMALL_INTS),
        st.tuples(
            st.just("BITPOS"),
            KEYS,
            BITS,
            SMALL_INTS,
            SMALL_INTS,
            st.sampled_from(["BIT", "BYTE", "bit"]),
        ),
        st.tuples(
            st.just("BITOP"), st.sampled_from(["AND", "OR", "XOR", "NOT", "nand"]), KEYS
        ).flatmap(
            lambda head: st.lists(KEYS, min_size=0, max_size=3).map(lambda rest: head + tuple(rest))
        ),
        st.tuples(st.just("GET"), KEYS),
        st.tuples(st.just("SET"), KEYS, VALUES),
        st.tuples(st.just("SET"), KEYS, VALUES, st.sampled_from(["NX", "XX", "GET", "KEEPTTL"])),
        st.tuples(
            st.just("SET"),
            KEYS,
            VALUES,
            st.sampled_from(["EX", "PX"]),
            SMALL_INTS.map(_no_short_expiry),
        ),
        # (in 2100; not in the past: Redis 7.0 keeps such a key until its active expiry
        # cycle, some 100 ms, and DBSIZE counts it meanwhile)
        st.tuples(st.just("SET"), KEYS, VALUES, st.just("EXAT"), st.just("4102444800")),
        st.tuples(st.just("SET"), KEYS, VALUES, st.just("PXAT"), st.just("4102444800000")),
        st.tuples(st.just("STRLEN"), KEYS),
        st.tuples(st.sampled_from(["GETRANGE", "SUBSTR"]), KEYS, SMALL_INTS, SMALL_INTS),
        st.tuples(st.sampled_from(["APPEND", "SETNX", "GETSET"]), KEYS, VALUES),
        st.tuples(st.sampled_from(["INCR", "DECR", "GETDEL", "TOUCH"]), KEYS),
        st.tuples(st.sampled_from(["INCRBY", "DECRBY"]), KEYS, SMALL_INTS),
        st.tuples(st.just("SETRANGE"), KEYS, SMALL_INTS, VALUES),
        st.tuples(st.just("MGET"), KEYS, KEYS, KEYS),
        st.tuples(st.sampled_from(["MSET", "MSETNX"]), KEYS, VALUES, KEYS, VALUES),
        st.tuples(st.just("COPY"), KEYS, KEYS, st.sampled_from(["REPLACE", "DB", "x"])),
        st.tuples(st.just("EXISTS"), KEYS, KEYS),
        st.tuples(st.just("TYPE"), KEYS),
        st.tuples(st.just("DEL"), KEYS),
        st.tuples(st.just("RENAME"), KEYS, KEYS),
        st.tuples(st.just("EXPIRE"), KEYS, st.sampled_from(["100", "1000", "-1", "0", "x"])),
        # Absolute times for the conditions: EXPIRE k 100 then EXPIRE k 100 GT is a race
        # (GT fails when both come in the same millisecond, in either server).
        st.tuples(
            st.just("EXPIREAT"),
            KEYS,
            st.sampled_from(["4102444800", "4102444900"]),
            st.sampled_from(["NX", "XX", "GT", "LT"]),
        ),
        st.tuples(
            st.sampled_from(["EXPIREAT", "PEXPIREAT"]), KEYS, st.sampled_from(["1", "4102444800"])
        ),
        st.tuples(st.just("PERSIST"), KEYS),
        st.tuples(st.sampled_from(["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]), KEYS),
        st.tuples(st.just("KEYS"), st.sampled_from(["*", "k*", "?1", "[kd]*"])),
        st.tuples(st.just("DBSIZE")),
        st.tuples(st.just("MULTI")),
        st.tuples(st.just("EXEC")),
        st.tuples(st.just("DISCARD")),
        st.tuples(st.just("SELECT"), st.sampled_from(["0", "1", "16"])),
    )


@settings(
    max_examples=int(os.environ.get("DIFF_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(_commands(), min_size=1, max_size=25), protocol=st.sampled_from([2, 3]))
def test_generated_sequences_match_redis(pair_factory, sequence, protocol):
    pair = pair_factory(protocol)
    try:
        pair.call("FLUSHALL")
        pair.run(sequence)
    finally:
        pair.call("DISCARD")
        pair.close()


@settings(
    max_examples=int(os.environ.get("DIFF_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sequence=st.lists(
        st.one_of(
            _bitfield(),
            _bitfield(),
            st.tuples(st.just("SETBIT"), KEYS, st.integers(0, 90), st.sampled_from(["0", "1"])),
            st.tuples(st.just("SET"), KEYS, VALUES),
            st.tuples(st.sampled_from(["GET", "STRLEN", "DEL"]), KEYS),
        ),
        min_size=1,
        max_size=20,
    ),
    protocol=st.sampled_from([2, 3]),
)
def test_generated_bitfields_match_redis(pair_factory, sequence, protocol):
    pair = pair_factory(protocol)
    try:
        pair.call("FLUSHALL")
        pair.run(sequence)
    finally:
        pair.close()


def test_raw_client_helper_reads_whole_replies(redis_server):
    # The harness itself: a reply split over several reads is still read whole.
    with RawConnection(redis_server.port) as conn:
        assert conn.call("ECHO", "x" * 100_000) == b"$100000\r\n" + b"x" * 100_000 + b"\r\n"
        conn.send(command("QUIT"))
        assert conn.reply() == b"+OK\r\n"
        assert conn.reply() == EOF


# --- generated pipelines: runs of GETBIT / SETBIT, which the server takes as a whole

RUN_NAMES = st.sampled_from(["GETBIT", "getbit", "Getbit", "gEtBiT", "SETBIT", "setbit", "SetBit"])
RUN_KEYS = st.sampled_from(["k1", "k2", "a\r\nb", ""])
RUN_OFFSETS = st.one_of(
    st.integers(0, 300).map(str),
    st.integers(0, 5000).map(str),
    st.sampled_from(
        ["0", "00", "07", "-1", "x", "", "+1", " 1", "1_0", "4294967296", "99999999999"]
    ),
)
RUN_BITS = st.sampled_from(["0", "1", "1", "2", "x", "01", ""])


@st.composite
def _run(draw):
    """Commands the same but for their offsets (and maybe their bits), or keys too."""
    name, key = draw(RUN_NAMES), draw(RUN_KEYS)
    offsets = draw(st.lists(RUN_OFFSETS, min_size=2, max_size=20))
    if draw(st.booleans()):  # one key and bit for the whole run, as clients mostly send
        keys = [key] * len(offsets)
        bits = [draw(RUN_BITS)] * len(offsets)
    else:
        keys = draw(st.lists(RUN_KEYS, min_size=len(offsets), max_size=len(offsets)))
        bits = draw(st.lists(RUN_BITS, min_size=len(offsets), max_size=len(offsets)))
    if name.lower() == "getbit":
        return [(name, k, o) for k, o in zip(keys, offsets, strict=True)]
    return [(name, k, o, b) for k, o, b in zip(keys, offsets, bits, strict=True)]


_OTHERS = st.sampled_from(
    [
        [("PING",)],
        [("MULTI",)],
        [("EXEC",)],
        [("DISCARD",)],
        [("GET", "k1")],
        [("DEL", "k1")],
        [("SET", "k2", "ab")],
        [("BITCOUNT", "k1")],
        [("SELECT", "1")],
        [("SELECT", "0")],
        [("GETBIT", "k1")],
        [("SETBIT", "k1", "1")],
        [("GETBIT", "k1", "1", "2")],
        # BITFIELD reads the bits the queued SETBITs wrote, and writes between them
        [("BITFIELD", "k1", "GET", "u8", "0", "INCRBY", "u4", "2", "5", "GET", "i16", "#1")],
        [("BITFIELD", "k2", "OVERFLOW", "FAIL", "SET", "u2", "4999", "1", "SET", "u2", "6", "9")],
        [("BITFIELD_RO", "k1", "GET", "u16", "0"), ("BITFIELD", "k2", "SET", "i8", "#1", "-1")],
    ]
)


@settings(
    max_examples=int(os.environ.get("DIFF_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    segments=st.lists(st.one_of(_run(), _run(), _OTHERS), min_size=1, max_size=8),
    protocol=st.sampled_from([2, 3]),
)
def test_generated_pipelines_match_redis(pair_factory, segments, protocol):
    pair = pair_factory(protocol)
    commands = [args for segment in segments for args in segment]
    try:
        pair.call("FLUSHALL")
        # each segment on its own (a run is then all the server has read), then all at once
        for pipeline in [*segments, commands]:
            expected = pair.redis.pipeline(pipeline)
            got = pair.ours.pipeline(pipeline)
            for args, ours, redis in zip(pipeline, got, expected, strict=True):
                assert same_reply(args, ours, redis), (
                    f"{args!r} in {pipeline!r}: redis replied {redis!r}, bitmapist-server {ours!r}"
                )
    finally:
        pair.call("DISCARD")
        pair.call("SELECT", "0")
        pair.close()


# --- generated pipelines of the string family: which queued writes a command waits for
#
# A command commits the queued writes first only when one of them writes a key it names
# (or one of unknown keys is queued: FLUSHDB, SWAPDB, COPY, MOVE...), so these pipelines
# mix writes after queued writes of the same key, reads of keys with queued writes and
# of keys without, SETBITs between them, and commands that see or change every key.

_KEYED = [
    "INCR {k}",
    "INCRBY {k} 5",
    "DECR {k}",
    "INCRBYFLOAT {k} 1.5",
    "APPEND {k} xy",
    "SETRANGE {k} 3 ab",
    "BITFIELD {k} INCRBY u8 0 1",
    "BITFIELD {k} GET u8 0 SET u4 4 9",
    "BITFIELD_RO {k} GET u16 0",
    "GET {k}",
    "GETBIT {k} 3",
    "SETBIT {k} 3 1",
    "SETBIT {k} 9 0",
    "STRLEN {k}",
    "BITCOUNT {k}",
    "GETRANGE {k} 0 -1",
    "SETNX {k} 7",
    "GETSET {k} 12",
    "GETDEL {k}",
    "SET {k} 10",
    "SET {k} 5 NX GET",
    "DEL {k}",
    "EXISTS {k} a",
    "EXPIRE {k} 100 NX",
    "TTL {k}",
    "GETEX {k} PERSIST",
    "TYPE {k}",
    "RENAME {k} c",
    "MSET a 1 {k} 2",
    "MGET a b {k}",
    "BITOP OR c a {k}",
    "LCS a {k}",
    "COPY {k} d",
]
_UNKEYED = [
    "DBSIZE",
    # patterns that match at most one key: inside MULTI a KEYS reply is nested in EXEC's,
    # which `normalize` does not sort (Redis lists keys in its hash table's order)
    "KEYS a",
    "KEYS c*",
    "PING",
    "SELECT 1",
    "SELECT 0",
    "MOVE a 1",
    "SWAPDB 0 1",
    "FLUSHDB",
    "COPY a b DB 1",
    "MULTI",
    "EXEC",
    "DISCARD",
    "WATCH a",
]


@st.composite
def _string_command(draw):
    if draw(st.integers(0, 6)) == 0:
        return _words(draw(st.sampled_from(_UNKEYED)))
    return _words(draw(st.sampled_from(_KEYED)).format(k=draw(st.sampled_from("abc"))))


@settings(
    max_examples=int(os.environ.get("DIFF_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pipeline=st.lists(_string_command(), min_size=1, max_size=40),
    protocol=st.sampled_from([2, 3]),
)
def test_generated_string_pipelines_match_redis(pair_factory, pipeline, protocol):
    pair = pair_factory(protocol)
    # then every key's value, as the next pipeline reads it
    after = [("SELECT", "0"), *[("GET", key) for key in "abcd"], ("SELECT", "1")]
    after += [*[("GET", key) for key in "abcd"], ("SELECT", "0")]
    try:
        pair.call("FLUSHALL")
        for sent in (pipeline, after):
            expected = pair.redis.pipeline(sent)
            got = pair.ours.pipeline(sent)
            for args, ours, redis in zip(sent, got, expected, strict=True):
                assert same_reply(args, ours, redis), (
                    f"{args!r} in {pipeline!r}: redis replied {redis!r}, bitmapist-server {ours!r}"
                )
    finally:
        pair.call("DISCARD")
        pair.call("UNWATCH")
        pair.call("SELECT", "0")
        pair.close()


# The interesting cases, written out: a write after a queued write of the same key, a
# read of a key with a queued write, of one without, and SETBITs between them.
STRING_PIPELINES = [
    ["INCR a", "INCR a", "GET a", "INCR b", "APPEND a x", "GET b", "GET a"],
    ["SETRANGE a 2 xy", "BITFIELD a INCRBY u8 0 1", "GET a", "SETBIT a 1 1", "GETBIT a 1", "GET a"],
    ["SETBIT a 7 1", "INCR b", "SETBIT a 6 1", "GET a", "INCR b", "GETBIT a 6", "GET b"],
    ["INCR a", "SETBIT a 0 1", "INCR b", "GETBIT a 0", "GET a", "BITCOUNT a", "STRLEN b"],
    ["APPEND a 1", "GET b", "APPEND b 2", "GET c", "APPEND a 3", "MGET a b c", "DBSIZE"],
    [
        "SET a 5",
        "FLUSHDB",
        "INCR a",
        "INCR b",
        "SWAPDB 0 1",
        "GET a",
        "SELECT 1",
        "GET a",
        "SELECT 0",
    ],
    ["INCR a", "MOVE a 1", "INCR a", "SELECT 1", "INCR a", "SELECT 0", "KEYS *"],
    ["SET a 1", "COPY a b", "INCR a", "GET b", "RENAME a c", "GET c", "EXISTS a"],
    ["SET a 1 PX 100000", "INCR a", "TTL a", "GETSET a 2", "PERSIST a", "TTL a"],
    ["SETBIT a 0 1", "INCR b", "SET a x", "SETBIT b 0 1", "GET a", "GET b", "SETBIT a 1 1"],
    ["SETBIT a 0 1", "APPEND a x", "SETBIT c 0 1", "DEL c", "SETBIT a 9 1", "GET a", "GET c"],
    [
        "INCR a",
        "MULTI",
        "INCR a",
        "APPEND b x",
        "GET a",
        "BITFIELD a INCRBY u8 0 1",
        "EXEC",
        "INCR a",
    ],
    [
        "WATCH a",
        "INCR a",
        "MULTI",
        "INCR a",
        "EXEC",
        "INCR b",
        "WATCH b",
        "INCR c",
        "MULTI",
        "EXEC",
    ],
    ["SETNX a 1", "SETNX a 2", "INCRBYFLOAT a 0.5", "GET a", "SET a 3 NX GET", "SET a 4 XX GET"],
]


@pytest.mark.parametrize("pipeline", STRING_PIPELINES, ids=range(len(STRING_PIPELINES)))
@pytest.mark.parametrize("protocol", [2, 3])
def test_string_pipelines_match_redis(pair_factory, pipeline, protocol):
    pair = pair_factory(protocol)
    sent = [_words(line) for line in pipeline]
    try:
        pair.call("FLUSHALL")
        expected = pair.redis.pipeline(sent)
        got = pair.ours.pipeline(sent)
        for args, ours, redis in zip(sent, got, expected, strict=True):
            assert same_reply(args, ours, redis), (
                f"{args!r} in {pipeline!r}: redis replied {redis!r}, bitmapist-server {ours!r}"
            )
    finally:
        pair.call("SELECT", "0")
        pair.close()
