"""`count`, `ids`, `events` and `info`: read-only questions."""

from __future__ import annotations

from itertools import islice

import click

from ..query_language import PERIOD_NAMES, parse_expression, parse_when
from .options import echo_json, open_client, store_option

period_option = click.option(
    "--period",
    type=click.Choice(PERIOD_NAMES),
    default="month",
    show_default=True,
    help="Period of operands written without one.",
)
at_option = click.option(
    "--at",
    metavar="TIME",
    default=None,
    help="A moment inside that period: 2026-11-28, 2026-11-28T13:00, yesterday [default: now].",
)


@click.command()
@click.argument("expression")
@period_option
@at_option
@click.option("--json", "as_json", is_flag=True, help='Print {"expression": ..., "count": N}.')
@store_option
def count(
    expression: str, period: str, at: str | None, as_json: bool, store_url: str | None
) -> None:
    """How many users an event or an expression holds.

    EXPRESSION is EVENT[:PERIOD] operands joined by & (and), | (or), ^ (xor), ~ (not) and
    parentheses. PERIOD: 2026, 2026-11, 2026-W48, 2026-11-28, 2026-11-28T13, u (unique),
    this-hour, today, yesterday, this-week, last-week, this-month, last-month, this-year.
    Operands without a period take --period and --at.

    \b
    Examples:
      bitmapist count active --period week
      bitmapist count "active:2026-11 & signup:2026-10"
      bitmapist count "song:played:today & premium:u"
    """
    client = open_client(store_url)
    events = parse_expression(expression, client, period, parse_when(at))
    total = len(events)
    if as_json:
        echo_json({"expression": expression, "count": total})
    else:
        click.echo(total)


@click.command()
@click.argument("expression")
@period_option
@at_option
@click.option("--limit", type=click.IntRange(min=0), default=None, help="Print at most N ids.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@store_option
def ids(
    expression: str,
    period: str,
    at: str | None,
    limit: int | None,
    as_json: bool,
    store_url: str | None,
) -> None:
    """The user ids an event or expression holds, ascending, one per line.

    EXPRESSION is written as for `bitmapist count`.

    \b
    Examples:
      bitmapist ids "task:complete:today" --limit 10
      bitmapist ids "active:this-month & ~active:last-month" --json
    """
    client = open_client(store_url)
    events = parse_expression(expression, client, period, parse_when(at))
    found = islice(iter(events), limit)
    if as_json:
        echo_json(list(found))
    else:
        for uid in found:
            click.echo(uid)


@click.command()
@click.option("--prefix", default="", help="Only names starting with this.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@store_option
def events(prefix: str, as_json: bool, store_url: str | None) -> None:
    """List the event names that have data, sorted.

    \b
    Example:
      bitmapist events --prefix song:
    """
    names = sorted(open_client(store_url).get_event_names(prefix))
    if as_json:
        echo_json(names)
    else:
        for name in names:
            click.echo(name)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@store_option
def info(as_json: bool, store_url: str | None) -> None:
    """Facts about the store: kind, keys, memory and sizes, and how many events.

    \b
    Example:
      bitmapist info --store redis://localhost:6379/0
    """
    client = open_client(store_url)
    facts = dict(client.info())
    facts["events"] = len(client.get_event_names())
    if as_json:
        echo_json(facts)
        return
    width = max(len(str(name)) for name in facts)
    for name, value in facts.items():
        click.echo(f"{str(name).ljust(width)}  {_human(value)}")


def _human(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        return str(value)
    return f"{value:,}"
