"""bitmapist.cohort: the bitmapist 3.x cohort tables, computed in a few round trips.

Same functions, arguments and numbers as bitmapist 3.x (`get_dates_data`, `render_html_form`,
`render_html_data`, `render_csv_data`, `set_custom_handler`). The table is computed from
each stored bitmap read once and intersected on roaring bitmaps in this process, instead of
one BITOP and two BITCOUNTs per cell; no temporary keys are left in Redis.

Differences from 3.x, on purpose:

- Rendered HTML is escaped (Jinja2 autoescape): event names and labels render as text.
- Week labels use ISO week numbers ("Week 48, 23 Nov"), like the week keys; 3.x printed
  `%U` (Sunday-based) numbers that did not match the data shown.
- Dates follow the system's time zone (UTC unless the `Bitmapist` client says otherwise).

Example::

    from bitmapist import cohort

    html_form = cohort.render_html_form(
        action_url="/_Cohort",
        selections1=[("Are Active", "user:active")],
        selections2=[("Task completed", "task:complete")],
    )
    dates_data = cohort.get_dates_data(select1="user:active", select2="task:complete",
                                       time_group="days")
    html_data = cohort.render_html_data(dates_data, time_group="days")
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from pyroaring import BitMap

from ..analytics.counting import IntersectionCounter
from ..analytics.reader import BitmapReader
from ..analytics.rendering import render
from ..analytics.specs import CUSTOM_HANDLERS, check_spec, period_expression, set_custom_handler
from ..errors import InvalidInput
from ..events import DayEvents, MonthEvents, WeekEvents, YearEvents
from ..expressions import Expr, Op
from ..periods import add_month, now_in
from ..validation import check_int

TimeGroup = Literal["days", "weeks", "months", "years"]
TIME_GROUPS: dict[str, str] = {"days": "day", "weeks": "week", "months": "month", "years": "year"}
MAX_RESULTS = 10_000
#: 3.x shows three years whatever `num_results` says.
YEARS_SHOWN = 3

Cell = Any  # "" (no data), a float percentage or 0.0, or an int count
Row = list  # [datetime, cohort size, cell, ...]

__all__ = [
    "CUSTOM_HANDLERS",
    "get_dates_data",
    "render_csv_data",
    "render_html_data",
    "render_html_form",
    "set_custom_handler",
]


def get_dates_data(
    select1: Any,
    select2: Any,
    select1b: Any = None,
    select2b: Any = None,
    time_group: TimeGroup = "days",
    system: Any = "default",
    as_percent: bool = True,
    num_results: int = 31,
    num_of_rows: int = 12,
    start_date: str | None = None,
) -> list[Row]:
    """The cohort table of bitmapist 3.x: `[[datetime, cohort_size, cell, ...], ...]`.

    Row i is the users of `select1` (and `select1b`, when given) in the i-th period; its
    cells 0..`num_of_rows` say how many of them did `select2` (and `select2b`) that many
    periods later: a percentage of the cohort (`as_percent`) or a count, `0.0` for none,
    `""` when the cohort is empty or nobody did `select2` in that period (no data).
    `select*` are event names, names set up with `set_custom_handler`, or event objects.
    `start_date` ("YYYY-MM-DD") is the first row's date; by default the last row is now.
    `time_group` "years" always shows three years.
    """
    kind = TIME_GROUPS.get(time_group) if isinstance(time_group, str) else None
    if kind is None:
        raise InvalidInput(
            f"time_group {time_group!r} is unknown: expected one of {tuple(TIME_GROUPS)}"
        )
    num_results = check_int("num_results", _as_int("num_results", num_results), 0, MAX_RESULTS)
    num_of_rows = check_int("num_of_rows", _as_int("num_of_rows", num_of_rows), 0, MAX_RESULTS)
    check_spec(select1, "select1")
    check_spec(select2, "select2")
    for name, extra in (("select1b", select1b), ("select2b", select2b)):
        if extra:  # "" and None both mean "not used", as the 3.x form sends them
            check_spec(extra, name)
    from ..systems import get_client

    client = get_client(system)
    row_dates = _row_dates(time_group, num_results, start_date, client.timezone)
    step = _STEPS[time_group]

    keys = client.keys

    def expression(main: Any, extra: Any, moment: datetime) -> Expr:
        expr = period_expression(main, kind, moment, system, keys)
        if not extra:
            return expr
        other = period_expression(extra, kind, moment, system, keys)
        return Op("AND", (expr, other), keys.bitop("AND", (expr.name, other.name)))

    # Cell (row r, column t) reads period r + t: 3.x stepped from each row's date, which
    # lands in the same period as stepping r + t from the first row (months start on the
    # 1st; a year's key depends on its number only).
    cohorts = [expression(select1, select1b, moment) for moment in row_dates]
    returns = [
        expression(select2, select2b, step(row_dates[0], i))
        for i in range(len(row_dates) + num_of_rows if row_dates else 0)
    ]
    reader = BitmapReader(client.store)
    reader.prefetch([*cohorts, *returns])
    # Each distinct bitmap once (the reader shares cached objects), then counts by index.
    position: dict[int, int] = {}
    distinct: list[BitMap] = []
    for bitmap in [*(reader.bitmap(e) for e in cohorts), *(reader.bitmap(e) for e in returns)]:
        if id(bitmap) not in position:
            position[id(bitmap)] = len(distinct)
            distinct.append(bitmap)
    counter = IntersectionCounter(distinct)
    cohort_at = [position[id(reader.bitmap(expr))] for expr in cohorts]
    return_at = [position[id(reader.bitmap(expr))] for expr in returns]

    dates = []
    for r, moment in enumerate(row_dates):
        i = cohort_at[r]
        size = counter.sizes[i]
        row: Row = [moment, size]
        for j in return_at[r : r + num_of_rows + 1]:
            row.append(_cell(counter, i, j, as_percent))
        dates.append(row)
    return dates


def render_html_form(
    action_url: str,
    selections1: Sequence[tuple[str, str]],
    selections1b: Sequence[tuple[str, str]] | None = None,
    selections2: Sequence[tuple[str, str]] | None = None,
    selections2b: Sequence[tuple[str, str]] | None = None,
    time_group: TimeGroup = "days",
    select1: str | None = None,
    select1b: str | None = None,
    select2: str | None = None,
    select2b: str | None = None,
    as_percent: bool = True,
    num_results: int = 31,
    num_of_rows: int = 12,
    start_date: str | None = None,
    include_assets: bool = True,
) -> str:
    """The 3.x query form (a GET form to `action_url`), escaped.

    `selections*` are `(label, event name)` pairs (`"---"` draws a separator); `select*`
    are the current choices. `include_assets=False` leaves out the inline `<style>`, for
    pages that style the form themselves.
    """
    selections2 = list(selections2 or selections1)
    optional1 = [("------", ""), *(selections1b or selections1)]
    optional2 = [("------", ""), *(selections2b or selections2)]
    return render(
        "form.html",
        action_url=action_url,
        selects=[
            ("select1", list(selections1), select1),
            ("select1b", optional1, select1b),
            ("select2", selections2, select2),
            ("select2b", optional2, select2b),
        ],
        time_group=time_group,
        as_percent=as_percent,
        num_results=_as_int("num_results", num_results),
        num_of_rows=_as_int("num_of_rows", num_of_rows),
        start_date=start_date or "",
        include_assets=include_assets,
    )


def render_html_data(
    dates_data: Sequence[Row],
    as_percent: bool = True,
    time_group: TimeGroup = "days",
    num_results: int = 31,
    num_of_rows: int = 12,
    start_date: str | None = None,
    include_assets: bool = True,
) -> str:
    """`get_dates_data` output as the 3.x HTML table (with an averages row), escaped."""
    num_of_rows = _as_int("num_of_rows", num_of_rows)
    columns = range(2, num_of_rows + 3)
    rows = [
        {
            "label": _label(time_group, row[0], html=True),
            "size": row[1],
            "cells": [_html_cell(row[i], as_percent) for i in columns],
        }
        for row in dates_data
    ]
    averages = []
    for i in columns:
        values = [row[i] for row in dates_data if row[i] != ""]
        average = sum(values) / len(values) if values else 0
        averages.append(f"{round(average, 2)}%" if as_percent else str(int(average)))
    return render(
        "table.html",
        headers=range(num_of_rows + 1),
        rows=rows,
        averages=averages,
        include_assets=include_assets,
    )


def render_csv_data(
    dates_data: Sequence[Row],
    as_percent: bool = True,
    time_group: TimeGroup = "days",
    num_results: int = 31,
    num_of_rows: int = 12,
    start_date: str | None = None,
) -> str:
    """`get_dates_data` output as the 3.x CSV: `Date,Total,0,1,...` then one line a row."""
    num_of_rows = _as_int("num_of_rows", num_of_rows)
    lines = ["Date,Total," + ",".join(str(i) for i in range(num_of_rows + 1))]
    for row in dates_data:
        cells = []
        for value in row[2 : num_of_rows + 3]:
            if value == "":
                cells.append("")
            else:
                cells.append(str(round(value, 2)) if as_percent else str(int(value)))
        lines.append(f"{_label(time_group, row[0], html=False)},{row[1]},{','.join(cells)}")
    return "\n".join(lines) + "\n"


# --- private


def _as_int(name: str, value: Any) -> int:
    """`int(value)` as 3.x did (form values arrive as strings), or `InvalidInput`."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} {value!r} is not an integer") from None


def _cell(counter: IntersectionCounter, i: int, j: int, as_percent: bool) -> Cell:
    """3.x's cell: "" without data, 0.0 for nobody, else a percentage or a count."""
    size = counter.sizes[i]
    if size == 0 or counter.sizes[j] == 0:
        return ""
    both = counter.count(i, j)
    if both == 0:
        return 0.0
    if as_percent:
        return (float(both) / float(size)) * 100  # the 3.x expression: equal floats
    return both


def _add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus `months`, the day clamped to the month's length (like relativedelta)."""
    year, month = add_month(moment.year, moment.month, months)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _add_years(moment: datetime, years: int) -> datetime:
    return _add_months(moment, 12 * years)


_STEPS = {
    "days": lambda moment, n: moment + timedelta(days=n),
    "weeks": lambda moment, n: moment + timedelta(weeks=n),
    "months": _add_months,
    "years": _add_years,
}


def _row_dates(
    time_group: str, num_results: int, start_date: str | None, tz: Any
) -> list[datetime]:
    """The first moment of each row, with 3.x's arithmetic (the returned datetimes match)."""
    if start_date:
        try:
            now = datetime.strptime(start_date, "%Y-%m-%d").replace(tzinfo=tz)
        except (TypeError, ValueError):
            raise InvalidInput(f"start_date {start_date!r} is not a date like 2026-11-28") from None
        now = now + timedelta(days=num_results - 1)
    else:
        now = now_in(tz)
    if time_group == "days":
        now = now - timedelta(days=num_results - 1)
    elif time_group == "weeks":
        now = now - timedelta(weeks=num_results - 1)
    elif time_group == "months":
        now = _add_months(now, -(num_results - 1))
        now -= timedelta(days=now.day - 1)
    else:
        num_results = YEARS_SHOWN
        now = _add_years(now, -(num_results - 1))
    step = _STEPS[time_group]
    dates = []
    for _ in range(num_results):
        dates.append(now)
        now = step(now, 1)  # cumulative, as 3.x: Feb 29 becomes Feb 28 for good
    return dates


def _label(time_group: str, moment: datetime, *, html: bool) -> str:
    if time_group == "months":
        return moment.strftime("%d %b")
    if time_group == "weeks":
        week = moment.isocalendar()[1]
        return f"Week {week}, {moment:%d %b}" if html else f"Week {week} {moment:%d %b}"
    if time_group == "years":
        return moment.strftime("%Y")
    return moment.strftime("%d %b, %Y") if html else moment.strftime("%d %b %Y")


def _html_cell(value: Cell, as_percent: bool) -> dict[str, str] | None:
    if value == "":
        return None
    if not as_percent:
        return {"text": str(int(value)), "style": ""}
    background = round(float(value / 100), 1)
    color = round(float(value / 100) + 0.5, 1)
    return {
        "text": f"{round(value, 2)}%",
        "style": f"background-color: hsla(200, 80%, 50%, {background}); "
        f"color: hsla(200, 100%, 0%, {color});",
    }


# --- 3.x's private helpers, kept because code written for 3.x (and 3.x's own tests) calls
# them: the event object of `key` for the period containing `date`, on `system`.


def _dispatch(key: str, cls: type, cls_args: tuple[Any, ...]) -> Any:
    handler = CUSTOM_HANDLERS.get(key)
    return handler(key, cls, cls_args) if handler is not None else cls(key, *cls_args)


def _day_events_fn(key: str, date: Any, system: Any) -> Any:
    return _dispatch(key, DayEvents, (date.year, date.month, date.day, system))


def _weeks_events_fn(key: str, date: Any, system: Any) -> Any:
    iso_year, iso_week, _ = date.isocalendar()  # the ISO year, as the week keys use
    return _dispatch(key, WeekEvents, (iso_year, iso_week, system))


def _month_events_fn(key: str, date: Any, system: Any) -> Any:
    return _dispatch(key, MonthEvents, (date.year, date.month, system))


def _year_events_fn(key: str, date: Any, system: Any) -> Any:
    return _dispatch(key, YearEvents, (date.year, system))
