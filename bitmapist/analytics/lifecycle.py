"""Lifecycle: who is new, returning, resurrecting or dormant in each period?

For the users `A(t)` who did `event` in period `t`, with `A(t-1)` the period before:

- new: active in `t` and in none of the `lookback` periods before the table's first period
  nor any period since, up to `t-1` ("first period ever active", "ever" bounded by the
  lookback); with `first_seen="signup"`, the users of `A(t)` who did `signup` in `t`;
- returning: active in `t` and `t-1` (and not new);
- resurrecting: active in `t`, not in `t-1`, and not new: without `first_seen` they were
  active at some earlier period within the lookback; with it, they were first seen before;
- dormant: active in `t-1`, not in `t`; reported as a negative number.

new + returning + resurrecting = active in `t`. Each stored bitmap is read once.

Example::

    from bitmapist import lifecycle

    table = lifecycle("active", period="week", first_seen="signup")
    for row in table.rows:
        print(row.label, row.new, row.returning, row.resurrecting, row.dormant)
    back = table.ids("2026-W48", "resurrecting")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pyroaring import BitMap

from ..errors import InvalidInput
from ..validation import check_int
from .tables import AnalyticsTable, Question, check_specs, pick, segments, spec_name
from .timeline import check_kind, label, shift, span

#: How far back "ever active" looks by default, in periods of each kind.
DEFAULT_LOOKBACK = {"hour": 168, "day": 90, "week": 52, "month": 24, "year": 5}
MAX_LOOKBACK = 10_000
STATUSES = ("new", "returning", "resurrecting", "dormant", "active")


@dataclass(frozen=True, slots=True)
class LifecycleRow:
    """One period of one segment. `dormant` is <= 0 (users lost since the period before);
    `active` = new + returning + resurrecting."""

    start: datetime
    label: str
    segment: str | None
    complete: bool
    new: int
    returning: int
    resurrecting: int
    dormant: int
    active: int


class LifecycleTable(AnalyticsTable):
    """The result of `lifecycle()`: one row per period (and segment), drill-down by status."""

    kind = "lifecycle"

    def __init__(
        self,
        *,
        title: str,
        period: str,
        generated_at: datetime,
        rows: Sequence[LifecycleRow],
        segments: Sequence[str | None],
        lookback: int,
        first_seen: str | None,
        groups: Sequence[Sequence[dict[str, BitMap]]],
    ):
        self.title = title
        self.period = period
        self.generated_at = generated_at
        self.rows = tuple(rows)
        self.segments = tuple(segments)
        self.lookback = lookback
        self.first_seen = first_seen
        self._groups = groups  # [segment][period] -> status -> users

    @property
    def labels(self) -> list[str]:
        """The period labels, in order."""
        return [row.label for row in self.rows if row.segment == self.segments[0]]

    def ids(self, period: int | str, status: str, segment: int | str | None = None) -> list[int]:
        """The user ids of one status ("new", "returning", "resurrecting", "dormant" or
        "active") in one period (an index or label), ascending."""
        t = pick(period, self.labels, "period")
        if status not in STATUSES:
            raise InvalidInput(f"status {status!r} is unknown: expected one of {STATUSES}")
        s = 0 if segment is None else pick(segment, self.segments, "segment")
        return list(self._groups[s][t][status])

    def header(self) -> list[str]:
        return ["segment", "period", "new", "returning", "resurrecting", "dormant", "active"]

    def records(self) -> list[list[Any]]:
        return [
            [r.segment, r.label, r.new, r.returning, r.resurrecting, r.dormant, r.active]
            for r in self.rows
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "period": self.period,
            "generated_at": self.generated_at.isoformat(),
            "lookback": self.lookback,
            "first_seen": self.first_seen,
            "segments": list(self.segments),
            "rows": [
                {
                    "segment": r.segment,
                    "label": r.label,
                    "start": r.start.isoformat(),
                    "complete": r.complete,
                    "new": r.new,
                    "returning": r.returning,
                    "resurrecting": r.resurrecting,
                    "dormant": r.dormant,
                    "active": r.active,
                }
                for r in self.rows
            ],
        }

    def chart_series(self, segment: int | str | None = None) -> dict[str, Any]:
        """Stacked bars of one segment: new, returning, resurrecting above zero, dormant
        below."""
        s = 0 if segment is None else pick(segment, self.segments, "segment")
        rows = [row for row in self.rows if row.segment == self.segments[s]]
        return {
            "title": self.title,
            "x": [row.label for row in rows],
            "kind": "stacked_bar",
            "series": [
                {"name": status, "values": [getattr(row, status) for row in rows]}
                for status in ("new", "returning", "resurrecting", "dormant")
            ],
        }


def lifecycle(
    event: Any,
    period: str = "week",
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    first_seen: Any = None,
    breakdown: Any = None,
    system: Any = "default",
    now: date | datetime | None = None,
    lookback: int | None = None,
) -> LifecycleTable:
    """New, returning, resurrecting and dormant users of `event` in each period from the
    one containing `start` to the one containing `end` (default: the last 30 days, 12
    weeks, ... ending now). See the module docstring for the definitions.

    - `first_seen`: an event (e.g. "signup") whose users in a period are that period's new
      users; without it, new means "not active in any period since `lookback` periods
      before the first one" (default `DEFAULT_LOOKBACK`: 168 hours, 90 days, 52 weeks, 24
      months).
    - `breakdown`: flags or event objects; one lifecycle per segment (active users of the
      segment in each period).
    """
    (spec,) = check_specs(event, "event", 1, 1)
    first_spec = None if first_seen is None else check_specs(first_seen, "first_seen", 1, 1)[0]
    kind = check_kind(period)
    lookback = DEFAULT_LOOKBACK[kind] if lookback is None else lookback
    check_int("lookback", lookback, 1, MAX_LOOKBACK)
    q = Question(kind, system, now)
    starts = span(kind, start, end, q.now_wall, q.tz)
    n = len(starts)
    # without first_seen the whole lookback is read; with it, only the period before
    before = lookback if first_spec is None else 1
    moments = [shift(kind, starts[0], i - before) for i in range(before)] + starts
    segs = segments(breakdown, system)
    active_exprs = [q.expr(spec, moment) for moment in moments]
    first_exprs = [] if first_spec is None else [q.expr(first_spec, m) for m in starts]
    segment_exprs = [
        None if seg is None else [q.expr(seg, moment) for moment in moments] for _, seg in segs
    ]
    q.prefetch(active_exprs + first_exprs + [e for row in segment_exprs if row for e in row])

    rows: list[LifecycleRow] = []
    groups: list[list[dict[str, BitMap]]] = []
    for (seg_label, _), seg_exprs in zip(segs, segment_exprs):
        active = [q.bitmap(e) for e in active_exprs]
        if seg_exprs is not None:
            active = [users & q.bitmap(seg_exprs[i]) for i, users in enumerate(active)]
        firsts = [q.bitmap(e) for e in first_exprs] if first_exprs else None
        periods = _classify(active, before, firsts)
        groups.append(periods)
        for i, group in enumerate(periods):
            rows.append(
                LifecycleRow(
                    q.aware(starts[i]),
                    label(kind, starts[i]),
                    seg_label,
                    shift(kind, starts[i], 1) <= q.now_wall,
                    len(group["new"]),
                    len(group["returning"]),
                    len(group["resurrecting"]),
                    -len(group["dormant"]),
                    len(group["active"]),
                )
            )
    assert len(groups[0]) == n
    return LifecycleTable(
        title=f"Lifecycle of {spec_name(spec)} per {kind}",
        period=kind,
        generated_at=q.aware(q.now_wall),
        rows=rows,
        segments=[seg_label for seg_label, _ in segs],
        lookback=lookback,
        first_seen=None if first_spec is None else spec_name(first_spec),
        groups=groups,
    )


def _classify(
    active: list[BitMap], before: int, firsts: list[BitMap] | None
) -> list[dict[str, BitMap]]:
    """Each period's users by status; `active[:before]` are the periods before the table."""
    earliest = active[: before - 1]  # before t-1 for the first period t
    ever = BitMap.union(*earliest) if len(earliest) > 1 else BitMap(*earliest[:1])
    out = []
    for t in range(before, len(active)):
        now, previous = active[t], active[t - 1]
        if firsts is None:
            ever |= previous  # active in some period since the lookback began
            new = now - ever
        else:
            new = now & firsts[t - before]
        returning = (now & previous) - new
        out.append(
            {
                "new": new,
                "returning": returning,
                "resurrecting": now - previous - new,
                "dormant": previous - now,
                "active": now,
            }
        )
    return out
