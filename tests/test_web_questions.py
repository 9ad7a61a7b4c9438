"""The question pages over HTTP, in-process: trends, funnel, lifecycle and stickiness each
answer a bookmarkable GET with a chart, a table whose numbers link to their users, a CSV
equal to the library's, and a clear 400 for bad parameters."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime
from urllib.parse import urlencode

import pytest

from bitmapist import Bitmapist
from bitmapist.query_language import name_text
from bitmapist.web import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

NOW = datetime(2026, 11, 28, 15, 30, tzinfo=UTC)
EVIL = '<img src=x onerror=alert(1)>"'


@pytest.fixture(params=["file", "redis"])
def client(request: pytest.FixtureRequest, tmp_path) -> Iterator[Bitmapist]:
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        server.client().flushall()
        url = server.url
    else:
        url = f"file://{tmp_path}/store.db"
    client = Bitmapist(url)
    # week 45 (Nov 2-8): 1-4 sign up and are active; week 46: 5 signs up, 1, 2, 5 active;
    # week 47: 1 and 3 (3 comes back after a week away); 1 plays a song in week 46
    for uid in (1, 2, 3, 4):
        client.mark_event("signup", uid, now=datetime(2026, 11, 2))
        client.mark_event("active", uid, now=datetime(2026, 11, 3))
    client.mark_event("signup", 5, now=datetime(2026, 11, 10))
    for uid in (1, 2, 5):
        client.mark_event("active", uid, now=datetime(2026, 11, 11))
    for uid in (1, 3):
        client.mark_event("active", uid, now=datetime(2026, 11, 18))
    client.mark_event("active", 1, now=datetime(2026, 11, 19))
    client.mark_event("song:played", 1, now=datetime(2026, 11, 11))
    client.mark_event(EVIL, 1, now=datetime(2026, 11, 11))
    for uid in (1, 2, 5):
        client.mark_unique("signup_form:new", uid)
    for uid in (3, 4):
        client.mark_unique("signup_form:classic", uid)
    yield client
    client.close()


@pytest.fixture
def http(client: Bitmapist) -> TestClient:
    return TestClient(create_app(client, now=lambda: NOW))


def url(path: str, **params: object) -> str:
    pairs = []
    for key, value in params.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            pairs.append((key, str(item)))
    return f"{path}?{urlencode(pairs)}"


def links(page: str, path: str) -> list[tuple[str, str]]:
    """(href, text) of every link to `path` in the page."""
    found = re.findall(rf'<a class="num" href="({re.escape(path)}\?[^"]*)">([^<]*)</a>', page)
    return [(href.replace("&amp;", "&"), text) for href, text in found]


def user_ids(page: str) -> list[int]:
    block = re.search(r'<ol class="ids" id="user-ids"[^>]*>(.*?)</ol>', page, re.S)
    assert block, page
    return [int(uid) for uid in re.findall(r"<li>(\d+)</li>", block.group(1))]


WEEKS = {"period": "week", "start": "2026-11-02", "end": "2026-11-22"}


def test_trends_page_table_csv_and_drill_down(http: TestClient, client: Bitmapist) -> None:
    from bitmapist.analytics.trends import trends

    response = http.get(url("/trends", events=["active", "song:played"], **WEEKS))
    assert response.status_code == 200
    page = response.text
    assert "<svg" in page and 'class="chart-title">Unique users per week, 2026-W45 to 2026-W47' in (
        page
    )
    assert 'class="legend">active</text>' in page
    assert 'class="legend">active, range before</text>' in page
    numbers = links(page, "/trends/users")
    # per row: active, song:played, then the range before (weeks 42-44: nobody)
    assert [text for _, text in numbers] == [
        *("4", "0", "0", "0"),
        *("3", "1", "0", "0"),
        *("2", "0", "0", "0"),
    ]
    table = trends(
        ["active", "song:played"],
        period="week",
        start=date(2026, 11, 2),
        end=date(2026, 11, 22),
        system=client,
        now=NOW,
    )
    csv = http.get(url("/trends.csv", events=["active", "song:played"], **WEEKS))
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.headers["content-disposition"].startswith('attachment; filename="trends-week.csv"')
    assert csv.text == table.to_csv()
    as_json = http.get(url("/trends.json", events=["active", "song:played"], **WEEKS))
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.json() == json.loads(table.to_json())
    assert http.get("/trends.json").json() == {"error": "trends: choose the event(s) first"}
    # week 46's active users, from the number's own link
    users = http.get(numbers[4][0])
    assert users.status_code == 200
    assert "Users: active in 2026-W46" in users.text
    assert user_ids(users.text) == [1, 2, 5]
    listed = http.get(numbers[4][0].replace("/trends/users?", "/trends/users.csv?"))
    assert listed.text == "user_id\n1\n2\n5\n"


def test_trends_breakdown_splits_each_event(http: TestClient) -> None:
    page = http.get(
        url(
            "/trends",
            events="active",
            breakdown=["signup_form:new", "signup_form:classic"],
            **WEEKS,
        )
    ).text
    assert [text for _, text in links(page, "/trends/users")][:2] == ["2", "2"]
    assert "active · signup_form:new" in page


def test_trends_without_events_shows_the_form(http: TestClient) -> None:
    page = http.get("/trends").text
    assert '<form class="report card" method="get" action="/trends">' in page
    assert "<svg" not in page


def test_hour_trends_end_date_is_the_whole_day(http: TestClient) -> None:
    csv = http.get(
        url(
            "/trends.csv",
            events="active",
            period="hour",
            start="2026-11-27",
            end="2026-11-27",
            compare="off",
        )
    ).text
    assert csv.count("\n") == 1 + 24


FUNNEL = {"steps": ["signup", "active", "song:played"], "period": "week"}
FUNNEL.update(start="2026-11-02", end="2026-11-15")


@pytest.mark.parametrize(
    ("rule", "counts"),
    [("same_period", ["5", "5", "0", "1", "4"]), ("strictly_later", ["5", "2", "3", "0", "2"])],
)
def test_funnel_page_rules_csv_and_drill_down(
    http: TestClient, client: Bitmapist, rule: str, counts: list[str]
) -> None:
    from bitmapist.analytics.funnels import funnel

    page = http.get(url("/funnel", rule=rule, **FUNNEL)).text
    assert 'class="chart-title">Users reaching each step, entering 2026-W45 to 2026-W46' in page
    assert 'class="legend">dropped off since the step before</text>' in page
    numbers = links(page, "/funnel/users")
    # users per step, with the drop-off after the first step
    assert [text for _, text in numbers] == counts
    table = funnel(
        ["signup", "active", "song:played"],
        period="week",
        start=date(2026, 11, 2),
        end=date(2026, 11, 15),
        rule=rule,
        system=client,
        now=NOW,
    )
    assert http.get(url("/funnel.csv", rule=rule, **FUNNEL)).text == table.to_csv()
    for href, text in numbers:
        assert len(user_ids(http.get(href).text)) == int(text.replace(",", "")), href
    dropped = http.get(numbers[-1][0]).text
    assert user_ids(dropped) == table.ids(2, dropped=True)
    assert "Users: did active (step 2) but not song:played" in dropped


def test_funnel_breakdown_has_a_funnel_per_segment(http: TestClient) -> None:
    query = {**FUNNEL, "breakdown": ["signup_form:new", "signup_form:classic"]}
    page = http.get(url("/funnel", **query)).text
    # new: 1, 2, 5 enter and are active, 1 plays; classic: 3, 4 enter and are active
    assert [text for _, text in links(page, "/funnel/users")] == [
        *("3", "3", "0", "1", "2"),
        *("2", "2", "0", "0", "2"),
    ]
    classic = links(page, "/funnel/users")[5][0]
    assert "segment=1" in classic
    assert user_ids(http.get(classic).text) == [3, 4]


def test_lifecycle_page_csv_and_drill_down(http: TestClient, client: Bitmapist) -> None:
    from bitmapist.analytics.lifecycle import lifecycle

    page = http.get(url("/lifecycle", event="active", **WEEKS)).text
    assert "dormant below zero" in page
    assert [f'class="legend">{s}</text>' in page for s in ("new", "dormant")] == [True, True]
    numbers = [text for _, text in links(page, "/lifecycle/users")]
    # per week: new, returning, resurrecting, dormant, active
    assert numbers == [
        *("4", "0", "0", "0", "4"),
        *("1", "2", "0", "-2", "3"),
        *("0", "1", "1", "-2", "2"),
    ]
    table = lifecycle(
        "active",
        period="week",
        start=date(2026, 11, 2),
        end=date(2026, 11, 22),
        system=client,
        now=NOW,
    )
    assert http.get(url("/lifecycle.csv", event="active", **WEEKS)).text == table.to_csv()
    back = http.get(url("/lifecycle/users", event="active", row=2, status="resurrecting", **WEEKS))
    assert "Users: resurrecting in 2026-W47" in back.text
    assert user_ids(back.text) == [3]
    gone = http.get(url("/lifecycle/users", event="active", row=2, status="dormant", **WEEKS))
    assert user_ids(gone.text) == [2, 5]


def test_stickiness_page_csv_and_drill_down(http: TestClient, client: Bitmapist) -> None:
    from bitmapist.analytics.stickiness import stickiness

    query = {"event": "active", "start": "2026-11-16", "end": "2026-11-22", "power_threshold": 2}
    page = http.get(url("/stickiness", **query)).text
    assert "2026-W47: % of active users by days active (power: 2+)" in page
    # 1 day .. 7 days, active, power users: 3 on one day, 1 on two
    assert [text for _, text in links(page, "/stickiness/users")] == [
        *("1", "1", "0", "0", "0", "0", "0"),
        *("2", "1"),
    ]
    table = stickiness(
        "active",
        start=date(2026, 11, 16),
        end=date(2026, 11, 22),
        power_threshold=2,
        system=client,
        now=NOW,
    )
    assert http.get(url("/stickiness.csv", **query)).text == table.to_csv()
    two = http.get(url("/stickiness/users", row=0, units=2, **query)).text
    assert "Users: active on exactly 2 days of 2026-W47" in two
    assert user_ids(two) == [1]
    power = http.get(url("/stickiness/users", row=0, units="power", **query)).text
    assert user_ids(power) == [1]


def test_question_pages_without_a_choice_show_their_form(http: TestClient) -> None:
    for name in ("trends", "funnel", "lifecycle", "stickiness"):
        page = http.get(f"/{name}").text
        assert f'<form class="report card" method="get" action="/{name}">' in page, name
        assert "<svg" not in page, name


BAD = [
    (
        "/trends",
        {"events": "active", "period": "year"},
        "period &#39;year&#39; is unknown: expected one of day, week, month, hour",
    ),
    (
        "/trends",
        {"events": "active", "start": "2026-11-20", "end": "2026-11-01"},
        "start 2026-11-20 is after end 2026-11-01: expected start &lt;= end",
    ),
    (
        "/trends",
        {"events": "active", "start": "0001-01-01"},
        "start 0001-01-01 is out of range: expected a date from 1970-01-01 to 9990-12-31",
    ),
    (
        "/trends",
        {"events": "active", "period": "hour", "start": "2026-01-01", "end": "2026-11-01"},
        "2026-01-01 to 2026-11-01 is about 7,320 hours: at most 400 fit on a page",
    ),
    (
        "/trends",
        {"events": "active", "compare": "maybe"},
        "compare &#39;maybe&#39; is unknown: expected one of on, off",
    ),
    ("/trends", {"events": [f"e{i}" for i in range(11)]}, "events: 11 given, expected 1 to 10"),
    (
        "/trends/users",
        {"events": "active", "row": "99", "series": "0"},
        "row 99 is out of range: expected [0, 29]",
    ),
    (
        "/trends/users",
        {"events": "active", "row": "0", "series": "x"},
        "series &#39;x&#39; is not an integer: expected [0, 0]",
    ),
    (
        "/trends/users",
        {"events": "active", "row": "0", "series": "0", "compare": "off", "previous": "1"},
        "previous 1 needs the comparison: compare is off",
    ),
    (
        "/trends/users",
        {"events": "active", "row": "0", "series": "0", "page": "0"},
        "page 0 is out of range: expected [1, 10000000]",
    ),
]


@pytest.mark.parametrize(("path", "query", "message"), BAD)
def test_bad_parameters_are_clear_400s(
    http: TestClient, path: str, query: dict, message: str
) -> None:
    response = http.get(url(path, **query))
    assert response.status_code == 400
    assert message in response.text
    assert '<div class="card error" id="error">' in response.text


def test_the_form_keeps_what_was_valid_after_a_400(http: TestClient) -> None:
    query = {
        "events": ["active", EVIL],
        "period": "week",
        "start": "yesterday",
        "end": "2026-11-22",
    }
    response = http.get(url("/trends", **query))
    assert response.status_code == 400
    page = response.text
    assert 'name="events" list="event-names" value="active"' in page
    assert 'value="&lt;img src=x onerror=alert(1)&gt;&#34;"' in page
    assert '<option value="week" selected>' in page
    assert 'name="end" value="2026-11-22"' in page
    assert 'name="start" value=""' in page  # the bad one is left out
    assert "<img" not in page


def test_csv_errors_are_plain_400s(http: TestClient) -> None:
    response = http.get("/trends.csv")
    assert response.status_code == 400
    assert response.text == "error: trends: choose the event(s) first\n"


def test_html_in_event_names_is_escaped(http: TestClient) -> None:
    # the name has spaces and parentheses: written as the language quotes it, and raw
    # (an expression error, whose message shows the text)
    event, flag = name_text(EVIL), name_text(EVIL, flag=True)
    for page_url, status in (
        (url("/trends", events=event, breakdown=flag, **WEEKS), 200),
        (url("/trends/users", events=event, row=1, series=0, **WEEKS), 200),
        (url("/funnel", steps=[event, "active"], breakdown=flag, **WEEKS), 200),
        (url("/lifecycle", event=event, first_seen=event, breakdown=flag, **WEEKS), 200),
        (url("/lifecycle/users", event=event, row=1, status="new", **WEEKS), 200),
        (url("/stickiness", event=event, breakdown=flag), 200),
        (url("/trends", events=EVIL, **WEEKS), 400),
        (url("/funnel", steps=["active", EVIL], **WEEKS), 400),
    ):
        response = http.get(page_url)
        assert response.status_code == status, page_url
        page = response.text
        assert "<img" not in page, page_url
        assert "&lt;img src=x onerror=alert(1)&gt;" in page, page_url


def test_question_users_are_paginated(http: TestClient, client: Bitmapist) -> None:
    for uid in range(1000, 1250):
        client.mark_event("active", uid, now=datetime(2026, 11, 11))
    query = {"events": "active", "row": "1", "series": "0", **WEEKS}
    first = http.get(url("/trends/users", **query)).text
    assert '<strong id="user-total">253</strong>' in first
    assert "page 1 of 3" in first
    assert user_ids(first) == [1, 2, 5, *range(1000, 1097)]
    second = http.get(url("/trends/users", page=2, **query)).text
    assert user_ids(second) == list(range(1097, 1197))
    assert 'id="next-page"' in second and "← previous" in second
    last = http.get(url("/trends/users", page=3, **query)).text
    assert user_ids(last) == list(range(1197, 1250))
    assert 'id="next-page"' not in last
    # past the end: the last page
    assert user_ids(http.get(url("/trends/users", page=9, **query)).text) == user_ids(last)
    listed = http.get(url("/trends/users.csv", **query)).text.split()
    assert listed[0] == "user_id" and len(listed) == 254
