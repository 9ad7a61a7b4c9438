"""bitmapist: real-time user-activity analytics on bitmaps.

A drop-in for bitmapist 3.x (same API, same defaults, same Redis key layout) that also
runs on an embedded store, a Redis-protocol server of its own and Redis Cluster.

Example::

    from bitmapist import mark_event, MonthEvents

    mark_event("active", 123)
    assert 123 in MonthEvents("active")
"""

from __future__ import annotations

from .analytics.funnels import FunnelTable, funnel
from .analytics.lifecycle import LifecycleTable, lifecycle
from .analytics.ranges import ActiveUsers, DateRange, active_users
from .analytics.retention import RetentionTable, retention
from .analytics.stickiness import StickinessTable, stickiness
from .analytics.trends import TrendsTable, trends
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
from .mixins import (
    MixinBitOperations,
    MixinContains,
    MixinCounts,
    MixinEventsMarked,
    MixinEventsMisc,
    MixinIter,
    _prefix_key,  # noqa: F401 - 3.x's private helper, imported by 3.x code; not in __all__
)
from .periods import add_month, iso_to_gregorian, iso_year_start, not_none
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
#: Bit operations as 3.x snapshots (computed when built, kept under their 3.x key until
#: deleted) instead of lazy live expressions? For clients whose `snapshot_bitops` is None.
SNAPSHOT_BITOPS = False

__version__ = "4.0.0.dev0"

__all__ = [
    "SNAPSHOT_BITOPS",
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
    "FunnelTable",
    "GenericPeriodEvents",
    "HourEvent",
    "HourEvents",
    "InvalidInput",
    "LifecycleTable",
    "MixinBitOperations",
    "MixinContains",
    "MixinCounts",
    "MixinEventsMarked",
    "MixinEventsMisc",
    "MixinIter",
    "MonthEvent",
    "MonthEvents",
    "RetentionTable",
    "StickinessTable",
    "StoreError",
    "TrendsTable",
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
    "funnel",
    "get_client",
    "get_event_names",
    "get_redis",
    "iso_to_gregorian",
    "iso_year_start",
    "lifecycle",
    "mark_event",
    "mark_events",
    "mark_unique",
    "not_none",
    "open_store",
    "retention",
    "setup_redis",
    "stickiness",
    "trends",
    "unmark_event",
    "unmark_unique",
]
