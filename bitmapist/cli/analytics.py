"""`trend`, `funnel`, `lifecycle` and `stickiness`: the product questions in a terminal.

Each command parses its options, makes one library call and prints a rich table with a bar
chart in it, or the table as `--csv` / `--json`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.table import Table
from rich.text import Text

from ..analytics.funnels import funnel
from ..analytics.lifecycle import lifecycle
from ..analytics.stickiness import stickiness
from ..analytics.trends import trends
from ..query_language import event_spec, parse_when
from .options import open_client, print_wide, store_option

F = TypeVar("F", bound=Callable[..., Any])
BAR_WIDTH = 30


def _range_options(default_period: str, periods: tuple[str, ...]) -> Callable[[F], F]:
    """--period, --start, --end, --breakdown, --csv, --json, --now and --store."""

    def decorate(func: F) -> F:
        for option in reversed(
            [
                click.option(
                    "--period",
                    type=click.Choice(periods),
                    default=default_period,
                    show_default=True,
                ),
                click.option(
                    "--start",
                    metavar="TIME",
                    default=None,
                    help="A moment in the first period [default: a range ending now].",
                ),
                click.option(
                    "--end",
                    metavar="TIME",
                    default=None,
                    help="A moment in the last period [default: now].",
                ),
                click.option(
                    "--breakdown",
                    metavar="FLAG",
                    multiple=True,
                    help="Split by this unique flag (or expression); repeat for more segments.",
                ),
                click.option("--csv", "as_csv", is_flag=True, help="Print the table as CSV."),
                click.option("--json", "as_json", is_flag=True, help="Print the table as JSON."),
                click.option("--now", "now_text", metavar="TIME", default=None, hidden=True),
                store_option,
            ]
        ):
            func = option(func)
        return func

    return decorate


class _Context:
    """What every command computes from the shared options."""

    def __init__(self, store_url, period, start, end, breakdown, now_text):
        self.client = open_client(store_url)
        self.now = parse_when(now_text)
        self.period = period
        self.start = parse_when(start) if start else None
        self.end = parse_when(end) if end else None
        self.breakdown = (
            [event_spec(text, self.client, period, self.now) for text in breakdown]
            if breakdown
            else None
        )

    def spec(self, text: str, period: str | None = None) -> Any:
        return event_spec(text, self.client, period or self.period, self.now)

    def common(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "breakdown": self.breakdown,
            "system": self.client,
            "now": self.now,
        }


def _emit(table: Any, as_csv: bool, as_json: bool, render: Callable[[Any], Table]) -> None:
    if as_json:
        click.echo(table.to_json())
    elif as_csv:
        click.echo(table.to_csv(), nl=False)
    else:
        print_wide(render(table))


def bar(value: float, maximum: float, width: int = BAR_WIDTH, style: str = "cyan") -> Text:
    """A horizontal bar of `value` out of `maximum`, in eighths of a character."""
    if maximum <= 0 or value <= 0:
        return Text("")
    eighths = round(min(value / maximum, 1.0) * width * 8)
    full, part = divmod(eighths, 8)
    return Text("\u2588" * full + ("", *"\u258f\u258e\u258d\u258c\u258b\u258a\u2589")[part], style)


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}%"


@click.command()
@click.argument("events", nargs=-1, required=True)
@_range_options("day", ("hour", "day", "week", "month", "year"))
@click.option("--no-compare", is_flag=True, help="Do not count the previous range.")
def trend(events, period, start, end, breakdown, as_csv, as_json, now_text, store_url, no_compare):
    """Unique users per period of each EVENT, against the range just before.

    EVENTS are event names or expressions as in `bitmapist count` (e.g. "active & premium:u").
    The table ends with each series' total, the previous range's total and the change.

    \b
    Examples:
      bitmapist trend active --period week
      bitmapist trend active song:played --breakdown signup_form:new --breakdown signup_form:classic
    """
    ctx = _Context(store_url, period, start, end, breakdown, now_text)
    table = trends(
        [ctx.spec(text) for text in events], period=period, compare=not no_compare, **ctx.common()
    )
    _emit(table, as_csv, as_json, _trend_table)


def _trend_table(table: Any) -> Table:
    out = Table(title=table.title, header_style="bold", show_footer=True, footer_style="bold")
    out.add_column("Period", footer="Total\nPrevious\nChange")
    peak = max((max(s.counts, default=0) for s in table.series), default=0)
    for s in table.series:
        footer = f"{s.total:,}"
        if s.previous_total is not None:
            sign = "+" if (s.change or 0) >= 0 else ""
            footer += f"\n{s.previous_total:,}\n{sign}{s.change:,} {_pct(s.change_percent)}"
        out.add_column(s.name, justify="right", footer=footer)
    out.add_column(f"{table.series[0].name}", no_wrap=True)
    for row in table.rows:
        mark = "" if row.complete else "*"
        out.add_row(
            row.label + mark, *(f"{count:,}" for count in row.counts), bar(row.counts[0], peak)
        )
    return out


@click.command(name="funnel")
@click.argument("steps", nargs=-1, required=True)
@_range_options("day", ("hour", "day", "week", "month", "year"))
@click.option(
    "--window",
    type=click.IntRange(0, 1000),
    default=1,
    show_default=True,
    help="Periods allowed between one step and the next.",
)
@click.option(
    "--rule",
    type=click.Choice(["same_period", "strictly_later"]),
    default="same_period",
    show_default=True,
    help="May a step happen in the same period as the step before?",
)
def funnel_command(
    steps, period, start, end, breakdown, as_csv, as_json, now_text, store_url, window, rule
):
    """Of the users who did the first of STEPS in the range, how many did each next step?

    Each step must follow the one before within --window periods (the same period counts
    with --rule same_period). Prints users, conversion from the first and the previous step,
    and drop-off per step, with a bar chart.

    \b
    Examples:
      bitmapist funnel signup activate invite upgrade --window 7
      bitmapist funnel signup activate --period week --rule strictly_later --csv
    """
    ctx = _Context(store_url, period, start, end, breakdown, now_text)
    table = funnel(
        [ctx.spec(text) for text in steps], period=period, window=window, rule=rule, **ctx.common()
    )
    _emit(table, as_csv, as_json, _funnel_table)


def _funnel_table(table: Any) -> Table:
    rule = "same period counts" if table.rule == "same_period" else "strictly later"
    title = f"{table.title}\n(window {table.window} {table.period}s, {rule})"
    out = Table(title=title, header_style="bold")
    for name in ("Segment", "Step", "Users", "% of first", "% of previous", "Dropped", ""):
        out.add_column(name, justify="left" if name in ("Segment", "Step", "") else "right")
    for row in table.rows:
        first = table.step_rows(table.segments.index(row.segment))[0].count
        out.add_row(
            row.segment or "all users",
            f"{row.index + 1}. {row.name}",
            f"{row.count:,}",
            _pct(row.percent_of_first),
            _pct(row.percent_of_previous),
            f"{row.dropped:,}" if row.index else "",
            bar(row.count, first),
        )
    return out


@click.command(name="lifecycle")
@click.argument("event")
@_range_options("week", ("hour", "day", "week", "month", "year"))
@click.option(
    "--first-seen",
    metavar="EVENT",
    default=None,
    help="New users are this event's users of the period (e.g. signup).",
)
@click.option(
    "--lookback",
    type=click.IntRange(1, 10_000),
    default=None,
    help="Periods 'ever active' looks back [default: 168 hours, 90 days, 52 weeks, 24 months].",
)
def lifecycle_command(
    event, period, start, end, breakdown, as_csv, as_json, now_text, store_url, first_seen, lookback
):
    """New, returning, resurrecting and dormant users of EVENT in each period.

    \b
    Examples:
      bitmapist lifecycle active --period week --first-seen signup
      bitmapist lifecycle active --period day --start 2026-11-01 --json
    """
    ctx = _Context(store_url, period, start, end, breakdown, now_text)
    table = lifecycle(
        ctx.spec(event),
        period=period,
        first_seen=ctx.spec(first_seen) if first_seen else None,
        lookback=lookback,
        **ctx.common(),
    )
    _emit(table, as_csv, as_json, _lifecycle_table)


def _lifecycle_table(table: Any) -> Table:
    out = Table(title=table.title, header_style="bold")
    for name in ("Segment", "Period", "New", "Returning", "Resurrecting", "Dormant", ""):
        out.add_column(name, justify="left" if name in ("Segment", "Period", "") else "right")
    peak = max((max(r.active, -r.dormant) for r in table.rows), default=0)
    for r in table.rows:
        lost = bar(-r.dormant, peak, 12, "red")
        chart = Text(" " * (12 - len(lost)))  # dormant grows leftwards from the divider
        chart.append_text(lost)
        chart.append(" | ")
        for value, style in ((r.new, "green"), (r.returning, "blue"), (r.resurrecting, "yellow")):
            chart.append_text(bar(value, peak, 24, style))
        out.add_row(
            r.segment or "all users",
            r.label + ("" if r.complete else "*"),
            Text(f"{r.new:,}", "green"),
            Text(f"{r.returning:,}", "blue"),
            Text(f"{r.resurrecting:,}", "yellow"),
            Text(f"{r.dormant:,}", "red"),
            chart,
        )
    return out


@click.command(name="stickiness")
@click.argument("event")
@_range_options("week", ("day", "week", "month"))
@click.option("--unit", type=click.Choice(["hour", "day"]), default="day", show_default=True)
@click.option(
    "--power",
    "power_threshold",
    type=click.IntRange(1, 744),
    default=None,
    help="Active on at least this many units makes a power user [default: 5 of 7].",
)
def stickiness_command(
    event,
    period,
    start,
    end,
    breakdown,
    as_csv,
    as_json,
    now_text,
    store_url,
    unit,
    power_threshold,
):
    """Of the users of EVENT in each period, how many were active on exactly 1, 2, ... units?

    Prints the distribution of the last period as a bar chart, then every period's counts
    and the share of power users.

    \b
    Examples:
      bitmapist stickiness active --period week
      bitmapist stickiness active --period month --unit day --power 20 --csv
    """
    ctx = _Context(store_url, period, start, end, breakdown, now_text)
    table = stickiness(
        ctx.spec(event, unit),
        period=period,
        unit=unit,
        power_threshold=power_threshold,
        **ctx.common(),
    )
    _emit(table, as_csv, as_json, _stickiness_table)


def _stickiness_table(table: Any) -> Table:
    out = Table(title=table.title, header_style="bold")
    out.add_column("Segment")
    out.add_column("Period")
    out.add_column("Active", justify="right")
    out.add_column(f"Power (>= {table.power_threshold})", justify="right")
    out.add_column(f"Users by {table.unit}s active: 1, 2, ...", no_wrap=True)
    for r in table.rows:
        peak = max(r.counts, default=0)
        blocks = " \u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"
        spark = "".join(blocks[round(c / peak * 8)] if peak else " " for c in r.counts)
        out.add_row(
            r.segment or "all users",
            r.label + ("" if r.complete else "*"),
            f"{r.active:,}",
            f"{r.power_users:,} ({_pct(r.power_percent)})",
            Text(spark, "cyan"),
        )
    return out
