"""The bitmapist 3.x module-level functions, delegating to the client of `system`.

Tracking defaults come from `bitmapist.TRACK_HOURLY` / `bitmapist.TRACK_UNIQUE`, read at
call time as in 3.x, unless `system` is a `Bitmapist` client (then its own defaults).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from .client import Bitmapist, EventTuple, delete_runtime_bitop_keys_everywhere
from .systems import get_client


def _tracking(system: Any, track_hourly: bool | None, track_unique: bool | None) -> tuple[Any, Any]:
    if isinstance(system, Bitmapist):
        return track_hourly, track_unique
    import bitmapist  # the package module holds the user-settable flags

    hourly = bitmapist.TRACK_HOURLY if track_hourly is None else track_hourly
    unique = bitmapist.TRACK_UNIQUE if track_unique is None else track_unique
    return hourly, unique


def mark_event(
    event_name: str,
    uuid: int,
    system: Any = "default",
    now: datetime | date | None = None,
    track_hourly: bool | None = None,
    track_unique: bool | None = None,
    use_pipeline: bool = True,
) -> None:
    """Mark `uuid` for `event_name` in the month, ISO week and day of `now` (default: now,
    UTC), plus the hour when `track_hourly` and the unique bitmap when `track_unique`.

    The bits are written atomically. With a redis-py pipeline as `system`, they are queued
    in it for you to execute (`use_pipeline` is accepted for 3.x compatibility).

    Example::

        mark_event("active", 123)
        mark_event("song:played", 123, now=datetime(2026, 1, 5, tzinfo=timezone.utc))
    """
    hourly, unique = _tracking(system, track_hourly, track_unique)
    get_client(system).mark_event(event_name, uuid, now, hourly, unique)


def unmark_event(
    event_name: str,
    uuid: int,
    system: Any = "default",
    now: datetime | date | None = None,
    track_hourly: bool | None = None,
    track_unique: bool | None = None,
    use_pipeline: bool = True,
) -> None:
    """Clear what `mark_event` with the same arguments set."""
    hourly, unique = _tracking(system, track_hourly, track_unique)
    get_client(system).unmark_event(event_name, uuid, now, hourly, unique)


def mark_events(
    events: Iterable[EventTuple],
    system: Any = "default",
    track_hourly: bool | None = None,
    track_unique: bool | None = None,
) -> int:
    """Bulk `mark_event`: `(event_name, uuid, datetime)` tuples, grouped into one batch.

    Example::

        mark_events([("active", 1, dt1), ("active", 2, dt2), ("signup", 2, dt2)])
    """
    hourly, unique = _tracking(system, track_hourly, track_unique)
    return get_client(system).mark_events(events, hourly, unique)


def mark_unique(event_name: str, uuid: int, system: Any = "default") -> None:
    """Flag `uuid` for `event_name` regardless of date (see `UniqueEvents`).

    Example::

        mark_unique("premium", 42)
    """
    get_client(system).mark_unique(event_name, uuid)


def unmark_unique(event_name: str, uuid: int, system: Any = "default") -> None:
    """Remove the flag set by `mark_unique`."""
    get_client(system).unmark_unique(event_name, uuid)


def get_event_names(system: Any = "default", prefix: str = "", batch: int = 10000) -> list[str]:
    """Every event name with stored data, in no particular order; `prefix` filters."""
    return get_client(system).get_event_names(prefix, batch)


def delete_all_events(system: Any = "default") -> None:
    """Delete every bitmapist key of the system."""
    get_client(system).delete_all_events()


def delete_temporary_bitop_keys(system: Any = "default") -> None:
    """Delete every cached bit-operation result of the system."""
    get_client(system).delete_temporary_bitop_keys()


def delete_runtime_bitop_keys() -> None:
    """Delete the bit-operation results this thread has created, on every system."""
    delete_runtime_bitop_keys_everywhere()
