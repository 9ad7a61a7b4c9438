"""Period arithmetic, keys and `from_date` (no store needed beyond the default system)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from bitmapist import (
    DailyEvents,
    DayEvents,
    HourEvents,
    MonthEvent,
    MonthEvents,
    WeekEvents,
    YearEvents,
    add_month,
    iso_to_gregorian,
    iso_year_start,
    not_none,
)

pytestmark = pytest.mark.usefixtures("default_system")
UTC = UTC


def test_keys_match_bitmapist_3x():
    assert MonthEvents("active", 2026, 1).redis_key == "trackist_active_2026-1"
    assert WeekEvents("active", 2026, 3).redis_key == "trackist_active_W2026-3"
    assert DayEvents("active", 2026, 1, 5).redis_key == "trackist_active_2026-1-5"
    assert HourEvents("active", 2026, 1, 5, 0).redis_key == "trackist_active_2026-1-5-0"


def test_from_date_uses_iso_weeks():
    dt = datetime(2027, 1, 1, 12, tzinfo=UTC)  # a Friday in ISO week 2026-W53
    week = WeekEvents.from_date("active", dt)
    assert (week.year, week.week) == (2026, 53)
    assert week.next().redis_key == "trackist_active_W2027-1"
    assert week.prev().redis_key == "trackist_active_W2026-52"
    assert week.period_start() == datetime(2026, 12, 28, tzinfo=UTC)
    assert week.period_end() == datetime(2027, 1, 3, 23, 59, 59, 999999, tzinfo=UTC)


def test_navigation_crosses_boundaries():
    month = MonthEvents("active", 2026, 1)
    assert month.prev().redis_key == "trackist_active_2025-12"
    assert month.delta(-12).redis_key == "trackist_active_2025-1"
    assert month.delta(23).redis_key == "trackist_active_2027-12"
    day = DayEvents("active", 2024, 2, 28)
    assert day.next().redis_key == "trackist_active_2024-2-29"
    assert day.delta(2).redis_key == "trackist_active_2024-3-1"
    hour = HourEvents("active", 2026, 12, 31, 23)
    assert hour.next().redis_key == "trackist_active_2027-1-1-0"
    assert YearEvents("active", 2026).delta(-1).year == 2025


def test_period_bounds():
    month = MonthEvents("active", 2024, 2)
    assert month.period_start() == datetime(2024, 2, 1, tzinfo=UTC)
    assert month.period_end() == datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)
    hour = HourEvents("a", 2026, 3, 14, 15)
    assert hour.period_end() - hour.period_start() == timedelta(
        minutes=59, seconds=59, microseconds=999999
    )
    year = YearEvents("a", 2026)
    assert (year.period_start().year, year.period_end().month) == (2026, 12)


def test_defaults_are_the_current_utc_period():
    now = datetime.now(tz=UTC)
    assert MonthEvents("active") == MonthEvents("active", now.year, now.month)
    assert MonthEvents("active").from_date(now) == MonthEvents("active", now.year, now.month)
    assert DayEvents("active") == DayEvents.from_date("active", now)
    iso_year, iso_week, _ = now.isocalendar()
    assert WeekEvents("active") == WeekEvents("active", iso_year, iso_week)


def test_readme_slips_work():
    dt = datetime(2026, 3, 14, tzinfo=UTC)
    assert MonthEvent("active", dt) == MonthEvents("active", 2026, 3)
    assert DailyEvents is DayEvents
    assert DayEvents("active", date(2026, 3, 14)) == DayEvents("active", 2026, 3, 14)
    bare = MonthEvents()
    assert bare.prev().month in range(1, 13)
    assert bare.from_date(dt).month == 3


def test_instance_from_date_keeps_name_and_system():
    ev = DayEvents("signup", 2020, 1, 1)
    moved = ev.from_date(datetime(2026, 3, 14, tzinfo=UTC))
    assert moved == DayEvents("signup", 2026, 3, 14)
    assert moved.system == ev.system
    # called like the classmethod on an instance still works as in 3.x
    assert ev.from_date("other", datetime(2026, 3, 14, tzinfo=UTC)).event_name == "other"


def test_naive_datetimes_are_utc():
    naive = datetime(2026, 3, 14, 23, 30)
    assert DayEvents.from_date("a", naive) == DayEvents("a", 2026, 3, 14)
    plus_two = timezone(timedelta(hours=2))
    assert DayEvents.from_date("a", datetime(2026, 3, 15, 1, 30, tzinfo=plus_two)) == DayEvents(
        "a", 2026, 3, 14
    )


def test_helpers_keep_their_3x_behaviour():
    assert add_month(2026, 12, 1) == (2027, 1)
    assert add_month(2026, 1, -1) == (2025, 12)
    assert add_month(2026, 5, -17) == (2024, 12)
    assert not_none(None, 0, 1) == 0
    assert not_none(None) is None
    assert iso_year_start(2026) == date(2025, 12, 29)
    assert iso_to_gregorian(2026, 53, 5) == date(2027, 1, 1)
