"""Retention tables: of the users who did X in a period, how many came back to do Y later?

`retention(...)` builds a `RetentionTable` from bitmaps, reading each stored bitmap once and
intersecting on roaring bitmaps (see `bitmapist.analytics.reader`). Rows are cohorts (the
users of `cohort` in one period); columns are periods (or brackets of periods) after it.

Example::

    from bitmapist import retention, DayEvents, UniqueEvents

    table = retention("signup", "active", period="week", cohorts=8, periods=8)
    print(table.to_csv())
    premium = retention(DayEvents("active") & UniqueEvents("premium"), "active")
    ids = premium.ids(0, 3)  # the premium users of the first cohort active on day 3
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pyroaring import BitMap

from ..errors import InvalidInput
from ..periods import now_in
from ..systems import get_client
from ..validation import check_int
from .reader import BitmapReader
from .rendering import render
from .specs import check_spec, period_expression
from .tables import MissingDependency, spec_name
from .timeline import check_kind, floor, label, shift, wall_clock

Mode = Literal["on", "on_or_after"]
Reference = Literal["cohort", "previous"]
MODES: tuple[Mode, ...] = ("on", "on_or_after")
REFERENCES: tuple[Reference, ...] = ("cohort", "previous")
MAX_PERIODS = 10_000  # a sanity bound: tables are read by people
MAX_CELLS = 1_000_000

_UNIT_NAMES = {"hour": "Hour", "day": "Day", "week": "Week", "month": "Month", "year": "Year"}


@dataclass(frozen=True, slots=True)
class RetentionCell:
    """Users of a cohort who returned in one column's periods.

    `count` and `percent` are None when the column lies in the future (no data yet), and
    `percent` is None when its reference (cohort size or previous column) is zero.
    `complete` is False while a period of the column has not ended.
    """

    count: int | None
    percent: float | None
    complete: bool

    @property
    def future(self) -> bool:
        return self.count is None


@dataclass(frozen=True, slots=True)
class RetentionRow:
    """One cohort: its period, its size (None if the period has not started) and cells."""

    start: datetime
    label: str
    size: int | None
    complete: bool
    cells: tuple[RetentionCell, ...]


@dataclass(frozen=True, slots=True)
class RetentionColumn:
    """Periods `first`..`last` (inclusive) after the cohort period."""

    label: str
    first: int
    last: int


@dataclass(frozen=True, slots=True)
class ColumnAverage:
    """Averages of a column over its complete cells with a percentage.

    `simple` is the mean of the rows' percentages; `weighted` is total returning users over
    total reference users (bigger cohorts weigh more). Both are None when no row counts.
    """

    simple: float | None
    weighted: float | None
    cohorts: int


class RetentionTable:
    """The result of `retention()`: rows, columns, averages, exports and drill-down."""

    def __init__(
        self,
        *,
        period: str,
        mode: Mode,
        reference: Reference,
        generated_at: datetime,
        title: str,
        columns: Sequence[RetentionColumn],
        rows: Sequence[RetentionRow],
        ids_of: Callable[[int, int | None], BitMap],
    ):
        self.period = period
        self.mode = mode
        self.reference = reference
        self.generated_at = generated_at
        self.title = title
        self.columns = tuple(columns)
        self.rows = tuple(rows)
        self.averages = tuple(_column_average(self.rows, c, reference) for c in range(len(columns)))
        self._ids_of = ids_of

    def __repr__(self) -> str:
        return (
            f"<RetentionTable {self.title!r} {self.period} {len(self.rows)}x{len(self.columns)}"
            f" mode={self.mode} reference={self.reference}>"
        )

    def ids(self, row: int, column: int | None = None) -> list[int]:
        """The user ids behind a cell, ascending; `column=None` gives the whole cohort."""
        check_int("row", row, 0, len(self.rows) - 1)
        if column is not None:
            check_int("column", column, 0, len(self.columns) - 1)
        return list(self._ids_of(row, column))

    def to_dict(self) -> dict[str, Any]:
        """Everything in the table as JSON-ready data (datetimes as ISO 8601 strings)."""
        return {
            "title": self.title,
            "period": self.period,
            "mode": self.mode,
            "reference": self.reference,
            "generated_at": self.generated_at.isoformat(),
            "columns": [{"label": c.label, "first": c.first, "last": c.last} for c in self.columns],
            "rows": [
                {
                    "label": row.label,
                    "start": row.start.isoformat(),
                    "size": row.size,
                    "complete": row.complete,
                    "cells": [
                        {"count": cell.count, "percent": cell.percent, "complete": cell.complete}
                        for cell in row.cells
                    ],
                }
                for row in self.rows
            ],
            "averages": [
                {"simple": a.simple, "weighted": a.weighted, "cohorts": a.cohorts}
                for a in self.averages
            ],
        }

    def to_json(self, **dumps_kwargs: Any) -> str:
        """`to_dict()` as a JSON string (keywords go to `json.dumps`)."""
        return json.dumps(self.to_dict(), **dumps_kwargs)

    def to_csv(self, values: Literal["percent", "count"] = "percent") -> str:
        """One line per cohort: label, size, then each column's percentage (2 decimals) or
        count; empty where there is no data. Incomplete cells are not marked."""
        values = _check_values(values)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["cohort", "size", *(c.label for c in self.columns)])
        for row in self.rows:
            writer.writerow(
                [row.label, "" if row.size is None else row.size]
                + [_cell_text(cell, values) for cell in row.cells]
            )
        return out.getvalue()

    def to_pandas(self, values: Literal["percent", "count"] = "percent") -> Any:
        """A `pandas.DataFrame` (index: cohort labels; columns: size, then each column).

        Needs pandas: ``pip install 'bitmapist[pandas]'``.
        """
        values = _check_values(values)
        try:
            import pandas
        except ImportError as exc:
            raise MissingDependency(
                "RetentionTable.to_pandas() needs pandas, which is not installed: "
                "pip install 'bitmapist[pandas]'"
            ) from exc
        data = [[row.size, *(getattr(cell, values) for cell in row.cells)] for row in self.rows]
        return pandas.DataFrame(
            data,
            index=pandas.Index([row.label for row in self.rows], name="cohort"),
            columns=["size", *(c.label for c in self.columns)],
        )

    def to_html(
        self, values: Literal["percent", "count"] = "percent", include_assets: bool = True
    ) -> str:
        """A heatmap `<table>` (escaped; incomplete cells marked with an asterisk).

        `include_assets=False` leaves out the small inline `<style>` block.
        """

        return render(
            "retention.html",
            table=self,
            values=_check_values(values),
            include_assets=include_assets,
        )


def retention(
    cohort: Any,
    returning: Any,
    period: str = "day",
    start: date | datetime | None = None,
    cohorts: int = 12,
    periods: int = 12,
    mode: str = "on",
    brackets: Sequence[int | tuple[int, int]] | None = None,
    reference: str = "cohort",
    system: Any = "default",
    now: date | datetime | None = None,
) -> RetentionTable:
    """A retention table: for each of `cohorts` consecutive periods, the users of `cohort`
    in it and how many of them did `returning` 0, 1, ..., `periods` periods later.

    - `cohort`, `returning`: event names (or names set up with `set_custom_handler`) or
      event objects such as `DayEvents("active") & UniqueEvents("premium")`; their period
      events are moved to each period of the table, `UniqueEvents` stay as they are.
    - `period`: "hour", "day", "week" (ISO), "month" or "year".
    - `start`: a moment in the first cohort's period; default: the last cohort is the
      current period.
    - `mode`: "on" counts returns in the column's periods; "on_or_after" counts returns in
      them or any later period up to now (unbounded retention).
    - `brackets`: columns of several periods instead of one each, e.g.
      `[0, 1, (2, 6), (7, 13)]` (`periods` is then ignored).
    - `reference`: percentages of the cohort size ("cohort") or of the previous column
      ("previous"; the first column is relative to the cohort size).
    - `now`: the moment that decides which periods are complete (default: the clock).
    """

    cohort = check_spec(cohort, "cohort")
    returning = check_spec(returning, "returning")
    kind = check_kind(period)
    columns = _check_shape(kind, cohorts, periods, brackets, mode, reference)
    client = get_client(system)
    tz = client.timezone
    now_wall = wall_clock(now_in(tz) if now is None else now, tz)
    first = (
        floor(kind, wall_clock(start, tz))
        if start is not None
        else shift(kind, floor(kind, now_wall), -(cohorts - 1))
    )
    starts = _period_starts(kind, first, cohorts, columns, mode, now_wall)
    ended = [shift(kind, s, 1) <= now_wall for s in starts]
    # Periods that have started; later ones have no data and are never read.
    started = sum(1 for s in starts if s <= now_wall)

    reader = BitmapReader(client.store)
    keys = client.keys
    cohort_exprs = [
        period_expression(cohort, kind, starts[r], system, keys) for r in range(cohorts)
    ]
    return_exprs = [
        period_expression(returning, kind, starts[i], system, keys) for i in range(started)
    ]
    reader.prefetch(cohort_exprs[:started] + return_exprs)
    returns = _Returns(reader, cohort_exprs, return_exprs, columns, mode, len(starts))

    rows = []
    for r in range(cohorts):
        if r >= started:
            size = None
            cells = tuple(RetentionCell(None, None, False) for _ in columns)
        else:
            members = reader.bitmap(cohort_exprs[r])
            size = len(members)
            cells = _row_cells(members, size, r, columns, returns.bucket, ended, reference)
        rows.append(RetentionRow(starts[r], label(kind, starts[r]), size, ended[r], cells))

    return RetentionTable(
        period=kind,
        mode=mode,  # type: ignore[arg-type]
        reference=reference,  # type: ignore[arg-type]
        generated_at=now_wall.replace(tzinfo=tz),
        title=f"{spec_name(cohort)} \u2192 {spec_name(returning)}",
        columns=columns,
        rows=[_with_tz(row, tz) for row in rows],
        ids_of=returns.ids_of,
    )


def _check_shape(
    kind: str,
    cohorts: int,
    periods: int,
    brackets: Sequence[int | tuple[int, int]] | None,
    mode: str,
    reference: str,
) -> list[RetentionColumn]:
    """The table's columns, once its size, mode and reference are known to be valid."""
    check_int("cohorts", cohorts, 1, MAX_PERIODS)
    columns = _columns(kind, brackets, check_int("periods", periods, 0, MAX_PERIODS))
    if cohorts * len(columns) > MAX_CELLS:
        raise InvalidInput(
            f"a table of {cohorts} cohorts x {len(columns)} columns is too big: "
            f"expected at most {MAX_CELLS:,} cells"
        )
    if mode not in MODES:
        raise InvalidInput(f"mode {mode!r} is unknown: expected one of {MODES}")
    if reference not in REFERENCES:
        raise InvalidInput(f"reference {reference!r} is unknown: expected one of {REFERENCES}")
    return columns


def _period_starts(
    kind: Any,
    first: datetime,
    cohorts: int,
    columns: Sequence[RetentionColumn],
    mode: str,
    now_wall: datetime,
) -> list[datetime]:
    """The start of every period the table may read, from the first cohort's on."""
    reach = max(column.last for column in columns)  # brackets may come in any order
    starts = [shift(kind, first, i) for i in range(cohorts + reach + 1)]
    if mode == "on_or_after":  # returns count up to now, past the table's last column
        while starts[-1] <= now_wall and len(starts) < 2 * MAX_PERIODS:
            starts.append(shift(kind, starts[-1], 1))
    return starts


class _Returns:
    """Who did the returning event in a range of periods, each union built once, and who
    of a cohort is in a cell."""

    def __init__(
        self,
        reader: BitmapReader,
        cohort_exprs: Sequence[Any],
        return_exprs: Sequence[Any],
        columns: Sequence[RetentionColumn],
        mode: str,
        periods: int,
    ):
        self.reader = reader
        self.cohort_exprs = cohort_exprs
        self.exprs = return_exprs
        self.columns = columns
        self.mode = mode
        self.periods = periods  # every period the table may read, started or not
        self.started = len(return_exprs)
        self.unions: dict[tuple[int, int], BitMap] = {}
        if mode == "on_or_after" and self.started:
            # returns in period i or later: one union per period, built from the end
            last = self.started - 1
            later = reader.bitmap(return_exprs[last])
            self.unions[(last, last)] = later
            for i in range(last - 1, -1, -1):
                later = later | reader.bitmap(return_exprs[i])
                self.unions[(i, last)] = later

    def returned(self, low: int, high: int) -> BitMap:
        """Users of `returning` in periods low..high (clipped to started periods)."""
        high = min(high, self.started - 1)
        if low == high:
            return self.reader.bitmap(self.exprs[low])
        found = self.unions.get((low, high))
        if found is None:
            found = BitMap.union(*(self.reader.bitmap(self.exprs[i]) for i in range(low, high + 1)))
            self.unions[(low, high)] = found
        return found

    def bucket(self, row: int, column: int) -> BitMap | None:
        """The returners counted in cell (row, column); None before its period started."""
        spec = self.columns[column]
        low = row + spec.first
        if low >= self.started:
            return None
        high = self.periods - 1 if self.mode == "on_or_after" else row + spec.last
        return self.returned(low, high)

    def ids_of(self, row: int, column: int | None) -> BitMap:
        """The ids of cohort `row`, or of those in its cell `column`."""
        if row >= self.started:
            return BitMap()
        members = self.reader.bitmap(self.cohort_exprs[row])
        if column is None:
            return members
        returners = self.bucket(row, column)
        return BitMap() if returners is None else members & returners


def _row_cells(
    members: BitMap,
    size: int,
    row: int,
    columns: Sequence[RetentionColumn],
    bucket: Callable[[int, int], BitMap | None],
    ended: Sequence[bool],
    reference: str,
) -> tuple[RetentionCell, ...]:
    cells = []
    base: int | None = size
    for c, spec in enumerate(columns):
        complete = ended[row + spec.last]
        returners = bucket(row, c)
        if returners is None:
            cells.append(RetentionCell(None, None, False))
            base = None
            continue
        count = members.intersection_cardinality(returners)
        percent = count / base * 100 if base else None
        cells.append(RetentionCell(count, percent, complete))
        if reference == "previous":
            base = count
    return tuple(cells)


def _column_average(rows: Sequence[RetentionRow], column: int, reference: str) -> ColumnAverage:
    percents: list[float] = []
    counts = bases = 0
    for row in rows:
        cell = row.cells[column]
        if not cell.complete or cell.percent is None or cell.count is None:
            continue
        percents.append(cell.percent)
        counts += cell.count
        if reference == "previous" and column > 0:
            bases += row.cells[column - 1].count or 0
        else:
            bases += row.size or 0
    if not percents:
        return ColumnAverage(None, None, 0)
    weighted = counts / bases * 100 if bases else None
    return ColumnAverage(sum(percents) / len(percents), weighted, len(percents))


def _columns(
    kind: str, brackets: Sequence[int | tuple[int, int]] | None, periods: int
) -> list[RetentionColumn]:
    unit = _UNIT_NAMES[kind]
    if brackets is None:
        return [RetentionColumn(f"{unit} {k}", k, k) for k in range(periods + 1)]
    if isinstance(brackets, (str, bytes)) or not brackets:
        raise InvalidInput(
            f"brackets {brackets!r} must be a non-empty list of periods or (first, last) pairs"
        )
    columns = []
    for bracket in brackets:
        if isinstance(bracket, int) and not isinstance(bracket, bool):
            first = last = check_int("bracket", bracket, 0, MAX_PERIODS)
        elif isinstance(bracket, (tuple, list)) and len(bracket) == 2:
            first = check_int("bracket start", bracket[0], 0, MAX_PERIODS)
            last = check_int(f"end of bracket {tuple(bracket)}", bracket[1], first, MAX_PERIODS)
        else:
            raise InvalidInput(
                f"bracket {bracket!r} must be a period offset (int) or a (first, last) pair"
            )
        text = f"{unit} {first}" if first == last else f"{unit}s {first}\u2013{last}"
        columns.append(RetentionColumn(text, first, last))
    return columns


def _check_values(values: Any) -> Literal["percent", "count"]:
    if values not in ("percent", "count"):
        raise InvalidInput(f"values {values!r} is unknown: expected 'percent' or 'count'")
    return values


def _cell_text(cell: RetentionCell, values: str) -> str:
    value = getattr(cell, values)
    if value is None:
        return ""
    return f"{value:.2f}" if values == "percent" else str(value)


def _with_tz(row: RetentionRow, tz: Any) -> RetentionRow:
    return RetentionRow(row.start.replace(tzinfo=tz), row.label, row.size, row.complete, row.cells)
