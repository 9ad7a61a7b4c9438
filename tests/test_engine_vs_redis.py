"""The engine against a real redis-server: same glob matches, same strings after the same
SETBIT / SET / BITOP sequences (random, via hypothesis)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitmapist import bitops
from bitmapist.engine import Delete, Engine, Put, SetBits, Value
from bitmapist.engine.glob import glob_match
from bitmapist.expressions import Key, Op
from bitmapist.stores.base import BitChange
from bitmapist.stores.embedded import EmbeddedStore
from bitmapist.stores.redis import RedisStore

_ALPHABET = b"ab-]\\[^*?"
# Every key of up to 3 characters over the glob metacharacters, plus high bytes (ranges
# compare signed chars in Redis).
KEYS = [
    bytes(chars) for size in range(4) for chars in itertools.product(_ALPHABET, repeat=size)
] + [b"\x80", b"\xff", b"a\xe9", b"\x7f", b"b\nc"]

_patterns = st.binary(min_size=0, max_size=6).map(
    lambda raw: bytes(_ALPHABET[byte % len(_ALPHABET)] if byte < 240 else byte for byte in raw)
)


@pytest.fixture(scope="module")
def keyed_redis(redis_server):
    client = redis_server.client()
    client.flushall()
    pipe = client.pipeline()
    for key in KEYS:
        pipe.set(key, b"1")
    pipe.execute()
    yield client
    client.flushall()
    client.close()


_FIXTURES_OK = [HealthCheck.function_scoped_fixture]


@settings(max_examples=400, deadline=None, suppress_health_check=_FIXTURES_OK)
@given(pattern=_patterns)
def test_glob_matches_like_redis_keys(keyed_redis, pattern):
    expected = set(keyed_redis.keys(pattern))
    assert {key for key in KEYS if glob_match(pattern, key)} == expected


@pytest.mark.parametrize(
    "pattern",
    [
        b"*",
        b"",
        b"[",
        b"[^",
        b"[]",
        b"[^]",
        b"[a-]",
        b"[b-a]",
        b"\\",
        b"a\\",
        b"[\\]]",
        b"[a-\\]",
        b"**a",
        b"?*",
        b"[\x80-\xff]",
        b"[\x01-\x80]",
        b"*[",
        b"[-a]",
    ],
)
def test_glob_edge_cases_match_redis(keyed_redis, pattern):
    assert {key for key in KEYS if glob_match(pattern, key)} == set(keyed_redis.keys(pattern))


# Keys long enough for globs with several stars to have many ways to split them.
_LONG_KEYS = [b"a" * 45, b"a" * 44 + b"b", b"ab" * 20 + b"b", b"ba" * 22, b"a\nb" * 15, b"x" * 60]


@pytest.mark.parametrize(
    "pattern",
    [
        b"*a*a*a*a*a*a*a*a*b",  # a backtracking regex takes hours on a long key
        b"*a*a*a*a*a*a*a*a*a*a*a*a*c",
        b"*a*b*",
        b"a*?*b",
        b"*[ab]*a*",
        b"*b*a",
        b"**a**",
        b"?*?*?",
        b"*\\*",
    ],
)
def test_many_star_globs_on_long_keys_match_redis(redis_server, pattern):
    client = redis_server.client(db=3)
    client.flushdb()
    client.mset({key: b"1" for key in _LONG_KEYS})
    try:
        assert {key for key in _LONG_KEYS if glob_match(pattern, key)} == set(client.keys(pattern))
    finally:
        client.flushdb()
        client.close()


# --- string semantics

_offsets = st.lists(st.integers(0, 200), min_size=1, max_size=6)
_op = st.one_of(
    st.tuples(st.just("setbit"), st.sampled_from([b"a", b"b", b"c"]), _offsets, st.booleans()),
    st.tuples(st.just("set"), st.sampled_from([b"a", b"b", b"c"]), st.binary(max_size=12)),
    st.tuples(
        st.just("bitop"),
        st.sampled_from(["AND", "OR", "XOR", "NOT"]),
        st.sampled_from([b"a", b"b", b"c", b"d"]),
        st.lists(st.sampled_from([b"a", b"b", b"c", b"missing"]), min_size=1, max_size=3),
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=_FIXTURES_OK)
@given(ops=st.lists(_op, min_size=1, max_size=12))
def test_strings_match_redis_after_the_same_commands(redis_client, ops):
    redis_client.flushall()
    engine = Engine()
    try:
        for op in ops:
            if op[0] == "setbit":
                _, key, offsets, value = op
                for offset in offsets:
                    expected = redis_client.setbit(key, offset, int(value))
                    got = engine.write([SetBits(key, [offset], value, previous=True)])[0]
                    assert got == expected
            elif op[0] == "set":
                _, key, data = op
                redis_client.set(key, data)
                engine.write([Put(key, Value.from_bytes(data))])
            else:
                _, name, dest, sources = op
                if name == "NOT":
                    sources = sources[:1]
                redis_client.bitop(name, dest, *sources)
                # What the Redis-protocol server does: evaluate, then put or delete.
                expr = Op(name, tuple(Key(s.decode()) for s in sources), "tmp")
                with engine.view() as view:
                    leaf = lambda name: view.value(name.encode()) or bitops.MISSING  # noqa: E731
                    value = Value(*bitops.evaluate(expr, leaf))
                engine.write([Put(dest, value) if value.length else Delete(dest)])
            for key in (b"a", b"b", b"c", b"d"):
                expected = redis_client.get(key)
                value = engine.get(key)
                assert (None if value is None else value.to_bytes()) == expected, (op, key)
                assert engine.bitcount(key) == redis_client.bitcount(key)
                assert engine.strlen(key) == redis_client.strlen(key)
    finally:
        engine.close()


# --- the embedded store answers like the Redis store for random expression trees

_names = itertools.count()  # Redis evaluates each Op into a key of its own name
_leaf = st.sampled_from(["a", "b", "c", "missing"]).map(Key)


def _tree(children):
    return st.one_of(
        st.tuples(
            st.sampled_from(["AND", "OR", "XOR"]), st.lists(children, min_size=1, max_size=3)
        ),
        st.tuples(st.just("NOT"), st.lists(children, min_size=1, max_size=1)),
    ).map(lambda t: Op(t[0], tuple(t[1]), f"trackist_bitop_{t[0]}_{next(_names)}"))


_exprs = st.recursive(_leaf, _tree, max_leaves=5)


@settings(max_examples=150, deadline=None, suppress_health_check=_FIXTURES_OK)
@given(
    expr=_exprs,
    data=st.fixed_dictionaries(
        {name: st.lists(st.integers(0, 300), max_size=20) for name in ("a", "b", "c")}
    ),
)
def test_expressions_evaluate_like_redis(redis_client, expr, data):
    redis_client.flushall()
    redis_store = RedisStore(redis_client, bitop_ttl=None)
    embedded = EmbeddedStore(None)
    try:
        changes = [BitChange(name, offsets) for name, offsets in data.items() if offsets]
        if changes:
            redis_store.set_bits(changes)
            embedded.set_bits(changes)
        assert embedded.count(expr) == redis_store.count(expr)
        assert embedded.bitmap(expr) == redis_store.bitmap(expr)
        for offset in (0, 7, 150, 299, 2000):
            assert embedded.get_bit(expr, offset) == redis_store.get_bit(expr, offset)
    finally:
        embedded.close()
