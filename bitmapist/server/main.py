"""`bitmapist-server`: a Redis-protocol server storing bitmaps compressed (roaring).

Flags follow Doist's Go bitmapist-server (`-addr`, `-db`, `-bak`), with the usual long
forms (`--addr` ...) and a few more (`--requirepass`, `--maxclients`, limits).

Example::

    bitmapist-server -addr localhost:6379 -db /var/lib/bitmapist/bitmapist.db -bak /backup/b.db
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING

from ..engine import Engine
from ..errors import BitmapistError
from .session import Settings

if TYPE_CHECKING:
    import argparse

DEFAULT_ADDR = "localhost:6379"
DEFAULT_DB = "bitmapist.db"


def parse_addr(addr: str) -> tuple[str | None, int]:
    """`host:port` -> (host, port); an empty host (":6379") means every interface.

    Raises ValueError naming a bad address."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"address {addr!r} is not host:port (port 0..65535)")
    host = host.strip("[]")  # [::1]:6379
    return (host or None), int(port)


def _positive(text: str) -> int:
    import argparse  # (loaded: only the parser calls this)

    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be a positive integer")
    return value


def _non_negative(text: str) -> int:
    import argparse  # (loaded: only the parser calls this)

    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be an integer >= 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser (argparse is imported here only: see `parse_flags`)."""
    import argparse

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
    parser.add_argument(
        "--checkpoint-interval",
        type=float,
        default=60.0,
        help="seconds between background checkpoints (0: only when needed)",
    )
    parser.add_argument(
        "--cache-bytes",
        type=_positive,
        default=512 << 20,
        help="memory for loaded bitmaps before the coldest are evicted",
    )
    parser.add_argument(
        "--hot-bytes",
        type=_non_negative,
        default=64 << 20,
        help="of --cache-bytes, memory for the most recently used bitmaps "
        "kept decoded; colder ones stay packed (default 64 MB)",
    )
    parser.add_argument(
        "--durability",
        choices=("normal", "full"),
        default="normal",
        help="normal: writes survive kill -9; full: also power loss (fsync)",
    )
    parser.add_argument("--loglevel", default="info", choices=("debug", "info", "warning", "error"))
    parser.add_argument(
        "-v", "-version", "--version", action="store_true", help="print the version and exit"
    )
    return parser


def parse_flags(argv: Sequence[str] | None = None) -> SimpleNamespace:
    """The command line's flags (argparse's errors and --help exit, as usual).

    argparse serves once, at start-up: if this call loaded it, it is unloaded again, so
    that the ~0.35 MB of RSS it takes with gettext is reused by the modules and data
    loaded next. The flags come back in a plain namespace for that (an argparse one would
    keep the module alive, as would a local variable still holding the parser when
    unloading); a later `build_parser()` imports it again.
    """
    unload = set() if "argparse" in sys.modules else {"argparse", "gettext"} - set(sys.modules)
    flags = SimpleNamespace(**vars(build_parser().parse_args(argv)))
    if unload:
        for name in unload:
            sys.modules.pop(name, None)
        gc.collect()  # classes and their methods hold each other
    return flags


def _import_asyncio_without_ssl() -> None:
    """Import asyncio with `ssl` hidden, so that it does not map libssl and libcrypto.

    asyncio imports ssl eagerly, which costs ~4 MB of RSS; the server never speaks TLS.
    Only asyncio's own TLS support is off afterwards: `ssl` itself stays importable (SLURP's
    redis-py client imports it). Does nothing if asyncio is already imported (for example
    when `main` is called inside a program that uses it).
    """
    if "asyncio" in sys.modules or "ssl" in sys.modules:
        return
    sys.modules["ssl"] = None  # type: ignore[assignment]  # makes `import ssl` fail
    try:
        import asyncio  # noqa: F401
    finally:
        del sys.modules["ssl"]


def main(argv: Sequence[str] | None = None) -> int:
    """Console script `bitmapist-server`: serve until SIGTERM/SIGINT; the exit status.

    Run as the program, it imports asyncio without TLS support (the server has none).
    """
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
    except ValueError as exc:
        print(f"bitmapist-server: {exc}", file=sys.stderr)
        return 2
    settings = Settings(
        requirepass=args.requirepass or None,
        maxclients=args.maxclients,
        max_bulk_len=args.max_bulk_len,
        max_args=args.max_args,
        max_output_buffer=args.max_output_buffer,
        db_path=args.db,
        backup_path=args.bak if args.bak and args.bak != args.db else "",
        checkpoint_interval=args.checkpoint_interval,
    )
    try:
        engine = Engine(
            None if args.db == ":memory:" else args.db,
            cache_bytes=args.cache_bytes,
            hot_bytes=args.hot_bytes,
            durability=args.durability,
        )
    except BitmapistError as exc:
        print(f"bitmapist-server: cannot open {args.db}: {exc}", file=sys.stderr)
        return 1
    _import_asyncio_without_ssl()
    import asyncio

    from .app import run_server

    _keep_the_c_heap_small()
    try:
        asyncio.run(run_server(engine, settings, host, port))
    except OSError as exc:
        print(f"bitmapist-server: cannot listen on {args.addr}: {exc}", file=sys.stderr)
        engine.close()
        return 1
    return 0


_M_MMAP_THRESHOLD = -3  # glibc's malloc.h


def _keep_the_c_heap_small() -> None:
    """glibc only: give back the freed import temporaries (~1.5 MB left inside the heap,
    which glibc trims only from its top, when modules were compiled from source at
    start-up; next to nothing with .pyc files), and keep every allocation of 128 KiB or
    more in a mapping of its own (M_MMAP_THRESHOLD fixed at its default: glibc raises it
    after the first such free otherwise). Large blobs read while loading bitmaps then go back to the
    OS when freed instead of leaving holes: on the sparse benchmark dataset the loaded
    data took 11.3 MB instead of 12.0."""
    # (ctypes stays loaded: _ctypes caches its classes, so unloading it would free little)
    import ctypes  # (+0.3 MB, paid back several times)

    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return  # not glibc: nothing to do


if __name__ == "__main__":
    sys.exit(main())
