"""The question pages' charts, drawn from the library's tables.

Titles say what is shown (which users, per which period, over which range); x labels are
short forms of the period labels, so more of them fit before thinning starts. Series and
segments are named as the library's tables name them (an expression as typed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from markupsafe import Markup

from .bar_charts import Bars, bar_chart, funnel_chart
from .charts import Series, colour, line_chart


def short_label(period: str, start: datetime) -> str:
    """A period's x label: 13:00 (hour; Nov 28 at midnight), Nov 28, W48, Nov 2026."""
    if period == "hour":
        return f"{start:%b} {start.day}" if start.hour == 0 else f"{start:%H}:00"
    if period == "day":
        return f"{start:%b} {start.day}"
    if period == "week":
        return f"W{start.isocalendar()[1]}"
    if period == "month":
        return f"{start:%b %Y}"
    return str(start.year)


def _range(table: Any) -> str:
    if not table.rows:
        return "no periods"
    first, last = table.rows[0].label, table.rows[-1].label
    return first if first == last else f"{first} to {last}"


def trends_chart(table: Any, query: Any) -> Markup:
    """One line per series; the comparison range dashed in the same colour."""
    series = []
    for i, s in enumerate(table.series):
        name = s.name
        series.append(Series(name, s.counts, colour(i)))
        if s.previous is not None:
            series.append(
                Series(f"{name}, range before", s.previous, colour(i), width=1.5, dashed=True)
            )
    title = f"Unique users per {table.period}, {_range(table)}"
    if table.compare:
        title += f" (dashed: the {len(table.rows)} {table.period}s before)"
    labels = [short_label(table.period, row.start) for row in table.rows]
    return line_chart(series, labels, title=title)


#: Width of charts drawn two to a row (their text keeps its size side by side).
HALF_WIDTH = 580

#: Lifecycle statuses in stacking order, with their colours (dormant below zero).
LIFECYCLE = (
    ("new", "#059669"),
    ("returning", "#1d4ed8"),
    ("resurrecting", "#d97706"),
    ("dormant", "#dc2626"),
)
RULE_TEXT = {
    "same_period": "a step may come in the same period as the one before",
    "strictly_later": "each step in a later period than the one before",
}


def _segment_name(name: str | None) -> str:
    return "all users" if name is None else name


def funnel_charts(table: Any, query: Any) -> Markup:
    """Bars per step (one series per segment), the drop-off pale on top."""
    series = [
        Bars(_segment_name(name), [row.count for row in table.step_rows(s)], colour(s))
        for s, name in enumerate(table.segments)
    ]
    first, last = table.entry_labels[0], table.entry_labels[-1]
    entry = first if first == last else f"{first} to {last}"
    unit = table.period + ("" if table.window == 1 else "s")
    title = f"Users reaching each step, entering {entry}: within {table.window} {unit} per step"
    return funnel_chart(list(table.steps), series, title=title)


def lifecycle_charts(table: Any, query: Any) -> Markup:
    """One stacked bar chart per segment: new, returning, resurrecting up, dormant down."""
    charts = []
    for segment in table.segments:
        rows = [row for row in table.rows if row.segment == segment]
        bars = [Bars(name, [getattr(row, name) for row in rows], hue) for name, hue in LIFECYCLE]
        who = "" if segment is None else f" ({segment})"
        title = f"{table.title}{who}: users per {table.period} by lifecycle, dormant below zero"
        labels = [short_label(table.period, row.start) for row in rows]
        width = 760 if len(table.segments) == 1 else HALF_WIDTH
        charts.append(bar_chart(labels, bars, title=title, stacked=True, width=width))
    return Markup("").join(charts)


def stickiness_period(table: Any) -> int:
    """The period the distribution chart shows: the last complete one, else the last."""
    labels = table.labels
    complete = [i for i, row in enumerate(table.rows[: len(labels)]) if row.complete]
    return complete[-1] if complete else len(labels) - 1


def stickiness_charts(table: Any, query: Any) -> Markup:
    """The distribution of one period (share of its active users per number of units
    active, one series per segment) and the power users' share over all periods."""
    t = stickiness_period(table)
    unit = table.unit
    bars, lines = [], []
    for s, segment in enumerate(table.segments):
        rows = [row for row in table.rows if row.segment == segment]
        row = rows[t]
        shares = [100 * count / row.active if row.active else 0 for count in row.counts]
        bars.append(Bars(_segment_name(segment), shares, colour(s)))
        lines.append(Series(_segment_name(segment), [r.power_percent for r in rows], colour(s)))
    x = [f"{j} {unit}{'' if j == 1 else 's'}" for j in range(1, table.max_units + 1)]
    when = table.labels[t]
    distribution = bar_chart(
        x,
        bars,
        title=f"{when}: % of active users by {unit}s active (power: {table.power_threshold}+)",
        percent=True,
        width=HALF_WIDTH,
    )
    power = line_chart(
        lines,
        [short_label(table.period, row.start) for row in table.rows[: len(table.labels)]],
        title=f"Power users ({table.power_threshold}+ {unit}s active) as % of each "
        f"{table.period}'s active users",
        percent=True,
        width=HALF_WIDTH,
    )
    return distribution + power


__all__ = [
    "Bars",
    "bar_chart",
    "funnel_chart",
    "short_label",
    "trends_chart",
    "funnel_charts",
    "lifecycle_charts",
    "stickiness_charts",
]
