"""Differential: the same workload on a single redis-server and on the 3-master cluster
must give the same answers, for every API feature. Stores first (random writes and
random expression trees, NOT included), then the public API end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitmapist import Bitmapist
from bitmapist.expressions import Expr, Key, Op
from bitmapist.stores.base import BitChange
from bitmapist.stores.cluster import RedisClusterStore
from bitmapist.stores.redis import RedisStore

LEAVES = ["a", "b", "c", "missing"]


def _op(op: str, operands: tuple[Expr, ...]) -> Op:
    return Op(op, operands, f"bitop_{op}_" + "-".join(o.name for o in operands))


expressions = st.recursive(
    st.sampled_from(LEAVES).map(Key),
    lambda inner: st.one_of(
        inner.map(lambda e: _op("NOT", (e,))),
        st.tuples(
            st.sampled_from(["AND", "OR", "XOR"]), st.lists(inner, min_size=1, max_size=3)
        ).map(lambda t: _op(t[0], tuple(t[1]))),
    ),
    max_leaves=6,
)
changes = st.lists(
    st.builds(
        BitChange,
        st.sampled_from(LEAVES[:3]),
        st.lists(st.integers(0, 3000), min_size=1, max_size=40),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
)


@pytest.fixture
def pair(redis_client, redis_cluster, request):
    """A single-Redis store and a cluster store, both empty; S from the test's param."""
    redis_cluster.flush()
    single = RedisStore(redis_client)
    sharded = RedisClusterStore(redis_cluster.client(), shards=request.param)

    def reset() -> None:
        redis_client.flushall()
        redis_cluster.flush()

    yield single, sharded, reset
    sharded.close()


@pytest.mark.parametrize("pair", [1, 5, 24], indirect=True, ids=lambda s: f"S={s}")
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(changes, min_size=1, max_size=3),
    exprs=st.lists(expressions, min_size=1, max_size=4),
    probe=st.integers(0, 3100),
)
def test_random_writes_and_expressions_answer_like_a_single_redis(pair, batches, exprs, probe):
    single, sharded, reset = pair
    reset()
    for batch in batches:
        single.set_bits(batch)
        sharded.set_bits(batch)
    assert sharded.strings(exprs) == single.strings(exprs)  # bits *and* byte lengths
    assert sharded.counts(exprs) == single.counts(exprs)
    for expr in exprs:
        assert list(sharded.ids(expr)) == list(single.ids(expr))
        assert sharded.get_bit(expr, probe) == single.get_bit(expr, probe)
    assert sorted(sharded.scan_keys()) == sorted(single.scan_keys())
    doomed = ["a", "missing", "bitop_NOT_a"]
    assert sharded.delete(doomed) == single.delete(doomed)
    assert sorted(sharded.scan_keys()) == sorted(single.scan_keys())


KEYS = [
    "trackist_active_2026-1",
    "trackist_active_2026-11",
    "trackist_bitop_AND_x-y",
    "trackist_a*b_u",
    "trackist_a?b_u",
    "trackist_[x]_u",
    "trackist_x\\y",
    "other_key",
    "trackist_",
    "a\nb",
    "trackist_b-z",
    "trackist_B_1",
    "{tag}trackist_a",
    "ключ_u",
]
PATTERNS = [
    "*",
    "trackist_*",
    "trackist_active_2026-?",
    "trackist_[ab]*",
    "trackist_[^a]*",
    "trackist_[a-c]*",
    "trackist_[c-a]*",
    "trackist_a\\*b_u",
    "trackist_a\\?b_u",
    "trackist_\\[x\\]_u",
    "trackist_x\\\\y",
    "*bitop_*",
    "a?b",
    "trackist_[]*",
    "?",
    "*_u",
    "{tag}*",
    "trackist_[\\]]*",
    "trackist_b[-]z",
    "trackist_[a",
    "ключ*",
    "{bm*",
]


@pytest.mark.parametrize("pair", [24], indirect=True, ids=lambda s: f"S={s}")
def test_scan_keys_matches_patterns_like_redis(pair):
    single, sharded, reset = pair
    changes = [BitChange(key, [3, 900]) for key in KEYS]
    single.set_bits(changes)
    sharded.set_bits(changes)
    for pattern in PATTERNS:
        assert sorted(sharded.scan_keys(pattern)) == sorted(single.scan_keys(pattern)), pattern
    assert len(list(sharded.scan_keys("*"))) == len(KEYS)


# --- the public API, end to end

START = datetime(2025, 12, 1, tzinfo=UTC)


def _workload(client: Bitmapist) -> None:
    """Single and bulk marks, unmarks, hours, uniques, a transaction, across a year end."""
    for uid in range(0, 3000, 7):
        client.mark_event(
            "active", uid, now=START + timedelta(days=uid % 60, hours=uid % 24), track_hourly=True
        )
    client.mark_events(
        (event, uid, START + timedelta(days=(uid * 13) % 70))
        for event in ("login", "song:played", "buy")
        for uid in range(0, 5000, 3 if event != "buy" else 11)
    )
    client.mark_events(
        [("signup", uid, START + timedelta(days=uid % 45)) for uid in range(4000)],
        track_unique=True,
    )
    for uid in range(0, 3000, 70):
        client.unmark_event(
            "active", uid, now=START + timedelta(days=uid % 60, hours=uid % 24), track_hourly=True
        )
    client.unmark_event("active", 90_001, now=START)  # clearing a never-set id lengthens the key
    for uid in (1, 2, 3, 1_000_003):
        client.mark_unique("premium", uid)
    client.unmark_unique("premium", 2)
    with client.transaction():
        client.mark_event("refund", 5, now=START + timedelta(days=3))
        client.mark_event("refund", 2_000_000, now=START + timedelta(days=3))


def _answers(client: Bitmapist) -> dict[str, object]:
    b = client
    day = START + timedelta(days=10)
    ev = {
        "month": b.MonthEvents("active", 2025, 12),
        "next_month": b.MonthEvents("active", 2025, 12).next(),
        "week": b.WeekEvents.from_date("login", day),
        "day": b.DayEvents.from_date("song:played", day),
        "hour": b.HourEvents("active", 2025, 12, 8, 8),
        "year25": b.YearEvents("login", 2025),
        "year26": b.YearEvents("login", 2026),
        "unique": b.UniqueEvents("premium"),
        "signup_u": b.UniqueEvents("signup"),
        "refund": b.DayEvents("refund", 2025, 12, 4),
    }
    month, login = ev["month"], b.MonthEvents("login", 2025, 12)
    ev["and"] = b.BitOpAnd(month, login)
    ev["or3"] = b.BitOpOr(month, login, b.MonthEvents("buy", 2026, 1))
    ev["xor"] = b.BitOpXor(month, b.MonthEvents("song:played", 2025, 12))
    ev["not"] = b.BitOpNot(month)
    ev["not_year"] = ~ev["year26"]
    ev["nested"] = b.BitOpAnd(b.BitOpOr(ev["week"], ev["day"]), ~b.BitOpAnd(login, ev["unique"]))
    ev["deep"] = (month & login) | ~(ev["signup_u"] ^ b.MonthEvents("buy", 2025, 12))
    ev["not_missing"] = ~b.MonthEvents("never", 2025, 12)
    answers: dict[str, object] = {}
    for name, event in ev.items():
        answers[name] = (
            len(event),
            list(event),
            event.has_events_marked(),
            [uid in event for uid in (0, 5, 7, 77, 90_001, 1_000_003, 2**32 - 1)],
        )
    answers["event_names"] = sorted(b.get_event_names())
    answers["event_names_s"] = sorted(b.get_event_names(prefix="s"))
    return answers


def _cohort_answers(system: Bitmapist) -> dict[str, object]:
    from bitmapist.analytics.retention import retention
    from bitmapist.cohort import get_dates_data

    answers: dict[str, object] = {}
    for group in ("days", "weeks", "months"):
        answers[f"cohort_{group}"] = get_dates_data(
            "signup",
            "active",
            time_group=group,
            system=system,
            num_results=8,
            num_of_rows=4,
            start_date="2025-12-01",
            as_percent=False,
        )
    table = retention(
        "signup",
        "login",
        period="week",
        start=START,
        cohorts=6,
        periods=4,
        system=system,
        now=START + timedelta(days=80),
    )
    answers["retention"] = [[(c.count, c.percent) for c in row.cells] for row in table.rows]
    from bitmapist.analytics.ranges import DateRange, active_users

    span = DateRange(
        "active", START + timedelta(days=3, hours=5), START + timedelta(days=40), system=system
    )
    answers["range"] = (len(span), list(span), 14 in span, [p.redis_key for p in span.parts])
    answers["range_and"] = len(span & system.MonthEvents("login", 2026, 1))
    answers["active_users"] = active_users(
        "login", START, START + timedelta(days=45), system=system
    )
    return answers


def test_the_api_answers_like_a_single_redis(redis_client, redis_cluster):
    redis_cluster.flush()
    single = Bitmapist(RedisStore(redis_client))
    sharded = Bitmapist(RedisClusterStore(redis_cluster.client()))
    _workload(single)
    _workload(sharded)
    expected, got = _answers(single), _answers(sharded)
    for name in expected:
        assert got[name] == expected[name], name
    # deletes: one event's key, temporary bitop keys, then everything
    for client in (single, sharded):
        client.MonthEvents("active", 2025, 12).delete()
        client.delete_temporary_bitop_keys()
    assert _answers(sharded) == _answers(single)
    for client in (single, sharded):
        client.delete_all_events()
    assert _answers(sharded) == _answers(single)
    assert sharded.get_event_names() == []


def test_cohorts_retention_and_date_ranges_answer_like_a_single_redis(redis_client, redis_cluster):
    pytest.importorskip("bitmapist.analytics.retention")
    redis_cluster.flush()
    single = Bitmapist(RedisStore(redis_client))
    sharded = Bitmapist(RedisClusterStore(redis_cluster.client()))
    _workload(single)
    _workload(sharded)
    expected = _cohort_answers(single)
    assert expected["cohort_days"][0][1] > 0  # tables and ranges with data in them
    assert expected["range"][0] > 0 and expected["active_users"][-1].mau > 0
    got = _cohort_answers(sharded)
    for name in expected:
        assert got[name] == expected[name], name
