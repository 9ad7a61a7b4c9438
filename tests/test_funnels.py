"""`funnel()` against the brute-force model: every period kind, both rules, several windows,
with and without breakdown; exports and drill-down."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from itertools import product

import pytest

from bitmapist import Bitmapist, InvalidInput
from bitmapist.analytics.funnels import funnel

from .analytics_model import Model

KINDS = ["hour", "day", "week", "month"]


@pytest.fixture
def embedded(tmp_path):
    client = Bitmapist(f"file://{tmp_path}/funnel.db")
    yield client
    client.close()


def _periods_of(model: Model, kind: str, event: str, user: int) -> set[int]:
    return {
        model.position(kind, moment)
        for name, uid, moment in model.events
        if name == event and uid == user
    }


def _expected(model, kind, steps, first, last, now, window, rule, segment):
    """Per user: the periods in which they reached each step, by brute force over sequences
    of periods t1 <= t2 <= ... each within `window` of the one before."""
    lag = 0 if rule == "same_period" else 1
    counts = [0] * len(steps)
    members: list[set[int]] = [set() for _ in steps]
    for user in range(40):
        if segment is not None and user not in segment:
            continue
        reached = {t for t in _periods_of(model, kind, steps[0], user) if first <= t <= last}
        for k, step in enumerate(steps):
            if k:
                done = _periods_of(model, kind, step, user)
                reached = {
                    t for t in done if t <= now and any(t - window <= s <= t - lag for s in reached)
                }
            if not reached:
                break
            counts[k] += 1
            members[k].add(user)
    return counts, members


@pytest.mark.parametrize(
    "kind,rule,window", list(product(KINDS, ["same_period", "strictly_later"], [1, 3]))
)
def test_funnel_matches_the_model(embedded, kind, rule, window):
    model = Model(kind, seed=7, events=1500)
    model.mark(embedded)
    start, end, now = model.moment(0.2), model.moment(0.6), model.moment(0.8)
    steps = ["a", "b", "c", "d"]
    table = funnel(
        steps,
        period=kind,
        start=start,
        end=end,
        window=window,
        rule=rule,
        breakdown=["premium", "beta"],
        system=embedded,
        now=now,
    )
    first, last = model.position(kind, start), model.position(kind, end)
    at = model.position(kind, now)
    for s, flag in enumerate(["premium", "beta"]):
        counts, members = _expected(
            model, kind, steps, first, last, at, window, rule, model.flags[flag]
        )
        rows = table.step_rows(flag)
        assert [row.count for row in rows] == counts, flag
        assert counts[0] > 0  # the data has entries
        for k, row in enumerate(rows):
            assert table.ids(k, s) == sorted(members[k])
            if k:
                assert row.dropped == counts[k - 1] - counts[k]
                assert table.ids(k, flag, dropped=True) == sorted(members[k - 1] - members[k])
                assert row.percent_of_previous == pytest.approx(
                    counts[k] / counts[k - 1] * 100 if counts[k - 1] else None
                )


@pytest.mark.parametrize("rule", ["same_period", "strictly_later"])
def test_long_windows_and_entries_up_to_now_match_the_model(embedded, rule):
    """Windows shorter and longer than the entry range (the window sliding over blocks of
    periods, any alignment), entries up to `now`: later steps cut at `now`."""
    model = Model("day", seed=11, events=2500)
    model.mark(embedded)
    start, end = model.moment(0.05), model.moment(0.9)
    now = model.moment(0.93)
    first, last, at = (model.position("day", m) for m in (start, end, now))
    for window in [2, 5, 7, 40]:
        table = funnel(
            ["a", "b", "c", "d"], "day", start, end, window, rule, system=embedded, now=now
        )
        counts, members = _expected(
            model, "day", ["a", "b", "c", "d"], first, last, at, window, rule, None
        )
        assert [row.count for row in table.rows] == counts, window
        assert [table.ids(k) for k in range(4)] == [sorted(m) for m in members]


def test_a_step_nobody_did_ends_the_funnel(embedded):
    model = Model("day", seed=5)
    model.mark(embedded)
    start, end = model.moment(0.1), model.moment(0.6)
    table = funnel(["a", "never", "b"], start=start, end=end, window=3, system=embedded)
    assert [row.count for row in table.rows][1:] == [0, 0]
    assert table.rows[0].count > 0 and table.rows[2].percent_of_previous is None
    assert table.ids(2) == [] and table.ids(1, dropped=True) == table.ids(0)
    nobody = funnel(["never", "a"], start=start, end=end, system=embedded)
    assert [row.count for row in nobody.rows] == [0, 0]


def test_window_zero_counts_the_same_period_only(embedded):
    model = Model("day", seed=9)
    model.mark(embedded)
    start, end = model.moment(0.1), model.moment(0.9)
    table = funnel(["a", "b"], start=start, end=end, window=0, system=embedded, now=model.end)
    counts, _ = _expected(
        model,
        "day",
        ["a", "b"],
        model.position("day", start),
        model.position("day", end),
        model.position("day", model.end),
        0,
        "same_period",
        None,
    )
    assert [row.count for row in table.rows] == counts
    with pytest.raises(InvalidInput, match="window"):
        funnel(["a", "b"], window=0, rule="strictly_later", system=embedded)


def test_exports_and_chart(embedded):
    day = datetime(2026, 3, 2, 10, tzinfo=UTC)
    embedded.mark_events([("s", 1, day), ("s", 2, day), ("t", 1, day)])
    table = funnel(["s", "t"], start=day, end=day, system=embedded, now=day)
    lines = list(csv.reader(io.StringIO(table.to_csv())))
    assert lines[1:] == [
        ["", "1", "s", "2", "100.00", "100.00", "0", ""],
        ["", "2", "t", "1", "50.00", "50.00", "1", "50.00"],
    ]
    data = json.loads(table.to_json())
    assert data["rule"] == "same_period" and data["entry"] == ["2026-03-02", "2026-03-02"]
    assert table.chart_series()["series"][0]["values"] == [2, 1]
    assert table.to_pandas()["users"].tolist() == [2, 1]
    assert "s \u2192 t" in table.to_html()
    assert table.ids("t") == [1] and table.ids("t", dropped=True) == [2]


def test_bad_input_is_named(embedded):
    with pytest.raises(InvalidInput, match="steps"):
        funnel(["a"], system=embedded)
    with pytest.raises(InvalidInput, match="steps"):
        funnel([f"e{i}" for i in range(11)], system=embedded)
    with pytest.raises(InvalidInput, match="rule 'later'"):
        funnel(["a", "b"], rule="later", system=embedded)
