"""Query parameters of the question pages (trends, funnel, lifecycle, stickiness).

As in `params`, every page is a GET URL whose parameters are its whole state. Lists
(events, funnel steps, breakdown segments) are repeated parameters
(`?events=active&events=song:played`); empty ones are ignored, so a form can offer spare
inputs. Bad values raise `InvalidInput` naming the value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any, ClassVar
from urllib.parse import urlencode

from ..errors import InvalidInput
from .params import _choice, _date, _int, _name, lenient

QUESTION_PERIODS = ("day", "week", "month", "hour")
RULES = ("same_period", "strictly_later")
#: Most periods a question page shows: a chart and a table people read, bounded work.
MAX_PAGE_PERIODS = 400
MAX_SEGMENTS = 8
# Dates a page accepts: comparison ranges and funnel windows step well past either end,
# and Python dates stop at years 1 and 9999.
FIRST_DATE = date(1970, 1, 1)
LAST_DATE = date(9990, 12, 31)
_DAYS_PER = {"hour": 1 / 24, "day": 1, "week": 7, "month": 28}


def _names(params: Mapping[str, str], name: str, low: int, high: int) -> tuple[str, ...]:
    """The non-empty values of a repeated parameter, `low` to `high` of them."""
    getlist = getattr(params, "getlist", None)
    raw = getlist(name) if getlist else [params.get(name, "")]
    values = tuple(v.strip() for v in raw if v.strip())
    for value in values:
        if len(value) > 500:
            raise InvalidInput(f"{name} is {len(value)} characters long: at most 500 are allowed")
    if values and not low <= len(values) <= high:
        raise InvalidInput(f"{name}: {len(values)} given, expected {low} to {high}")
    return values


def _bounded_date(params: Mapping[str, str], name: str) -> date | None:
    value = _date(params, name)
    if value is not None and not FIRST_DATE <= value <= LAST_DATE:
        raise InvalidInput(
            f"{name} {value} is out of range: expected a date from {FIRST_DATE} to {LAST_DATE}"
        )
    return value


def _check_span(period: str, start: date | None, end: date | None) -> None:
    """`InvalidInput` when start is after end or the range has too many periods to show."""
    if start is None or end is None:
        return
    if start > end:
        raise InvalidInput(f"start {start} is after end {end}: expected start <= end")
    periods = ((end - start).days + 1) / _DAYS_PER[period]
    if periods > MAX_PAGE_PERIODS:
        raise InvalidInput(
            f"{start} to {end} is about {periods:,.0f} {period}s: at most "
            f"{MAX_PAGE_PERIODS} fit on a page; choose a longer period or a shorter range"
        )


@dataclass(frozen=True)
class QuestionQuery:
    """Shared by the question queries: the URL round trip and the common fields."""

    path: ClassVar[str] = "/"
    #: Fields that are always in the URL, even at their default.
    required: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def lenient(cls, params: Any) -> Any:
        """The query with every parameter that is valid on its own kept and the others at
        their defaults (`params.lenient`): what a form shows again after a 400."""
        return lenient(cls, params)

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        """The query string's pairs (defaults left out), with `changes` applied."""
        query = replace(self, **changes) if changes else self
        default = type(self)()
        pairs: list[tuple[str, str]] = []
        for f in fields(self):
            value = getattr(query, f.name)
            if value in (None, "", ()) or (
                value == getattr(default, f.name) and f.name not in self.required
            ):
                continue
            values = value if isinstance(value, tuple) else (value,)
            for item in values:
                text = item.isoformat() if isinstance(item, date) else str(item)
                pairs.append((f.name, text))
        return pairs

    def url(self, path: str | None = None, **extra: object) -> str:
        """A URL of `path` (default: the page's) with this query and `extra` parameters."""
        pairs = self.params() + [(k, str(v)) for k, v in extra.items() if v is not None]
        return f"{path or self.path}?{urlencode(pairs)}"

    def slots(self, name: str, minimum: int, maximum: int) -> list[str]:
        """The values of list field `name` padded with empty inputs for the form."""
        values = list(getattr(self, name))
        spare = max(minimum - len(values), 1 if len(values) < maximum else 0)
        return values + [""] * spare


@dataclass(frozen=True)
class TrendsQuery(QuestionQuery):
    """Unique users per period of each event, against the range before."""

    path: ClassVar[str] = "/trends"
    events: tuple[str, ...] = ()
    period: str = "day"
    start: date | None = None
    end: date | None = None
    compare: str = "on"
    breakdown: tuple[str, ...] = ()

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> TrendsQuery:
        query = cls(
            events=_names(params, "events", 1, 10),
            period=_choice(params, "period", QUESTION_PERIODS),
            start=_bounded_date(params, "start"),
            end=_bounded_date(params, "end"),
            compare=_choice(params, "compare", ("on", "off")),
            breakdown=_names(params, "breakdown", 1, MAX_SEGMENTS),
        )
        _check_span(query.period, query.start, query.end)
        return query

    @property
    def ready(self) -> bool:
        return bool(self.events)


@dataclass(frozen=True)
class FunnelQuery(QuestionQuery):
    """Ordered steps, the conversion window and the rule for steps in the same period."""

    path: ClassVar[str] = "/funnel"
    steps: tuple[str, ...] = ()
    period: str = "day"
    start: date | None = None
    end: date | None = None
    window: int = 1
    rule: str = "same_period"
    breakdown: tuple[str, ...] = ()

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> FunnelQuery:
        query = cls(
            steps=_names(params, "steps", 2, 10),
            period=_choice(params, "period", QUESTION_PERIODS),
            start=_bounded_date(params, "start"),
            end=_bounded_date(params, "end"),
            window=_int(params, "window", 1, 0, 90),
            rule=_choice(params, "rule", RULES),
            breakdown=_names(params, "breakdown", 1, MAX_SEGMENTS),
        )
        _check_span(query.period, query.start, query.end)
        if len(query.steps) == 1:
            raise InvalidInput("steps: 1 given, expected 2 to 10")
        return query

    @property
    def ready(self) -> bool:
        return len(self.steps) >= 2


@dataclass(frozen=True)
class LifecycleQuery(QuestionQuery):
    """New, returning, resurrecting and dormant users of one event per period."""

    path: ClassVar[str] = "/lifecycle"
    event: str = ""
    period: str = "week"
    start: date | None = None
    end: date | None = None
    first_seen: str = ""
    breakdown: tuple[str, ...] = ()

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> LifecycleQuery:
        query = cls(
            event=_name(params, "event"),
            period=_choice(params, "period", ("week", "day", "month", "hour")),
            start=_bounded_date(params, "start"),
            end=_bounded_date(params, "end"),
            first_seen=_name(params, "first_seen"),
            breakdown=_names(params, "breakdown", 1, MAX_SEGMENTS),
        )
        _check_span(query.period, query.start, query.end)
        return query

    @property
    def ready(self) -> bool:
        return bool(self.event)


@dataclass(frozen=True)
class StickinessQuery(QuestionQuery):
    """Of the users active in a period, how many were active on exactly 1, 2, ... units."""

    path: ClassVar[str] = "/stickiness"
    event: str = ""
    period: str = "week"
    unit: str = "day"
    start: date | None = None
    end: date | None = None
    power_threshold: int | None = None
    breakdown: tuple[str, ...] = ()

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> StickinessQuery:
        text = params.get("power_threshold", "").strip()
        query = cls(
            event=_name(params, "event"),
            period=_choice(params, "period", ("week", "month", "day")),
            unit=_choice(params, "unit", ("day", "hour")),
            start=_bounded_date(params, "start"),
            end=_bounded_date(params, "end"),
            power_threshold=_int(params, "power_threshold", 0, 1, 744) if text else None,
            breakdown=_names(params, "breakdown", 1, MAX_SEGMENTS),
        )
        if query.period == "day" and query.unit == "day":
            raise InvalidInput(
                f"unit {query.unit!r} does not divide period {query.period!r}: "
                "expected day units in a week or month, or hour units"
            )
        _check_span(query.period, query.start, query.end)
        return query

    @property
    def ready(self) -> bool:
        return bool(self.event)
