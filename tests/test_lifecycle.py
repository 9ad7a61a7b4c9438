"""`lifecycle()` against the brute-force model: every period kind, with a lookback or a
first-seen event, with breakdown; exports and drill-down."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from bitmapist import Bitmapist, InvalidInput
from bitmapist.analytics.lifecycle import lifecycle

from .analytics_model import Model

KINDS = ["hour", "day", "week", "month"]


@pytest.fixture
def embedded(tmp_path):
    client = Bitmapist(f"file://{tmp_path}/lifecycle.db")
    yield client
    client.close()


def _active(model: Model, kind: str, event: str, position: int) -> set[int]:
    return model.users(event, kind, model.keys[kind][position])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("first_seen", [None, "b"])
def test_lifecycle_matches_the_model(embedded, kind, first_seen):
    model = Model(kind, seed=11, events=700)
    model.mark(embedded)
    start, end = model.moment(0.4), model.moment(0.9)
    lookback = 4
    table = lifecycle(
        "a",
        period=kind,
        start=start,
        end=end,
        first_seen=first_seen,
        breakdown=["premium", "beta"],
        system=embedded,
        now=model.end,
        lookback=lookback,
    )
    first, last = model.position(kind, start), model.position(kind, end)
    statuses = ["new", "returning", "resurrecting", "dormant", "active"]
    seen = {"resurrecting": 0, "dormant": 0}
    for flag in ["premium", "beta"]:
        segment = model.flags[flag]
        rows = [row for row in table.rows if row.segment == flag]
        assert len(rows) == last - first + 1
        for t, row in zip(range(first, last + 1), rows):
            now = _active(model, kind, "a", t) & segment
            previous = _active(model, kind, "a", t - 1) & segment
            if first_seen is None:
                ever = set().union(
                    *(_active(model, kind, "a", p) for p in range(first - lookback, t))
                )
                new = now - ever
            else:
                new = now & _active(model, kind, first_seen, t)
            expected = {
                "new": new,
                "returning": (now & previous) - new,
                "resurrecting": now - previous - new,
                "dormant": previous - now,
                "active": now,
            }
            if first_seen is None:  # resurrecting users were active at some earlier period
                assert expected["resurrecting"] <= ever
            got = [row.new, row.returning, row.resurrecting, -row.dormant, row.active]
            assert got == [len(expected[s]) for s in statuses], (flag, row.label)
            for status in statuses:
                assert table.ids(row.label, status, flag) == sorted(expected[status])
            seen["resurrecting"] += row.resurrecting
            seen["dormant"] += row.dormant
    assert seen["resurrecting"] > 0 and seen["dormant"] < 0  # the data exercises both


def test_default_lookback_and_exports(embedded):
    monday = datetime(2026, 3, 2, 9, tzinfo=UTC)
    embedded.mark_events(
        [
            ("a", 1, monday - timedelta(weeks=40)),  # back after 40 weeks: resurrecting
            ("a", 1, monday),
            ("a", 2, monday),  # new
            ("a", 2, monday + timedelta(weeks=1)),  # returning
        ]
    )
    table = lifecycle(
        "a", start=monday, end=monday + timedelta(weeks=2), system=embedded, now=monday
    )
    assert table.lookback == 52
    lines = list(csv.reader(io.StringIO(table.to_csv())))
    assert lines == [
        ["segment", "period", "new", "returning", "resurrecting", "dormant", "active"],
        ["", "2026-W10", "1", "0", "1", "0", "2"],
        ["", "2026-W11", "0", "1", "0", "-1", "1"],
        ["", "2026-W12", "0", "0", "0", "-1", "0"],
    ]
    chart = table.chart_series()
    assert [s["name"] for s in chart["series"]] == ["new", "returning", "resurrecting", "dormant"]
    assert chart["series"][3]["values"] == [0, -1, -1]
    assert table.ids(1, "dormant") == [1]
    assert table.to_pandas()["new"].tolist() == [1, 0, 0]
    assert "Lifecycle of a per week" in table.to_html()
    assert table.to_dict()["rows"][0]["start"] == "2026-03-02T00:00:00+00:00"


def test_bad_input_is_named(embedded):
    with pytest.raises(InvalidInput, match="lookback"):
        lifecycle("a", lookback=0, system=embedded)
    with pytest.raises(InvalidInput, match="status 'gone'"):
        lifecycle("a", system=embedded).ids(0, "gone")
