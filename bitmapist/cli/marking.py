"""`mark` and `unmark`: record or remove one user's event."""

from __future__ import annotations

import click

from ..query_language import parse_when
from .options import open_client, store_option

_UUID = click.IntRange(0, 2**32 - 1)


def _marking_options(func):  # type: ignore[no-untyped-def]
    func = click.option(
        "--at",
        metavar="TIME",
        default=None,
        help="When it happened: 2026-11-28T13:05:00Z, 2026-11-28, yesterday [default: now].",
    )(func)
    func = click.option("--hourly/--no-hourly", default=False, help="Also the hour's bitmap.")(func)
    func = click.option("--unique", is_flag=True, help="Also the date-independent bitmap.")(func)
    func = click.option(
        "--only-unique",
        is_flag=True,
        help="Only the date-independent bitmap (a flag such as premium: mark_unique).",
    )(func)
    return store_option(func)


@click.command()
@click.argument("event")
@click.argument("user_id", type=_UUID)
@_marking_options
def mark(
    event: str,
    user_id: int,
    at: str | None,
    hourly: bool,
    unique: bool,
    only_unique: bool,
    store_url: str | None,
) -> None:
    """Mark USER_ID as having done EVENT (its month, ISO week and day; --hourly, --unique).

    \b
    Examples:
      bitmapist mark active 123
      bitmapist mark song:played 123 --at 2026-11-28T13:05:00Z --hourly
      bitmapist mark premium 123 --only-unique
    """
    client = open_client(store_url, create=True)
    if only_unique:
        client.mark_unique(event, user_id)
    else:
        client.mark_event(event, user_id, parse_when(at), hourly, unique)


@click.command()
@click.argument("event")
@click.argument("user_id", type=_UUID)
@_marking_options
def unmark(
    event: str,
    user_id: int,
    at: str | None,
    hourly: bool,
    unique: bool,
    only_unique: bool,
    store_url: str | None,
) -> None:
    """Remove what `bitmapist mark` with the same arguments recorded.

    \b
    Example:
      bitmapist unmark active 123 --at 2026-11-28
    """
    client = open_client(store_url)
    if only_unique:
        client.unmark_unique(event, user_id)
    else:
        client.unmark_event(event, user_id, parse_when(at), hourly, unique)
