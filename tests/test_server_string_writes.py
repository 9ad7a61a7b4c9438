"""APPEND and SETRANGE build the new value from the current one's bits and the piece's,
shifted into place (`handlers/updates.py`); INCR & co. and SET write whole values, the
last Put of a key in a batch for all of them (`batch.py`, `engine/batch.py`). Checked
against redis-server, byte for byte: on values made by SET and by SETBIT across roaring's
containers (65,536 bits each), pieces that clear bits as well as set them, past the end
and over it, one command at a time and as one pipeline (staged values)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .test_server_differential import Pair, same_reply

KEYS = st.sampled_from(["a", "b"])
# bytes of every kind: zero bytes clear the bits they cover, \xff sets all
PIECES = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"\x00" * 9, b"\xff" * 33, b"x" * 100, b"\x00\x01\x80", b"0"]),
)
# byte offsets at and around container edges (8,192 bytes each), and far ones
OFFSETS = st.one_of(
    st.integers(0, 40), st.integers(8180, 8200), st.sampled_from([16383, 16384, 70000])
)
BIT_OFFSETS = st.one_of(
    st.integers(0, 400), st.integers(65520, 65560), st.sampled_from([131071, 600000])
)

_COMMANDS = st.one_of(
    st.tuples(st.just("SET"), KEYS, PIECES),
    st.tuples(st.just("SETBIT"), KEYS, BIT_OFFSETS, st.sampled_from([0, 1])),
    st.tuples(st.just("APPEND"), KEYS, PIECES),
    st.tuples(st.just("SETRANGE"), KEYS, OFFSETS, PIECES),
    st.tuples(st.just("INCR"), KEYS),
    st.tuples(st.just("GET"), KEYS),
    st.tuples(st.just("STRLEN"), KEYS),
    st.tuples(st.just("BITCOUNT"), KEYS),
    st.tuples(st.just("DEL"), KEYS),
)


@pytest.fixture
def pair(redis_server, bitmapist_server):
    pair = Pair(redis_server.port, bitmapist_server.port)
    yield pair
    pair.close()


def _same_state(pair: Pair) -> None:
    for key in ("a", "b"):
        pair.check(("GET", key))
        pair.check(("BITCOUNT", key))


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_COMMANDS, min_size=1, max_size=12))
def test_string_writes_one_at_a_time_match_redis(pair, sequence):
    pair.call("FLUSHALL")
    pair.run(sequence)
    _same_state(pair)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_COMMANDS, min_size=1, max_size=24))
def test_string_writes_in_one_pipeline_match_redis(pair, sequence):
    pair.call("FLUSHALL")
    expected = pair.redis.pipeline(sequence)
    got = pair.ours.pipeline(sequence)
    for args, ours, redis in zip(sequence, got, expected, strict=True):
        assert same_reply(args, ours, redis), f"{args!r}: redis {redis!r}, ours {ours!r}"
    _same_state(pair)


CASES = [
    # SETRANGE over set bits with zero bytes, inside, across a container edge, past the end
    ["SETBIT a 65540 1", "SETBIT a 65530 1", "SETRANGE a 8191 \x00\x00", "GET a", "BITCOUNT a"],
    ["SET a \xff\xff\xff\xff", "SETRANGE a 1 \x00", "SETRANGE a 6 \x01", "GET a"],
    ["SETBIT a 7 1", "SETRANGE a 70000 x", "STRLEN a", "BITCOUNT a", "GETRANGE a 69999 70000"],
    # APPEND to a missing key, an empty string, a string of zero bytes, a bitmap
    ["APPEND a \x00", "APPEND a ", "APPEND a \x80", "GET a", "SET b ", "APPEND b x", "GET b"],
    ["SETBIT a 131071 1", "APPEND a \x81", "BITCOUNT a", "STRLEN a", "GETRANGE a 16383 16384"],
    ["SETRANGE a 0 ab", "APPEND a cd", "SETRANGE a 1 \x00\x00", "INCR a", "GET a"],
]


@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_hand_written_string_writes_match_redis(pair, case):
    sequence = [tuple(line.split(" ")) for line in case]
    pair.call("FLUSHALL")
    pair.run(sequence)
    pair.call("FLUSHALL")  # and the same as one pipeline
    expected = pair.redis.pipeline(sequence)
    assert pair.ours.pipeline(sequence) == expected
    _same_state(pair)
