"""The home page's numbers: each event's users today, this week and this month, the change
against the period before, and the last 30 days for a sparkline.

Every bitmap is read once through `BitmapReader` (one batch for all events): about 60 to
90 stored bitmaps per event (days, yesterday's hours, the current periods), whatever the
store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pyroaring import BitMap

from ..analytics.reader import BitmapReader
from ..analytics.timeline import event_args, floor, shift
from ..client import Bitmapist
from ..expressions import Expr

SPARK_DAYS = 30
# (kind, column heading, what the previous period is called)
PERIODS = (("day", "Today", "yesterday"), ("week", "This week", "last week"))
PERIODS += (("month", "This month", "last month"),)


@dataclass(frozen=True)
class Change:
    """Users in a period and in the one before it."""

    current: int
    previous: int
    versus: str = ""

    @classmethod
    def between(cls, current: int, previous: int) -> Change:
        """The change from `previous` to `current`."""
        return cls(current, previous)

    @property
    def percent(self) -> float | None:
        """The change in %, None when nobody was there before (no baseline)."""
        if not self.previous:
            return None
        return 100 * (self.current - self.previous) / self.previous

    @property
    def direction(self) -> str:
        """ "up", "down" or "flat", for the arrow and its colour."""
        if self.current > self.previous:
            return "up"
        return "down" if self.current < self.previous else "flat"

    @property
    def text(self) -> str:
        """▲ 12.5%, ▼ 3.0%, ▲ new, or = (no change)."""
        if self.direction == "flat":
            return "="
        arrow = "▲" if self.direction == "up" else "▼"
        percent = self.percent
        return f"{arrow} new" if percent is None else f"{arrow} {abs(percent):.1f}%"


@dataclass(frozen=True)
class EventOverview:
    """One event's row: changes for day, week and month, and users per day (oldest first)."""

    name: str
    changes: tuple[Change, ...]
    days: tuple[int, ...]
    day_labels: tuple[str, ...]

    @property
    def active(self) -> bool:
        """Whether anybody did it in the last 30 days or the previous month."""
        return any(self.days) or any(c.current or c.previous for c in self.changes)


@dataclass(frozen=True)
class _Plan:
    """The expressions of one event's row: current periods, the previous periods up to the
    same point (a union of parts), yesterday's 24 hours, and the sparkline's days."""

    current: list[Expr]
    previous: list[list[Expr]]
    yesterday: Expr
    hours: list[Expr]
    days: list[Expr]


def overview(
    client: Bitmapist, names: Sequence[str], now: datetime
) -> tuple[list[EventOverview], datetime]:
    """The overview rows of `names` at `now` (read in the client's time zone), and the
    wall-clock moment they were computed for.

    A running period is compared with the previous one up to the same point, so that a
    morning does not read as a fall against a whole yesterday: today so far against
    yesterday to the same hour (when hours are tracked: any hour bitmap of yesterday
    exists; else against all of yesterday), this week against last week to the same
    weekday, this month against last month to the same day."""
    local = now.astimezone(client.timezone).replace(tzinfo=None)
    today = floor("day", local)
    days = [shift("day", today, i - SPARK_DAYS + 1) for i in range(SPARK_DAYS)]
    labels = tuple(f"{d:%b} {d.day}" for d in days)
    yesterday = shift("day", today, -1)
    week = floor("week", local)
    month = floor("month", local)
    # the same stretch of the previous week and month: day 1 to the same day (month
    # ends clip: March 31st compares with all of February)
    last_week = [shift("day", week, i - 7) for i in range((today - week).days + 1)]
    last_month_start = shift("month", month, -1)
    last_month = [d for i in range(today.day) if (d := shift("day", last_month_start, i)) < month]
    plans = {}
    for name in names:
        plans[name] = _Plan(
            current=[_expr(kind, floor(kind, local), name, client) for kind, _, _ in PERIODS],
            previous=[
                [],  # filled from the hours below
                [_expr("day", d, name, client) for d in last_week],
                [_expr("day", d, name, client) for d in last_month],
            ],
            yesterday=_expr("day", yesterday, name, client),
            hours=[_expr("hour", shift("hour", yesterday, h), name, client) for h in range(24)],
            days=[_expr("day", d, name, client) for d in days],
        )
    reader = BitmapReader(client.store)
    reader.prefetch(
        e
        for plan in plans.values()
        for e in (
            *plan.current,
            *plan.previous[1],
            *plan.previous[2],
            plan.yesterday,
            *plan.hours,
            *plan.days,
        )
    )
    rows = []
    for name, plan in plans.items():
        hourly = any(reader.count(e) for e in plan.hours)
        previous = [
            plan.hours[: local.hour + 1] if hourly else [plan.yesterday],
            *plan.previous[1:],
        ]
        versus = [
            f"yesterday by {local.hour:02d}:59" if hourly else "all of yesterday",
            f"last week to {today:%A}",
            f"last month to the {_ordinal(len(last_month))}",
        ]
        changes = tuple(
            Change(reader.count(current), _union_count(reader, parts), text)
            for current, parts, text in zip(plan.current, previous, versus)
        )
        rows.append(EventOverview(name, changes, tuple(reader.count(e) for e in plan.days), labels))
    return rows, local


def _union_count(reader: BitmapReader, exprs: list[Expr]) -> int:
    if len(exprs) == 1:
        return reader.count(exprs[0])
    return len(BitMap.union(*(reader.bitmap(e) for e in exprs)))


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _expr(kind: Any, start: datetime, name: str, client: Bitmapist) -> Expr:
    cls, args = event_args(kind, start, client)
    return cls(name, *args).expression


__all__ = ["Change", "EventOverview", "overview", "PERIODS", "SPARK_DAYS"]
