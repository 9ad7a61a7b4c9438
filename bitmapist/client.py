"""`Bitmapist`: a client holding a store, a key prefix, tracking defaults and a timezone.

Several clients can coexist (different stores, prefixes or calendars). The 3.x
module-level API (`bitmapist.mark_event`, `bitmapist.MonthEvents`, ...) delegates to
the client of the `system` it is given, "default" unless told otherwise.
"""

from __future__ import annotations

import sys
import threading
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from pyroaring import BitMap

from . import events as _events
from .errors import InvalidInput
from .expressions import Expr, Op, ops_bottom_up
from .keys import DEFAULT_PREFIX, KeyScheme
from .periods import now_in, to_calendar
from .stores import open_store
from .stores.base import BitChange, Store
from .validation import MAX_UUID, check_event_name, check_uuid, shown

EventTuple = tuple[str, int, "datetime | date | None"]


_EVENT_KEYS_CACHED = 4096  # entries; the cache is cleared when full


class Bitmapist:
    """A bitmapist client.

    `url_or_client` is a store URL (`file:///path/store.db`, `memory://`,
    `redis://host:6379/0`, `rediss://...`, `unix:///path.sock`, `redis+cluster://host:port`),
    a redis-py client or pipeline, or a `Store`; None means the default store
    (`BITMAPIST_URL`, else the embedded default).

    `timezone` (a `tzinfo` or IANA name) decides which day, week and month a moment falls
    in; naive datetimes are taken as UTC. `bitop_ttl` is how long Redis keeps the cached
    result of a bit operation (seconds; None keeps it until deleted).

    `snapshot_bitops=True` gives bit operations 3.x's semantics: each `BitOp*` (and
    `YearEvents`) is computed when it is built and kept under its 3.x key until deleted;
    queries read that snapshot and `delete()` empties it. False (the default) keeps them
    lazy: computed when queried, always current. None follows `bitmapist.SNAPSHOT_BITOPS`.

    Example::

        b = Bitmapist("memory://")
        b.mark_event("active", 123)
        assert 123 in b.MonthEvents("active")
    """

    def __init__(
        self,
        url_or_client: str | Store | Any | None = None,
        *,
        key_prefix: str = DEFAULT_PREFIX,
        track_hourly: bool = False,
        track_unique: bool = False,
        timezone: tzinfo | str | None = None,
        bitop_ttl: float | None = 60.0,
        snapshot_bitops: bool | None = None,
    ):
        if not isinstance(key_prefix, str):
            raise InvalidInput(f"key_prefix {key_prefix!r} must be a string")
        if snapshot_bitops not in (None, True, False):
            raise InvalidInput(
                f"snapshot_bitops {shown(snapshot_bitops)} must be True, False or None"
            )
        if bitop_ttl is not None and (
            isinstance(bitop_ttl, bool) or not isinstance(bitop_ttl, int | float) or bitop_ttl < 0
        ):
            raise InvalidInput(
                f"bitop_ttl {shown(bitop_ttl)} must be a number of seconds >= 0, or None"
            )
        self.store: Store = open_store(url_or_client, bitop_ttl=bitop_ttl)
        self.keys = KeyScheme(key_prefix)
        self.track_hourly = track_hourly
        self.track_unique = track_unique
        self.timezone: tzinfo = _as_tzinfo(timezone)
        self.snapshot_bitops = snapshot_bitops
        self._local = threading.local()
        self._bound: dict[str, type] = {}
        # (event, year, month, day, hour or None, unique) -> its keys: formatting them
        # costs more than the rest of a mark_event's Python.
        self._event_keys_cache: dict[tuple[Any, ...], tuple[str, ...]] = {}

    def __getattr__(self, name: str) -> Any:
        # client.MonthEvents(...) etc.: event classes whose default system is this client
        cls = _events.BINDABLE_CLASSES.get(name)
        if cls is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        bound = self.__dict__["_bound"].get(name)
        if bound is None:
            bound = type(name, (cls,), {"_bound_system": self, "__module__": cls.__module__})
            self._bound[name] = bound
        return bound

    def __repr__(self) -> str:
        return f"Bitmapist({self.store!r}, key_prefix={self.keys.prefix!r})"

    # --- marking

    def mark_event(
        self,
        event_name: str,
        uuid: int,
        now: datetime | date | None = None,
        track_hourly: bool | None = None,
        track_unique: bool | None = None,
    ) -> None:
        """Mark `uuid` for `event_name` in the month, ISO week and day of `now` (default:
        the current time), and its hour / the unique bitmap when tracked."""
        self._write_event(event_name, uuid, now, track_hourly, track_unique, True)

    def unmark_event(
        self,
        event_name: str,
        uuid: int,
        now: datetime | date | None = None,
        track_hourly: bool | None = None,
        track_unique: bool | None = None,
    ) -> None:
        """Clear what `mark_event` with the same arguments set."""
        self._write_event(event_name, uuid, now, track_hourly, track_unique, False)

    def mark_unique(self, event_name: str, uuid: int) -> None:
        """Flag `uuid` for `event_name`, independent of date (`UniqueEvents`)."""
        key = self.keys.unique(check_event_name(event_name))
        self._write([BitChange(key, (check_uuid(uuid),), True)])

    def unmark_unique(self, event_name: str, uuid: int) -> None:
        """Remove the `mark_unique` flag."""
        key = self.keys.unique(check_event_name(event_name))
        self._write([BitChange(key, (check_uuid(uuid),), False)])

    def mark_events(
        self,
        events: Iterable[EventTuple],
        track_hourly: bool | None = None,
        track_unique: bool | None = None,
        value: bool = True,
    ) -> int:
        """Mark many `(event_name, uuid, when)` tuples at once; returns how many.

        Bits are grouped by key and written in one atomic batch, far fewer commands than
        one `mark_event` each. Every tuple is checked before anything is written. `when`
        None means now; naive datetimes are UTC. `value=False` unmarks instead.
        """
        hourly = self.track_hourly if track_hourly is None else track_hourly
        unique = self.track_unique if track_unique is None else track_unique
        tz = self.timezone
        utc_client = tz is UTC
        # One id list per (event, day[, hour]): a single append per event; the day's
        # bitmap is built once and OR-ed into its week and month (C speed, not per id).
        groups: dict[tuple[Any, ...], tuple[datetime | date, array]] = {}
        find_group = groups.get
        now: datetime | None = None
        count = 0
        try:
            rows = iter(events)
        except TypeError:
            raise InvalidInput(
                f"events {shown(events)} is a {type(events).__name__}: expected an iterable "
                "of (event_name, uuid, datetime) tuples"
            ) from None
        for count, event in enumerate(rows, 1):  # noqa: B007 - count is the result
            try:
                name, uuid, when = event
            except (TypeError, ValueError):
                raise InvalidInput(
                    f"event #{count} {event!r} is not an (event_name, uuid, datetime) tuple"
                ) from None
            if type(name) is not str or not name:
                check_event_name(name)
            if type(uuid) is not int or not 0 <= uuid < MAX_UUID:
                uuid = check_uuid(uuid)
            if when is None:
                when = now = now or now_in(tz)
            elif not (
                utc_client
                and type(when) is datetime
                and ((zone := when.tzinfo) is None or zone is UTC)
            ):
                when = to_calendar(when, tz)
            hour = getattr(when, "hour", 0) if hourly else None
            group_key = (name, when.year, when.month, when.day, hour)
            group = find_group(group_key)
            if group is None:
                group = groups[group_key] = (when, array("I"))
            group[1].append(uuid)
        per_key: dict[str, list[BitMap]] = defaultdict(list)
        for (name, *_), (when, ids) in groups.items():
            bits = BitMap(ids)
            for key in self._event_keys(name, when, hourly, unique):
                per_key[key].append(bits)
        changes = [
            BitChange(key, bitmaps[0] if len(bitmaps) == 1 else BitMap.union(*bitmaps), value)
            for key, bitmaps in per_key.items()
        ]
        if changes:
            self._write(changes)
        return count

    def _write_event(
        self,
        event_name: str,
        uuid: int,
        now: datetime | date | None,
        track_hourly: bool | None,
        track_unique: bool | None,
        value: bool,
    ) -> None:
        check_event_name(event_name)
        uuid = check_uuid(uuid)
        when = now_in(self.timezone) if now is None else to_calendar(now, self.timezone)
        hourly = self.track_hourly if track_hourly is None else track_hourly
        unique = self.track_unique if track_unique is None else track_unique
        keys = self._event_keys(event_name, when, hourly, unique)
        self._write([BitChange(key, (uuid,), value) for key in keys])

    def _event_keys(
        self, event_name: str, when: datetime | date, hourly: bool, unique: bool
    ) -> tuple[str, ...]:
        hour = getattr(when, "hour", 0) if hourly else None
        cache_key = (event_name, when.year, when.month, when.day, hour, unique)
        keys = self._event_keys_cache.get(cache_key)
        if keys is None:
            if len(self._event_keys_cache) >= _EVENT_KEYS_CACHED:
                self._event_keys_cache.clear()
            keys = self._event_keys_cache[cache_key] = self._format_event_keys(
                event_name, when, hour, unique
            )
        return keys

    def _format_event_keys(
        self, event_name: str, when: datetime | date, hour: int | None, unique: bool
    ) -> tuple[str, ...]:
        keys = self.keys
        year, month, day = when.year, when.month, when.day
        iso_year, iso_week, _ = when.isocalendar()
        result = [
            keys.month(event_name, year, month),
            keys.week(event_name, iso_year, iso_week),
            keys.day(event_name, year, month, day),
        ]
        if hour is not None:
            result.append(keys.hour(event_name, year, month, day, hour))
        if unique:
            result.append(keys.unique(event_name))
        return tuple(result)

    # --- transactions

    @contextmanager
    def transaction(self) -> Iterator[Bitmapist]:
        """Collect this thread's writes and apply them as one atomic batch on success.

        On an exception nothing is written. Reads inside the block do not see its writes.
        Nested blocks join the outermost one.
        """
        pending: list[BitChange] | None = getattr(self._local, "pending", None)
        if pending is not None:
            yield self
            return
        self._local.pending = pending = []
        try:
            yield self
        except BaseException:
            self._local.pending = None
            raise
        self._local.pending = None
        if pending:
            self.store.set_bits(pending)

    def _write(self, changes: list[BitChange]) -> None:
        pending = getattr(self._local, "pending", None)
        if pending is not None:
            pending.extend(changes)
        else:
            self.store.set_bits(changes)

    # --- queries (event objects call these with their expression)

    def count(self, expr: Expr) -> int:
        """How many ids `expr` holds."""
        self._note_bitops(expr)
        return self.store.count(expr)

    def contains(self, expr: Expr, uuid: int) -> bool:
        """Whether `expr` holds `uuid`."""
        self._note_bitops(expr)
        return self.store.get_bit(expr, check_uuid(uuid))

    def ids(self, expr: Expr) -> Iterator[int]:
        """The ids `expr` holds, ascending."""
        self._note_bitops(expr)
        return self.store.ids(expr)

    def bitmap(self, expr: Expr) -> BitMap:
        """The ids `expr` holds, as a roaring bitmap."""
        self._note_bitops(expr)
        return self.store.bitmap(expr)

    def any(self, expr: Expr) -> bool:
        """Whether `expr` holds at least one id."""
        self._note_bitops(expr)
        return self.store.any(expr)

    # --- 3.x snapshot bit operations (opt-in)

    def takes_snapshots(self) -> bool:
        """Whether bit operations built on this client are 3.x snapshots (see the class)."""
        own = self.snapshot_bitops
        if own is not None:
            return own
        return bool(getattr(sys.modules.get("bitmapist"), "SNAPSHOT_BITOPS", False))

    def store_snapshot(self, op: Op) -> None:
        """Compute `op` now and keep the result under its 3.x key `op.name` (no TTL), as
        3.x's BITOP did; `delete_runtime_bitop_keys()` and `delete()` remove it."""
        bits = self.store.bitmap(op)
        self.store.delete([op.name])  # a stale snapshot, or a cached result with a TTL
        if bits:
            self.store.set_bits([BitChange(op.name, bits, True)])
        _runtime_bitop_keys()[self].add(op.name)

    def _note_bitops(self, expr: Expr) -> None:
        # Remembered per thread, like 3.x, for delete_runtime_bitop_keys(); stores that
        # evaluate in memory (embedded) never store results, so there is nothing to note.
        if isinstance(expr, Op) and self.store.stores_bitop_results:
            runtime = _runtime_bitop_keys()[self]
            runtime.update(op.name for op in ops_bottom_up(expr))

    # --- keys and housekeeping

    def get_event_names(self, prefix: str = "", batch: int = 10000) -> list[str]:
        """Every event name with stored data (no particular order); `prefix` filters them."""
        names = {
            name
            for key in self.store.scan_keys(f"{self.keys.all_pattern[:-1]}{prefix}*")
            if (name := self.keys.event_name(key)) is not None
        }
        return list(names)

    def delete_keys(self, keys: Iterable[str]) -> int:
        """Delete stored keys by name; returns how many existed."""
        return self.store.delete(keys)

    def delete_all_events(self) -> None:
        """Delete every key of this client's prefix."""
        self.store.delete(list(self.store.scan_keys(self.keys.all_pattern)))
        _runtime_bitop_keys().pop(self, None)

    def delete_temporary_bitop_keys(self) -> None:
        """Delete every cached bit-operation result of this prefix."""
        self.store.delete(list(self.store.scan_keys(self.keys.bitop_pattern)))

    def delete_runtime_bitop_keys(self) -> None:
        """Delete the bit-operation results this thread created through this client."""
        keys = _runtime_bitop_keys().pop(self, set())
        if keys:
            self.store.delete(keys)

    def info(self) -> dict[str, Any]:
        """Facts about the store (kind, keys, memory)."""
        return self.store.info()

    def close(self) -> None:
        """Close the store."""
        self.store.close()


_thread_state = threading.local()


def _runtime_bitop_keys() -> dict[Bitmapist, set[str]]:
    keys = getattr(_thread_state, "bitop_keys", None)
    if keys is None:
        keys = _thread_state.bitop_keys = defaultdict(set)
    return keys


def delete_runtime_bitop_keys_everywhere() -> None:
    """Delete the bit-operation results this thread created, on every client."""
    for client in list(_runtime_bitop_keys()):
        client.delete_runtime_bitop_keys()


def _as_tzinfo(value: tzinfo | str | None) -> tzinfo:
    if value is None:
        return UTC
    if isinstance(value, tzinfo):
        return value
    if isinstance(value, str):
        try:
            return ZoneInfo(value)
        except (KeyError, ValueError) as exc:
            raise InvalidInput(f"timezone {value!r} is not a known IANA time zone name") from exc
    raise InvalidInput(f"timezone {value!r} must be a tzinfo or an IANA name like 'Europe/Berlin'")
