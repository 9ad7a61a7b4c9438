"""bitmapist-server: a Redis-protocol (RESP2/RESP3) server over the roaring engine.

Modules: `resp` (sans-IO codec), `commands` (name -> handler table), `batch` (group
commit), `keyspace` (the engine operations handlers use), `session` (connection and
server state), `app` (asyncio wiring), `main` (the `bitmapist-server` console script).
"""

from .app import BitmapistServer, run_server
from .session import Settings

__all__ = ["BitmapistServer", "Settings", "run_server"]
