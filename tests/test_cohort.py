"""`bitmapist.cohort` on every store: numbers against brute force, escaped rendering."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from bitmapist import Bitmapist, DayEvents, InvalidInput, UniqueEvents
from bitmapist.analytics.specs import CUSTOM_HANDLERS
from bitmapist.cohort import (
    get_dates_data,
    render_csv_data,
    render_html_data,
    render_html_form,
    set_custom_handler,
)

START = date(2026, 5, 1)
EVIL = '<script>alert(1)</script>" onmouseover="x'


@pytest.fixture
def marks(client: Bitmapist) -> dict[str, dict[date, set[int]]]:
    rng = random.Random(1)
    data: dict[str, dict[date, set[int]]] = {"active": {}, "buy": {}}
    for d in range(20):
        day = START + timedelta(days=d)
        data["active"][day] = set(rng.sample(range(200), 30))
        if d % 5 != 3:  # some days nobody buys: "" cells
            data["buy"][day] = set(rng.sample(range(200), 10))
    client.mark_events(
        (event, uid, datetime(day.year, day.month, day.day, 8, tzinfo=UTC))
        for event, days in data.items()
        for day, uids in days.items()
        for uid in uids
    )
    return data


def _expected(data, as_percent: bool, rows: int, columns: int) -> list[list]:
    table = []
    for r in range(rows):
        day = START + timedelta(days=r)
        members = data["active"].get(day, set())
        row: list = [len(members)]
        for t in range(columns + 1):
            returners = data["buy"].get(day + timedelta(days=t), set())
            if not members or not returners:
                row.append("")
            elif not members & returners:
                row.append(0.0)
            elif as_percent:
                row.append(len(members & returners) / len(members) * 100)
            else:
                row.append(len(members & returners))
        table.append(row)
    return table


@pytest.mark.parametrize("as_percent", [True, False])
def test_daily_cohorts_match_brute_force(client, marks, as_percent):
    data = get_dates_data(
        "active",
        "buy",
        time_group="days",
        system=client,
        as_percent=as_percent,
        num_results=10,
        num_of_rows=6,
        start_date=START.isoformat(),
    )
    assert [row[0] for row in data] == [datetime(2026, 5, 1 + r, tzinfo=UTC) for r in range(10)]
    expected = _expected(marks, as_percent, 10, 6)
    assert [row[1:] for row in data] == [
        [pytest.approx(v) if isinstance(v, float) else v for v in row] for row in expected
    ]
    assert any(cell == "" for row in data for cell in row[2:])
    assert all(type(cell) is int for row in data for cell in row[2:] if cell not in ("", 0.0)) or (
        as_percent
    )


def test_segments_as_event_objects_and_custom_handlers(client, marks):
    for uid in range(0, 200, 2):
        client.mark_unique("even", uid)
    segment = DayEvents("active", system=client) & UniqueEvents("even", system=client)
    data = get_dates_data(
        segment,
        "buy",
        system=client,
        num_results=3,
        num_of_rows=1,
        start_date=START.isoformat(),
        as_percent=False,
    )
    assert [row[1] for row in data] == [
        len({u for u in marks["active"][START + timedelta(days=r)] if u % 2 == 0}) for r in range(3)
    ]

    def even_active(key, cls, cls_args):
        return cls("active", *cls_args) & UniqueEvents("even", cls_args[-1])

    set_custom_handler("even_active", even_active)
    try:
        same = get_dates_data(
            "even_active",
            "buy",
            system=client,
            num_results=3,
            num_of_rows=1,
            start_date=START.isoformat(),
            as_percent=False,
        )
    finally:
        CUSTOM_HANDLERS.pop("even_active")
    assert same == data


def test_select_b_intersects_both_sides(client, marks):
    data = get_dates_data(
        "active",
        "buy",
        select1b="buy",
        select2b="active",
        system=client,
        num_results=2,
        num_of_rows=0,
        start_date=START.isoformat(),
        as_percent=False,
    )
    both = marks["active"][START] & marks["buy"][START]
    assert data[0][1:] == [len(both), len(both) or ""]


def test_no_temporary_keys_are_written(client, marks):
    before = set(client.store.scan_keys("*"))
    for group in ("days", "weeks", "months", "years"):
        get_dates_data(
            "active",
            "buy",
            time_group=group,
            system=client,
            start_date=START.isoformat(),
            num_results=4,
            num_of_rows=3,
        )
    assert set(client.store.scan_keys("*")) == before


def test_default_start_ends_with_today(client):
    data = get_dates_data("active", "buy", system=client, num_results=3, num_of_rows=1)
    today = datetime.now(UTC).date()
    assert [row[0].date() for row in data] == [today - timedelta(days=2 - i) for i in range(3)]
    years = get_dates_data("active", "buy", time_group="years", system=client, num_results=9)
    assert [row[0].year for row in years] == [today.year - 2, today.year - 1, today.year]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_group": "fortnights"}, "time_group 'fortnights' is unknown"),
        ({"num_results": "many"}, "num_results 'many' is not an integer"),
        ({"num_of_rows": -1}, r"num_of_rows -1 is out of range: expected \[0, 10000\]"),
        ({"start_date": "28/11/2026"}, "start_date '28/11/2026' is not a date like 2026-11-28"),
        ({"select1b": 7}, "select1b 7 is not an event name or an event object"),
    ],
)
def test_bad_arguments_are_rejected(client, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        get_dates_data("active", "buy", system=client, **kwargs)


def test_missing_selections_are_rejected(client):
    with pytest.raises(InvalidInput, match="select2 None is not an event name"):
        get_dates_data("active", None, system=client)
    assert get_dates_data("active", "buy", select1b="", system=client, num_results=1)


def test_form_escapes_labels_values_and_urls():
    html = render_html_form(
        action_url='/cohort?a=1&b="2"',
        selections1=[(EVIL, EVIL), ("Active", "active"), "---"],
        selections2=[("Bought", "buy")],
        select1=EVIL,
        start_date='"><script>x</script>',
        time_group="weeks",
        num_results=52,
    )
    assert "<script>" not in html and '" onmouseover="' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34; onmouseover=&#34;x" in html
    assert 'action="/cohort?a=1&amp;b=&#34;2&#34;"' in html
    assert re.search(r'<option value="&lt;script&gt;[^"]*" selected="selected">', html)
    assert '<option value="" disabled="disabled">----</option>' in html
    assert '<option value="weeks" selected="selected">Weeks</option>' in html
    assert '<option value="52" selected="selected">52</option>' in html
    assert html.count("<select") == 8  # 4 events, group, percent, results, rows
    assert "<style>" in html
    assert "<style>" not in render_html_form("/c", [("A", "a")], include_assets=False)


def test_table_escapes_and_renders_averages():
    rows = [
        [datetime(2026, 11, 23, tzinfo=UTC), 10, 100.0, 50.0, ""],
        [datetime(2026, 11, 24, tzinfo=UTC), 0, "", "", ""],
        [datetime(2026, 11, 25, tzinfo=UTC), 4, 100.0, 0.0, 25.0],
    ]
    html = render_html_data(rows, time_group="weeks", num_of_rows=2)
    assert "Week 48, 23 Nov" in html  # ISO week of 2026-11-23 (upstream's %U says 47)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert "100.0%" in cells and "50.0%" in cells and "25.0%" in cells
    averages = re.findall(r'<td class="avg_row">([^<]*)</td>', html)
    assert averages == ["", "100.0%", "25.0%", "25.0%"]  # label cell, then columns
    counts = render_html_data(
        [[datetime(2026, 1, 1, tzinfo=UTC), 3, 2, ""]], as_percent=False, num_of_rows=1
    )
    assert ">2</td>" in counts
    assert "<style>" not in render_html_data(rows, num_of_rows=2, include_assets=False)
    evil = render_html_data([[datetime(2026, 1, 1, tzinfo=UTC), EVIL, ""]], num_of_rows=0)
    assert "<script>" not in evil and "&lt;script&gt;" in evil


def test_csv_has_the_upstream_layout_with_iso_weeks():
    rows = [[datetime(2026, 11, 23, tzinfo=UTC), 10, 100.0, 33.333333, ""]]
    assert render_csv_data(rows, num_of_rows=2) == "Date,Total,0,1,2\n23 Nov 2026,10,100.0,33.33,\n"
    assert render_csv_data(rows, time_group="weeks", num_of_rows=2).splitlines()[1] == (
        "Week 48 23 Nov,10,100.0,33.33,"
    )
    assert render_csv_data(rows, as_percent=False, time_group="months", num_of_rows=2) == (
        "Date,Total,0,1,2\n23 Nov,10,100,33,\n"
    )


def test_redis_runs_no_bitop_only_strlen_and_getrange(redis_client):
    client = Bitmapist(redis_client)
    for d in range(40):
        when = datetime(2026, 5, 1, tzinfo=UTC) + timedelta(days=d)
        client.mark_events([("active", uid, when) for uid in range(d, 4000, 3)])
        client.mark_events([("web", uid, when) for uid in range(d, 4000, 5)])
    redis_client.config_resetstat()
    for group in ("days", "weeks", "months", "years"):
        get_dates_data(
            "active",
            "active",
            select1b="web",
            time_group=group,
            system=client,
            start_date="2026-05-01",
            num_results=31,
            num_of_rows=12,
        )
    stats = redis_client.info("commandstats")
    assert "cmdstat_bitop" not in stats and "cmdstat_bitcount" not in stats
    commands = {name.split("|")[0] for name in stats}
    assert commands <= {"cmdstat_strlen", "cmdstat_getrange", "cmdstat_config"}
    assert redis_client.keys("*bitop*") == []
