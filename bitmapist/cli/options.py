"""What every command shares: `--store`, opening a client, and library errors as CLI errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
import redis
from rich.console import Console

from ..client import Bitmapist
from ..errors import BitmapistError

F = TypeVar("F", bound=Callable[..., Any])

STORE_HELP = (
    "Store URL: file:///path/store.db, memory://, redis://host:6379/0, ... "
    "[default: $BITMAPIST_URL, else the default store]"
)


def store_option(func: F) -> F:
    """Add `--store URL` (also read from BITMAPIST_URL) to a command."""
    return click.option(
        "--store",
        "store_url",
        metavar="URL",
        envvar="BITMAPIST_URL",
        default=None,
        help=STORE_HELP,
    )(func)


def open_client(store_url: str | None, **kwargs: Any) -> Bitmapist:
    """A client on `store_url` (None: the default store), closed when the command ends."""
    client = Bitmapist(store_url, **kwargs)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(client.close)
    return client


def console(stderr: bool = False) -> Console:
    """A rich console on the current stdout/stderr (CliRunner swaps them per invocation)."""
    return Console(file=sys.stderr if stderr else sys.stdout, highlight=False, soft_wrap=True)


def print_wide(renderable: Any) -> None:
    """Print a table at its natural width even when stdout is narrower (or not a terminal):
    a heatmap cut to 80 columns is worse than one that scrolls."""
    out = console()
    needed = out.measure(renderable, options=out.options.update(max_width=1000)).maximum
    if needed > out.width:
        out = Console(file=out.file, highlight=False, width=needed)
    out.print(renderable)


def echo_json(value: Any) -> None:
    """Print `value` as one line of JSON."""
    click.echo(json.dumps(value, ensure_ascii=False, sort_keys=False))


class BitmapistGroup(click.Group):
    """A click group that turns bitmapist's own errors into clean `Error: ...` messages."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BitmapistError as exc:
            raise click.ClickException(str(exc)) from exc
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            # the Redis store lets these through so applications can retry; here they end
            raise click.ClickException(f"cannot reach the store: {exc}") from exc
