"""Date ranges and rolling active users, against brute force over the marks."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitmapist import Bitmapist, InvalidInput, UniqueEvents
from bitmapist.analytics.ranges import DateRange, active_users, cover

BASE = datetime(2026, 9, 20)


def _hours_of(kind: str, start: datetime) -> set[datetime]:
    if kind == "hour":
        end = start + timedelta(hours=1)
    elif kind == "day":
        end = start + timedelta(days=1)
    elif kind == "week":
        end = start + timedelta(days=7)
    else:
        end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
    hours, moment = set(), start
    while moment < end:
        hours.add(moment)
        moment += timedelta(hours=1)
    return hours


def test_cover_uses_hours_at_the_edges_then_days_weeks_and_months():
    parts = cover(datetime(2026, 10, 30, 22, 15), datetime(2026, 12, 2, 1, 30))
    assert parts == [
        ("hour", datetime(2026, 10, 30, 22)),
        ("hour", datetime(2026, 10, 30, 23)),
        ("day", datetime(2026, 10, 31)),
        ("month", datetime(2026, 11, 1)),
        ("day", datetime(2026, 12, 1)),
        ("hour", datetime(2026, 12, 2, 0)),
        ("hour", datetime(2026, 12, 2, 1)),
    ]
    # a week overlapping a whole month still saves bitmaps for the days before it
    assert cover(datetime(2026, 10, 26), datetime(2026, 12, 1)) == [
        ("week", datetime(2026, 10, 26)),
        ("month", datetime(2026, 11, 1)),
    ]
    assert cover(datetime(2026, 11, 3, 5), datetime(2026, 11, 3, 6)) == [
        ("hour", datetime(2026, 11, 3, 5))
    ]


@settings(max_examples=300, deadline=None)
@given(
    start=st.integers(0, 24 * 120),
    length=st.integers(1, 24 * 100),
    minutes=st.integers(0, 59),
)
def test_cover_is_exactly_the_range(start, length, minutes):
    begin = BASE + timedelta(hours=start)
    end = begin + timedelta(hours=length, minutes=minutes)
    parts = cover(begin, end)
    union: set[datetime] = set()
    for kind, moment in parts:
        union |= _hours_of(kind, moment)
    assert union == _hours_of_range(begin, end)
    days = sum(1 for kind, _ in parts if kind == "day")
    assert days <= 6 + 6  # otherwise a week or month would have been used


def _hours_of_range(begin: datetime, end: datetime) -> set[datetime]:
    hours, moment = set(), begin.replace(minute=0)
    while moment < end:
        hours.add(moment)
        moment += timedelta(hours=1)
    return hours


@pytest.fixture
def hourly_marks(client: Bitmapist) -> list[tuple[int, datetime]]:
    rng = random.Random(11)
    marks = [
        (rng.randrange(500), BASE + timedelta(hours=rng.randrange(24 * 75))) for _ in range(3000)
    ]
    client.mark_events(
        (("active", uid, when.replace(tzinfo=UTC)) for uid, when in marks), track_hourly=True
    )
    return marks


@pytest.mark.parametrize(
    ("begin", "end"),
    [
        (datetime(2026, 9, 21, 13, 20), datetime(2026, 11, 2, 4, 5)),
        (datetime(2026, 10, 1), datetime(2026, 11, 1)),
        (datetime(2026, 10, 5, 7), datetime(2026, 10, 5, 9)),
        (datetime(2026, 9, 28), datetime(2026, 10, 12)),
    ],
)
def test_date_range_holds_exactly_the_users_of_the_range(client, hourly_marks, begin, end):
    expected = {uid for uid, when in hourly_marks if begin.replace(minute=0) <= when < end}
    users = DateRange("active", begin, end, system=client)
    assert set(users) == expected
    assert len(users) == len(expected)
    assert users.has_events_marked() == bool(expected)
    some = min(expected)
    assert some in users
    assert 501 not in users


def test_date_range_dates_include_the_end_day(client, hourly_marks):
    users = DateRange("active", date(2026, 10, 1), date(2026, 10, 31), system=client)
    expected = {uid for uid, when in hourly_marks if when.month == 10}
    assert set(users) == expected
    assert [type(p).__name__ for p in users.parts] == ["MonthEvents"]


def test_date_range_composes_with_events_and_leaves_no_keys(client, hourly_marks):
    for uid in range(0, 500, 2):
        client.mark_unique("even", uid)
    before = set(client.store.scan_keys("*"))
    users = DateRange("active", datetime(2026, 10, 3, 5), datetime(2026, 10, 20), system=client)
    expected = set(users)
    assert users.get_count() == len(expected)
    assert set(users.client.ids(users.expression)) == expected  # the store agrees
    both = users & UniqueEvents("even", system=client)
    assert set(both) == {uid for uid in expected if uid % 2 == 0}
    client.delete_runtime_bitop_keys()
    assert set(client.store.scan_keys("*")) == before


def test_date_range_rejects_empty_ranges_and_bad_names(client):
    with pytest.raises(InvalidInput, match="is not after its start"):
        DateRange("active", datetime(2026, 1, 2), datetime(2026, 1, 2), system=client)
    with pytest.raises(InvalidInput, match="event name '' is empty"):
        DateRange("", date(2026, 1, 1), date(2026, 1, 2), system=client)
    with pytest.raises(InvalidInput, match="expected a datetime or date"):
        DateRange("active", "2026-01-01", date(2026, 1, 2), system=client)
    with pytest.raises(InvalidInput, match="delete the events themselves"):
        DateRange("active", date(2026, 1, 1), date(2026, 1, 2), system=client).delete()


def test_active_users_are_rolling_windows(client, hourly_marks):
    first, last = date(2026, 10, 10), date(2026, 11, 5)
    rows = active_users("active", first, last, system=client, wau_days=7, mau_days=30)
    assert [row.day for row in rows] == [
        first + timedelta(days=i) for i in range((last - first).days + 1)
    ]

    def users(day: date, window: int) -> int:
        low = day - timedelta(days=window - 1)
        return len({uid for uid, when in hourly_marks if low <= when.date() <= day})

    for row in rows:
        assert row.dau == users(row.day, 1)
        assert row.wau == users(row.day, 7)
        assert row.mau == users(row.day, 30)
        assert row.stickiness == pytest.approx(row.dau / row.mau)


def test_active_users_of_an_expression(client, hourly_marks):
    """An event object's period events move to each day; a unique bitmap stays."""
    for uid in range(0, 500, 3):
        client.mark_unique("paying", uid)
    paying_active = client.DayEvents("active", 2020, 1, 1) & client.UniqueEvents("paying")
    first, last = date(2026, 10, 10), date(2026, 10, 20)
    rows = active_users(paying_active, first, last, system=client)

    def users(day: date, window: int) -> int:
        low = day - timedelta(days=window - 1)
        return len({u for u, when in hourly_marks if low <= when.date() <= day and u % 3 == 0})

    assert [(r.dau, r.wau, r.mau) for r in rows] == [
        (users(r.day, 1), users(r.day, 7), users(r.day, 30)) for r in rows
    ]
    assert any(r.dau for r in rows)
    with pytest.raises(InvalidInput, match="event 3 is not an event name or an event object"):
        active_users(3, system=client)


def test_active_users_defaults_and_limits(client):
    rows = active_users("nobody", system=client)
    assert len(rows) == 30 and all(row.mau == 0 and row.stickiness is None for row in rows)
    with pytest.raises(InvalidInput, match="spans 0 days: expected 1 to 3660"):
        active_users("active", date(2026, 2, 2), date(2026, 2, 1), system=client)
    with pytest.raises(InvalidInput, match=r"mau_days 0 is out of range: expected \[1, 366\]"):
        active_users("active", system=client, mau_days=0)


def test_ranges_follow_the_client_time_zone_across_dst(store):
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    client = Bitmapist(store, timezone="Europe/Berlin", track_hourly=True)
    # 2026-10-25: clocks go back at 03:00 CEST, so local 02:xx happens twice
    instants = [
        datetime(2026, 10, 24, 21, 30, tzinfo=UTC) + timedelta(minutes=30 * i) for i in range(16)
    ]
    client.mark_events(("active", uid, when) for uid, when in enumerate(instants))
    start = datetime(2026, 10, 25, 0, 0, tzinfo=berlin)
    end = datetime(2026, 10, 25, 3, 0, tzinfo=berlin)
    users = DateRange("active", start, end, system=client)
    expected = {
        uid
        for uid, when in enumerate(instants)
        if date(2026, 10, 25) == when.astimezone(berlin).date() and when.astimezone(berlin).hour < 3
    }
    assert set(users) == expected
    assert len(expected) == 8  # 00:00-02:59 local, with the repeated hour counted once a key
    assert [p.hour for p in users.parts] == [0, 1, 2]
