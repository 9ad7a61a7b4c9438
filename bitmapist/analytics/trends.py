"""Trends: how many users did X in each period, against the range before?

`trends(...)` counts the unique users of one or more events (names or expressions) in each
period of a range, and the same for the range of equal length just before it (the
comparison), optionally split by segments (`breakdown=`). Each stored bitmap is read once
(see `bitmapist.analytics.reader`); the rest is roaring arithmetic in this process.

Example::

    from bitmapist import trends

    table = trends(["active", "song:played"], period="week")
    for series in table.series:
        print(series.name, series.total, series.change_percent)
    print(table.to_csv())
    ids = table.ids("2026-W48", "active")  # the users behind one number
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pyroaring import BitMap

from ..errors import InvalidInput
from .tables import AnalyticsTable, Question, check_specs, percent, pick, segments, spec_name
from .timeline import check_kind, label, shift, span

#: Most events one trends table compares.
MAX_EVENTS = 20


@dataclass(frozen=True, slots=True)
class TrendsSeries:
    """One line of the chart: an event (within one segment) over the periods.

    `total` is the sum of the period counts (user-periods, what a trends chart adds up);
    `unique` counts each user once over the whole range. The `previous_*` values and
    `change` / `change_percent` (of `total` against `previous_total`) are None without a
    comparison; `change_percent` is also None when the previous total is 0.
    """

    name: str
    event: str
    segment: str | None
    counts: tuple[int, ...]
    previous: tuple[int, ...] | None
    total: int
    previous_total: int | None
    change: int | None
    change_percent: float | None
    unique: int
    previous_unique: int | None


@dataclass(frozen=True, slots=True)
class TrendsRow:
    """One period: its start and label, the matching period of the comparison range, and
    one count per series (in the order of `TrendsTable.series`)."""

    start: datetime
    label: str
    complete: bool
    counts: tuple[int, ...]
    previous_start: datetime | None
    previous_label: str | None
    previous: tuple[int, ...] | None


class TrendsTable(AnalyticsTable):
    """The result of `trends()`: one row per period, one series per event and segment."""

    kind = "trends"

    def __init__(
        self,
        *,
        title: str,
        period: str,
        generated_at: datetime,
        rows: Sequence[TrendsRow],
        series: Sequence[TrendsSeries],
        ids_of: Callable[[int, int, bool], BitMap],
    ):
        self.title = title
        self.period = period
        self.generated_at = generated_at
        self.rows = tuple(rows)
        self.series = tuple(series)
        self.compare = bool(self.rows) and self.rows[0].previous is not None
        self._ids_of = ids_of

    @property
    def labels(self) -> list[str]:
        """The period labels, in order."""
        return [row.label for row in self.rows]

    def ids(self, period: int | str, series: int | str = 0, previous: bool = False) -> list[int]:
        """The user ids behind one count, ascending: `period` is a row index or label,
        `series` a series index or name; `previous=True` gives the comparison period's."""
        row = pick(period, self.labels, "period")
        column = pick(series, [s.name for s in self.series], "series")
        if previous and not self.compare:
            raise InvalidInput("previous=True needs a table made with compare=True")
        return list(self._ids_of(row, column, previous))

    def header(self) -> list[str]:
        names = [s.name for s in self.series]
        previous = [f"{name} (previous)" for name in names] if self.compare else []
        return ["period", *names, *(["previous period"] if self.compare else []), *previous]

    def records(self) -> list[list[Any]]:
        lines: list[list[Any]] = []
        for row in self.rows:
            line: list[Any] = [row.label, *row.counts]
            if self.compare:
                line += [row.previous_label, *(row.previous or ())]
            lines.append(line)
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "period": self.period,
            "generated_at": self.generated_at.isoformat(),
            "compare": self.compare,
            "series": [
                {
                    "name": s.name,
                    "event": s.event,
                    "segment": s.segment,
                    "counts": list(s.counts),
                    "previous": None if s.previous is None else list(s.previous),
                    "total": s.total,
                    "previous_total": s.previous_total,
                    "change": s.change,
                    "change_percent": s.change_percent,
                    "unique": s.unique,
                    "previous_unique": s.previous_unique,
                }
                for s in self.series
            ],
            "rows": [
                {
                    "label": row.label,
                    "start": row.start.isoformat(),
                    "complete": row.complete,
                    "counts": list(row.counts),
                    "previous_label": row.previous_label,
                    "previous_start": (
                        None if row.previous_start is None else row.previous_start.isoformat()
                    ),
                    "previous": None if row.previous is None else list(row.previous),
                }
                for row in self.rows
            ],
        }

    def chart_series(self) -> dict[str, Any]:
        """One line per series (and a dashed comparison line each, `"previous": True`)."""
        lines: list[dict[str, Any]] = []
        for s in self.series:
            lines.append({"name": s.name, "values": list(s.counts), "previous": False})
            if s.previous is not None:
                lines.append(
                    {"name": f"{s.name} (previous)", "values": list(s.previous), "previous": True}
                )
        return {"title": self.title, "x": self.labels, "series": lines, "kind": "line"}


def trends(
    events: Any,
    period: str = "day",
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    compare: bool = True,
    breakdown: Any = None,
    system: Any = "default",
    now: date | datetime | None = None,
) -> TrendsTable:
    """Unique users per period for each of `events`, over the periods containing `start`
    to `end`, with the range of the same length just before as the comparison.

    - `events`: an event name or object, or a list of up to 20 (e.g. `["active",
      DayEvents("active") & UniqueEvents("premium")]`); period events in an expression are
      moved to each period, `UniqueEvents` stay as they are.
    - `period`: "hour", "day", "week" (ISO), "month" or "year" (calendar of the client's
      time zone).
    - `start`, `end`: moments in the first and last periods (both included); default: the
      last 24 hours, 30 days, 12 weeks, 12 months or 5 years, ending with the current one.
    - `compare`: also count the previous range (change and % on the totals).
    - `breakdown`: flag names (`UniqueEvents`) or event objects; each event is then split
      into one series per segment (users of the event in the period and of the segment).
    - `now`: the moment that decides the default range and which periods are complete.
    """
    specs = check_specs(events, "events", 1, MAX_EVENTS)
    kind = check_kind(period)
    q = Question(kind, system, now)
    starts = span(kind, start, end, q.now_wall, q.tz)
    n = len(starts)
    previous_starts = [shift(kind, starts[0], i - n) for i in range(n)] if compare else []
    segs = segments(breakdown, system)
    moments = starts + previous_starts
    event_exprs = [[q.expr(spec, moment) for moment in moments] for spec in specs]
    segment_exprs = [
        None if seg is None else [q.expr(seg, moment) for moment in moments] for _, seg in segs
    ]
    q.prefetch(
        [e for row in event_exprs for e in row] + [e for row in segment_exprs if row for e in row]
    )

    plan = [(e, s) for e in range(len(specs)) for s in range(len(segs))]

    def members(column: int, index: int) -> BitMap:
        """Users of series `column` in period `index` of `moments`."""
        e, s = plan[column]
        users = q.bitmap(event_exprs[e][index])
        seg = segment_exprs[s]
        return users if seg is None else users & q.bitmap(seg[index])

    series = []
    for column, (e, s) in enumerate(plan):
        current = [members(column, i) for i in range(n)]
        counts = tuple(len(b) for b in current)
        unique = len(BitMap.union(*current)) if n > 1 else counts[0]
        previous = previous_unique = previous_total = change = change_percent = None
        if compare:
            before = [members(column, n + i) for i in range(n)]
            previous = tuple(len(b) for b in before)
            previous_unique = len(BitMap.union(*before)) if n > 1 else previous[0]
            previous_total = sum(previous)
            change = sum(counts) - previous_total
            change_percent = percent(change, previous_total)
        seg_label = segs[s][0]
        name = spec_name(specs[e]) + ("" if seg_label is None else f" \u00b7 {seg_label}")
        series.append(
            TrendsSeries(
                name,
                spec_name(specs[e]),
                seg_label,
                counts,
                previous,
                sum(counts),
                previous_total,
                change,
                change_percent,
                unique,
                previous_unique,
            )
        )

    rows = [
        TrendsRow(
            q.aware(starts[i]),
            label(kind, starts[i]),
            shift(kind, starts[i], 1) <= q.now_wall,
            tuple(s.counts[i] for s in series),
            q.aware(previous_starts[i]) if compare else None,
            label(kind, previous_starts[i]) if compare else None,
            tuple(s.previous[i] for s in series) if compare else None,  # type: ignore[index]
        )
        for i in range(n)
    ]

    def ids_of(row: int, column: int, previous: bool) -> BitMap:
        return members(column, n + row if previous else row)

    title = ", ".join(spec_name(spec) for spec in specs) + f" per {kind}"
    return TrendsTable(
        title=title,
        period=kind,
        generated_at=q.aware(q.now_wall),
        rows=rows,
        series=series,
        ids_of=ids_of,
    )
