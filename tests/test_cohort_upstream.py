"""`bitmapist.cohort.get_dates_data` gives upstream 3.119's exact output on the same data.

Marks are written once (by this package) into one db of the session redis-server; upstream
3.119 (its own venv) and this package then compute the same queries for days, weeks,
months and years, with percentages and counts, `select1b`/`select2b` and a custom handler.
Datetimes are compared as ISO strings, numbers exactly (floats included), CSV text exactly
except for week labels (ISO week numbers here, `%U` upstream).
"""

from __future__ import annotations

import inspect
import json
import random
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

import bitmapist
from bitmapist import cohort
from bitmapist.analytics.specs import CUSTOM_HANDLERS

from .servers import RedisServer
from .upstream import run_upstream

DB = 3
SYSTEM = "cohort_compat"

HANDLER_SOURCE = """
def active_web_ios(key, cls, cls_args):
    return cls("active", *cls_args) & (cls("web", *cls_args) | cls("ios", *cls_args))

cohort.set_custom_handler("active_web_ios", active_web_ios)
"""

QUERIES: list[dict[str, Any]] = [
    {
        "select1": "active",
        "select2": "song:played",
        "time_group": "days",
        "start_date": "2026-01-20",
        "num_results": 31,
        "num_of_rows": 12,
    },
    {
        "select1": "active",
        "select2": "song:played",
        "time_group": "days",
        "start_date": "2026-02-25",
        "num_results": 31,
        "num_of_rows": 24,
        "as_percent": False,
    },
    {
        "select1": "active",
        "select1b": "ios",
        "select2": "active",
        "select2b": "song:played",
        "time_group": "days",
        "start_date": "2025-12-24",
        "num_results": 14,
        "num_of_rows": 6,
    },
    {
        "select1": "active_web_ios",
        "select2": "song:played",
        "time_group": "days",
        "start_date": "2026-01-01",
        "num_results": 7,
        "num_of_rows": 3,
    },
    {
        "select1": "active",
        "select2": "song:played",
        "time_group": "weeks",
        "start_date": "2025-12-10",
        "num_results": 12,
        "num_of_rows": 6,
    },
    {
        "select1": "ios",
        "select2": "active",
        "time_group": "weeks",
        "start_date": "2026-01-04",
        "num_results": 4,
        "num_of_rows": 12,
        "as_percent": False,
    },
    {
        "select1": "active",
        "select2": "song:played",
        "time_group": "months",
        "start_date": "2025-10-31",
        "num_results": 6,
        "num_of_rows": 4,
    },
    {
        "select1": "active",
        "select1b": "web",
        "select2": "active",
        "time_group": "months",
        "start_date": "2025-11-15",
        "num_results": 3,
        "num_of_rows": 3,
        "as_percent": False,
    },
    {
        "select1": "active",
        "select2": "song:played",
        "time_group": "years",
        "start_date": "2026-02-27",
        "num_results": 3,
        "num_of_rows": 2,
    },
    {
        "select1": "active",
        "select2": "active",
        "time_group": "years",
        "start_date": "2028-02-27",
        "num_results": 3,
        "num_of_rows": 1,
    },
    {
        "select1": "nobody",
        "select2": "active",
        "time_group": "days",
        "start_date": "2026-01-01",
        "num_results": 3,
        "num_of_rows": 2,
    },
]


def make_marks() -> list[tuple[str, int, datetime]]:
    """Daily activity over five months (and a little in 2024) from a pool of 300 users."""
    rng = random.Random(7)
    marks = []
    day = date(2025, 10, 1)
    while day <= date(2026, 3, 15):
        when = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        active = rng.sample(range(300), 40)
        marks += [("active", uid, when) for uid in active]
        marks += [("song:played", uid, when) for uid in rng.sample(active, 20)]
        marks += [("song:played", uid, when) for uid in rng.sample(range(300), 5)]
        marks += [("web", uid, when) for uid in active[:15]]
        marks += [("ios", uid, when) for uid in active[10:30]]
        day += timedelta(days=1 if day.month != 12 else 2)  # gaps give "" cells
    marks += [("active", uid, datetime(2024, 6, 1, tzinfo=UTC)) for uid in range(0, 300, 7)]
    return marks


def _upstream_program(port: int) -> str:
    return f"""
import json, os
import bitmapist
from bitmapist import cohort
bitmapist.setup_redis({SYSTEM!r}, "127.0.0.1", {port}, db={DB})
# 3.x's `a & b` / `a | b` run on system "default" whatever the events' system is
bitmapist.setup_redis("default", "127.0.0.1", {port}, db={DB})
{HANDLER_SOURCE}
results = []
for query in json.loads(os.environ["COHORT_QUERIES"]):
    data = cohort.get_dates_data(system={SYSTEM!r}, **query)
    csv = cohort.render_csv_data(data, as_percent=query.get("as_percent", True),
                                 time_group=query["time_group"],
                                 num_of_rows=query["num_of_rows"])
    html = cohort.render_html_data(data, as_percent=query.get("as_percent", True),
                                   time_group=query["time_group"],
                                   num_of_rows=query["num_of_rows"])
    results.append({{"data": [[row[0].isoformat(), *row[1:]] for row in data], "csv": csv,
                    "html": html}})
print(json.dumps(results))
"""


def _ours() -> list[dict[str, Any]]:
    namespace: dict[str, Any] = {"cohort": cohort}
    exec(HANDLER_SOURCE, namespace)
    results = []
    for query in QUERIES:
        data = cohort.get_dates_data(system=SYSTEM, **query)
        csv = cohort.render_csv_data(
            data,
            as_percent=query.get("as_percent", True),
            time_group=query["time_group"],
            num_of_rows=query["num_of_rows"],
        )
        html = cohort.render_html_data(
            data,
            as_percent=query.get("as_percent", True),
            time_group=query["time_group"],
            num_of_rows=query["num_of_rows"],
        )
        results.append(
            {"data": [[row[0].isoformat(), *row[1:]] for row in data], "csv": csv, "html": html}
        )
    return json.loads(json.dumps(results))  # same float round trip as upstream's output


@pytest.fixture(scope="module")
def both(redis_server: RedisServer) -> Iterator[tuple[list, list]]:
    redis = redis_server.client(db=DB)
    redis.flushdb()
    saved = dict(bitmapist.SYSTEMS)
    bitmapist.SYSTEMS[SYSTEM] = redis
    try:
        bitmapist.get_client(SYSTEM).mark_events(make_marks())
        keys_before = set(redis.keys("*"))
        ours = _ours()
        assert set(redis.keys("*")) == keys_before  # no temporary keys, not even for a while
        upstream = json.loads(
            run_upstream(
                _upstream_program(redis_server.port), env={"COHORT_QUERIES": json.dumps(QUERIES)}
            )
        )
        yield ours, upstream
    finally:
        CUSTOM_HANDLERS.pop("active_web_ios", None)
        bitmapist.SYSTEMS.clear()
        bitmapist.SYSTEMS.update(saved)
        redis.flushdb()
        redis.close()


@pytest.mark.parametrize("index", range(len(QUERIES)))
def test_get_dates_data_matches_upstream(both, index):
    ours, upstream = both
    assert ours[index]["data"] == upstream[index]["data"]
    assert any(cell not in ("", 0.0) for row in ours[index]["data"] for cell in row[2:]) or (
        QUERIES[index]["select1"] == "nobody"
    )


@pytest.mark.parametrize("index", range(len(QUERIES)))
def test_csv_matches_upstream_except_iso_week_numbers(both, index):
    ours, upstream = both
    if QUERIES[index]["time_group"] != "weeks":
        assert ours[index]["csv"] == upstream[index]["csv"]
        return
    week = re.compile(r"^Week \d+ ", re.M)
    assert week.sub("Week N ", ours[index]["csv"]) == week.sub("Week N ", upstream[index]["csv"])
    for line, row in zip(ours[index]["csv"].splitlines()[1:], ours[index]["data"]):
        iso_week = datetime.fromisoformat(row[0]).isocalendar()[1]
        assert line.startswith(f"Week {iso_week} ")


def _date_cases() -> list[dict[str, Any]]:
    """Start dates at month ends and leap days, every time group, various lengths."""
    rng = random.Random(9)
    starts = [
        "2024-02-29",
        "2024-01-31",
        "2025-03-31",
        "2025-12-31",
        "2026-01-01",
        "2027-02-28",
        "2020-12-28",
        "2028-02-29",
    ]
    starts += [
        (date(2020, 1, 1) + timedelta(days=rng.randrange(3000))).isoformat() for _ in range(16)
    ]
    return [
        {"time_group": group, "start_date": start, "num_results": rng.choice([1, 2, 7, 13, 31])}
        for start in starts
        for group in ("days", "weeks", "months", "years")
    ]


def test_row_dates_match_upstream_for_awkward_start_dates(redis_server):
    cases = _date_cases()
    program = f"""
import json, os
import bitmapist
from bitmapist import cohort
bitmapist.setup_redis("empty", "127.0.0.1", {redis_server.port}, db=4)
print(json.dumps([[row[0].isoformat() for row in cohort.get_dates_data(
    "nobody", "nobody", system="empty", num_of_rows=0, **case)]
    for case in json.loads(os.environ["CASES"])]))
"""
    upstream = json.loads(run_upstream(program, env={"CASES": json.dumps(cases)}))
    client = bitmapist.Bitmapist(redis_server.client(db=4))
    ours = [
        [
            row[0].isoformat()
            for row in cohort.get_dates_data(
                "nobody", "nobody", system=client, num_of_rows=0, **case
            )
        ]
        for case in cases
    ]
    assert ours == upstream


def _cell_texts(html: str) -> list[str]:
    """The text of every table cell, tags and whitespace removed, ISO/%U week numbers too."""
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", html, re.S)
    texts = [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells]
    return [re.sub(r"^Week \d+,", "Week N,", text) for text in texts]


@pytest.mark.parametrize("index", range(len(QUERIES)))
def test_html_table_shows_upstreams_numbers(both, index):
    ours, upstream = both
    assert _cell_texts(ours[index]["html"]) == _cell_texts(upstream[index]["html"])
    assert len(_cell_texts(ours[index]["html"])) > QUERIES[index]["num_of_rows"]


def test_signatures_match_upstream():
    names = [
        "get_dates_data",
        "render_html_form",
        "render_html_data",
        "render_csv_data",
        "set_custom_handler",
    ]
    program = f"""
import inspect, json
from bitmapist import cohort
print(json.dumps({{name: [[p.name, repr(p.default)] for p in
                  inspect.signature(getattr(cohort, name)).parameters.values()]
                  for name in {names!r}}}))
"""
    upstream = json.loads(run_upstream(program))
    for name in names:
        ours = [
            [p.name, repr(p.default)]
            for p in inspect.signature(getattr(cohort, name)).parameters.values()
        ]
        # ours may add keyword parameters at the end (include_assets), never change theirs
        assert ours[: len(upstream[name])] == upstream[name], name
