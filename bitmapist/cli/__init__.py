"""The `bitmapist` command: every bitmapist operation from a shell.

Each command opens a store from `--store URL` (or BITMAPIST_URL, else the default store),
makes one library call and prints the result. `docs/cli.md` documents every command.
"""

from __future__ import annotations

import click

from .. import __version__
from .analytics import funnel_command, lifecycle_command, stickiness_command, trend
from .ingest import export, import_
from .marking import mark, unmark
from .options import BitmapistGroup
from .query import count, events, ids, info
from .reports import demo, retention
from .services import copy, dashboard, serve


@click.group(cls=BitmapistGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bitmapist")
def cli() -> None:
    """bitmapist: user-activity analytics on bitmaps, from the command line.

    \b
    Start here:
      bitmapist demo                      # synthetic data, then the answers
      bitmapist count active:this-week    # users active this week
      bitmapist dashboard                 # the web dashboard on 127.0.0.1:8000
    """


for command in (
    demo,
    mark,
    unmark,
    count,
    ids,
    events,
    retention,
    trend,
    funnel_command,
    lifecycle_command,
    stickiness_command,
    import_,
    export,
    copy,
    info,
    serve,
    dashboard,
):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="bitmapist")


__all__ = ["cli", "main"]
