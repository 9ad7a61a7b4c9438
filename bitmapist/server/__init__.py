"""bitmapist-server: a Redis-protocol (RESP2/RESP3) server over the roaring engine.

See `docs/architecture.md` (section Server) for its modules and the path of a command.
"""

from __future__ import annotations

from .app import BitmapistServer, run_server
from .session import Settings

__all__ = ["BitmapistServer", "Settings", "run_server"]
