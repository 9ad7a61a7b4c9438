"""`bitmapist-server`: a Redis-protocol server storing bitmaps compressed (roaring).

Flags follow Doist's Go bitmapist-server (`-addr`, `-db`, `-bak`), with the usual long
forms (`--addr` ...) and a few more (`--requirepass`, `--maxclients`, limits).

Example::

    bitmapist-server -addr localhost:6379 -db /var/lib/bitmapist/bitmapist.db -bak /backup/b.db
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from ..engine import Engine
from ..errors import BitmapistError
from .app import event_loop_factory, run_server
from .session import Settings

DEFAULT_ADDR = "localhost:6379"
DEFAULT_DB = "bitmapist.db"
SERVER_CACHE_BYTES = 12 << 20  # --cache-bytes
SERVER_HOT_BYTES = 10 << 20  # --hot-bytes
SERVER_CHECKPOINT_BYTES = 4 << 20  # --checkpoint-bytes


def parse_addr(addr: str) -> tuple[str | None, int]:
    """`host:port` -> (host, port); an empty host (":6379") means every interface.

    Raises ValueError naming a bad address."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"address {addr!r} is not host:port (port 0..65535)")
    host = host.strip("[]")  # [::1]:6379
    return (host or None), int(port)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be a positive integer")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be an integer >= 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser."""
    parser = argparse.ArgumentParser(
        prog="bitmapist-server",
        description="A Redis-protocol server for bitmapist, storing compressed bitmaps.",
        epilog="example: bitmapist-server -addr localhost:6379 -db bitmapist.db -bak backup.db",
    )
    parser.add_argument(
        "-addr",
        "--addr",
        default=DEFAULT_ADDR,
        metavar="host:port",
        help=f"listen on (default {DEFAULT_ADDR}; ':port': every interface)",
    )
    parser.add_argument(
        "-db",
        "--db",
        default=DEFAULT_DB,
        metavar="path",
        help=f"database file (default {DEFAULT_DB}; ':memory:' keeps no file)",
    )
    parser.add_argument(
        "-bak",
        "--bak",
        default="",
        metavar="path",
        help="file to write a consistent backup to on SIGUSR1",
    )
    parser.add_argument(
        "--requirepass",
        default=os.environ.get("BITMAPIST_REQUIREPASS"),
        metavar="password",
        help="require AUTH with this password",
    )
    _add_limit_flags(parser)
    _add_storage_flags(parser)
    parser.add_argument("--loglevel", default="info", choices=("debug", "info", "warning", "error"))
    parser.add_argument(
        "--event-loop",
        default="auto",
        choices=("auto", "asyncio", "uvloop"),
        help="auto (default): uvloop when installed (pip install bitmapist[uvloop]), else asyncio",
    )
    parser.add_argument(
        "-v", "-version", "--version", action="store_true", help="print the version and exit"
    )
    return parser


def _add_limit_flags(parser: argparse.ArgumentParser) -> None:
    """Flags bounding what clients may ask for."""
    parser.add_argument(
        "--maxclients",
        type=_positive,
        default=10_000,
        help="most simultaneous clients (default 10000)",
    )
    parser.add_argument(
        "--max-bulk-len",
        type=_positive,
        default=512 * 1024 * 1024,
        help="longest argument in bytes (default 512 MB, as Redis)",
    )
    parser.add_argument(
        "--max-args",
        type=_positive,
        default=1024 * 1024,
        help="most arguments in one command (default 1048576)",
    )
    parser.add_argument(
        "--max-output-buffer",
        type=_positive,
        default=256 * 1024 * 1024,
        help="drop a client whose unread replies exceed this (bytes)",
    )


def _add_storage_flags(parser: argparse.ArgumentParser) -> None:
    """Flags of the engine: checkpoints, cache, durability."""
    parser.add_argument(
        "--checkpoint-interval",
        type=float,
        default=60.0,
        help="seconds between background checkpoints (0: only when needed)",
    )
    # Small on purpose (docs/server.md, "At data scale"): the data lives in the file and is
    # decoded on demand. The hot budget must hold the bitmaps being written (a load's
    # day, week and month keys: ~7 MB decoded on 20k sparse ids a day, at most 7/8 of
    # the budget after an eviction), or each write
    # decodes its keys again (sparse90 at 4 MiB: 7x the CPU per event; at 2 MiB: 12x).
    parser.add_argument(
        "--checkpoint-bytes",
        type=_positive,
        default=SERVER_CHECKPOINT_BYTES,
        help="journal bytes past which writes also fold it into the stored bitmaps, a "
        "step at a time; a checkpoint holds the rows of keys not in memory "
        f"(default {SERVER_CHECKPOINT_BYTES >> 20} MiB)",
    )
    parser.add_argument(
        "--cache-bytes",
        type=_positive,
        default=SERVER_CACHE_BYTES,
        help="memory for loaded bitmaps, decoded and packed, before the coldest are "
        f"dropped (reloaded from the file when used; default {SERVER_CACHE_BYTES >> 20} MiB)",
    )
    parser.add_argument(
        "--hot-bytes",
        type=_non_negative,
        default=SERVER_HOT_BYTES,
        help="of --cache-bytes, memory for the most recently used bitmaps kept decoded "
        "(counted as CRoaring allocates them); colder ones stay packed "
        f"(default {SERVER_HOT_BYTES >> 20} MiB)",
    )
    parser.add_argument(
        "--durability",
        choices=("normal", "full"),
        default="normal",
        help="normal: writes survive kill -9; full: also power loss (fsync)",
    )
    parser.add_argument(
        "--no-vacuum",
        dest="vacuum",
        action="store_false",
        help="checkpoints keep the file's free pages instead of giving them back",
    )


def parse_flags(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line's flags (argparse's errors and --help exit, as usual)."""
    return build_parser().parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Console script `bitmapist-server`: serve until SIGTERM/SIGINT; the exit status."""
    args = parse_flags(argv)
    if args.version:
        from importlib.metadata import version

        print(f"bitmapist-server {version('bitmapist')}")
        return 0
    logging.basicConfig(
        level=args.loglevel.upper(),
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        host, port = parse_addr(args.addr)
        loop_factory = event_loop_factory(args.event_loop)
    except ValueError as exc:  # InvalidInput too
        print(f"bitmapist-server: {exc}", file=sys.stderr)
        return 2
    settings = Settings(
        requirepass=args.requirepass or None,
        maxclients=args.maxclients,
        max_bulk_len=args.max_bulk_len,
        max_args=args.max_args,
        max_output_buffer=args.max_output_buffer,
        backup_path=args.bak if args.bak and args.bak != args.db else "",
        checkpoint_interval=args.checkpoint_interval,
    )
    try:
        engine = Engine(
            None if args.db == ":memory:" else args.db,
            cache_bytes=args.cache_bytes,
            hot_bytes=args.hot_bytes,
            checkpoint_bytes=args.checkpoint_bytes,
            durability=args.durability,
            vacuum=args.vacuum,
        )
    except BitmapistError as exc:
        print(f"bitmapist-server: cannot open {args.db}: {exc}", file=sys.stderr)
        return 1
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(run_server(engine, settings, host, port))
    except OSError as exc:
        print(f"bitmapist-server: cannot listen on {args.addr}: {exc}", file=sys.stderr)
        engine.close()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
