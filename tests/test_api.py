"""The bitmapist 3.x module-level API, on every store kind (via the `default_system` fixture)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

import bitmapist
from bitmapist import (
    BitOpAnd,
    BitOpNot,
    BitOpOr,
    BitOpXor,
    DayEvents,
    HourEvents,
    MonthEvents,
    UniqueEvents,
    WeekEvents,
    YearEvents,
    delete_all_events,
    delete_runtime_bitop_keys,
    delete_temporary_bitop_keys,
    get_event_names,
    mark_event,
    mark_events,
    mark_unique,
    unmark_event,
    unmark_unique,
)

pytestmark = pytest.mark.usefixtures("default_system")

NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)


def test_mark_event_marks_month_week_and_day():
    mark_event("active", 123, now=NOW)
    assert 123 in MonthEvents("active", 2026, 3)
    assert 123 in WeekEvents("active", 2026, 11)
    assert 123 in DayEvents("active", 2026, 3, 14)
    assert 124 not in DayEvents("active", 2026, 3, 14)
    assert 123 not in DayEvents("active", 2026, 3, 15)
    assert 123 not in HourEvents("active", 2026, 3, 14, 15)  # hourly is off by default
    assert 123 not in UniqueEvents("active")


def test_track_hourly_and_unique_flags_follow_module_globals():
    bitmapist.TRACK_HOURLY = True
    mark_event("active", 1, now=NOW)
    assert 1 in HourEvents("active", 2026, 3, 14, 15)
    bitmapist.TRACK_HOURLY = False
    mark_event("active", 2, now=NOW)
    assert 2 not in HourEvents("active", 2026, 3, 14, 15)
    mark_event("active", 3, now=NOW, track_hourly=True, track_unique=True)
    assert 3 in HourEvents("active", 2026, 3, 14, 15)
    assert 3 in UniqueEvents("active")
    bitmapist.TRACK_UNIQUE = True
    mark_event("signup", 4, now=NOW)
    assert 4 in UniqueEvents("signup")


def test_unmark_event_clears_what_mark_event_set():
    mark_event("active", 7, now=NOW, track_hourly=True)
    unmark_event("active", 7, now=NOW, track_hourly=True)
    for events in (
        MonthEvents("active", 2026, 3),
        WeekEvents("active", 2026, 11),
        DayEvents("active", 2026, 3, 14),
        HourEvents("active", 2026, 3, 14, 15),
    ):
        assert 7 not in events
        assert len(events) == 0
        assert not events.has_events_marked()


def test_counts_and_iteration_are_ascending_and_exact():
    ids = [5, 0, 1023, 8, 2**20 + 3, 77, 1024]  # ids near 2**32 cost Redis 512 MB a key
    for uid in ids:
        mark_event("active", uid, now=NOW)
    day = DayEvents("active", 2026, 3, 14)
    assert len(day) == day.get_count() == len(ids)
    assert list(day) == sorted(ids)
    assert list(day.get_uuids()) == sorted(ids)
    assert day.has_events_marked()
    assert not DayEvents("active", 2026, 3, 13).has_events_marked()
    assert list(DayEvents("never", 2026, 3, 13)) == []


def test_unique_events():
    mark_unique("premium", 42)
    mark_unique("premium", 43)
    unmark_unique("premium", 43)
    premium = UniqueEvents("premium")
    assert 42 in premium and 43 not in premium
    assert list(premium) == [42]
    assert premium.next() is premium and premium.prev() is premium
    assert UniqueEvents.from_date("premium", NOW) == premium


def test_bit_operations_and_operators():
    for uid in (1, 2, 3):
        mark_event("a", uid, now=NOW)
    for uid in (2, 3, 4):
        mark_event("b", uid, now=NOW)
    a, b = DayEvents("a", 2026, 3, 14), DayEvents("b", 2026, 3, 14)
    assert list(BitOpAnd(a, b)) == [2, 3]
    assert list(a & b) == [2, 3]
    assert list(BitOpOr(a, b)) == list(a | b) == [1, 2, 3, 4]
    assert list(BitOpXor(a, b)) == list(a ^ b) == [1, 4]
    # NOT complements within the stored byte length, as Redis BITOP NOT does.
    assert list(BitOpNot(a)) == list(~a) == [0, 4, 5, 6, 7]
    assert len(~(a & b)) == 6
    nested = BitOpAnd(BitOpOr(a, b), BitOpNot(BitOpAnd(a, b)))
    assert list(nested) == [1, 4]
    assert 4 in nested and 2 not in nested
    assert len(BitOpAnd("default", a, b)) == 2  # 3.x: optional leading system name


def test_bitop_keys_use_the_3x_layout():
    a = MonthEvents("active", 2026, 1)
    b = MonthEvents("active", 2026, 2)
    assert (a & b).redis_key == "trackist_bitop_AND_trackist_active_2026-1-trackist_active_2026-2"
    assert (~(a | b)).redis_key == (
        "trackist_bitop_NOT_trackist_bitop_OR_trackist_active_2026-1-trackist_active_2026-2"
    )
    months = "-".join(f"trackist_active_2026-{m}" for m in range(1, 13))
    assert YearEvents("active", 2026).redis_key == f"trackist_bitop_OR_{months}"


def test_year_is_the_union_of_its_months():
    mark_event("active", 1, now=datetime(2026, 1, 31, tzinfo=UTC))
    mark_event("active", 2, now=datetime(2026, 12, 1, tzinfo=UTC))
    mark_event("active", 3, now=datetime(2027, 1, 1, tzinfo=UTC))
    assert list(YearEvents("active", 2026)) == [1, 2]
    assert len(YearEvents("active", 2027)) == 1
    assert 3 in YearEvents("active", 2026).next()


def test_event_names_and_deletes():
    mark_event("active", 1, now=NOW)
    mark_event("song:played", 1, now=NOW)
    mark_event("user_signup", 1, now=NOW, track_unique=True)
    len(DayEvents("active", 2026, 3, 14) & DayEvents("song:played", 2026, 3, 14))
    assert sorted(get_event_names()) == ["active", "song:played", "user_signup"]
    assert sorted(get_event_names(prefix="s")) == ["song:played"]
    DayEvents("active", 2026, 3, 14).delete()
    assert len(DayEvents("active", 2026, 3, 14)) == 0
    assert len(MonthEvents("active", 2026, 3)) == 1
    delete_temporary_bitop_keys()
    delete_runtime_bitop_keys()
    delete_all_events()
    assert get_event_names() == []
    assert len(MonthEvents("song:played", 2026, 3)) == 0


def test_mark_events_bulk_equals_one_by_one(client):
    rows = [
        ("active", uid, NOW + timedelta(days=uid % 40, hours=uid % 24)) for uid in range(0, 5000, 3)
    ]
    rows += [("song:played", uid, NOW) for uid in range(100)]
    assert mark_events(rows, track_hourly=True) == len(rows)
    expected: dict[str, set[int]] = {}
    for name, uid, when in rows:
        for events in (
            MonthEvents.from_date(name, when),
            WeekEvents.from_date(name, when),
            DayEvents.from_date(name, when),
            HourEvents.from_date(name, when),
        ):
            expected.setdefault(events.redis_key, set()).add(uid)
    for key, ids in expected.items():
        assert sorted(client.store.ids(bitmapist.expressions.Key(key))) == sorted(ids), key


def test_mark_events_accepts_dates_and_none():
    assert mark_events([("a", 1, date(2026, 3, 14)), ("a", 2, None)]) == 2
    assert 1 in DayEvents("a", 2026, 3, 14)
    assert 2 in DayEvents("a")
    assert mark_events([]) == 0


def test_events_are_value_objects():
    assert MonthEvents("active", 2026, 3) == MonthEvents("active", 2026, 3)
    assert MonthEvents("active", 2026, 3) != MonthEvents("active", 2026, 4)
    assert len({MonthEvents("active", 2026, 3), MonthEvents("active", 2026, 3)}) == 1
    assert MonthEvents("active", 2026, 3) != "trackist_active_2026-3"
    assert repr(DayEvents("active", 2026, 3, 14)) == "DayEvents('active', 2026, 3, 14)"
    assert MonthEvents("active", 2026, 3).system == "default"
