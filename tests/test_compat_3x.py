"""Ordinary bitmapist 3.x code runs unchanged (issue 13), on every store kind.

Each test is written the way 3.x code is (module-level API, system "default"), not from
this package's internals.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from numbers import Integral

import numpy  # a test dependency (pandas brings it): ids as data pipelines pass them
import pytest

import bitmapist
from bitmapist import (
    BitOpAnd,
    DayEvents,
    HourEvents,
    InvalidInput,
    MixinBitOperations,
    MixinContains,
    MixinCounts,
    MixinEventsMisc,
    MixinIter,
    MonthEvents,
    UniqueEvents,
    WeekEvents,
    YearEvents,
    _prefix_key,
    mark_event,
    mark_events,
    mark_unique,
)

from .conftest import STORE_KINDS, make_store

pytestmark = pytest.mark.usefixtures("default_system")


@pytest.fixture(params=[*STORE_KINDS, "memory"])
def store(request):
    """Every store kind of the suite, and the in-memory one (`memory://`)."""
    if request.param == "memory":
        store = bitmapist.open_store("memory://")
    else:
        store = make_store(request.param, request)
    yield store
    store.close()


# 1-10 January 2027 follow 2026, a 53-week ISO year: now.isocalendar()[1] is 53 there.
JAN_2027 = datetime(2027, 1, 4, 0, 30, tzinfo=UTC)


# --- 1. and 2.: reads follow 3.x's key arithmetic


def test_week_53_of_the_calendar_year_reads_an_empty_key():
    now = datetime(2027, 1, 2, 12, tzinfo=UTC)  # ISO 2026-W53, calendar year 2027
    mark_event("active", 1, now=now)
    ev = WeekEvents("active", now.year, now.isocalendar()[1])  # the 3.x idiom
    assert ev.redis_key == "trackist_active_W2027-53"
    assert len(ev) == 0 and 1 not in ev and list(ev) == []
    assert 1 in WeekEvents("active", *now.isocalendar()[:2])  # the right one has it
    # navigation follows 3.x too: week 53 of 2027 (a 52-week year) is 2028's week 1
    assert (ev.next().year, ev.next().week) == (2028, 2)
    assert ev.period_start().date() == date(2028, 1, 3)


def test_previous_hour_at_midnight_reads_an_empty_key():
    mark_event("active", 123, now=JAN_2027, track_hourly=True)
    now = JAN_2027
    ev = HourEvents("active", now.year, now.month, now.day, now.hour - 1)
    assert ev.redis_key == "trackist_active_2027-1-4--1"
    assert 123 not in ev and len(ev) == 0
    assert 123 in HourEvents("active", now.year, now.month, now.day, now.hour)


@pytest.mark.parametrize(
    ("build", "key"),
    [
        (lambda: DayEvents("active", 2026, 2, 30), "trackist_active_2026-2-30"),
        (lambda: MonthEvents("active", 2026, 13), "trackist_active_2026-13"),
        (lambda: DayEvents("active", 2026, 1, 0), "trackist_active_2026-1-0"),
    ],
)
def test_impossible_periods_read_the_3x_key(build, key):
    mark_event("active", 7, now=datetime(2026, 2, 28, tzinfo=UTC))
    assert build().redis_key == key
    assert len(build()) == 0 and not build().has_events_marked()
    assert len(build() & DayEvents("active", 2026, 2, 28)) == 0


def test_calendar_errors_name_the_period():
    with pytest.raises(InvalidInput, match=r"DayEvents\('a', 9999, 12, 31\) \+ 1 days"):
        DayEvents("a", 9999, 12, 31).next()
    with pytest.raises(OverflowError):  # the error 3.x raised there, still
        HourEvents("a", 1, 1, 1, 0).prev()
    with pytest.raises(InvalidInput, match=r"DayEvents\('a', 2026, 2, 30\) \+ 1 days: no such"):
        DayEvents("a", 2026, 2, 30).next()


def test_writes_still_reject_impossible_input(client):
    for now in ("2026-11-28", 1764288000, None.__class__):
        with pytest.raises(InvalidInput, match="is a"):
            mark_event("active", 1, now=now)
    for edge in (
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
    ):
        with pytest.raises(InvalidInput, match="outside the calendar"):
            mark_event("active", 1, now=edge)
        with pytest.raises(InvalidInput, match="outside the calendar"):
            DayEvents.from_date("active", edge)
    with pytest.raises(InvalidInput, match="cannot be encoded as UTF-8"):
        mark_event("act\udcffive", 1)
    with pytest.raises(InvalidInput, match="cannot be encoded as UTF-8"):
        DayEvents("act\udcffive", 2026, 1, 1)
    assert list(client.store.scan_keys("*")) == []


# --- 3.: ids of every integer type, and text or bytes of digits


class _Int64(Integral):
    """An integer type that is not an int, as numpy.int64 is (numbers.Integral only)."""

    def __init__(self, value: int):
        self.value = value

    def __int__(self) -> int:
        return self.value

    __index__ = __int__

    def __repr__(self) -> str:
        return f"_Int64({self.value})"

    def _unused(self, *args: object) -> int:
        raise NotImplementedError

    __abs__ = __add__ = __and__ = __ceil__ = __eq__ = __floor__ = __floordiv__ = _unused
    __invert__ = __le__ = __lshift__ = __lt__ = __mod__ = __mul__ = __neg__ = _unused
    __or__ = __pos__ = __pow__ = __radd__ = __rand__ = __rfloordiv__ = __rlshift__ = _unused
    __rmod__ = __rmul__ = __ror__ = __round__ = __rpow__ = __rrshift__ = __rshift__ = _unused
    __rtruediv__ = __rxor__ = __truediv__ = __trunc__ = __xor__ = _unused
    __hash__ = object.__hash__


@pytest.mark.parametrize(
    "uuid",
    ["123", b"123", bytearray(b"123"), _Int64(123), "0123", numpy.int64(123), numpy.uint32(123)],
)
def test_ids_of_other_types_mark_and_find_the_same_bit(uuid):
    now = datetime(2026, 5, 5, tzinfo=UTC)
    mark_event("active", uuid, now=now)
    mark_unique("premium", uuid)
    mark_events([("signup", uuid, now)])
    ev = DayEvents("active", 2026, 5, 5)
    assert list(ev) == [123]
    assert uuid in ev and "123" in ev and b"123" in ev and 123 in ev
    assert list(UniqueEvents("premium")) == [123]
    assert list(DayEvents("signup", 2026, 5, 5)) == [123]


# --- 4.: 3.x's names, and classes built from its mixins


class CountryUsers(MixinIter, MixinCounts, MixinContains, MixinEventsMisc, MixinBitOperations):
    """An event class built the way 3.x's own UniqueEvents is."""

    def __init__(self, country: str, system: str = "default"):
        self.system = system
        self.redis_key = _prefix_key("country", country)


def test_classes_built_from_the_3x_mixins_work(default_system):
    default_system.store.set_bits([bitmapist.stores.BitChange("trackist_country_DE", (3, 5), True)])
    mark_event("active", 5, now=datetime(2026, 5, 5, tzinfo=UTC))
    german = CountryUsers("DE")
    assert german.redis_key == "trackist_country_DE"
    assert len(german) == 2 and german.get_count() == 2
    assert 3 in german and "5" in german and 4 not in german
    assert list(german) == [3, 5] and german.has_events_marked()
    active = DayEvents("active", 2026, 5, 5)
    assert list(german & active) == [5] and list(active & german) == [5]
    assert list(german | active) == [3, 5] and list(german ^ active) == [3]
    assert german == CountryUsers("DE") and len({german, CountryUsers("DE")}) == 1
    german.delete()
    assert len(german) == 0


class QuarterEvents(bitmapist.GenericPeriodEvents):
    """A period class written for 3.x: it sets redis_key in __init__, as 3.x asked."""

    def __init__(self, event_name, year, quarter, system="default"):
        super().__init__(event_name, system=system)
        self.year, self.quarter = year, quarter
        self.redis_key = _prefix_key(event_name, f"{year}-Q{quarter}")

    def delta(self, value):
        year, quarter = divmod(self.year * 4 + self.quarter - 1 + value, 4)
        return QuarterEvents(self.event_name, year, quarter + 1, self.system)

    def period_start(self):
        return datetime(self.year, 3 * self.quarter - 2, 1, tzinfo=UTC)

    def period_end(self):
        return self.next().period_start() - timedelta(microseconds=1)


def test_a_3x_subclass_of_generic_period_events_works(default_system):
    default_system.store.set_bits([bitmapist.stores.BitChange("trackist_a_2026-Q4", (9,), True)])
    q4 = QuarterEvents("a", 2026, 4)
    assert q4.redis_key == "trackist_a_2026-Q4" and list(q4) == [9] and 9 in q4
    assert q4.prev().redis_key == "trackist_a_2026-Q3" and len(q4.prev()) == 0
    assert len(q4 & MonthEvents("a", 2026, 12)) == 0 and len(q4 | YearEvents("a", 2026)) == 1


def test_weeks_events_fn_uses_the_iso_year():
    from bitmapist.cohort import _day_events_fn, _month_events_fn, _weeks_events_fn

    week = _weeks_events_fn("a", date(2024, 12, 30), "default")
    assert (week.year, week.week) == (2025, 1)
    assert _day_events_fn("a", date(2024, 12, 30), "default") == DayEvents("a", 2024, 12, 30)
    assert _month_events_fn("a", date(2024, 12, 30), "default") == MonthEvents("a", 2024, 12)


def test_bit_operations_still_compose_with_every_mixin_class():
    mark_event("a", 1, now=datetime(2026, 5, 5, tzinfo=UTC))
    both = BitOpAnd(DayEvents("a", 2026, 5, 5), CountryUsers("XX"))
    assert len(both) == 0 and len(~CountryUsers("XX") & DayEvents("a", 2026, 5, 5)) == 0


# --- 3.x snapshot bit operations (opt-in); the default stays lazy


@pytest.fixture
def snapshot_mode():
    bitmapist.SNAPSHOT_BITOPS = True
    yield
    bitmapist.SNAPSHOT_BITOPS = False


def _mark_tasks(*uuids: int) -> tuple[DayEvents, DayEvents]:
    now = datetime(2026, 5, 5, tzinfo=UTC)
    for uuid in uuids:
        mark_event("task1", uuid, now=now)
        mark_event("task2", uuid, now=now)
    return DayEvents("task1", 2026, 5, 5), DayEvents("task2", 2026, 5, 5)


@pytest.mark.usefixtures("snapshot_mode")
def test_snapshot_bit_operations_share_their_3x_key(default_system):
    both = BitOpAnd(*_mark_tasks(111, 222))  # upstream's test_bitop_key_sharing
    again = BitOpAnd(*_mark_tasks())
    assert both.redis_key == again.redis_key and len(both) == len(again) == 2
    _mark_tasks(333)
    assert len(both) == 2 and list(both) == [111, 222]  # computed when built
    assert len(BitOpAnd(*_mark_tasks())) == 3  # a new one sees the new marks
    both.delete()
    assert len(both) == len(again) == 0  # delete() empties every object of that key
    stored = list(default_system.store.scan_keys("trackist_bitop_*"))
    assert stored == [] or stored == [both.redis_key]
    bitmapist.delete_runtime_bitop_keys()
    assert list(default_system.store.scan_keys("trackist_bitop_*")) == []


@pytest.mark.usefixtures("snapshot_mode")
def test_snapshots_nest_and_year_events_are_snapshots_too(default_system):
    task1, task2 = _mark_tasks(1, 2)
    inner = task1 & task2
    outer = BitOpAnd(inner, task1)
    inner.delete()
    assert list(outer) == [1, 2]  # built from the inner snapshot, before it was deleted
    assert list(BitOpAnd(inner, task1)) == []  # 3.x: reads the (now empty) inner key
    year = YearEvents("task1", 2026)
    mark_event("task1", 9, now=datetime(2026, 6, 1, tzinfo=UTC))
    assert list(year) == [1, 2] and list(YearEvents("task1", 2026)) == [1, 2, 9]
    year.delete()
    assert len(year) == 0
    bitmapist.delete_runtime_bitop_keys()


def test_bit_operations_stay_lazy_by_default(default_system):
    both = BitOpAnd(*_mark_tasks(111, 222))
    assert list(default_system.store.scan_keys("trackist_bitop_*")) in ([], [both.redis_key])
    _mark_tasks(333)
    assert len(both) == 3  # always current
    both.delete()  # only a cached result: the operation still answers
    assert len(both) == 3


def test_the_client_option_overrides_the_module_setting(store):
    snapshots = bitmapist.Bitmapist(store, snapshot_bitops=True)
    lazy = bitmapist.Bitmapist(store, snapshot_bitops=False)
    now = datetime(2026, 5, 5, tzinfo=UTC)
    snapshots.mark_event("a", 1, now=now)
    frozen = snapshots.BitOpOr(snapshots.DayEvents("a", 2026, 5, 5))
    live = lazy.BitOpOr(lazy.DayEvents("a", 2026, 5, 5))
    snapshots.mark_event("a", 2, now=now)
    assert list(frozen) == [1] and list(live) == [1, 2]
    bitmapist.SNAPSHOT_BITOPS = True
    try:
        assert lazy.takes_snapshots() is False and bitmapist.Bitmapist(store).takes_snapshots()
    finally:
        bitmapist.SNAPSHOT_BITOPS = False
    snapshots.delete_runtime_bitop_keys()


def test_other_bad_api_input_is_invalid_input_naming_it(store):
    with pytest.raises(InvalidInput, match="events 5 is a int: expected an iterable"):
        mark_events(5)
    with pytest.raises(InvalidInput, match="delta '1' is a str: expected an integer"):
        DayEvents("a", 2026, 1, 1).delta("1")
    with pytest.raises(InvalidInput, match="delta None is a NoneType"):
        YearEvents("a", 2026).delta(None)
    with pytest.raises(InvalidInput, match="snapshot_bitops 'yes' must be True, False or None"):
        bitmapist.Bitmapist(store, snapshot_bitops="yes")
    with pytest.raises(InvalidInput, match="bitop_ttl '60' must be a number of seconds"):
        bitmapist.Bitmapist(store, bitop_ttl="60")
