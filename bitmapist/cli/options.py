"""What every command shares: `--store`, opening a client, and library errors as CLI errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import click
import redis
from rich.console import Console

from ..client import Bitmapist
from ..errors import BitmapistError
from ..stores import default_store_url

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


def open_client(store_url: str | None, *, create: bool = False, **kwargs: Any) -> Bitmapist:
    """A client on `store_url` (None: the default store), closed when the command ends.

    Only commands that write pass `create=True`: a read of a mistyped path must not leave
    an empty store (and its folders) behind.
    """
    check_store_path(store_url or default_store_url(), create=create)
    client = Bitmapist(store_url, **kwargs)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(client.close)
    return client


def store_file(url: str) -> Path | None:
    """The file of an embedded store URL (`file:///x.db` or a plain path), else None."""
    if "://" not in url and not url.startswith("file:"):
        return Path(url).expanduser()
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or not parts.path:
        return None  # memory://, a server, or a URL the store itself will reject
    return Path(unquote(parts.path)).expanduser()


def check_store_path(url: str, *, create: bool) -> None:
    """A one-line error if an embedded store's path is a directory, or does not exist and
    the command only reads (opening would create an empty store and its folders)."""
    path = store_file(url)
    if path is None:
        return
    if path.is_dir():
        raise click.ClickException(
            f"store {path} is a directory: give the store's file, e.g. {path / 'bitmapist.db'}"
        )
    if not create and not path.exists():
        raise click.ClickException(
            f"store {path} does not exist: nothing to read yet "
            "(bitmapist mark, import or demo create it)"
        )


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
        except OverflowError as exc:  # date arithmetic past the calendar, e.g. --start 9999-12-31
            raise click.ClickException(
                f"a date is out of range ({exc}): dates run from 0001-01-01 to 9999-12-31"
            ) from exc
        except OSError as exc:  # a file the command needs: unreadable, a directory, disk full
            where = f": {exc.filename}" if exc.filename else ""
            raise click.ClickException(f"{exc.strerror or exc}{where}") from exc
