"""Stickiness: of the users active in a week (or month), on how many days were they active?

For each period (a day, week or month) the users who did `event` in some unit of it (an
hour or a day) are split by how many units they were active on: exactly 1, 2, ... k.
"Power users" are those active on at least `power_threshold` units; by default 5 of 7 of
the period's nominal units, rounded up: 5 days a week, 22 days a month, 18 hours a day,
120 hours a week, 515 hours a month. Each stored bitmap is read once. The counts come
from `counting.exact_counts` (a sorting network of ANDs and ORs up to 8 units, binary
adders beyond, on complemented bitmaps when they are dense), as cardinalities only: the
users behind a count are found when `ids()` asks for them.

Example::

    from bitmapist import stickiness

    table = stickiness("active", period="week", unit="day")
    for row in table.rows:
        print(row.label, row.active, row.counts, row.power_percent)
    daily = table.ids(-1, 7)  # active on all 7 days of the last week
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pyroaring import BitMap

from ..errors import InvalidInput
from ..validation import check_int
from .counting import exact_counts, split_by_count
from .tables import AnalyticsTable, Question, check_specs, percent, pick, segments, spec_name
from .timeline import check_kind, label, shift, span

#: Units per period a "power user" share is taken of (months count 30 days).
NOMINAL_UNITS = {
    ("day", "hour"): 24,
    ("week", "hour"): 168,
    ("month", "hour"): 720,
    ("week", "day"): 7,
    ("month", "day"): 30,
}
POWER_SHARE = 5 / 7


def default_power_threshold(period: str, unit: str) -> int:
    """5/7 of the period's nominal units, rounded up (5 days a week, 22 days a month)."""
    return math.ceil(NOMINAL_UNITS[(period, unit)] * POWER_SHARE - 1e-9)


@dataclass(frozen=True, slots=True)
class StickinessRow:
    """One period of one segment: `counts[j]` users were active on exactly j+1 units;
    `active` is their sum; `units` is how many units the period has."""

    start: datetime
    label: str
    segment: str | None
    complete: bool
    units: int
    active: int
    counts: tuple[int, ...]
    power_users: int
    power_percent: float | None


class StickinessTable(AnalyticsTable):
    """The result of `stickiness()`: one row per period (and segment), a distribution each."""

    kind = "stickiness"

    def __init__(
        self,
        *,
        title: str,
        period: str,
        unit: str,
        power_threshold: int,
        generated_at: datetime,
        rows: Sequence[StickinessRow],
        segments: Sequence[str | None],
        units: Sequence[Sequence[tuple[list[BitMap], BitMap | None]]],
    ):
        self.title = title
        self.period = period
        self.unit = unit
        self.power_threshold = power_threshold
        self.generated_at = generated_at
        self.rows = tuple(rows)
        self.segments = tuple(segments)
        #: Longest distribution of any row (columns of the CSV).
        self.max_units = max((row.units for row in self.rows), default=0)
        # [segment][period] -> (users of each unit, segment members or None), read-only
        self._units = units
        self._groups: dict[tuple[int, int], dict[int, BitMap]] = {}

    @property
    def labels(self) -> list[str]:
        """The period labels, in order."""
        return [row.label for row in self.rows if row.segment == self.segments[0]]

    def ids(
        self, period: int | str, units: int | str = "power", segment: int | str | None = None
    ) -> list[int]:
        """The user ids active on exactly `units` units in one period (an index or label),
        ascending; `units="power"` gives the power users, `"active"` everyone active."""
        t = pick(period, self.labels, "period")
        s = 0 if segment is None else pick(segment, self.segments, "segment")
        groups = self._users_by_count(s, t)
        if units == "active":
            low = 1
        elif units == "power":
            low = self.power_threshold
        else:
            low = check_int("units", units, 1, max(1, self.max_units))
            return list(groups.get(low, ()))
        found = [users for count, users in groups.items() if count >= low]
        return list(BitMap.union(*found)) if len(found) > 1 else list(found[0]) if found else []

    def _users_by_count(self, s: int, t: int) -> dict[int, BitMap]:
        """count -> users active on that many units, built on the first drill-down."""
        groups = self._groups.get((s, t))
        if groups is None:
            units, members = self._units[s][t]
            if members is not None:
                units = [users & members for users in units]
            groups = self._groups[(s, t)] = split_by_count(units)
        return groups

    def header(self) -> list[str]:
        name = self.unit
        buckets = [f"{j} {name}{'' if j == 1 else 's'}" for j in range(1, self.max_units + 1)]
        return ["segment", "period", "active", *buckets, "power users", "% power users"]

    def records(self) -> list[list[Any]]:
        return [
            [
                row.segment,
                row.label,
                row.active,
                *row.counts,
                *([None] * (self.max_units - len(row.counts))),
                row.power_users,
                row.power_percent,
            ]
            for row in self.rows
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "period": self.period,
            "unit": self.unit,
            "power_threshold": self.power_threshold,
            "generated_at": self.generated_at.isoformat(),
            "segments": list(self.segments),
            "rows": [
                {
                    "segment": r.segment,
                    "label": r.label,
                    "start": r.start.isoformat(),
                    "complete": r.complete,
                    "units": r.units,
                    "active": r.active,
                    "counts": list(r.counts),
                    "power_users": r.power_users,
                    "power_percent": r.power_percent,
                }
                for r in self.rows
            ],
        }

    def chart_series(self, segment: int | str | None = None) -> dict[str, Any]:
        """Bars: x is "active on N units", one series per period of one segment (the share
        of that period's active users, in %)."""
        s = 0 if segment is None else pick(segment, self.segments, "segment")
        rows = [row for row in self.rows if row.segment == self.segments[s]]
        return {
            "title": self.title,
            "x": list(range(1, self.max_units + 1)),
            "kind": "bar",
            "unit": self.unit,
            "series": [
                {
                    "name": row.label,
                    "values": [percent(count, row.active) for count in row.counts],
                    "counts": list(row.counts),
                }
                for row in rows
            ],
        }


def stickiness(
    event: Any,
    period: str = "week",
    unit: str = "day",
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    power_threshold: int | None = None,
    breakdown: Any = None,
    system: Any = "default",
    now: date | datetime | None = None,
) -> StickinessTable:
    """How many of the users active in each period were active on exactly 1, 2, ... units.

    - `period`: "day", "week" or "month"; `unit`: "hour" or "day", shorter than `period`
      (hours need hourly bitmaps: `track_hourly=True` when marking).
    - `start`, `end`: moments in the first and last periods (default: the last 12 weeks or
      months, or 30 days, ending now).
    - `power_threshold`: active on at least this many units makes a power user (default:
      `default_power_threshold`, 5 days a week).
    - `breakdown`: flags or event objects; one distribution per segment (the segment taken
      in each period).
    """
    (spec,) = check_specs(event, "event", 1, 1)
    kind = check_kind(period)
    if (kind, unit) not in NOMINAL_UNITS:
        raise InvalidInput(
            f"period {period!r} with unit {unit!r} is not supported: expected one of "
            f"{sorted(NOMINAL_UNITS)} (period, unit)"
        )
    threshold = default_power_threshold(kind, unit) if power_threshold is None else power_threshold
    check_int("power_threshold", threshold, 1, 744)
    q = Question(kind, system, now)
    starts = span(kind, start, end, q.now_wall, q.tz)
    segs = segments(breakdown, system)
    unit_moments = [_units(kind, unit, moment) for moment in starts]
    unit_exprs = [[q.expr(spec, m, unit) for m in moments] for moments in unit_moments]
    segment_exprs = [
        None if seg is None else [q.expr(seg, moment) for moment in starts] for _, seg in segs
    ]
    q.prefetch([e for row in unit_exprs for e in row] + [e for r in segment_exprs if r for e in r])

    rows: list[StickinessRow] = []
    all_units: list[list[tuple[list[BitMap], BitMap | None]]] = []
    for (seg_label, _), seg_exprs in zip(segs, segment_exprs):
        seg_units = []
        for i, exprs in enumerate(unit_exprs):
            units = [q.bitmap(e) for e in exprs]
            members = None if seg_exprs is None else q.bitmap(seg_exprs[i])
            seg_units.append((units, members))
            counts = tuple(exact_counts(units, members))
            active = sum(counts)
            power = sum(counts[threshold - 1 :])
            rows.append(
                StickinessRow(
                    q.aware(starts[i]),
                    label(kind, starts[i]),
                    seg_label,
                    shift(kind, starts[i], 1) <= q.now_wall,
                    len(units),
                    active,
                    counts,
                    power,
                    percent(power, active),
                )
            )
        all_units.append(seg_units)
    return StickinessTable(
        title=f"Stickiness of {spec_name(spec)}: {unit}s active per {kind}",
        period=kind,
        unit=unit,
        power_threshold=threshold,
        generated_at=q.aware(q.now_wall),
        rows=rows,
        segments=[seg_label for seg_label, _ in segs],
        units=all_units,
    )


def _units(kind: str, unit: str, start: datetime) -> list[datetime]:
    end = shift(kind, start, 1)  # type: ignore[arg-type]
    moments = [start]
    while (following := shift(unit, moments[-1], 1)) < end:  # type: ignore[arg-type]
        moments.append(following)
    return moments
