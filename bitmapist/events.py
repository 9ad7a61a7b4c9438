"""Event objects: an event name over a period, bound to a system.

These are value objects, as in bitmapist 3.x: building one touches no store. Queries
(`len`, `in`, iteration, ...) hand the object's expression to its system's client.
Bit operations live in `bitmapist.operations` (re-exported here).
"""

from __future__ import annotations

import calendar
import types
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput
from .expressions import Expr, Key, Op
from .mixins import EventsBase, _client_of
from .operations import (
    BitOpAnd,
    BitOperation,
    BitOpNot,
    BitOpOr,
    BitOpXor,
    op_expression,
    snapshot_taken,
)
from .periods import (
    PeriodBound,
    add_month,
    calendar_math,
    iso_to_gregorian,
    not_none,
    now_in,
    period_field,
    to_calendar,
)
from .validation import check_event_name

if TYPE_CHECKING:
    pass

__all__ = [
    "BINDABLE_CLASSES",
    "BitOpAnd",
    "BitOperation",
    "BitOpNot",
    "BitOpOr",
    "BitOpXor",
    "DayEvents",
    "EventsBase",
    "GenericPeriodEvents",
    "HourEvents",
    "MonthEvents",
    "UniqueEvents",
    "WeekEvents",
    "YearEvents",
]


class _FromDate:
    """`from_date` that works on the class (3.x) and on an instance (the README's slip).

    `MonthEvents.from_date("active", dt)` builds a new event; `ev.from_date(dt)` gives the
    same event (name and system) for the period containing `dt`.
    """

    def __init__(self, build: Any):
        self.build = build
        self.__doc__ = build.__doc__

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return types.MethodType(self.build, owner)

        def from_date(*args: Any, **kwargs: Any) -> Any:
            if args and (isinstance(args[0], str) or args[0] is None) or "event_name" in kwargs:
                return self.build(owner, *args, **kwargs)  # called like the classmethod
            kwargs.setdefault("system", instance.system)
            return self.build(owner, instance.event_name, *args, **kwargs)

        return from_date


class UniqueEvents(EventsBase):
    """Ids flagged for `event_name` regardless of date (user properties, A/B groups)."""

    def __init__(self, event_name: str, system: Any = "default"):
        self.event_name = check_event_name(event_name)
        self.system = self._resolve_system(system)

    def _from_date(cls, event_name: str, dt: Any = None, system: Any = "default") -> UniqueEvents:
        return cls(event_name, system=system)

    from_date = _FromDate(_from_date)

    @property
    def expression(self) -> Expr:
        return Key(self.client.keys.unique(self.event_name))

    def next(self) -> UniqueEvents:
        return self

    def prev(self) -> UniqueEvents:
        return self

    def delta(self, value: int) -> UniqueEvents:
        return self

    def __repr__(self) -> str:
        return f"UniqueEvents({self.event_name!r})"


class GenericPeriodEvents(EventsBase):
    """An event over a calendar period. `event_name` may be None for a bare period,
    which can be navigated (`prev/next/delta`, `period_start/end`) but not queried."""

    def __init__(self, event_name: str | None, *, system: Any = "default"):
        self.event_name = None if event_name is None else check_event_name(event_name)
        self.system = self._resolve_system(system)

    def delta(self, value: int) -> GenericPeriodEvents:
        """The same event `value` periods later (earlier when negative)."""
        raise NotImplementedError

    def period_start(self) -> datetime:
        raise NotImplementedError

    def period_end(self) -> datetime:
        raise NotImplementedError

    def next(self) -> GenericPeriodEvents:
        """The same event in the following period."""
        return self.delta(1)

    def prev(self) -> GenericPeriodEvents:
        """The same event in the preceding period."""
        return self.delta(-1)

    def _now(self) -> datetime:
        return now_in(self.client.timezone)

    def _tz(self) -> Any:
        return self.client.timezone

    def _event(self) -> str:
        if self.event_name is None:
            raise InvalidInput(
                f"{self!r} has no event name: it can only navigate periods; "
                "give an event name to count, test or list ids"
            )
        return self.event_name

    def _fields(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(repr(v) for v in (self.event_name, *self._fields()))
        return f"{type(self).__name__}({args})"


def _date_of(cls: type, system: Any, dt: Any) -> Any:
    """`dt` in the calendar of `system`'s client (now when None)."""
    tz = _client_of(cls._resolve_system(system)).timezone
    return now_in(tz) if dt is None else to_calendar(dt, tz)


class YearEvents(GenericPeriodEvents):
    """Events for a year: the union of its twelve months (3.x key: their BITOP OR).

    With snapshot bit operations (`Bitmapist(snapshot_bitops=True)`), it is computed when
    built and kept under that key, as 3.x did.
    """

    def __init__(
        self, event_name: str | None = None, year: int | None = None, system: Any = "default"
    ):
        super().__init__(event_name, system=system)
        if isinstance(year, date):  # YearEvents("active", dt), like the README's MonthEvent slip
            year = _date_of(type(self), system, year).year
        self.year = period_field("year", year) if year is not None else self._now().year
        self._snapshot = self.event_name is not None and snapshot_taken(self._client(), self)

    def _from_date(
        cls, event_name: str | None, dt: Any = None, system: Any = "default"
    ) -> YearEvents:
        return cls(event_name, _date_of(cls, system, dt).year, system=system)

    from_date = _FromDate(_from_date)

    @property
    def expression(self) -> Expr:
        op = self._op()
        return Key(op.name) if self._snapshot else op

    def _op(self) -> Op:
        months = [MonthEvents(self._event(), self.year, m, self.system) for m in range(1, 13)]
        return op_expression(self._client(), "OR", months)

    def delta(self, value: int) -> YearEvents:
        value = period_field("delta", value)
        return type(self)(self.event_name, self.year + value, self.system)

    def period_start(self) -> datetime:
        return calendar_math(
            f"the start of {self!r}", lambda: PeriodBound(self.year, 1, 1, tzinfo=self._tz())
        )

    def period_end(self) -> datetime:
        return calendar_math(
            f"the end of {self!r}",
            lambda: PeriodBound(self.year, 12, 31, 23, 59, 59, 999999, tzinfo=self._tz()),
        )

    def _fields(self) -> tuple[Any, ...]:
        return (self.year,)


class MonthEvents(GenericPeriodEvents):
    """Events for a month, e.g. `MonthEvents("active", 2026, 11)`."""

    def __init__(
        self,
        event_name: str | None = None,
        year: int | None = None,
        month: int | None = None,
        system: Any = "default",
    ):
        super().__init__(event_name, system=system)
        if isinstance(year, date):  # MonthEvent("active", dt) in the 3.x README
            dt = _date_of(type(self), system, year)
            year, month = dt.year, dt.month
        if year is None or month is None:
            now = self._now()
            year, month = not_none(year, now.year), not_none(month, now.month)
        self.year = period_field("year", year)
        self.month = period_field("month", month)

    def _from_date(
        cls, event_name: str | None, dt: Any = None, system: Any = "default"
    ) -> MonthEvents:
        dt = _date_of(cls, system, dt)
        return cls(event_name, dt.year, dt.month, system=system)

    from_date = _FromDate(_from_date)

    @property
    def expression(self) -> Expr:
        return Key(self.client.keys.month(self._event(), self.year, self.month))

    def delta(self, value: int) -> MonthEvents:
        value = period_field("delta", value)
        year, month = add_month(self.year, self.month, value)
        return type(self)(self.event_name, year, month, self.system)

    def period_start(self) -> datetime:
        return calendar_math(
            f"the start of {self!r}",
            lambda: PeriodBound(self.year, self.month, 1, tzinfo=self._tz()),
        )

    def period_end(self) -> datetime:
        def end() -> datetime:
            last_day = calendar.monthrange(self.year, self.month)[1]
            return PeriodBound(
                self.year, self.month, last_day, 23, 59, 59, 999999, tzinfo=self._tz()
            )

        return calendar_math(f"the end of {self!r}", end)

    def _fields(self) -> tuple[Any, ...]:
        return (self.year, self.month)


class WeekEvents(GenericPeriodEvents):
    """Events for an ISO week, e.g. `WeekEvents("active", 2026, 48)` (ISO year and week)."""

    def __init__(
        self,
        event_name: str | None = None,
        year: int | None = None,
        week: int | None = None,
        system: Any = "default",
    ):
        super().__init__(event_name, system=system)
        if isinstance(year, date):
            year, week, _ = _date_of(type(self), system, year).isocalendar()
        if year is None or week is None:
            now_year, now_week, _ = self._now().isocalendar()
            year, week = not_none(year, now_year), not_none(week, now_week)
        self.year = period_field("year", year)
        self.week = period_field("week", week)

    def _from_date(
        cls, event_name: str | None, dt: Any = None, system: Any = "default"
    ) -> WeekEvents:
        iso_year, iso_week, _ = _date_of(cls, system, dt).isocalendar()
        return cls(event_name, iso_year, iso_week, system=system)

    from_date = _FromDate(_from_date)

    @property
    def expression(self) -> Expr:
        return Key(self.client.keys.week(self._event(), self.year, self.week))

    def delta(self, value: int) -> WeekEvents:
        value = period_field("delta", value)
        # 3.x's arithmetic: week 53 of a 52-week year is week 1 of the next, and so on
        monday = calendar_math(
            f"{self!r} + {value} weeks", lambda: iso_to_gregorian(self.year, self.week + value, 1)
        )
        iso_year, iso_week, _ = monday.isocalendar()
        return type(self)(self.event_name, iso_year, iso_week, self.system)

    def period_start(self) -> datetime:
        start = calendar_math(
            f"the start of {self!r}", lambda: iso_to_gregorian(self.year, self.week, 1)
        )
        return PeriodBound(start.year, start.month, start.day, tzinfo=self._tz())

    def period_end(self) -> datetime:
        end = calendar_math(
            f"the end of {self!r}", lambda: iso_to_gregorian(self.year, self.week, 7)
        )
        return PeriodBound(end.year, end.month, end.day, 23, 59, 59, 999999, tzinfo=self._tz())

    def _fields(self) -> tuple[Any, ...]:
        return (self.year, self.week)


class DayEvents(GenericPeriodEvents):
    """Events for a day, e.g. `DayEvents("active", 2026, 11, 28)`."""

    def __init__(
        self,
        event_name: str | None = None,
        year: int | None = None,
        month: int | None = None,
        day: int | None = None,
        system: Any = "default",
    ):
        super().__init__(event_name, system=system)
        if isinstance(year, date):
            dt = _date_of(type(self), system, year)
            year, month, day = dt.year, dt.month, dt.day
        if None in (year, month, day):
            now = self._now()
            year, month = not_none(year, now.year), not_none(month, now.month)
            day = not_none(day, now.day)
        self.year = period_field("year", year)
        self.month = period_field("month", month)
        self.day = period_field("day", day)

    def _from_date(
        cls, event_name: str | None, dt: Any = None, system: Any = "default"
    ) -> DayEvents:
        dt = _date_of(cls, system, dt)
        return cls(event_name, dt.year, dt.month, dt.day, system=system)

    from_date = _FromDate(_from_date)

    @property
    def expression(self) -> Expr:
        return Key(self.client.keys.day(self._event(), self.year, self.month, self.day))

    def delta(self, value: int) -> DayEvents:
        value = period_field("delta", value)
        dt = calendar_math(
            f"{self!r} + {value} days",
            lambda: date(self.year, self.month, self.day) + timedelta(days=value),
        )
        return type(self)(self.event_name, dt.year, dt.month, dt.day, self.system)

    def period_start(self) -> datetime:
        return calendar_math(
            f"the start of {self!r}",
            lambda: PeriodBound(self.year, self.month, self.day, tzinfo=self._tz()),
        )

    def period_end(self) -> datetime:
        return calendar_math(
            f"the end of {self!r}",
            lambda: PeriodBound(
                self.year, self.month, self.day, 23, 59, 59, 999999, tzinfo=self._tz()
            ),
        )

    def _fields(self) -> tuple[Any, ...]:
        return (self.year, self.month, self.day)


class HourEvents(GenericPeriodEvents):
    """Events for an hour, e.g. `HourEvents("active", 2026, 11, 28, 13)`."""

    def __init__(
        self,
        event_name: str | None = None,
        year: int | None = None,
        month: int | None = None,
        day: int | None = None,
        hour: int | None = None,
        system: Any = "default",
    ):
        super().__init__(event_name, system=system)
        if isinstance(year, date):
            dt = _date_of(type(self), system, year)
            year, month, day, hour = dt.year, dt.month, dt.day, getattr(dt, "hour", 0)
        if None in (year, month, day, hour):
            now = self._now()
            year, month = not_none(year, now.year), not_none(month, now.month)
            day, hour = not_none(day, now.day), not_none(hour, now.hour)
        self.year = period_field("year", year)
        self.month = period_field("month", month)
        self.day = period_field("day", day)
        self.hour = period_field("hour", hour)

    def _from_date(
        cls, event_name: str | None, dt: Any = None, system: Any = "default"
    ) -> HourEvents:
        dt = _date_of(cls, system, dt)
        return cls(event_name, dt.year, dt.month, dt.day, getattr(dt, "hour", 0), system=system)

    from_date = _FromDate(_from_date)

    @property
    def expression(self) -> Expr:
        keys = self.client.keys
        return Key(keys.hour(self._event(), self.year, self.month, self.day, self.hour))

    def delta(self, value: int) -> HourEvents:
        value = period_field("delta", value)
        dt = calendar_math(
            f"{self!r} + {value} hours",
            lambda: datetime(self.year, self.month, self.day, self.hour) + timedelta(hours=value),
        )
        return type(self)(self.event_name, dt.year, dt.month, dt.day, dt.hour, self.system)

    def period_start(self) -> datetime:
        return calendar_math(
            f"the start of {self!r}",
            lambda: PeriodBound(self.year, self.month, self.day, self.hour, tzinfo=self._tz()),
        )

    def period_end(self) -> datetime:
        return calendar_math(
            f"the end of {self!r}",
            lambda: PeriodBound(
                self.year, self.month, self.day, self.hour, 59, 59, 999999, tzinfo=self._tz()
            ),
        )

    def _fields(self) -> tuple[Any, ...]:
        return (self.year, self.month, self.day, self.hour)


#: Classes a `Bitmapist` client offers bound to itself (`client.MonthEvents(...)`).
BINDABLE_CLASSES: dict[str, type[EventsBase]] = {
    cls.__name__: cls
    for cls in (
        YearEvents,
        MonthEvents,
        WeekEvents,
        DayEvents,
        HourEvents,
        UniqueEvents,
        BitOperation,
        BitOpAnd,
        BitOpOr,
        BitOpXor,
        BitOpNot,
    )
}
