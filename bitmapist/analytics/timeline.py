"""Calendar periods for tables: floor a moment to its period, step periods, label them.

Periods are handled as naive wall-clock datetimes in the client's time zone (the calendar
its keys are written in), so stepping by hours, days or months never trips over DST.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Literal

from ..errors import InvalidInput
from ..events import DayEvents, HourEvents, MonthEvents, WeekEvents, YearEvents
from ..periods import add_month, to_calendar

PeriodKind = Literal["hour", "day", "week", "month", "year"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("hour", "day", "week", "month", "year")


def check_kind(kind: Any) -> PeriodKind:
    """`kind` if it names a period, else `InvalidInput` listing the allowed ones."""
    if kind not in PERIOD_KINDS:
        raise InvalidInput(f"period {kind!r} is unknown: expected one of {PERIOD_KINDS}")
    return kind


def wall_clock(moment: date | datetime, tz: tzinfo) -> datetime:
    """`moment` as a naive datetime in the calendar of `tz` (a date is its midnight)."""
    if not isinstance(moment, (date, datetime)):
        raise InvalidInput(f"{moment!r} is a {type(moment).__name__}: expected a datetime or date")
    local = to_calendar(moment, tz)
    if isinstance(local, datetime):
        return local.replace(tzinfo=None)
    return datetime(local.year, local.month, local.day)


def floor(kind: PeriodKind, moment: datetime) -> datetime:
    """The start of the period of `kind` containing the wall-clock `moment`."""
    if kind == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = datetime(moment.year, moment.month, moment.day)
    if kind == "day":
        return day
    if kind == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if kind == "month":
        return day.replace(day=1)
    return datetime(moment.year, 1, 1)


def shift(kind: PeriodKind, start: datetime, periods: int) -> datetime:
    """The start of the period `periods` after the one starting at `start`."""
    if kind == "hour":
        return start + timedelta(hours=periods)
    if kind == "day":
        return start + timedelta(days=periods)
    if kind == "week":
        return start + timedelta(weeks=periods)
    if kind == "month":
        year, month = add_month(start.year, start.month, periods)
        return start.replace(year=year, month=month)
    return start.replace(year=start.year + periods)


def event_args(kind: PeriodKind, moment: date | datetime, system: Any) -> tuple[type, tuple]:
    """The 3.x event class for `kind` and its constructor arguments after the event name,
    for the period containing `moment` (weeks are ISO weeks)."""
    if kind == "hour":
        hour = getattr(moment, "hour", 0)
        return HourEvents, (moment.year, moment.month, moment.day, hour, system)
    if kind == "day":
        return DayEvents, (moment.year, moment.month, moment.day, system)
    if kind == "week":
        iso_year, iso_week, _ = moment.isocalendar()
        return WeekEvents, (iso_year, iso_week, system)
    if kind == "month":
        return MonthEvents, (moment.year, moment.month, system)
    return YearEvents, (moment.year, system)


def label(kind: PeriodKind, start: datetime) -> str:
    """A short, sortable name for a period: 2026-11-28 13:00, 2026-11-28, 2026-W48, ..."""
    if kind == "hour":
        return start.strftime("%Y-%m-%d %H:00")
    if kind == "day":
        return start.strftime("%Y-%m-%d")
    if kind == "week":
        iso_year, iso_week, _ = start.isocalendar()
        return f"{iso_year}-W{iso_week:02d}"
    if kind == "month":
        return start.strftime("%Y-%m")
    return f"{start.year:04d}"


#: Periods a product question shows by default when no start is given (ending now).
DEFAULT_SPANS: dict[str, int] = {"hour": 24, "day": 30, "week": 12, "month": 12, "year": 5}
#: Most periods one product question reads over (a sanity bound: tables are read by people).
MAX_SPAN = 10_000


def span(
    kind: PeriodKind,
    start: date | datetime | None,
    end: date | datetime | None,
    now_wall: datetime,
    tz: tzinfo,
    default: int | None = None,
) -> list[datetime]:
    """The starts of the periods of `kind` from the one containing `start` to the one
    containing `end`, both included. `end` defaults to the current period; `start` to
    `default` periods (`DEFAULT_SPANS[kind]`) ending at `end`."""
    last = floor(kind, wall_clock(end, tz) if end is not None else now_wall)
    if start is None:
        count = DEFAULT_SPANS[kind] if default is None else default
        first = shift(kind, last, -(count - 1))
    else:
        first = floor(kind, wall_clock(start, tz))
    if first > last:
        until = "now" if end is None else f"end {end!r}"
        raise InvalidInput(f"start {start!r} is after {until}: expected start <= end")
    starts = [first]
    while starts[-1] < last:
        if len(starts) >= MAX_SPAN:
            raise InvalidInput(
                f"{start!r} to {end!r} spans more than {MAX_SPAN:,} {kind}s: "
                "expected a shorter range or a longer period"
            )
        starts.append(shift(kind, starts[-1], 1))
    return starts
