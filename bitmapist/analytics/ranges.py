"""Date ranges: the users who did X at any time between two moments, and rolling DAU/WAU/MAU.

`DateRange("active", start, end)` is the union of the fewest stored bitmaps that exactly
cover the range: hours at the ragged edges, whole months inside, ISO weeks and days for the
rest (Bitter's `bitDateRange`). It behaves like any event object (`len`, `in`, iteration,
`&`/`|` with other events) and is counted on roaring bitmaps in this process, so Redis runs
no BITOP for it and keeps no temporary key.

Ranges that do not start and end at midnight need hourly bitmaps (`track_hourly=True`
when marking); hours that were not tracked count as nobody.

Example::

    from datetime import datetime
    from bitmapist import DateRange, active_users

    trial = DateRange("active", datetime(2026, 11, 3, 14), datetime(2026, 11, 28, 9))
    print(len(trial), 123 in trial, trial.parts)
    for day in active_users("active", start=date(2026, 11, 1), end=date(2026, 11, 28)):
        print(day.day, day.dau, day.wau, day.mau)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from pyroaring import BitMap

from ..errors import InvalidInput
from ..events import DayEvents, EventsBase, GenericPeriodEvents, HourEvents, MonthEvents, WeekEvents
from ..expressions import Expr, Op
from ..periods import add_month, now_in
from ..systems import get_client
from ..validation import check_event_name, check_int, check_uuid
from .reader import BitmapReader
from .specs import EventSpec, check_spec, period_expression
from .timeline import wall_clock

#: Longest range `active_users` reports on, in days (ten years).
MAX_DAYS = 3660


class DateRange(EventsBase):
    """Users who did `event_name` at any time from `start` up to `end`.

    A `datetime` is a moment: the range is [start, end), taken at hour granularity (an hour
    the range touches counts whole). A `date` names a whole day: as `end` it is included.
    Moments are read in the client's time zone (naive datetimes are UTC).
    """

    def __init__(
        self,
        event_name: str,
        start: date | datetime,
        end: date | datetime,
        system: Any = "default",
    ):
        self.event_name = check_event_name(event_name)
        self.system = self._resolve_system(system)

        tz = self.client.timezone
        self.start = wall_clock(start, tz)
        self.end = wall_clock(end, tz)
        if not isinstance(end, datetime):
            self.end += timedelta(days=1)  # an end date is included whole
        if self.end <= self.start:
            raise InvalidInput(
                f"date range end {end!r} is not after its start {start!r}: "
                "expected start < end (or start <= end for dates)"
            )
        self.parts: list[GenericPeriodEvents] = [
            _event(kind, moment, self.event_name, self.system)
            for kind, moment in cover(self.start, self.end)
        ]

    @property
    def expression(self) -> Expr:
        exprs = tuple(part.expression for part in self.parts)
        if len(exprs) == 1:
            return exprs[0]
        return Op("OR", exprs, self.client.keys.bitop("OR", (e.name for e in exprs)))

    def bitmap(self) -> BitMap:
        """The users in the range, as a roaring bitmap (computed locally, no BITOP)."""

        return BitmapReader(self.client.store).bitmap(self.expression).copy()

    def get_count(self) -> int:
        return len(self.bitmap())

    def __contains__(self, uuid: Any) -> bool:
        return check_uuid(uuid) in self.bitmap()

    def get_uuids(self) -> Iterator[int]:
        return iter(self.bitmap())

    def has_events_marked(self) -> bool:
        return bool(self.bitmap())

    def delete(self) -> None:
        """Ranges store nothing of their own: deleting one is an error, not a silent no-op."""
        raise InvalidInput(
            f"{self!r} is a view over stored bitmaps; delete the events themselves instead"
        )

    def __repr__(self) -> str:
        return f"DateRange({self.event_name!r}, {self.start.isoformat()}, {self.end.isoformat()})"


class ActiveUsers(NamedTuple):
    """Active users on `day` and in the rolling windows ending with it."""

    day: date
    dau: int
    wau: int
    mau: int

    @property
    def stickiness(self) -> float | None:
        """DAU / MAU (None when nobody was active in the month window)."""
        return self.dau / self.mau if self.mau else None


def active_users(
    event_name: EventSpec = "active",
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    system: Any = "default",
    *,
    wau_days: int = 7,
    mau_days: int = 30,
) -> list[ActiveUsers]:
    """Rolling DAU / WAU / MAU for each day from `start` to `end` (both included).

    WAU is the number of distinct users in the `wau_days` days ending with the day, MAU in
    the `mau_days` days (rolling windows, not calendar weeks or months). Defaults: the 30
    days ending today (in the client's time zone). Each day bitmap is read once.

    `event_name` is an event name (or one set up with `set_custom_handler`) or an event
    object such as `DayEvents("active") & UniqueEvents("premium")`: its period events are
    moved to each day, `UniqueEvents` stay as they are (as in `trends`).
    """

    spec = check_spec(event_name, "event")
    check_int("wau_days", wau_days, 1, 366)
    check_int("mau_days", mau_days, 1, 366)
    client = get_client(system)
    tz = client.timezone
    last = (wall_clock(end, tz) if end is not None else wall_clock(now_in(tz), tz)).date()
    first = wall_clock(start, tz).date() if start is not None else last - timedelta(days=29)
    days = (last - first).days + 1
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(
            f"active_users range {first}..{last} spans {days} days: expected 1 to {MAX_DAYS} "
            "(start on or before end)"
        )
    window = max(wau_days, mau_days)
    history = [first - timedelta(days=window - 1 - i) for i in range(days + window - 1)]
    exprs = [period_expression(spec, "day", d, client, client.keys) for d in history]
    reader = BitmapReader(client.store)
    reader.prefetch(exprs)
    bitmaps = [reader.bitmap(expr) for expr in exprs]
    result = []
    for i in range(window - 1, len(history)):
        result.append(
            ActiveUsers(
                history[i],
                len(bitmaps[i]),
                len(BitMap.union(*bitmaps[i - wau_days + 1 : i + 1])),
                len(BitMap.union(*bitmaps[i - mau_days + 1 : i + 1])),
            )
        )
    return result


def cover(start: datetime, end: datetime) -> list[tuple[str, datetime]]:
    """The fewest (period kind, period start) pairs whose union is exactly [start, end).

    Wall-clock naive datetimes; `start` is floored and `end` raised to whole hours. Whole
    months come first, then ISO weeks inside the range (they may overlap a month: unions
    do not mind), then days, and hours only at the ragged edges.
    """
    start = start.replace(minute=0, second=0, microsecond=0)
    if end.minute or end.second or end.microsecond:
        end = end.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    first_day = _midnight(start) if start == _midnight(start) else _midnight(start) + timedelta(1)
    last_day = _midnight(end)  # exclusive
    if first_day >= last_day:
        return _hours(start, end)
    return _hours(start, first_day) + _days(first_day, last_day) + _hours(last_day, end)


def _midnight(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, moment.day)


def _hours(start: datetime, end: datetime) -> list[tuple[str, datetime]]:
    count = int((end - start).total_seconds() // 3600)
    return [("hour", start + timedelta(hours=h)) for h in range(count)]


def _days(start: datetime, end: datetime) -> list[tuple[str, datetime]]:
    """Whole days [start, end) as months, then weeks, then days."""
    parts: list[tuple[str, datetime]] = []
    covered: set[datetime] = set()
    month = start if start.day == 1 else datetime(*add_month(start.year, start.month, 1), 1)
    while True:
        following = datetime(*add_month(month.year, month.month, 1), 1)
        if following > end:
            break
        parts.append(("month", month))
        covered.update(_each_day(month, following))
        month = following
    day = start
    while day < end:
        if day not in covered:
            monday = day - timedelta(days=day.weekday())
            sunday_end = monday + timedelta(days=7)
            if monday >= start and sunday_end <= end:
                parts.append(("week", monday))
                covered.update(_each_day(monday, sunday_end))
            else:
                parts.append(("day", day))
        day += timedelta(days=1)
    return sorted(parts, key=lambda part: part[1])


def _each_day(start: datetime, end: datetime) -> Iterator[datetime]:
    day = start
    while day < end:
        yield day
        day += timedelta(days=1)


def _event(kind: str, moment: datetime, event_name: str, system: Any) -> GenericPeriodEvents:
    if kind == "hour":
        return HourEvents(event_name, moment.year, moment.month, moment.day, moment.hour, system)
    if kind == "day":
        return DayEvents(event_name, moment.year, moment.month, moment.day, system)
    if kind == "week":
        iso_year, iso_week, _ = moment.isocalendar()
        return WeekEvents(event_name, iso_year, iso_week, system)
    return MonthEvents(event_name, moment.year, moment.month, system)
