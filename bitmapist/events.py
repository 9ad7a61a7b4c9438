"""Event objects: an event name over a period (or a bit operation), bound to a system.

These are value objects, as in bitmapist 3.x: building one touches no store. Queries
(`len`, `in`, iteration, ...) hand the object's expression to its system's client.
"""

from __future__ import annotations

import calendar
import types
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput
from .expressions import OP_NAMES, Expr, Key, Op, check_depth
from .mixins import (
    MixinBitOperations,
    MixinContains,
    MixinCounts,
    MixinEventsMisc,
    MixinIter,
    _client_of,
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
    from .client import Bitmapist


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


class EventsBase(MixinIter, MixinCounts, MixinContains, MixinEventsMisc, MixinBitOperations):
    """What every event and bit operation can answer. Subclasses provide `expression`.

    A subclass written for 3.x may instead set `self.redis_key` in its `__init__` (3.x's
    `GenericPeriodEvents` asked for that): it then reads the bitmap stored there.
    """

    #: Set on classes bound to a `Bitmapist` client (`client.MonthEvents`).
    _bound_system: Any = None
    system: Any

    @classmethod
    def _resolve_system(cls, system: Any) -> Any:
        if cls._bound_system is not None and isinstance(system, str) and system == "default":
            return cls._bound_system
        return system

    @property
    def client(self) -> Bitmapist:
        """The `Bitmapist` client of this object's system."""
        return _client_of(self.system)

    @property
    def expression(self) -> Expr:
        key = self.__dict__.get("_redis_key")
        if key is None:
            raise NotImplementedError(f"{type(self).__name__} sets no redis_key")
        return Key(key)

    @property
    def redis_key(self) -> str:
        """The key bitmapist 3.x stores (or, for bit operations, caches) this bitmap under."""
        return self.expression.name

    @redis_key.setter
    def redis_key(self, key: str) -> None:
        self.__dict__["_redis_key"] = key

    def _query(self) -> Expr:
        return self.expression

    def _client(self) -> Bitmapist:
        return _client_of(self.system)

    def bitmap(self) -> Any:
        """The marked ids as a `pyroaring.BitMap`."""
        return self._client().bitmap(self.expression)


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
        self._snapshot = self.event_name is not None and _snapshot_taken(self._client(), self)

    def _from_date(
        cls, event_name: str | None, dt: Any = None, system: Any = "default"
    ) -> YearEvents:
        return cls(event_name, _date_of(cls, system, dt).year, system=system)

    from_date = _FromDate(_from_date)

    @property
    def expression(self) -> Expr:
        op = self._months_or()
        return Key(op.name) if self._snapshot else op

    def _months_or(self) -> Op:
        months = [MonthEvents(self._event(), self.year, m, self.system) for m in range(1, 13)]
        return _op_expression(self._client(), "OR", months)

    def delta(self, value: int) -> YearEvents:
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
        now = self._now() if year is None or month is None else None
        self.year = period_field("year", not_none(year, now and now.year))
        self.month = period_field("month", not_none(month, now and now.month))

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
        now = self._now() if None in (year, month, day) else None
        self.year = period_field("year", not_none(year, now and now.year))
        self.month = period_field("month", not_none(month, now and now.month))
        self.day = period_field("day", not_none(day, now and now.day))

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
        now = self._now() if None in (year, month, day, hour) else None
        self.year = period_field("year", not_none(year, now and now.year))
        self.month = period_field("month", not_none(month, now and now.month))
        self.day = period_field("day", not_none(day, now and now.day))
        self.hour = period_field("hour", not_none(hour, now and now.hour))

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


def _expression_of(event: Any) -> Expr:
    expression = getattr(event, "expression", None)
    if expression is not None:
        return expression
    key = getattr(event, "redis_key", None)
    if not isinstance(key, str):
        raise InvalidInput(f"{event!r} is not an event: bit operations combine event objects")
    return Key(key)


def _op_expression(client: Bitmapist, op_name: str, events: Any) -> Op:
    operands = tuple(_expression_of(event) for event in events)
    return Op(op_name, operands, client.keys.bitop(op_name, (o.name for o in operands)))


def _snapshot_taken(client: Bitmapist, event: YearEvents | BitOperation) -> bool:
    """In snapshot mode, compute `event`'s bit operation now and store it under its key
    (3.x's semantics); returns whether it did. Otherwise nothing is computed yet."""
    if not client.takes_snapshots():
        return False
    client.store_snapshot(event._months_or() if isinstance(event, YearEvents) else event._op())
    return True


class BitOperation(EventsBase):
    """A bit operation over events or other operations: `BitOperation("AND", a, b)`.

    As in 3.x, the first argument may be a system (name, client) instead of an event;
    otherwise the operation runs on the first event's system. Nothing is computed until
    the operation is queried; on Redis its result is cached under `redis_key` for
    `bitop_ttl` seconds. With snapshot bit operations (`Bitmapist(snapshot_bitops=True)` or
    `bitmapist.SNAPSHOT_BITOPS = True`) it is computed when built and kept under
    `redis_key`, as in 3.x: queries read that snapshot, `delete()` empties it.
    """

    def __init__(self, op_name: str, system_or_event: Any, *events: Any):
        if op_name not in OP_NAMES:
            raise InvalidInput(f"bit operation {op_name!r} is unknown: expected one of {OP_NAMES}")
        if hasattr(system_or_event, "redis_key") or isinstance(system_or_event, EventsBase):
            events = (system_or_event, *events)
            system = getattr(system_or_event, "system", "default")
        else:
            system = system_or_event
        if not events:
            raise InvalidInput(f"BitOp{op_name.title()} needs at least one event")
        if op_name == "NOT" and len(events) != 1:
            raise InvalidInput(f"BitOpNot takes exactly one event, got {len(events)}")
        # a system named first (3.x's BitOpAnd("stats", a, b)) says where to read every key
        named = system is system_or_event
        self._depth = _check_operands(op_name, self._resolve_system(system), events, named)
        self.op_name = op_name
        self.events = events
        self.system = self._resolve_system(system)
        self._expression: Expr | None = None
        if _snapshot_taken(self._client(), self):
            self._expression = Key(self._op().name)

    def _op(self) -> Op:
        return _op_expression(self._client(), self.op_name, self.events)

    @property
    def expression(self) -> Expr:
        if self._expression is None:
            self._expression = self._op()
        return self._expression

    def __repr__(self) -> str:
        return f"BitOp{self.op_name.title()}({', '.join(repr(e) for e in self.events)})"


def _check_operands(op_name: str, system: Any, events: tuple[Any, ...], named: bool) -> int:
    """The nesting depth of a new operation over `events` (see `MAX_DEPTH`), after checking,
    unless its system was `named`, that every operand lives in the store of `system` (its
    first event's): the operation reads them all from there, so an operand from another
    store would silently read that store's key of the same name."""
    depth = 1 + max((getattr(event, "_depth", 0) for event in events), default=0)
    check_depth(depth)  # before anything walks the tree: its `expression` recurses
    store = None
    for event in events if not named else ():
        other = getattr(event, "system", system)
        if other is system:
            continue
        store = store or _client_of(system).store
        if not _same_data(store, _client_of(other).store):
            raise InvalidInput(
                f"BitOp{op_name.title()}: {event!r} is in another store than the first "
                "event, whose store the operation reads every operand from; combine events "
                "of one store, name the system to read from first (BitOpAnd(system, a, b)), "
                "or combine bitmaps in Python: a.bitmap() & b.bitmap()"
            )
    return depth


def _same_data(store: Any, other: Any) -> bool:
    """Whether two stores hold the same keys: one object, or Redis clients of one database
    (two 3.x systems set up for the same server, which 3.x combined correctly)."""
    if store is other:
        return True
    clients = store.redis_client(), other.redis_client()
    if None in clients:
        return False
    pools = [getattr(client, "connection_pool", None) for client in clients]
    places = [getattr(pool, "connection_kwargs", None) for pool in pools]
    if None in places:
        return False
    first, second = ([place.get(f) for f in ("host", "port", "path", "db")] for place in places)
    return first == second


class BitOpAnd(BitOperation):
    """Ids marked in every operand."""

    def __init__(self, system_or_event: Any, *events: Any):
        super().__init__("AND", system_or_event, *events)


class BitOpOr(BitOperation):
    """Ids marked in at least one operand."""

    def __init__(self, system_or_event: Any, *events: Any):
        super().__init__("OR", system_or_event, *events)


class BitOpXor(BitOperation):
    """Ids marked in an odd number of operands."""

    def __init__(self, system_or_event: Any, *events: Any):
        super().__init__("XOR", system_or_event, *events)


class BitOpNot(BitOperation):
    """Ids not marked in the operand, up to its stored length in whole bytes (Redis BITOP NOT)."""

    def __init__(self, system_or_event: Any, *events: Any):
        super().__init__("NOT", system_or_event, *events)


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
