"""Funnels: of the users who did step 1, how many went on to do step 2, then 3, ...?

Bitmaps know the period of an event, not its order inside the period, so a funnel here is
a walk over periods. With `R1(t)` the users who did step 1 in entry period `t` (a period
of [start, end]), a user reaches step k in period `t` when they did step k in `t` and
reached step k-1 in a period `t'` with

- rule "same_period":    t - window <= t' <= t       (step k in the same period counts)
- rule "strictly_later": t - window <= t' <= t - 1   (step k must come in a later period)

and a user converts through step k when they reached it in some period. This is the
"any path" reading (ClickHouse's `windowFunnel` also counts the deepest step any start
reaches): a user who did step 1 in periods 1 and 5 and step 2 in period 6 converts with a
window of 1, from their second entry. Later steps may fall up to `window` periods per step
after `end` (never after now). Each stored bitmap is read once.

Example::

    from bitmapist import funnel

    table = funnel(["signup", "activate", "invite", "upgrade"], period="day", window=7)
    for step in table.rows:
        print(step.name, step.count, step.percent_of_first, step.dropped)
    lost = table.ids(2, dropped=True)  # activated, never invited
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pyroaring import BitMap

from ..errors import InvalidInput
from ..validation import check_int
from .counting import union
from .tables import AnalyticsTable, Question, check_specs, percent, pick, segments, spec_name
from .timeline import check_kind, label, shift, span

Rule = Literal["same_period", "strictly_later"]
RULES: tuple[Rule, ...] = ("same_period", "strictly_later")
MAX_STEPS = 10
MAX_WINDOW = 1_000


@dataclass(frozen=True, slots=True)
class FunnelStep:
    """How many users of one segment reached step `index` (0 is the entry step).

    `percent_of_first` and `percent_of_previous` are None when their base is 0; `dropped`
    counts the users of the previous step who did not reach this one (0 for the entry).
    """

    index: int
    name: str
    segment: str | None
    count: int
    percent_of_first: float | None
    percent_of_previous: float | None
    dropped: int
    dropped_percent: float | None


class FunnelTable(AnalyticsTable):
    """The result of `funnel()`: one row per step and segment, exports and drill-down."""

    kind = "funnel"

    def __init__(
        self,
        *,
        title: str,
        period: str,
        generated_at: datetime,
        steps: Sequence[str],
        segments: Sequence[str | None],
        rows: Sequence[FunnelStep],
        window: int,
        rule: Rule,
        entry_labels: Sequence[str],
        reached: Sequence[Sequence[BitMap]],
    ):
        self.title = title
        self.period = period
        self.generated_at = generated_at
        self.steps = tuple(steps)
        self.segments = tuple(segments)
        self.rows = tuple(rows)
        self.window = window
        self.rule = rule
        #: Labels of the entry periods (first and last: the range asked for).
        self.entry_labels = tuple(entry_labels)
        self._reached = reached  # [segment][step] -> users who reached the step

    def step_rows(self, segment: int | str | None = None) -> list[FunnelStep]:
        """The rows of one segment (default: the first, or everyone without breakdown)."""
        s = 0 if segment is None else pick(segment, self.segments, "segment")
        return [row for row in self.rows if row.segment == self.segments[s]]

    def ids(
        self, step: int | str, segment: int | str | None = None, dropped: bool = False
    ) -> list[int]:
        """The user ids who reached `step` (an index or step name), ascending; with
        `dropped=True`, those who reached the step before it but not this one."""
        k = pick(step, self.steps, "step")
        s = 0 if segment is None else pick(segment, self.segments, "segment")
        reached = self._reached[s]
        if not dropped:
            return list(reached[k])
        return [] if k == 0 else list(reached[k - 1] - reached[k])

    def header(self) -> list[str]:
        return [
            "segment",
            "step",
            "event",
            "users",
            "% of first",
            "% of previous",
            "dropped",
            "% dropped",
        ]

    def records(self) -> list[list[Any]]:
        return [
            [
                row.segment,
                row.index + 1,
                row.name,
                row.count,
                row.percent_of_first,
                row.percent_of_previous,
                row.dropped,
                row.dropped_percent,
            ]
            for row in self.rows
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "period": self.period,
            "generated_at": self.generated_at.isoformat(),
            "window": self.window,
            "rule": self.rule,
            "entry": [self.entry_labels[0], self.entry_labels[-1]],
            "steps": list(self.steps),
            "segments": list(self.segments),
            "rows": [
                {
                    "segment": row.segment,
                    "step": row.index,
                    "event": row.name,
                    "users": row.count,
                    "percent_of_first": row.percent_of_first,
                    "percent_of_previous": row.percent_of_previous,
                    "dropped": row.dropped,
                    "dropped_percent": row.dropped_percent,
                }
                for row in self.rows
            ],
        }

    def chart_series(self) -> dict[str, Any]:
        """Bars: x are the steps, one series of user counts per segment (with the % of the
        first step alongside)."""
        return {
            "title": self.title,
            "x": list(self.steps),
            "kind": "bar",
            "series": [
                {
                    "name": "all users" if seg is None else seg,
                    "values": [row.count for row in self.step_rows(s)],
                    "percent": [row.percent_of_first for row in self.step_rows(s)],
                }
                for s, seg in enumerate(self.segments)
            ],
        }


def funnel(
    steps: Any,
    period: str = "day",
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    window: int = 1,
    rule: str = "same_period",
    breakdown: Any = None,
    system: Any = "default",
    now: date | datetime | None = None,
) -> FunnelTable:
    """Conversion through 2 to 10 ordered `steps` (event names or objects).

    - Entry: the users who did the first step in a period from the one containing `start`
      to the one containing `end` (default: the last 30 days, 12 weeks, ... ending now).
    - `window`: a step counts if done at most `window` periods after the period in which
      the user reached the step before (0 allows the same period only).
    - `rule`: "same_period" lets a step happen in the same period as the step before;
      "strictly_later" needs a later period (and `window >= 1`). See the module docstring.
    - `breakdown`: flags or event objects; each segment is its own funnel (entry users of
      the segment, the segment taken in their entry period).
    """
    specs = check_specs(steps, "steps", 2, MAX_STEPS)
    kind = check_kind(period)
    if rule not in RULES:
        raise InvalidInput(f"rule {rule!r} is unknown: expected one of {RULES}")
    check_int("window", window, 1 if rule == "strictly_later" else 0, MAX_WINDOW)
    q = Question(kind, system, now)
    entries = span(kind, start, end, q.now_wall, q.tz)
    n = len(entries)
    starts = list(entries)
    for _ in range(window * (len(specs) - 1)):  # later steps may come after the range
        following = shift(kind, starts[-1], 1)
        if following > q.now_wall:
            break
        starts.append(following)
    segs = segments(breakdown, system)
    # step k can only follow an entry within k windows: later periods are not read
    step_exprs = [
        [q.expr(spec, moment) for moment in starts[: n + window * k]]
        for k, spec in enumerate(specs)
    ]
    segment_exprs = [
        None if seg is None else [q.expr(seg, moment) for moment in entries] for _, seg in segs
    ]
    q.prefetch(
        [e for row in step_exprs for e in row] + [e for row in segment_exprs if row for e in row]
    )
    lag = 0 if rule == "same_period" else 1

    reached_all: list[list[BitMap]] = []
    rows: list[FunnelStep] = []
    for (seg_label, _), seg_exprs in zip(segs, segment_exprs):
        entry = [q.bitmap(step_exprs[0][t]) for t in range(n)]
        if seg_exprs is not None:
            entry = [users & q.bitmap(seg_exprs[t]) for t, users in enumerate(entry)]
        by_period = entry
        reached = [union(by_period)]
        for k in range(1, len(specs)):
            by_period = _advance(by_period, [q.bitmap(e) for e in step_exprs[k]], window, lag)
            reached.append(union(by_period))
        reached_all.append(reached)
        rows.extend(_step_rows(specs, seg_label, [len(users) for users in reached]))

    return FunnelTable(
        title=" \u2192 ".join(spec_name(spec) for spec in specs),
        period=kind,
        generated_at=q.aware(q.now_wall),
        steps=[spec_name(spec) for spec in specs],
        segments=[seg_label for seg_label, _ in segs],
        rows=rows,
        window=window,
        rule=rule,  # type: ignore[arg-type]
        entry_labels=[label(kind, moment) for moment in entries],
        reached=reached_all,
    )


def _advance(previous: list[BitMap], step: list[BitMap], window: int, lag: int) -> list[BitMap]:
    """Users reaching the next step in each period t of `step`: did it in t, and reached the
    step before in one of the periods t - window .. t - lag (of `previous`).

    No window's union is built. Periods are cut into blocks as long as a window, so a
    window is the end of one block (a suffix: the unions from each period to its block's
    end, made once per block) and the start of the next (a prefix, grown one period at a
    time); the step's users of t are intersected with each side. Per period that is two
    unions and two ANDs whatever the window, instead of a union of window - lag + 1."""
    width = window - lag + 1
    empty = BitMap()

    def before(i: int) -> BitMap:
        return previous[i] if 0 <= i < len(previous) else empty

    out: list[BitMap] = []
    prefix = empty  # the union from the start of the block of t - lag up to t - lag
    suffixes: dict[int, BitMap] = {}
    for t, users in enumerate(step):
        high, low = t - lag, t - window
        if high < 0:
            out.append(empty)
            continue
        prefix = before(high) if high % width == 0 else union([prefix, before(high)])
        if low > 0 and low % width and low not in suffixes:
            suffixes = _suffixes(before, low - low % width, width)
        if not users:
            out.append(empty)
            continue
        # a window starting a block (or at period 0) is the prefix alone
        sides = [prefix] if low <= 0 or low % width == 0 else [suffixes[low], prefix]
        out.append(union([users & side for side in sides if side]))
    return out


def _suffixes(before: Any, start: int, width: int) -> dict[int, BitMap]:
    """The unions from each period of the block [start, start + width) but the first to
    the block's end, by period."""
    out: dict[int, BitMap] = {}
    tail = BitMap()
    for i in range(start + width - 1, start, -1):
        tail = out[i] = union([tail, before(i)])
    return out


def _step_rows(specs: Sequence[Any], segment: str | None, counts: list[int]) -> list[FunnelStep]:
    rows = []
    for k, count in enumerate(counts):
        previous = counts[k - 1] if k else count
        dropped = previous - count
        rows.append(
            FunnelStep(
                k,
                spec_name(specs[k]),
                segment,
                count,
                percent(count, counts[0]),
                percent(count, previous),
                dropped,
                percent(dropped, previous) if k else None,
            )
        )
    return rows
