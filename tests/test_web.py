"""The dashboard's HTTP behaviour, in-process: every view is a GET URL, bad parameters are
clear 400 pages, output is escaped, and the app mounts under a prefix in another app."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from bitmapist import Bitmapist
from bitmapist.analytics.retention import retention
from bitmapist.web import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

NOW = datetime(2026, 11, 28, 15, 30, tzinfo=UTC)


@pytest.fixture(params=["file", "redis"])
def client(request: pytest.FixtureRequest, tmp_path) -> Iterator[Bitmapist]:
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        server.client().flushall()
        url = server.url
    else:
        url = f"file://{tmp_path}/store.db"
    client = Bitmapist(url)
    # week 45: users 1-4 sign up, 1 and 2 return in week 46; week 46: user 5
    for uid in (1, 2, 3, 4):
        client.mark_event("signup", uid, now=datetime(2026, 11, 2))
        client.mark_event("active", uid, now=datetime(2026, 11, 3))
    client.mark_event("signup", 5, now=datetime(2026, 11, 10))
    for uid in (1, 2, 5):
        client.mark_event("active", uid, now=datetime(2026, 11, 11))
    client.mark_unique("premium", 1)
    yield client
    client.close()


@pytest.fixture
def http(client: Bitmapist) -> TestClient:
    return TestClient(create_app(client, now=lambda: NOW))


QUERY = {
    "cohort": "signup",
    "returning": "active",
    "start": "2026-11-02",
    "cohorts": "2",
    "periods": "2",
}


def test_home_lists_events_and_filters_them(http: TestClient) -> None:
    page = http.get("/").text
    for name in ("signup", "active"):
        assert f'<a href="/trends?events={name}"><span class="event-name">{name}</span></a>' in page
    # a flag nobody "did" in the last 30 days is listed apart, as a split of the busiest
    # event this month (active: 5 users in November, signup 5 too, active sorts first)
    assert '<span class="event-name">premium</span>' in page
    assert 'href="/trends?events=active&amp;breakdown=premium">active by it</a>' in page
    filtered = http.get("/?q=SIGN").text
    assert '<span class="event-name">signup</span>' in filtered
    assert '<span class="event-name">active</span>' not in filtered


def _overview_row(page: str, name: str) -> list[str]:
    """The texts of the cells of `name`'s overview row."""
    row = re.search(rf'<tr data-name="{re.escape(name)}">(.*?)</tr>', page, re.S)
    assert row, name
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]


def test_overview_counts_and_changes(client: Bitmapist) -> None:
    # Wednesday Nov 11: active 1, 2, 5 today, nobody yesterday; week 46 has 3 against 4 in
    # week 45; November 5 against nobody in October
    http = TestClient(create_app(client, now=lambda: datetime(2026, 11, 11, 12, tzinfo=UTC)))
    page = http.get("/").text
    active = _overview_row(page, "active")
    assert active[:7] == ["active", "3", "▲ new", "3", "▼ 25.0%", "5", "▲ new"]
    signup = _overview_row(page, "signup")
    assert signup[:7] == ["signup", "0", "▼ 100.0%", "1", "▼ 75.0%", "5", "▲ new"]
    assert 'aria-label="active, users per day: Oct 13 to Nov 11, lowest 0, highest 4, last 3"' in (
        page
    )
    # Thursday Nov 12: nobody yet, against 3 yesterday
    later = TestClient(create_app(client, now=lambda: datetime(2026, 11, 12, tzinfo=UTC)))
    assert _overview_row(later.get("/").text, "active")[1:3] == ["0", "▼ 100.0%"]
    quiet = TestClient(create_app(client, now=lambda: datetime(2027, 3, 1, tzinfo=UTC)))
    page = quiet.get("/").text
    assert 'id="overview"' not in page
    assert '<span class="event-name">active</span>' in page


def test_running_periods_compare_with_the_same_stretch_before(client: Bitmapist) -> None:
    # Wednesday Nov 11, 12:30, hours tracked: 1 and 2 came yesterday morning, 3 at 13:00
    # (after 12:59, so not yet comparable), 1 again this morning
    for uid, hour in ((1, 9), (2, 11), (3, 13)):
        client.mark_event("page", uid, now=datetime(2026, 11, 10, hour), track_hourly=True)
    client.mark_event("page", 1, now=datetime(2026, 11, 11, 10), track_hourly=True)
    # last week: 4 on Wednesday (same stretch as Mon-Wed), 5 on Thursday (not in it)
    client.mark_event("page", 4, now=datetime(2026, 11, 4, 8), track_hourly=True)
    client.mark_event("page", 5, now=datetime(2026, 11, 5, 8), track_hourly=True)
    # October: 6 on the 11th (in the stretch to the 11th), 7 on the 12th (not)
    client.mark_event("page", 6, now=datetime(2026, 10, 11), track_hourly=True)
    client.mark_event("page", 7, now=datetime(2026, 10, 12), track_hourly=True)
    http = TestClient(create_app(client, now=lambda: datetime(2026, 11, 11, 12, 30, tzinfo=UTC)))
    page = http.get("/").text
    assert _overview_row(page, "page")[:7] == [
        *("page", "1", "▼ 50.0%"),  # 1 against 2 yesterday by 12:59
        *("3", "▲ 200.0%"),  # 1, 2, 3 this week against 4 last Mon-Wed
        *("5", "▲ 400.0%"),  # 1-5 in November against 6 in October 1-11
    ]
    for versus in ("2 yesterday by 12:59", "1 last week to Wednesday", "1 last month to the 11th"):
        assert f'title="{versus}"' in page
    # without hours (the `active` of the fixture), today compares with all of yesterday
    assert 'title="0 all of yesterday"' in page
    # March 31st: February ends first, so all of it is the stretch before
    client.mark_event("page", 8, now=datetime(2027, 3, 30))
    march = TestClient(create_app(client, now=lambda: datetime(2027, 3, 31, tzinfo=UTC)))
    assert 'title="0 last month to the 28th"' in march.get("/").text


def test_retention_without_a_cohort_shows_its_form(http: TestClient) -> None:
    page = http.get("/retention").text
    assert '<form class="report card" method="get" action="/retention">' in page


def test_retention_view_is_a_bookmarkable_get(http: TestClient, client: Bitmapist) -> None:
    response = http.get("/retention?" + urlencode(QUERY))
    assert response.status_code == 200
    table = retention(
        "signup",
        "active",
        period="week",
        start=datetime(2026, 11, 2),
        cohorts=2,
        periods=2,
        system=client,
        now=NOW,
    )
    for row in table.rows:
        for cell in row.cells:
            assert f'data-count="{cell.count}"' in response.text
    assert 'data-percent="50.00"' in response.text  # users 1, 2 of 1-4 in week 1
    # the CSV link carries the same query
    csv = http.get("/retention.csv?" + urlencode(QUERY))
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.headers["content-disposition"].startswith(
        'attachment; filename="retention-signup-active-week.csv"'
    )
    assert csv.text == table.to_csv()
    counts = http.get("/retention.csv?" + urlencode({**QUERY, "values": "count"}))
    assert counts.text == table.to_csv("count")


def test_segment_restricts_the_cohort(http: TestClient) -> None:
    csv = http.get(
        "/retention.csv?" + urlencode({**QUERY, "segment": "premium", "values": "count"})
    )
    assert csv.text == "cohort,size,Week 0,Week 1,Week 2\n2026-W45,1,1,1,0\n2026-W46,0,0,0,0\n"


def test_on_or_after_mode(http: TestClient, client: Bitmapist) -> None:
    csv = http.get("/retention.csv?" + urlencode({**QUERY, "mode": "on_or_after"}))
    table = retention(
        "signup",
        "active",
        period="week",
        start=datetime(2026, 11, 2),
        cohorts=2,
        periods=2,
        mode="on_or_after",
        system=client,
        now=NOW,
    )
    assert csv.text == table.to_csv()


def test_cell_users_are_paginated(http: TestClient, client: Bitmapist) -> None:
    for uid in range(1000, 1250):
        client.mark_event("signup", uid, now=datetime(2026, 11, 2))
    query = {**QUERY, "row": "0"}
    first = http.get("/users?" + urlencode(query)).text
    assert '<strong id="user-total">254</strong>' in first
    assert "page 1 of 3" in first
    assert "<li>1</li>" in first and "<li>1095</li>" in first and "<li>1096</li>" not in first
    last = http.get("/users?" + urlencode({**query, "page": "3"})).text
    assert "<li>1249</li>" in last and "<li>1</li>" not in last
    cell = http.get("/users?" + urlencode({**QUERY, "row": "0", "col": "1"})).text
    assert '<strong id="user-total">2</strong>' in cell
    assert "<li>1</li><li>2</li>" in cell


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"cohort": "signup", "period": "year"},
            "period &#39;year&#39; is unknown: expected one of week, day, month",
        ),
        ({"cohort": "signup", "cohorts": "500"}, "cohorts 500 is out of range: expected [1, 60]"),
        (
            {"cohort": "signup", "periods": "x"},
            "periods &#39;x&#39; is not an integer: expected [0, 60]",
        ),
        (
            {"cohort": "signup", "start": "yesterday"},
            "start &#39;yesterday&#39; is not a date: expected YYYY-MM-DD",
        ),
        (
            {"cohort": "signup", "mode": "sometimes"},
            "mode &#39;sometimes&#39; is unknown: expected one of on, on_or_after",
        ),
    ],
)
def test_bad_parameters_are_clear_400s(http: TestClient, query: dict, message: str) -> None:
    response = http.get("/retention?" + urlencode(query))
    assert response.status_code == 400
    assert f'<div class="card error" id="error">{message}</div>' in response.text


def test_bad_cell_and_csv_parameters(http: TestClient) -> None:
    response = http.get("/users?" + urlencode({**QUERY, "row": "9"}))
    assert response.status_code == 400
    assert "row 9 is out of range: expected [0, 1]" in response.text
    response = http.get("/retention.csv")
    assert response.status_code == 400
    assert response.text == "error: cohort is missing: choose an event\n"


def test_html_in_event_names_is_escaped_everywhere(http: TestClient, client: Bitmapist) -> None:
    evil = '<img src=x onerror=alert(1)>"'
    client.mark_event(evil, 1, now=datetime(2026, 11, 2))
    for url in (
        "/",
        "/retention?" + urlencode({**QUERY, "cohort": evil, "segment": evil}),
        "/activity?" + urlencode({"event": evil}),
        "/users?" + urlencode({**QUERY, "cohort": evil, "row": "0"}),
    ):
        page = http.get(url).text
        assert "<img" not in page, url
        assert "&lt;img src=x onerror=alert(1)&gt;" in page, url


def test_activity_view(http: TestClient) -> None:
    page = http.get(
        "/activity?" + urlencode({"event": "active", "days": "14", "end": "2026-11-14"})
    ).text
    assert page.count("<polyline") == 3
    # Nov 11: users 1, 2, 5 active (also the 7 days to it); 30 days to it add 3 and 4 (Nov 3)
    assert "<tr><td>2026-11-11</td><td>3</td><td>3</td><td>5</td><td>60%</td></tr>" in page
    assert "<tr><td>2026-11-03</td><td>4</td><td>4</td><td>4</td><td>100%</td></tr>" in page


def test_mounts_under_a_prefix_in_another_app(client: Bitmapist) -> None:
    outer = Starlette(routes=[Mount("/analytics", app=create_app(client, now=lambda: NOW))])
    http = TestClient(outer)
    page = http.get("/analytics/").text
    assert 'href="/analytics/activity"' in page
    assert 'href="/analytics/retention"' in page
    assert 'action="/analytics/retention"' in http.get("/analytics/retention").text
    table = http.get("/analytics/retention?" + urlencode(QUERY)).text
    assert 'href="/analytics/retention.csv?' in table
    assert http.get("/analytics/retention.csv?" + urlencode(QUERY)).status_code == 200


def test_create_app_takes_a_url(tmp_path) -> None:
    http = TestClient(create_app(f"file://{tmp_path}/empty.db"))
    assert "No events yet" in http.get("/").text


def test_event_names_are_listed_again_after_their_ttl(client: Bitmapist) -> None:
    http = TestClient(create_app(client, now=lambda: NOW, names_ttl=0))
    assert "fresh:event" not in http.get("/").text
    client.mark_event("fresh:event", 1, now=NOW)
    assert '<span class="event-name">fresh:event</span>' in http.get("/").text
    cached = TestClient(create_app(client, now=lambda: NOW, names_ttl=3600))
    cached.get("/")
    client.mark_event("later:event", 1)
    assert "later:event" not in cached.get("/").text


def test_cell_users_as_csv(http: TestClient) -> None:
    response = http.get("/users.csv?" + urlencode({**QUERY, "row": "0", "col": "1"}))
    assert response.text == "user_id\n1\n2\n"
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="users-signup-2026-W45-1.csv"'
    )
    whole = http.get("/users.csv?" + urlencode({**QUERY, "row": "1"}))
    assert whole.text == "user_id\n5\n"
    assert http.get("/users.csv?" + urlencode({**QUERY, "row": "x"})).status_code == 400


@pytest.mark.parametrize(
    ("period", "latest"),
    [("day", "9999-12-14"), ("week", "9999-09-03"), ("month", "9998-07-31")],
)
def test_dates_at_the_end_of_the_calendar_are_clear_400s(
    http: TestClient, period: str, latest: str
) -> None:
    # 8 cohorts + 8 periods + 1 read past the last column = 17 periods after `start`'s own
    query = {"cohort": "signup", "period": period, "start": latest}
    assert http.get("/retention?" + urlencode(query)).status_code == 200
    after = (date.fromisoformat(latest) + timedelta(days=1)).isoformat()
    message = (
        f"start {after} is out of range: a table of 8 cohorts and 8 periods (by {period}) "
        f"from it runs past 9999-12-31; expected a date from 0001-01-01 to {latest}"
    )
    for path in ("/retention", "/retention.csv", "/users"):
        response = http.get(f"{path}?" + urlencode({**query, "start": after, "row": "0"}))
        assert response.status_code == 400, path
        assert message in response.text, path
    assert http.get("/retention?" + urlencode({**query, "start": "0001-01-01"})).status_code == 200


def test_activity_end_at_the_start_of_the_calendar_is_a_clear_400(http: TestClient) -> None:
    # 14 days to `end` and the 30-day MAU window before the first: 0001-02-11 is the earliest
    assert http.get("/activity?event=active&days=14&end=0001-02-12").status_code == 200
    response = http.get("/activity?event=active&days=14&end=0001-02-11")
    assert response.status_code == 400
    assert (
        "end 0001-02-11 is out of range: 14 days to it and the 30 days of MAU before them "
        "start before 0001-01-01; expected a date from 0001-02-12 to 9999-12-31"
    ) in response.text
    assert http.get("/activity?event=active&days=14&end=9999-12-31").status_code == 200
