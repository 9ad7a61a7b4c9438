"""`copy`, `serve` and `dashboard`: moving data between stores, and long-running servers."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import click
from rich.progress import Progress, TextColumn

from ..errors import UnsupportedOperation
from ..keys import DEFAULT_PREFIX
from ..stores import default_store_url, open_store
from .options import check_store_path, console, open_client, store_option

host_option = click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (loopback by default: use 0.0.0.0 to expose it).",
)


def _optional(module: str, what: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise UnsupportedOperation(
                f"{what} is not available: module {module} is missing from this installation"
            ) from exc
        hint = "pip install 'bitmapist[web]'" if exc.name in ("starlette", "uvicorn") else ""
        raise UnsupportedOperation(f"{what} needs the {exc.name!r} package. {hint}") from exc


@click.command()
@click.argument("source", metavar="SRC")
@click.argument("destination", metavar="DST")
@click.option("--pattern", default=None, help="Only keys matching this Redis glob pattern.")
@click.option(
    "--prefix", default=DEFAULT_PREFIX, show_default=True, help="Key prefix of the events."
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show keys copied so far [default: when stderr is a terminal].",
)
def copy(
    source: str, destination: str, pattern: str | None, prefix: str, progress: bool | None
) -> None:
    """Copy every bitmap from store SRC into store DST (both URLs).

    Bits are OR-ed into DST (nothing there is removed), so a copy can be repeated or
    resumed. The destination's own layout applies (e.g. Redis -> Redis Cluster).

    \b
    Examples:
      bitmapist copy redis://localhost:6379/0 file:///var/lib/bitmapist/store.db
      bitmapist copy redis://old-bitmapist-server:6379 memory://
    """
    transfer = _optional("bitmapist.transfer", "copy")
    show = sys.stderr.isatty() if progress is None else progress
    check_store_path(source, create=False)
    check_store_path(destination, create=True)
    with (
        open_store(source) as src,
        open_store(destination) as dst,
        Progress(
            TextColumn("copying {task.completed:,} keys"),
            TextColumn("{task.description}"),
            console=console(stderr=True),
            transient=True,
            disable=not show,
        ) as bar,
    ):
        task = bar.add_task("", total=None)

        def advance(copied: int, key: str) -> None:
            bar.update(task, completed=copied, description=key[:60])

        copied = transfer.copy_store(src, dst, pattern=pattern, prefix=prefix, progress=advance)
    click.echo(f"Copied {copied:,} key{'s' * (copied != 1)} from {source} to {destination}.")


@click.command()
@host_option
@click.option("--port", type=click.IntRange(0, 65535), default=6379, show_default=True)
@store_option
def serve(host: str, port: int, store_url: str | None) -> None:
    """Run the bitmapist RESP server over an embedded store (file:// or memory://):
    redis-py, redis-cli and bitmapist 3.x connect to it as to Redis.

    \b
    Examples:
      bitmapist serve --port 6380 --store file:///var/lib/bitmapist/store.db
      redis-cli -p 6380 setbit trackist_active_2026-11 123 1
    """
    server = _optional("bitmapist.server.main", "serve")
    check_store_path(store_url or default_store_url(), create=True)
    database = _server_database(store_url or default_store_url())
    click.echo(f"bitmapist server on {host}:{port}, database {database} (Ctrl-C stops it)")
    code = server.main(["--addr", f"{host}:{port}", "--db", database])
    click.get_current_context().exit(code or 0)


def _server_database(url: str) -> str:
    """The server's `--db` for an embedded store URL (it serves its own engine)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower() if "://" in url else "file"
    if scheme == "memory":
        return ":memory:"
    if scheme != "file":
        raise UnsupportedOperation(
            f"serve runs on an embedded store, not {url!r}: give --store file:///path.db "
            "or memory:// (Redis already speaks RESP itself)"
        )
    path = Path(unquote(parts.path) if "://" in url else url).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


@click.command()
@host_option
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@store_option
def dashboard(host: str, port: int, store_url: str | None) -> None:
    """Run the web dashboard: an overview of every event, trends, funnels, lifecycle,
    stickiness, retention and DAU/WAU/MAU pages, each with its chart, CSV and users.

    \b
    Examples:
      bitmapist dashboard
      bitmapist dashboard --port 8080 --store redis://localhost:6379/0
    """
    web = _optional("bitmapist.web", "dashboard")
    uvicorn = _optional("uvicorn", "dashboard")
    client = open_client(store_url)
    click.echo(f"bitmapist dashboard on http://{host}:{port}/ (Ctrl-C stops it)")
    uvicorn.run(web.create_app(client), host=host, port=port, log_level="warning")
