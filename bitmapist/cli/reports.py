"""`demo` and `retention`: the commands that print reports."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import click
from rich.markup import escape

from ..demo import demo_answers, record_demo
from .options import console, open_client, store_option
from .query_language import parse_when


@click.command()
@click.option("--users", type=click.IntRange(1, 10_000_000), default=20_000, show_default=True)
@click.option("--days", type=click.IntRange(1, 3660), default=90, show_default=True)
@click.option("--seed", type=int, default=2012, show_default=True, help="Same seed, same data.")
@click.option(
    "--now", "now_text", metavar="TIME", default=None,
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
    client = open_client(store_url)
    now = parse_when(now_text).astimezone(UTC)
    started = time.perf_counter()
    summary = record_demo(client, users=users, days=days, seed=seed, now=now)
    elapsed = time.perf_counter() - started
    out = console()
    out.print(
        f"Recorded {summary.users:,} users over {summary.days} days "
        f"({summary.first_day} to {summary.now:%Y-%m-%d %H:%M} UTC): "
        f"{summary.events:,} events in the {client.store.kind} store."
    )
    out.file.flush()
    click.echo(f"(recorded in {elapsed:.2f} s)", err=True)
    for answer in demo_answers(client, now):
        out.print()
        out.print(f"{escape(answer.question)} [bold green]{escape(answer.answer)}[/]")
        out.print(f"    [dim]{escape(answer.code)}[/]")
    _print_demo_retention(client, now)


def _print_demo_retention(client: object, now: datetime) -> None:
    """Weekly sign-up cohorts and how many came back, when the retention module exists."""
    try:
        from ..retention import retention as retention_table
    except ImportError:
        return
    from .heatmap import heatmap_table

    table = retention_table(
        "signup", "active", period="week", cohorts=6, periods=6, start=None,
        system=client,
    )
    console().print(heatmap_table(table, title="Weekly retention: signed up -> active"))


@click.command()
def retention() -> None:
    """placeholder"""
