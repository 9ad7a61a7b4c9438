"""A `RetentionTable` as a rich table whose cells are coloured by their percentage."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.table import Table
from rich.text import Text

# 0% and 100%: pale to deep blue, as in most cohort charts
_LOW = (239, 246, 255)
_HIGH = (30, 64, 175)


def shade(percent: float) -> tuple[int, int, int]:
    """The heatmap colour of a percentage (clamped to [0, 100])."""
    t = min(max(percent, 0.0), 100.0) / 100
    return tuple(round(low + (high - low) * t) for low, high in zip(_LOW, _HIGH))  # type: ignore[return-value]


def _cell(cell: Any, values: str) -> Text:
    if cell.count is None:
        return Text("")
    mark = "" if cell.complete else "*"
    if values == "count" or cell.percent is None:
        text = f"{cell.count:,}{mark}"
    else:
        text = f"{cell.percent:.1f}%{mark}"
    if cell.percent is None:
        return Text(text)
    red, green, blue = shade(cell.percent)
    ink = "white" if cell.percent >= 45 else "black"
    return Text(text, style=Style(color=ink, bgcolor=f"rgb({red},{green},{blue})"))


def heatmap_table(table: Any, *, title: str | None = None, values: str = "percent") -> Table:
    """Rows: cohorts with their size; columns: the table's periods; a footer of averages.

    Cells of periods that have not ended are marked `*`; future cells are empty.
    """
    out = Table(
        title=title if title is not None else table.title,
        show_footer=True,
        header_style="bold",
        footer_style="bold",
    )
    out.add_column("Cohort", footer="Average")
    out.add_column("Users", justify="right")
    for column, average in zip(table.columns, table.averages):
        footer = "" if average.weighted is None else f"{average.weighted:.1f}%"
        out.add_column(column.label, justify="right", footer=footer)
    for row in table.rows:
        size = "" if row.size is None else f"{row.size:,}"
        out.add_row(row.label, size, *(_cell(cell, values) for cell in row.cells))
    return out
