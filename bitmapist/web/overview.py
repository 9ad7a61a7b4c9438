"""The home page's numbers: each event's users today, this week and this month, the change
against the period before, and the last 30 days for a sparkline.

Every bitmap is read once through `BitmapReader` (one batch for all events), so the page
costs one pass over ~35 stored bitmaps per event whatever the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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


def overview(
    client: Bitmapist, names: Sequence[str], now: datetime
) -> tuple[list[EventOverview], datetime]:
    """The overview rows of `names` at `now` (read in the client's time zone), and the
    wall-clock moment they were computed for."""
    local = now.astimezone(client.timezone).replace(tzinfo=None)
    today = floor("day", local)
    days = [shift("day", today, i - SPARK_DAYS + 1) for i in range(SPARK_DAYS)]
    labels = tuple(f"{d:%b} {d.day}" for d in days)
    plan: dict[str, tuple[list[tuple[Expr, Expr]], list[Expr]]] = {}
    for name in names:
        pairs = []
        for kind, _, _ in PERIODS:
            start = floor(kind, local)
            pairs.append(
                (
                    _expr(kind, start, name, client),
                    _expr(kind, shift(kind, start, -1), name, client),
                )
            )
        plan[name] = (pairs, [_expr("day", d, name, client) for d in days])
    reader = BitmapReader(client.store)
    reader.prefetch(
        e for pairs, sparks in plan.values() for pair in pairs for e in (*pair, *sparks)
    )
    rows = []
    for name, (pairs, sparks) in plan.items():
        changes = tuple(
            Change(reader.count(current), reader.count(previous), versus)
            for (current, previous), (_, _, versus) in zip(pairs, PERIODS)
        )
        rows.append(EventOverview(name, changes, tuple(reader.count(e) for e in sparks), labels))
    return rows, local


def _expr(kind: Any, start: datetime, name: str, client: Bitmapist) -> Expr:
    cls, args = event_args(kind, start, client)
    return cls(name, *args).expression


__all__ = ["Change", "EventOverview", "overview", "PERIODS", "SPARK_DAYS"]
