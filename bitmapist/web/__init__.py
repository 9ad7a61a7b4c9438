"""The bitmapist web dashboard: a Starlette app you can run or mount in your own.

Example::

    from bitmapist.web import create_app
    app = create_app("redis://localhost:6379/0")   # run: uvicorn module:app
    # or inside your Starlette app: Mount("/analytics", app=create_app(client))

Needs the `web` extra: ``pip install 'bitmapist[web]'``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.applications import Starlette

from ..client import Bitmapist
from ..stores.base import Store
from .app import Dashboard


def create_app(
    store_or_client: Bitmapist | Store | str | Any | None = None,
    *,
    title: str = "bitmapist",
    now: Callable[[], datetime] | None = None,
    names_ttl: float = 10.0,
) -> Starlette:
    """A dashboard ASGI app over a `Bitmapist` client, a `Store`, a store URL or a redis-py
    client (None: the default store). `now` pins the clock (tests, screenshots);
    `names_ttl` is how long the list of event names is reused (seconds)."""
    client = (
        store_or_client if isinstance(store_or_client, Bitmapist) else Bitmapist(store_or_client)
    )
    dashboard = Dashboard(client, title=title, now=now, names_ttl=names_ttl)
    app = Starlette(routes=dashboard.routes())
    app.state.dashboard = dashboard
    return app


__all__ = ["create_app", "Dashboard"]
