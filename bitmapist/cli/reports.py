"""`demo` and `retention`: the commands that print reports."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import click
from rich.markup import escape

from ..analytics.retention import retention as retention_table
from ..demo import demo_answers, next_commands, record_demo
from ..query_language import event_for, event_spec, flag_spec, parse_when
from .heatmap import heatmap_table
from .options import console, open_client, print_wide, store_option


@click.command()
@click.option("--users", type=click.IntRange(1, 10_000_000), default=20_000, show_default=True)
@click.option("--days", type=click.IntRange(1, 3660), default=90, show_default=True)
@click.option("--seed", type=int, default=2012, show_default=True, help="Same seed, same data.")
@click.option(
    "--now",
    "now_text",
    metavar="TIME",
    default=None,
    help="The demo's present moment, e.g. 2026-11-28T15:30:00Z [default: now].",
)
@store_option
def demo(users: int, days: int, seed: int, now_text: str | None, store_url: str | None) -> None:
    """Record synthetic activity, then answer the README's questions (and a retention table).

    20,000 users over the last 90 days: sign-ups, visits (active), song:played,
    task:complete, and premium / A-B flags. Deterministic: running it again with the same
    seed on the same day changes nothing. It writes into --store like every command; use
    --store memory:// for a throwaway run.

    \b
    Examples:
      bitmapist demo
      bitmapist demo --store memory:// --users 5000 --days 30
    """
    client = open_client(store_url, create=True)
    now = parse_when(now_text).astimezone(UTC)
    started = time.perf_counter()
    summary = record_demo(client, users=users, days=days, seed=seed, now=now)
    elapsed = time.perf_counter() - started
    out = console()
    out.print(
        f"Recorded {summary.users:,} users over {summary.days} days "
        f"({summary.first_day} to {summary.now:%Y-%m-%d %H:%M} UTC): "
        f"{summary.events:,} events in the {_where(client)}.",
        markup=False,
    )
    out.file.flush()
    click.echo(f"(recorded in {elapsed:.2f} s)", err=True)
    for answer in demo_answers(client, now):
        out.print()
        out.print(f"{escape(answer.question)} [bold green]{escape(answer.answer)}[/]")
        out.print(f"    [dim]{escape(answer.code)}[/]")
    _print_demo_retention(client, now)
    out.print()
    if store_url and store_url.startswith("memory:"):
        out.print("memory:// is gone now; to keep the data: --store file:///path/to/store.db")
        return
    out.print("Next, try:")
    for command in next_commands(store_url):
        out.print(f"    {command}", markup=False)


def _where(client: Any) -> str:
    path = client.store.info().get("path")
    return f"{client.store.kind} store at {path}" if path else f"{client.store.kind} store"


def _print_demo_retention(client: Any, now: datetime) -> None:
    """Weekly sign-up cohorts and how many of them came back, as a heatmap."""
    table = retention_table(
        "signup", "active", period="week", cohorts=6, periods=6, system=client, now=now
    )
    console().print()
    title = "Retention: of each week's sign-ups, % active N weeks later"
    print_wide(heatmap_table(table, title=title))
    console().print(
        "    [dim]bitmapist.retention('signup', 'active', period='week', cohorts=6, periods=6)[/]"
    )


@click.command()
@click.argument("cohort")
@click.argument("returning")
@click.option(
    "--period",
    type=click.Choice(["hour", "day", "week", "month", "year"]),
    default="day",
    show_default=True,
)
@click.option("--cohorts", type=click.IntRange(1, 10_000), default=12, show_default=True)
@click.option("--periods", type=click.IntRange(0, 10_000), default=12, show_default=True)
@click.option(
    "--start",
    metavar="TIME",
    default=None,
    help="A moment in the first cohort's period [default: the last cohort is now].",
)
@click.option(
    "--mode",
    type=click.Choice(["on", "on_or_after"]),
    default="on",
    show_default=True,
    help="on: returned in that period; on_or_after: in it or any later one.",
)
@click.option(
    "--segment",
    metavar="FLAG",
    default=None,
    help="Only cohort users with this unique flag (e.g. premium), or in this expression.",
)
@click.option("--counts", is_flag=True, help="Show user counts instead of percentages.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (percentages, or --counts).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole table as JSON.")
@click.option("--now", "now_text", metavar="TIME", default=None, hidden=True)
@store_option
def retention(
    cohort: str,
    returning: str,
    period: str,
    cohorts: int,
    periods: int,
    start: str | None,
    mode: str,
    segment: str | None,
    counts: bool,
    as_csv: bool,
    as_json: bool,
    now_text: str | None,
    store_url: str | None,
) -> None:
    """Of the users who did COHORT in a period, how many did RETURNING 0, 1, 2... periods later?

    Prints a heatmap (cells of periods still running are marked *), or --csv / --json.
    COHORT and RETURNING are event names, or expressions as in `bitmapist count`
    (e.g. "signup & premium:u").

    \b
    Examples:
      bitmapist retention signup active --period week --cohorts 8 --periods 8
      bitmapist retention signup active --period month --segment premium --csv
    """

    client = open_client(store_url)
    now = parse_when(now_text)
    cohort_spec = event_spec(cohort, client, period, now)
    if segment:
        if isinstance(cohort_spec, str):
            cohort_spec = event_for(client, cohort_spec, period, now)
        cohort_spec = cohort_spec & flag_spec(segment, client, period, now)
    table = retention_table(
        cohort_spec,
        event_spec(returning, client, period, now),
        period=period,
        start=parse_when(start) if start else None,
        cohorts=cohorts,
        periods=periods,
        mode=mode,
        system=client,
        now=now,
    )
    values = "count" if counts else "percent"
    if as_json:
        click.echo(table.to_json())
    elif as_csv:
        click.echo(table.to_csv(values), nl=False)
    else:
        title = f"{cohort} \u2192 {returning}" + (f" (segment: {segment})" if segment else "")
        print_wide(heatmap_table(table, title=title, values=values))
