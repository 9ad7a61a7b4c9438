"""bitmapist: real-time user-activity analytics on bitmaps.

A drop-in for bitmapist 3.x (same API, same defaults, same Redis key layout) that also
runs on an embedded store, a Redis-protocol server of its own and Redis Cluster.

Example::

    from bitmapist import mark_event, MonthEvents

    mark_event("active", 123)
    assert 123 in MonthEvents("active")

The public names are imported on first use (PEP 562): `bitmapist-server` imports this
package to reach `bitmapist.server` and needs none of them (they cost it ~1 MB of RSS:
calendar, zoneinfo, json, csv, dataclasses and the API's own modules).
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import (
        delete_all_events,
        delete_runtime_bitop_keys,
        delete_temporary_bitop_keys,
        get_event_names,
        mark_event,
        mark_events,
        mark_unique,
        unmark_event,
        unmark_unique,
    )
    from .client import Bitmapist
    from .errors import (
        BitmapistError,
        InvalidInput,
        StoreError,
        UnknownSystem,
        UnsupportedOperation,
    )
    from .events import (
        BitOpAnd,
        BitOperation,
        BitOpNot,
        BitOpOr,
        BitOpXor,
        DayEvents,
        GenericPeriodEvents,
        HourEvents,
        MonthEvents,
        UniqueEvents,
        WeekEvents,
        YearEvents,
    )
    from .periods import add_month, iso_to_gregorian, iso_year_start, not_none
    from .ranges import ActiveUsers, DateRange, active_users
    from .retention import RetentionTable, retention
    from .stores import open_store
    from .systems import SYSTEMS, get_client, get_redis, setup_redis

    # Names the bitmapist 3.x README uses by mistake; they work too.
    DailyEvents = DayEvents
    YearEvent = YearEvents
    MonthEvent = MonthEvents
    WeekEvent = WeekEvents
    DayEvent = DayEvents
    HourEvent = HourEvents

#: Track hourly bitmaps by default? (3.x default: False — hours cost memory.)
TRACK_HOURLY = False
#: Track the date-independent unique bitmap by default?
TRACK_UNIQUE = False

__version__ = "4.0.0.dev0"

# Where each public name is defined: submodule -> names.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "api": (
        "delete_all_events",
        "delete_runtime_bitop_keys",
        "delete_temporary_bitop_keys",
        "get_event_names",
        "mark_event",
        "mark_events",
        "mark_unique",
        "unmark_event",
        "unmark_unique",
    ),
    "client": ("Bitmapist",),
    "errors": (
        "BitmapistError",
        "InvalidInput",
        "StoreError",
        "UnknownSystem",
        "UnsupportedOperation",
    ),
    "events": (
        "BitOpAnd",
        "BitOperation",
        "BitOpNot",
        "BitOpOr",
        "BitOpXor",
        "DayEvents",
        "GenericPeriodEvents",
        "HourEvents",
        "MonthEvents",
        "UniqueEvents",
        "WeekEvents",
        "YearEvents",
    ),
    "periods": ("add_month", "iso_to_gregorian", "iso_year_start", "not_none"),
    # Analytics: retention tables, date ranges and rolling active users (bitmapist.cohort
    # has the 3.x cohort functions).
    "ranges": ("ActiveUsers", "DateRange", "active_users"),
    "retention": ("RetentionTable", "retention"),
    "stores": ("open_store",),
    "systems": ("SYSTEMS", "get_client", "get_redis", "setup_redis"),
}
# Names the bitmapist 3.x README uses by mistake; they work too.
_ALIASES = {
    "DailyEvents": "DayEvents",
    "YearEvent": "YearEvents",
    "MonthEvent": "MonthEvents",
    "WeekEvent": "WeekEvents",
    "DayEvent": "DayEvents",
    "HourEvent": "HourEvents",
}
# Public name -> (submodule, name there).
_LAZY = {name: (module, name) for module, names in _EXPORTS.items() for name in names}
_LAZY.update({alias: ("events", name) for alias, name in _ALIASES.items()})

__all__ = [
    "SYSTEMS",
    "TRACK_HOURLY",
    "TRACK_UNIQUE",
    "ActiveUsers",
    "BitOpAnd",
    "BitOpNot",
    "BitOpOr",
    "BitOpXor",
    "BitOperation",
    "Bitmapist",
    "BitmapistError",
    "DailyEvents",
    "DateRange",
    "DayEvent",
    "DayEvents",
    "GenericPeriodEvents",
    "HourEvent",
    "HourEvents",
    "InvalidInput",
    "MonthEvent",
    "MonthEvents",
    "RetentionTable",
    "StoreError",
    "UniqueEvents",
    "UnknownSystem",
    "UnsupportedOperation",
    "WeekEvent",
    "WeekEvents",
    "YearEvent",
    "YearEvents",
    "active_users",
    "add_month",
    "delete_all_events",
    "delete_runtime_bitop_keys",
    "delete_temporary_bitop_keys",
    "get_client",
    "get_event_names",
    "get_redis",
    "iso_to_gregorian",
    "iso_year_start",
    "mark_event",
    "mark_events",
    "mark_unique",
    "not_none",
    "open_store",
    "retention",
    "setup_redis",
    "unmark_event",
    "unmark_unique",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562), then keep the name here."""
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(import_module(f".{module}", __name__), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


class _Package(ModuleType):
    """This package's module type: the name `retention` stays the function.

    Importing the submodule `bitmapist.retention` (`from bitmapist.retention import ...`)
    binds it as an attribute of the package; the public `retention` is the function the
    submodule defines, as it was when this package imported everything eagerly.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "retention" and isinstance(value, ModuleType):
            value = value.retention
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
