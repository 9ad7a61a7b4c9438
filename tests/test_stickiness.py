"""`stickiness()` against the brute-force model: every (period, unit) pair, breakdown,
power users; exports and drill-down."""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from pyroaring import BitMap

from bitmapist import Bitmapist, InvalidInput
from bitmapist.analytics.counting import dense_universe
from bitmapist.analytics.stickiness import default_power_threshold, stickiness

from .analytics_model import Model, period_key

PAIRS = [("day", "hour"), ("week", "hour"), ("week", "day"), ("month", "day"), ("month", "hour")]


@pytest.fixture
def embedded(tmp_path):
    client = Bitmapist(f"file://{tmp_path}/stickiness.db")
    yield client
    client.close()


@pytest.mark.parametrize("kind,unit", PAIRS)
def test_stickiness_matches_the_model(embedded, kind, unit):
    model = Model(kind if kind != "day" else "hour", seed=13, events=1500)
    model.mark(embedded)
    start, end = model.moment(0.2), model.moment(0.8)
    threshold = 3
    table = stickiness(
        "a",
        period=kind,
        unit=unit,
        start=start,
        end=end,
        power_threshold=threshold,
        breakdown=["premium", "beta"],
        system=embedded,
        now=model.end,
    )
    # per (period, user): the units they were active on
    units: dict[tuple, dict[int, set]] = defaultdict(lambda: defaultdict(set))
    for name, user, moment in model.events:
        if name == "a":
            units[period_key(kind, moment)][user].add(period_key(unit, moment))
    keys = model.between(kind, start, end)
    deepest = 0
    for flag in ["premium", "beta"]:
        rows = [row for row in table.rows if row.segment == flag]
        assert len(rows) == len(keys)
        for key, row in zip(keys, rows):
            active = {u: len(s) for u, s in units[key].items() if u in model.flags[flag]}
            by_count = defaultdict(set)
            for user, count in active.items():
                by_count[count].add(user)
            assert row.active == len(active)
            assert list(row.counts) == [len(by_count[j]) for j in range(1, row.units + 1)]
            power = {u for u, count in active.items() if count >= threshold}
            assert row.power_users == len(power)
            assert table.ids(row.label, "power", flag) == sorted(power)
            for j in range(1, row.units + 1):
                assert table.ids(row.label, j, flag) == sorted(by_count[j])
            deepest = max(deepest, max(active.values(), default=0))
    assert deepest >= threshold  # the data has power users


def test_units_per_period_and_defaults(embedded):
    monday = datetime(2026, 3, 2, 9, tzinfo=UTC)
    embedded.mark_events(
        [("a", 1, monday + timedelta(days=d)) for d in range(6)] + [("a", 2, monday)]
    )
    table = stickiness("a", start=monday, end=monday, system=embedded, now=monday)
    assert table.power_threshold == 5 == default_power_threshold("week", "day")
    assert default_power_threshold("month", "day") == 22
    (row,) = table.rows
    assert row.units == 7 and row.counts == (1, 0, 0, 0, 0, 1, 0) and row.power_users == 1
    assert row.power_percent == 50.0
    lines = list(csv.reader(io.StringIO(table.to_csv())))
    assert lines[0][:4] == ["segment", "period", "active", "1 day"]
    assert lines[1] == ["", "2026-W10", "2", "1", "0", "0", "0", "0", "1", "0", "1", "50.00"]
    assert table.ids(0) == [1] and table.ids(0, "active") == [1, 2] and table.ids(0, 1) == [2]
    month = stickiness("a", period="month", start=monday, end=monday, system=embedded, now=monday)
    assert month.rows[0].units == 31
    chart = table.chart_series()
    assert chart["x"] == list(range(1, 8)) and chart["series"][0]["counts"][5] == 1
    assert table.to_pandas()["active"].tolist() == [2]
    assert "Stickiness of a" in table.to_html()


def test_bad_input_is_named(embedded):
    with pytest.raises(InvalidInput, match="unit 'week'"):
        stickiness("a", period="month", unit="week", system=embedded)
    with pytest.raises(InvalidInput, match="power_threshold"):
        stickiness("a", power_threshold=0, system=embedded)


def test_dense_data_counted_on_complements_matches_sets(embedded):
    """Thousands of users in one id block: the counts are made on complemented bitmaps
    (`counting.dense_universe`), with and without a segment."""
    rng = random.Random(3)
    monday = datetime(2026, 3, 2, tzinfo=UTC)
    habit = {user: rng.choice([0.15, 0.5, 0.95]) for user in range(0, 9000, 2)}
    days = {d: {u for u, p in habit.items() if rng.random() < p} for d in range(7)}
    premium = {u for u in habit if rng.random() < 0.4}
    embedded.mark_events(
        [("a", u, monday + timedelta(days=d, hours=5)) for d, users in days.items() for u in users]
    )
    for user in premium:
        embedded.mark_unique("premium", user)
    assert dense_universe([BitMap(users) for users in days.values()])  # the path under test
    week = {"start": monday, "end": monday, "system": embedded, "now": monday}
    table = stickiness("a", breakdown=["premium"], **week)
    everyone = stickiness("a", **week)
    for row, members in ((everyone.rows[0], None), (table.rows[0], premium)):
        times = defaultdict(int)
        for users in days.values():
            for user in users:
                if members is None or user in members:
                    times[user] += 1
        expected = [sum(1 for t in times.values() if t == j) for j in range(1, 8)]
        assert list(row.counts) == expected
        assert row.active == len(times)
    assert everyone.ids(0, 7) == sorted(u for u in habit if all(u in s for s in days.values()))
