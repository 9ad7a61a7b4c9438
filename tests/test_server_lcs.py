"""LCS against a real redis-server 7.0: the same commands to both, replies compared byte for
byte (RESP2 and RESP3), over generated strings with small alphabets so that the walk back
meets many ties (where Redis steps left rather than up), every option and option mix, and
Redis's limit on the table's size (proto-max-bulk-len)."""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .bitmapist_server import BitmapistServerProcess
from .resp_client import RawConnection
from .servers import RedisServer
from .test_server_differential import pair_factory, same_reply  # noqa: F401 - the fixture

ALPHABETS = [b"a", b"ab", b"abc", b"ACGT", b"\x00\xff", bytes(range(256))]


@st.composite
def _strings(draw: st.DrawFn) -> bytes:
    alphabet = draw(st.sampled_from(ALPHABETS))
    size = draw(st.sampled_from([8, 40, 300]))
    return bytes(draw(st.lists(st.sampled_from(alphabet), max_size=size)))


_OPTION = st.one_of(
    st.sampled_from([("IDX",), ("LEN",), ("WITHMATCHLEN",), ("idx",), ("withmatchlen",)]),
    st.tuples(st.sampled_from(["MINMATCHLEN", "minmatchlen"]), st.integers(-2, 8).map(str)),
)

#: Forms asked of every pair of strings, whatever options were drawn besides.
_FORMS = [
    (),
    ("LEN",),
    ("IDX",),
    ("IDX", "WITHMATCHLEN"),
    ("IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"),
    ("IDX", "MINMATCHLEN", "3"),
]


def _compare(pair, commands: list[tuple]) -> None:
    theirs = pair.redis.pipeline(commands)
    ours = pair.ours.pipeline(commands)
    for args, got, expected in zip(commands, ours, theirs, strict=True):
        assert same_reply(args, got, expected), (
            f"{args[:3]!r}...: redis replied {expected[:300]!r}, bitmapist-server {got[:300]!r}"
        )


@settings(
    max_examples=int(os.environ.get("DIFF_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    a=_strings(),
    b=_strings(),
    options=st.lists(_OPTION, max_size=4),
    protocol=st.sampled_from([2, 3]),
)
def test_generated_lcs_matches_redis(pair_factory, a, b, options, protocol):  # noqa: F811
    pair = pair_factory(protocol)
    drawn = tuple(word for option in options for word in option)
    commands: list[tuple] = [("SET", "a", a), ("SET", "b", b)]
    for first, second in (("a", "b"), ("b", "a"), ("a", "a"), ("a", "missing")):
        commands += [("LCS", first, second, *form) for form in (*_FORMS, drawn)]
    _compare(pair, commands)


def test_long_strings_with_many_ties_match_redis(pair_factory):  # noqa: F811
    """Strings of thousands of bytes (many machine words per row, carries across them)
    with long runs and periodic patterns, where ties are everywhere; a table of one row
    and one of one column."""
    rng = random.Random(5)
    values = {
        "dna1": bytes(rng.choice(b"ACGT") for _ in range(3000)),
        "dna2": bytes(rng.choice(b"ACGT") for _ in range(2500)),
        "ab": b"ab" * 1500,
        "ba": b"ba" * 1200 + b"a" * 700,
        "runs": b"".join(bytes([rng.choice(b"xy")]) * rng.randrange(1, 90) for _ in range(80)),
        "bytes": rng.randbytes(2000),
        # one row or one column: the walk runs the length of the other string
        "one": b"q",
        "wide": bytes(rng.choice(b"abcq") for _ in range(200_000)),
    }
    commands: list[tuple] = [("SET", key, value) for key, value in values.items()]
    for first, second in [("dna1", "dna2"), ("ab", "ba"), ("ba", "runs"), ("runs", "ab")]:
        commands += [("LCS", first, second, *form) for form in _FORMS]
    commands += [("LCS", "bytes", "dna1", "IDX", "WITHMATCHLEN"), ("LCS", "bytes", "bytes")]
    commands += [("LCS", "one", "wide", *form) for form in _FORMS]
    commands += [("LCS", "wide", "one", *form) for form in _FORMS]
    pair = pair_factory()
    # one command a round trip: pipelined, the whole list (seconds of Redis's table work
    # alone) could pass the clients' socket timeout on a loaded machine
    for command in commands:
        _compare(pair, [command])


@pytest.fixture(scope="module")
def small_limit_pair(tmp_path_factory: pytest.TempPathFactory):
    """redis-server and bitmapist-server whose proto-max-bulk-len is 1 MiB (Redis's least):
    LCS tables of more than 262,144 cells are refused."""
    redis_server = RedisServer(tmp_path_factory.mktemp("redis-lcs"), "--proto-max-bulk-len", "1mb")
    ours = BitmapistServerProcess(
        tmp_path_factory.mktemp("server-lcs"), "--max-bulk-len", str(1 << 20)
    )
    connections = RawConnection(redis_server.port), RawConnection(ours.port)
    yield connections
    for connection in connections:
        connection.close()
    ours.stop()
    redis_server.stop()


@pytest.mark.parametrize(
    "sizes",
    [(511, 511), (512, 511), (511, 512), (0, 262143), (0, 262144), (1, 131071), (1, 131072)],
)
def test_the_table_limit_is_redis(small_limit_pair, sizes):
    """(len1 + 1) * (len2 + 1) * 4 bytes may reach proto-max-bulk-len, not pass it, with
    every form (LEN too, which needs no table here)."""
    redis_connection, our_connection = small_limit_pair
    commands = [("SET", "a", b"ab" * (sizes[0] // 2) + b"b" * (sizes[0] % 2))]
    commands.append(("SET", "b", b"ba" * (sizes[1] // 2) + b"a" * (sizes[1] % 2)))
    commands += [("LCS", "a", "b", *form) for form in [(), ("LEN",), ("IDX", "MINMATCHLEN", "5")]]
    assert our_connection.pipeline(commands) == redis_connection.pipeline(commands)
