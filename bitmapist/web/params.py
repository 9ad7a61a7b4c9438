"""The dashboard's query parameters: parsed, checked, and turned back into URLs.

Every view is a GET URL, so a report can be bookmarked or shared: the parameters are the
whole state. Bad values raise `InvalidInput` naming the value and what is allowed.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from ..errors import InvalidInput
from ..periods import add_month

PERIODS = ("day", "week", "month")
MODES = ("on", "on_or_after")
VALUES = ("percent", "count")
MAX_CELLS = 60  # cohorts and periods: a table people read, and bounded work per request
MAU_DAYS = 30  # the activity view's longest window: it reads this many days before `end`


def _int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = params.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(f"{name} {text!r} is not an integer: expected [{low}, {high}]") from None
    if not low <= value <= high:
        raise InvalidInput(f"{name} {value} is out of range: expected [{low}, {high}]")
    return value


def _choice(params: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = params.get(name, "").strip() or choices[0]
    if value not in choices:
        raise InvalidInput(f"{name} {value!r} is unknown: expected one of {', '.join(choices)}")
    return value


def _date(params: Mapping[str, str], name: str) -> date | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} {text!r} is not a date: expected YYYY-MM-DD") from None


def _name(params: Mapping[str, str], name: str, default: str = "") -> str:
    value = params.get(name, "").strip()
    if len(value) > 500:
        raise InvalidInput(f"{name} is {len(value)} characters long: at most 500 are allowed")
    return value or default


def lenient(cls: Any, params: Any) -> Any:
    """A query of dataclass `cls` with every parameter that is valid on its own kept and
    the others at their defaults: what a form shows again after a 400, so one bad date
    does not wipe out the events."""
    kept = {}
    for f in fields(cls):
        alone = QueryParams([(k, v) for k, v in params.multi_items() if k == f.name])
        try:
            kept[f.name] = getattr(cls.parse(alone), f.name)
        except InvalidInput:
            continue
    return cls(**kept)


@dataclass(frozen=True)
class RetentionQuery:
    """What the retention view shows: cohort and returning events, their periods, etc."""

    cohort: str = ""
    returning: str = ""
    period: str = "week"
    cohorts: int = 8
    periods: int = 8
    start: date | None = None
    mode: str = "on"
    segment: str = ""
    values: str = "percent"

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> RetentionQuery:
        cohort = _name(params, "cohort")
        query = cls(
            cohort=cohort,
            returning=_name(params, "returning", cohort),
            period=_choice(params, "period", ("week", "day", "month")),
            cohorts=_int(params, "cohorts", 8, 1, MAX_CELLS),
            periods=_int(params, "periods", 8, 0, MAX_CELLS),
            start=_date(params, "start"),
            mode=_choice(params, "mode", MODES),
            segment=_name(params, "segment"),
            values=_choice(params, "values", VALUES),
        )
        query.check_calendar()
        return query

    def check_calendar(self) -> None:
        """`InvalidInput` if the table would run past the last day Python dates reach
        (9999-12-31): it reads the periods of every cohort and column after `start`."""
        if self.start is None:
            return
        steps = self.cohorts + self.periods + 1  # the table reads one period past its last
        latest = _latest_start(self.period, steps)
        if self.start > latest:
            raise InvalidInput(
                f"start {self.start} is out of range: a table of {self.cohorts} cohorts and "
                f"{self.periods} periods (by {self.period}) from it runs past {date.max}; "
                f"expected a date from {date.min} to {latest}"
            )

    @classmethod
    def lenient(cls, params: Any) -> RetentionQuery:
        """See `lenient`."""
        return lenient(cls, params)

    @property
    def ready(self) -> bool:
        """Whether there is something to compute (a cohort event was chosen)."""
        return bool(self.cohort)

    def params(self, **changes: object) -> dict[str, str]:
        """The query string's parameters (defaults left out), with `changes` applied."""
        query = replace(self, **changes) if changes else self  # type: ignore[arg-type]
        out: dict[str, str] = {}
        defaults = asdict(RetentionQuery())
        for key, value in asdict(query).items():
            if value in (None, "") or (value == defaults[key] and key not in ("cohort",)):
                continue
            out[key] = value.isoformat() if isinstance(value, date) else str(value)
        return out

    def url(self, path: str = "/retention", **extra: object) -> str:
        """A URL of `path` with this query and `extra` parameters."""
        params = self.params()
        params.update({k: str(v) for k, v in extra.items() if v is not None})
        return f"{path}?{urlencode(params)}"


@dataclass(frozen=True)
class ActivityQuery:
    """What the activity view shows: the DAU/WAU/MAU of an event (a name or an expression)
    over `days` days up to `end`."""

    event: str = ""
    days: int = 90
    end: date | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> ActivityQuery:
        query = cls(
            event=_name(params, "event"),
            days=_int(params, "days", 90, 7, 366),
            end=_date(params, "end"),
        )
        # the chart reads `days` days to `end` and the MAU window before the first of them
        earliest = date.min + timedelta(days=query.days - 1 + MAU_DAYS - 1)
        if query.end is not None and query.end < earliest:
            raise InvalidInput(
                f"end {query.end} is out of range: {query.days} days to it and the "
                f"{MAU_DAYS} days of MAU before them start before {date.min}; "
                f"expected a date from {earliest} to {date.max}"
            )
        return query

    @classmethod
    def lenient(cls, params: Any) -> ActivityQuery:
        """See `lenient`."""
        return lenient(cls, params)

    def url(self, path: str = "/activity") -> str:
        params = {"event": self.event}
        if self.days != 90:
            params["days"] = str(self.days)
        if self.end:
            params["end"] = self.end.isoformat()
        return f"{path}?{urlencode(params)}"


def _latest_start(period: str, steps: int) -> date:
    """The last day from whose period `steps` more periods still fit in the calendar."""
    if period == "month":
        year, month = add_month(date.max.year, date.max.month, -steps)
        return date(year, month, calendar.monthrange(year, month)[1])
    return date.max - timedelta(days=steps * (7 if period == "week" else 1))


def page_number(params: Mapping[str, str]) -> int:
    """`page` (1-based)."""
    return _int(params, "page", 1, 1, 10_000_000)
