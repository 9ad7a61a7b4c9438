"""What the product questions (trends, funnels, lifecycle, stickiness) share.

- `AnalyticsTable`: the result base class. A table says what its CSV header and lines are
  (`header`, `records`) and what its JSON is (`to_dict`); CSV, JSON, pandas and HTML exports
  are built from those once, here.
- `Question`: one question's reading context: the client, its time zone, "now", one
  `BitmapReader` (each stored bitmap fetched once) and the expression of a spec in a period.
- `segments`: a `breakdown=` list as (label, spec) pairs.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pyroaring import BitMap

from ..errors import BitmapistError, InvalidInput
from ..events import EventsBase, UniqueEvents
from ..expressions import Expr
from ..periods import now_in
from ..query_language import event_text
from ..systems import get_client
from .reader import BitmapReader
from .rendering import render
from .specs import EventSpec, check_spec, period_expression
from .timeline import PeriodKind, wall_clock

#: Most segments a breakdown may have (each one multiplies the work and the table).
MAX_SEGMENTS = 50


class MissingDependency(BitmapistError, ImportError):
    """An optional package a feature needs is not installed; the message says how to add it."""


class AnalyticsTable:
    """Base of every product-question table: exports built from `header()` / `records()`.

    Subclasses set `title`, `period`, `generated_at` and `rows`, and implement `header`,
    `records`, `to_dict` and `chart_series`.
    """

    title: str
    period: str
    generated_at: datetime
    rows: tuple[Any, ...]
    #: CSS class suffix of the HTML table (`bitmapist-<kind>`).
    kind = "table"

    def header(self) -> list[str]:
        """Column names of `records()`, as in the CSV header."""
        raise NotImplementedError

    def records(self) -> list[list[Any]]:
        """The table as lines of plain values (None where there is no value)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """Everything in the table as JSON-ready data (datetimes as ISO 8601 strings)."""
        raise NotImplementedError

    def chart_series(self) -> dict[str, Any]:
        """Plain data to draw the table: `{"title", "x": [labels], "series": [{"name",
        "values"}], ...}` (values are numbers or None)."""
        raise NotImplementedError

    def to_json(self, **dumps_kwargs: Any) -> str:
        """`to_dict()` as a JSON string (keywords go to `json.dumps`)."""
        return json.dumps(self.to_dict(), **dumps_kwargs)

    def to_csv(self) -> str:
        """`header()` then `records()` as CSV; percentages with 2 decimals, empty for None."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.header())
        for record in self.records():
            writer.writerow([_csv_value(value) for value in record])
        return out.getvalue()

    def to_pandas(self) -> Any:
        """A `pandas.DataFrame` of `records()` with `header()` as columns.

        Needs pandas: ``pip install 'bitmapist[pandas]'``.
        """
        try:
            import pandas
        except ImportError as exc:
            raise MissingDependency(
                f"{type(self).__name__}.to_pandas() needs pandas, which is not installed: "
                "pip install 'bitmapist[pandas]'"
            ) from exc
        return pandas.DataFrame(self.records(), columns=self.header())

    def to_html(self, include_assets: bool = True) -> str:
        """A `<table>` of `records()` (every value escaped); `include_assets=False` leaves
        out the small inline `<style>` block."""
        return render(
            "analytics.html",
            title=self.title,
            kind=self.kind,
            period=self.period,
            header=self.header(),
            records=[[_html_value(value) for value in record] for record in self.records()],
            include_assets=include_assets,
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.title!r} {self.period} {len(self.rows)} rows>"


class Question:
    """One question's reading context: client, time zone, now, reader and key scheme."""

    def __init__(self, kind: PeriodKind, system: Any, now: date | datetime | None):
        self.kind = kind
        self.system = system
        self.client = get_client(system)
        self.tz = self.client.timezone
        self.now_wall = wall_clock(now_in(self.tz) if now is None else now, self.tz)
        self.reader = BitmapReader(self.client.store)
        self.keys = self.client.keys

    def expr(self, spec: EventSpec, moment: datetime, kind: PeriodKind | None = None) -> Expr:
        """The expression of `spec` in the period (of `kind`, default the question's)
        containing the wall-clock `moment`."""
        return period_expression(spec, kind or self.kind, moment, self.system, self.keys)

    def prefetch(self, exprs: Sequence[Expr]) -> None:
        """Fetch every stored bitmap of `exprs` at once (each distinct key once)."""
        self.reader.prefetch(exprs)

    def bitmap(self, expr: Expr) -> BitMap:
        """The (shared, read-only) bitmap of `expr`."""
        return self.reader.bitmap(expr)

    def aware(self, moment: datetime) -> datetime:
        """A wall-clock moment as an aware datetime in the client's time zone."""
        return moment.replace(tzinfo=self.tz)


def segments(breakdown: Any, system: Any) -> list[tuple[str | None, EventSpec | None]]:
    """`breakdown` as (label, spec) pairs; `[(None, None)]` (everyone) when it is None.

    A name is a flag (`UniqueEvents(name)`, e.g. "signup_form:new"); an event object is
    used as it is, its period events moved to each period like the question's events.
    """
    if breakdown is None:
        return [(None, None)]
    if isinstance(breakdown, (str, EventsBase)):
        breakdown = [breakdown]
    if not isinstance(breakdown, (list, tuple)) or not 1 <= len(breakdown) <= MAX_SEGMENTS:
        raise InvalidInput(
            f"breakdown {breakdown!r} must be a list of 1 to {MAX_SEGMENTS} flag names or "
            "event objects (e.g. ['signup_form:new', 'signup_form:classic'])"
        )
    pairs: list[tuple[str | None, EventSpec | None]] = []
    for item in breakdown:
        spec = check_spec(item, "breakdown segment")
        if isinstance(spec, str):
            pairs.append((spec, UniqueEvents(spec, system)))
        else:
            pairs.append((spec_name(spec), spec))
    return pairs


def spec_name(spec: Any) -> str:
    """How tables name a spec, in titles, series, segments, CSV and JSON columns (and so in
    the CLI's tables and the dashboard's charts): a name as it is; an event object read
    from text (the CLI's and the dashboard's `bitmapist.query_language`) as it was typed;
    any other event object written in the query language: `DayEvents("active") &
    UniqueEvents("premium")` is `active & premium:u` (see `event_text`)."""
    return spec if isinstance(spec, str) else event_text(spec)


def check_specs(specs: Any, what: str, low: int, high: int) -> list[EventSpec]:
    """`specs` (one spec or a list of them) as a list of `low`..`high` specs."""
    if isinstance(specs, (str, EventsBase)):
        specs = [specs]
    if not isinstance(specs, (list, tuple)) or not low <= len(specs) <= high:
        raise InvalidInput(
            f"{what} {specs!r} must be a list of {low} to {high} event names or event objects"
        )
    return [check_spec(spec, what[:-1] if what.endswith("s") else what) for spec in specs]


def pick(value: Any, labels: Sequence[Any], what: str) -> int:
    """The index of `value` in `labels`, where `value` is an index or one of the labels."""
    if isinstance(value, int) and not isinstance(value, bool):
        if -len(labels) <= value < len(labels):
            return value % len(labels)
        raise InvalidInput(f"{what} {value} is out of range: expected 0 to {len(labels) - 1}")
    for index, candidate in enumerate(labels):
        if candidate == value:
            return index
    raise InvalidInput(f"{what} {value!r} is unknown: expected an index or one of {list(labels)}")


def percent(part: int, whole: int | None) -> float | None:
    """`part` as a percentage of `whole`, None when `whole` is 0 or None."""
    return part / whole * 100 if whole else None


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return value


def _html_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
