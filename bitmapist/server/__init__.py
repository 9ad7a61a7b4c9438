"""bitmapist-server: a Redis-protocol (RESP2/RESP3) server over the roaring engine.

Modules: `resp` (sans-IO codec), `commands` (name -> handler table), `batch` (group
commit), `keyspace` (the engine operations handlers use), `session` (connection and
server state), `app` (asyncio wiring), `main` (the `bitmapist-server` console script).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .session import Settings

if TYPE_CHECKING:
    from .app import BitmapistServer, run_server

__all__ = ["BitmapistServer", "Settings", "run_server"]


def __getattr__(name: str) -> Any:
    # `app` imports asyncio: loaded on first use, so that `bitmapist-server` (main.py)
    # can import asyncio first, its own way (without ssl).
    if name in ("BitmapistServer", "run_server"):
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
