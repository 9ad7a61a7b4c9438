"""Bad input raises before anything is written, naming the value and the allowed range."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bitmapist import (
    BitOpAnd,
    BitOperation,
    BitOpNot,
    DayEvents,
    HourEvents,
    InvalidInput,
    MonthEvents,
    WeekEvents,
    YearEvents,
    mark_event,
    mark_events,
    mark_unique,
)

pytestmark = pytest.mark.usefixtures("default_system")
NOW = datetime(2026, 3, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    ("uuid", "message"),
    [
        (-1, r"uuid -1 is out of range: user ids must be in \[0, 2\*\*32\)"),
        (2**32, r"uuid 4294967296 is out of range"),
        (True, r"uuid True is a bool"),
        ("-12", r"uuid '-12' is not a number: ids given as text must be ASCII digits"),
        (b"1 2", r"uuid b'1 2' is not a number"),
        ("4294967296", r"uuid '4294967296' is out of range"),
        (1.0, r"uuid 1.0 is a float"),
        (None, r"uuid None is a NoneType"),
    ],
)
def test_bad_uuids(uuid, message, client):
    with pytest.raises(InvalidInput, match=message):
        mark_event("active", uuid, now=NOW)
    with pytest.raises(InvalidInput, match=message):
        mark_unique("premium", uuid)
    with pytest.raises(InvalidInput, match=message):
        mark_events([("active", 1, NOW), ("active", uuid, NOW)])
    with pytest.raises(InvalidInput):
        uuid in MonthEvents("active", 2026, 3)  # noqa: B015
    assert list(client.store.scan_keys("*")) == []  # nothing written, not even the good row


def test_largest_uuid_is_accepted():
    MonthEvents("active", 2026, 3)  # building is free; marking 2**32-1 on Redis costs 512 MB
    assert 2**32 - 1 not in MonthEvents("nothing", 2026, 3)


@pytest.mark.parametrize(
    ("name", "message"), [("", "is empty"), (None, "is a NoneType"), (5, "is a int")]
)
def test_bad_event_names(name, message, client):
    with pytest.raises(InvalidInput, match=message):
        mark_event(name, 1, now=NOW)
    with pytest.raises(InvalidInput, match=message):
        mark_events([("ok", 1, NOW), (name, 1, NOW)])
    if name is not None:  # None is a bare period, for navigation
        with pytest.raises(InvalidInput, match=message):
            DayEvents(name, 2026, 1, 1)
    assert list(client.store.scan_keys("*")) == []


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: MonthEvents("a", 2026, 13), r"start of MonthEvents\('a', 2026, 13\): no such"),
        (lambda: DayEvents("a", 2026, 2, 29), r"start of DayEvents\('a', 2026, 2, 29\): no such"),
        (lambda: HourEvents("a", 2026, 1, 1, 24), r"start of HourEvents\('a', 2026, 1, 1, 24\)"),
        (lambda: YearEvents("a", 0), r"the start of YearEvents\('a', 0\): no such date"),
    ],
)
def test_impossible_periods_read_empty_and_have_no_bounds(build, message):
    # 3.x builds these (and reads their empty keys); only the calendar math raises
    assert len(build()) == 0
    with pytest.raises(InvalidInput, match=message):
        build().period_start()


def test_period_fields_must_be_integers():
    with pytest.raises(InvalidInput, match=r"year '2026' is a str: expected an integer"):
        MonthEvents("a", "2026", 1)
    with pytest.raises(InvalidInput, match=r"hour True is a bool"):
        HourEvents("a", 2026, 1, 1, True)


def test_iso_week_53_exists_in_long_years():
    assert WeekEvents("a", 2026, 53).redis_key == "trackist_a_W2026-53"


def test_bad_bit_operations():
    a = DayEvents("a", 2026, 1, 1)
    with pytest.raises(InvalidInput, match="exactly one"):
        BitOpNot(a, a)
    with pytest.raises(InvalidInput, match="at least one"):
        BitOpAnd("default")
    with pytest.raises(InvalidInput, match="'NAND' is unknown"):
        BitOperation("NAND", a)
    with pytest.raises(InvalidInput, match="not an event"):
        len(BitOpAnd(a, "trackist_a_2026-1-1"))


def test_bare_periods_cannot_be_queried():
    with pytest.raises(InvalidInput, match="has no event name"):
        len(MonthEvents())
    with pytest.raises(InvalidInput, match="has no event name"):
        list(MonthEvents().prev())


def test_malformed_bulk_rows():
    with pytest.raises(InvalidInput, match="event #2"):
        mark_events([("a", 1, NOW), ("a", 1)])
