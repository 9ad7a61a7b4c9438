"""`trends()` against the brute-force model, for every period kind, with comparison and
breakdown, plus the table's exports and drill-down."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from bitmapist import Bitmapist, InvalidInput
from bitmapist.analytics.trends import trends

from .analytics_model import Model

KINDS = ["hour", "day", "week", "month"]


@pytest.fixture
def embedded(tmp_path):
    client = Bitmapist(f"file://{tmp_path}/trends.db")
    yield client
    client.close()


def _expected(model: Model, kind: str, event, segment: set[int] | None, keys) -> list[int]:
    out = []
    for key in keys:
        users = event(key)
        out.append(len(users if segment is None else users & segment))
    return out


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [1, 2])
def test_trends_match_the_model(embedded, kind, seed):
    model = Model(kind, seed)
    model.mark(embedded)
    start, end, now = model.moment(0.45), model.moment(0.85), model.moment(0.9)
    either = embedded.DayEvents("a") | embedded.DayEvents("b")
    table = trends(
        ["a", either],
        period=kind,
        start=start,
        end=end,
        breakdown=["premium", "beta"],
        system=embedded,
        now=now,
    )
    keys = model.between(kind, start, end)
    first = model.position(kind, start)
    previous_keys = model.keys[kind][first - len(keys) : first]
    assert len(table.rows) == len(keys) and len(table.series) == 4
    events = {
        "a": lambda key: model.users("a", kind, key),
        "either": lambda key: model.users("a", kind, key) | model.users("b", kind, key),
    }
    for series, (event, flag) in zip(
        table.series,
        [("a", "premium"), ("a", "beta"), ("either", "premium"), ("either", "beta")],
    ):
        segment = model.flags[flag]
        assert series.segment == flag
        counts = _expected(model, kind, events[event], segment, keys)
        previous = _expected(model, kind, events[event], segment, previous_keys)
        assert list(series.counts) == counts
        assert list(series.previous) == previous
        assert series.total == sum(counts) and series.previous_total == sum(previous)
        assert series.change == sum(counts) - sum(previous)
        unique = set().union(*(events[event](key) for key in keys)) & segment
        assert series.unique == len(unique)
    # drill-down: the users behind a count, and behind its comparison
    middle = len(keys) // 2
    segment = model.flags["beta"]
    assert table.ids(middle, 1) == sorted(model.users("a", kind, keys[middle]) & segment)
    assert table.ids(table.rows[middle].label, table.series[1].name, previous=True) == sorted(
        model.users("a", kind, previous_keys[middle]) & segment
    )


def test_defaults_end_now_and_count_everyone(embedded):
    model = Model("day", 3)
    model.mark(embedded)
    now = model.moment(0.7)
    table = trends("c", system=embedded, now=now, compare=False)
    assert len(table.rows) == 30 and table.rows[-1].label == now.strftime("%Y-%m-%d")
    assert not table.rows[-1].complete and table.rows[-2].complete
    keys = model.between("day", now, now)
    assert table.rows[-1].counts == (len(model.users("c", "day", keys[0])),)
    assert table.series[0].previous is None and table.series[0].change is None
    with pytest.raises(InvalidInput, match="compare=True"):
        table.ids(0, 0, previous=True)


def test_exports(embedded):
    embedded.mark_events(
        [("a", 1, datetime(2026, 3, 2, tzinfo=UTC)), ("a", 2, datetime(2026, 3, 3, tzinfo=UTC))]
    )
    table = trends(
        "a",
        start=datetime(2026, 3, 2),
        end=datetime(2026, 3, 3),
        system=embedded,
        now=datetime(2026, 3, 10, tzinfo=UTC),
    )
    lines = list(csv.reader(io.StringIO(table.to_csv())))
    assert lines == [
        ["period", "a", "previous period", "a (previous)"],
        ["2026-03-02", "1", "2026-02-28", "0"],
        ["2026-03-03", "1", "2026-03-01", "0"],
    ]
    data = json.loads(table.to_json())
    assert data["series"][0]["total"] == 2 and data["series"][0]["change_percent"] is None
    assert data["rows"][0]["start"] == "2026-03-02T00:00:00+00:00"
    chart = table.chart_series()
    assert chart["x"] == ["2026-03-02", "2026-03-03"]
    assert [s["values"] for s in chart["series"]] == [[1, 1], [0, 0]]
    frame = table.to_pandas()
    assert list(frame.columns) == lines[0] and frame["a"].tolist() == [1, 1]
    assert "<caption>a per day</caption>" in table.to_html()


def test_html_escapes_names(embedded):
    table = trends("<b>x</b>", system=embedded, now=datetime(2026, 3, 10, tzinfo=UTC))
    html = table.to_html()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_bad_input_is_named(embedded):
    with pytest.raises(InvalidInput, match="period 'fortnight'"):
        trends("a", period="fortnight", system=embedded)
    with pytest.raises(InvalidInput, match="events"):
        trends([], system=embedded)
    with pytest.raises(InvalidInput, match="after end"):
        trends("a", start=datetime(2026, 3, 5), end=datetime(2026, 3, 1), system=embedded)
    with pytest.raises(InvalidInput, match="series 'zzz'"):
        trends("a", system=embedded).ids(0, "zzz")
    with pytest.raises(InvalidInput, match="breakdown"):
        trends("a", breakdown=[], system=embedded)
