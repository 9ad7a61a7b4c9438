"""Calendar arithmetic: months, ISO weeks, and turning datetimes into a calendar's fields.

The helpers `add_month`, `not_none`, `iso_year_start` and `iso_to_gregorian` keep the names
and behaviour they had in bitmapist 3.x.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from numbers import Integral
from typing import Any, TypeVar

from .errors import InvalidInput
from .validation import check_int, shown

T = TypeVar("T")


class OutOfCalendar(InvalidInput, OverflowError):
    """A moment or period beyond the calendar (years 1 to 9999). It is an `OverflowError`
    too, the error bitmapist 3.x raised there."""


def add_month(year: int, month: int, delta: int) -> tuple[int, int]:
    """Add `delta` months to `(year, month)` and return the new `(year, month)`."""
    year, month = divmod(year * 12 + month + delta, 12)
    if month == 0:
        month = 12
        year = year - 1
    return year, month


def not_none(*values: Any) -> Any:
    """Return the first value that is not None (None if there is none)."""
    for value in values:
        if value is not None:
            return value
    return None


def iso_year_start(iso_year: int) -> date:
    """The Gregorian date of the first day (Monday) of the given ISO year."""
    fourth_jan = date(iso_year, 1, 4)
    return fourth_jan - timedelta(fourth_jan.isoweekday() - 1)


def iso_to_gregorian(iso_year: int, iso_week: int, iso_day: int) -> date:
    """The Gregorian date for the given ISO year, week and weekday (1 = Monday)."""
    return iso_year_start(iso_year) + timedelta(days=iso_day - 1, weeks=iso_week - 1)


def iso_weeks_in_year(iso_year: int) -> int:
    """52 or 53: the number of ISO weeks in `iso_year` (Dec 28 is always in the last one)."""
    return date(iso_year, 12, 28).isocalendar()[1]


def period_field(name: str, value: Any) -> int:
    """`value` as an int if it is an integer (any `numbers.Integral` but bool), else
    `InvalidInput`. Its range is not checked: reads follow 3.x's key arithmetic, and a
    period that cannot exist (ISO week 53 of a 52-week year, hour -1) reads an empty key."""
    if type(value) is int:
        return value
    if isinstance(value, Integral) and not isinstance(value, bool):
        return int(value)
    raise InvalidInput(f"{name} {shown(value)} is a {type(value).__name__}: expected an integer")


def calendar_math(what: str, compute: Callable[[], T]) -> T:
    """`compute()`, with the calendar's errors turned into `InvalidInput` naming `what`.

    `datetime` raises ValueError for a day that does not exist and OverflowError past
    year 9999 or before year 1; 3.x let both through.
    """
    try:
        return compute()
    except OverflowError as exc:
        raise OutOfCalendar(f"{what} is outside the calendar (years 1 to 9999): {exc}") from None
    except ValueError as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(f"{what}: no such date ({exc})") from None


def check_year(year: Any) -> int:
    return check_int("year", year, 1, 9999)


def check_month(month: Any) -> int:
    return check_int("month", month, 1, 12)


def check_day(year: int, month: int, day: Any) -> int:
    last_day = calendar.monthrange(year, month)[1]
    return check_int("day", day, 1, last_day, f"in {year}-{month:02d}")


def check_hour(hour: Any) -> int:
    return check_int("hour", hour, 0, 23)


def check_iso_week(iso_year: int, week: Any) -> int:
    return check_int("ISO week", week, 1, iso_weeks_in_year(iso_year), f"in ISO year {iso_year}")


def check_period(kind: str, fields: list[int]) -> None:
    """Raise `InvalidInput` unless `fields` name a real period of `kind` ("year", "month",
    "week" (ISO year, week), "day" or "hour"): for input that must name one, such as the
    CLI's `active:2026-11`. Event objects accept any integers, as 3.x did."""
    check_year(fields[0])
    if kind == "week":
        check_iso_week(fields[0], fields[1])
        return
    if len(fields) > 1:
        check_month(fields[1])
    if len(fields) > 2:
        check_day(fields[0], fields[1], fields[2])
    if len(fields) > 3:
        check_hour(fields[3])


def to_calendar(dt: date | datetime, tz: tzinfo) -> date | datetime:
    """Express `dt` in the calendar of `tz`; a naive datetime is taken as UTC.

    Plain dates are returned as they are: they already name a calendar day.
    """
    if not isinstance(dt, datetime):
        if isinstance(dt, date):
            return dt
        raise InvalidInput(
            f"moment {shown(dt)} is a {type(dt).__name__}: expected a datetime or a date "
            "(parse text first, e.g. datetime.fromisoformat('2026-11-28'))"
        )
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(tz)
    except OverflowError:  # an aware moment near year 1 or 9999, moved into tz
        raise OutOfCalendar(
            f"moment {dt!r} is outside the calendar (years 1 to 9999) in time zone {tz}"
        ) from None


def now_in(tz: tzinfo) -> datetime:
    """The current time in the calendar of `tz`."""
    if tz is UTC:
        return datetime.now(UTC)
    return datetime.now(tz=UTC).astimezone(tz)


class PeriodBound(datetime):
    """An aware datetime (a period's start or end) that also compares with naive ones.

    The 3.x README compares `period_end()` with `datetime.utcnow()`, which is naive; a naive
    operand is taken as UTC here, as everywhere in bitmapist.
    """

    @staticmethod
    def _aware(other: Any) -> Any:
        if isinstance(other, datetime) and other.tzinfo is None:
            return other.replace(tzinfo=UTC)
        return other

    def __lt__(self, other: Any) -> bool:
        return datetime.__lt__(self, self._aware(other))

    def __le__(self, other: Any) -> bool:
        return datetime.__le__(self, self._aware(other))

    def __gt__(self, other: Any) -> bool:
        return datetime.__gt__(self, self._aware(other))

    def __ge__(self, other: Any) -> bool:
        return datetime.__ge__(self, self._aware(other))

    def __eq__(self, other: object) -> bool:
        return datetime.__eq__(self, self._aware(other))

    def __ne__(self, other: object) -> bool:
        return datetime.__ne__(self, self._aware(other))

    __hash__ = datetime.__hash__

    def __sub__(self, other: Any) -> Any:
        return datetime.__sub__(self, self._aware(other))

    def __rsub__(self, other: Any) -> Any:
        return datetime.__sub__(self._aware(other), self)
