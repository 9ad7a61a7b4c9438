"""Expressions on the dashboard's question pages, over HTTP: events, steps and segments are
read as the CLI reads them (`bitmapist.query_language.event_spec`), every answer equals the
library's asked directly with the equivalent event objects, links keep the text, and bad
text is a 400 that names it and the position."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from markupsafe import escape

from bitmapist import Bitmapist
from bitmapist.analytics.funnels import funnel
from bitmapist.analytics.lifecycle import lifecycle
from bitmapist.analytics.ranges import active_users
from bitmapist.analytics.retention import retention
from bitmapist.analytics.stickiness import stickiness
from bitmapist.analytics.trends import trends
from bitmapist.query_language import MAX_NESTING
from bitmapist.web import create_app
from bitmapist.web.event_texts import MAX_PAGE_OPERANDS

from .test_web_questions import url

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

NOW = datetime(2026, 11, 28, 15, 30, tzinfo=UTC)
WEEKS = {"period": "week", "start": "2026-11-02", "end": "2026-11-22"}
START, END = date(2026, 11, 2), date(2026, 11, 22)
SOME_DAY = datetime(2026, 1, 5)  # any period: a question moves period events to its own


@pytest.fixture(params=["file", "redis"])
def client(request: pytest.FixtureRequest, tmp_path) -> Iterator[Bitmapist]:
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        server.client().flushall()
        url = server.url
    else:
        url = f"file://{tmp_path}/store.db"
    client = Bitmapist(url)
    days = {  # event -> day of November 2026 -> users
        "signup": {2: [1, 2, 3, 4, 5, 6], 10: [7, 8]},
        "active": {
            3: [1, 2, 3, 4, 5],
            11: [1, 2, 6, 7, 8],
            16: [1],
            17: [1, 7],
            18: [1, 3, 7],
            19: [1, 5],
            21: [5],
        },
        "song:played": {4: [2, 6], 12: [3, 7], 20: [8]},
        "a&b": {12: [4, 5]},
    }
    for event, by_day in days.items():
        for day, uids in by_day.items():
            for uid in uids:
                client.mark_event(event, uid, now=datetime(2026, 11, day, 12))
    for flag, uids in {
        "premium": [1, 3, 7],
        "churned": [2, 5],
        "signup_form:new": [1, 2, 3, 7],
    }.items():
        for uid in uids:
            client.mark_unique(flag, uid)
    yield client
    client.close()


@pytest.fixture
def http(client: Bitmapist) -> TestClient:
    return TestClient(create_app(client, now=lambda: NOW))


def hrefs(page: str, path: str) -> list[str]:
    """Every link (or form action target) to `path` in the page, unescaped."""
    return [unescape(h) for h in re.findall(rf'href="({re.escape(path)}\?[^"]*)"', page)]


def library_json(table: Any) -> Any:
    """The library table's JSON: it names the event objects in the query language, which
    is what the dashboard's user typed in these tests (`active & premium:u`)."""
    return json.loads(table.to_json())


def test_trends_of_expressions_equal_the_library(http: TestClient, client: Bitmapist) -> None:
    active_premium = client.DayEvents("active", SOME_DAY) & client.UniqueEvents("premium")
    active_or_song = client.MonthEvents("active", SOME_DAY) | client.WeekEvents(
        "song:played", SOME_DAY
    )
    not_premium = ~client.UniqueEvents("premium")
    table = trends(
        [active_premium, active_or_song],
        period="week",
        start=START,
        end=END,
        breakdown=["signup_form:new", not_premium],
        system=client,
        now=NOW,
    )
    query = {
        "events": ["active & premium:u", "active | song:played"],
        "breakdown": ["signup_form:new", "~premium:u"],
        **WEEKS,
    }
    answer = http.get(url("/trends.json", **query))
    assert answer.status_code == 200
    assert answer.json() == library_json(table)
    assert [s["name"] for s in answer.json()["series"]] == [
        "active & premium:u · signup_form:new",
        "active & premium:u · ~premium:u",
        "active | song:played · signup_form:new",
        "active | song:played · ~premium:u",
    ]
    assert [s.counts for s in table.series][:2] == [(2, 2, 3), (0, 0, 0)]

    page = http.get(url("/trends", **query)).text
    assert 'class="legend">active &amp; premium:u · signup_form:new</text>' in page
    assert "BitOpAnd" not in page and "UniqueEvents" not in page
    assert "<h1>Trends: active &amp; premium:u, active | song:played per week</h1>" in page
    csv = http.get(url("/trends.csv", **query)).text
    library_csv = table.to_csv().splitlines()
    assert csv.splitlines()[1:] == library_csv[1:]
    assert csv.splitlines()[0].startswith("period,active & premium:u · signup_form:new,")

    # every number's link keeps the expressions and gives the library's users
    links = hrefs(page, "/trends/users")
    assert len(links) == 3 * 4 * 2
    for link in links:
        params = parse_qs(urlsplit(link).query)
        assert params["events"] == query["events"]
        assert params["breakdown"] == query["breakdown"]
        row, series = int(params["row"][0]), int(params["series"][0])
        previous = params.get("previous") == ["1"]
        users = http.get(link.replace("/trends/users?", "/trends/users.csv?"))
        assert users.status_code == 200
        assert users.text.split()[1:] == [
            str(uid) for uid in table.ids(row, series, previous=previous)
        ]
    users = http.get(links[0]).text
    assert "Users: active &amp; premium:u · signup_form:new in 2026-W45" in users


def test_text_is_shown_as_typed_not_as_the_library_writes_it(
    http: TestClient, client: Bitmapist
) -> None:
    """The library would write these `active & premium:u` and `~premium:u`: the page, its
    chart, CSV, JSON and users page keep the spacing and parentheses that were typed."""
    query = {"events": "active&premium:u", "breakdown": "(~premium:u)", **WEEKS}
    name = "active&premium:u · (~premium:u)"
    table = trends(
        client.DayEvents("active", SOME_DAY) & client.UniqueEvents("premium"),
        period="week",
        start=START,
        end=END,
        breakdown=[~client.UniqueEvents("premium")],
        system=client,
        now=NOW,
    )
    assert table.series[0].name == "active & premium:u · ~premium:u"
    answer = http.get(url("/trends.json", **query)).json()
    assert answer["title"] == "active&premium:u per week"
    assert [s["name"] for s in answer["series"]] == [name]
    assert [s["counts"] for s in answer["series"]] == [list(table.series[0].counts)]
    csv = http.get(url("/trends.csv", **query)).text.splitlines()
    assert csv[0] == f"period,{name},previous period,{name} (previous)"
    page = http.get(url("/trends", **query)).text
    assert f'class="legend">{escape(name)}</text>' in page
    assert f"<h1>Trends: {escape('active&premium:u')} per week</h1>" in page
    users = http.get(hrefs(page, "/trends/users")[0]).text
    assert f"Users: {escape(name)} in 2026-W45" in users


def test_links_and_the_form_keep_the_text(http: TestClient) -> None:
    text = '(active | "a&b":u) & ~churned:u'
    page = http.get(url("/trends", events=text, breakdown="premium:u", **WEEKS)).text
    encoded = "events=%28active+%7C+%22a%26b%22%3Au%29+%26+~churned%3Au"
    for link_id in ("csv-link", "json-link"):
        href = re.search(rf'id="{link_id}" href="([^"]*)"', page).group(1)
        assert encoded in href and "breakdown=premium%3Au" in href
    # the drill-down, back and CSV links of a users page
    drill = hrefs(page, "/trends/users")[0]
    assert encoded in drill
    users = http.get(drill).text
    for found in (*hrefs(users, "/trends"), *hrefs(users, "/trends/users.csv")):
        assert parse_qs(urlsplit(found).query)["events"] == [text]
    # the form shows the text as typed (escaped as an attribute)
    assert 'value="(active | &#34;a&amp;b&#34;:u) &amp; ~churned:u"' in page


def test_funnel_steps_and_segments_are_expressions(http: TestClient, client: Bitmapist) -> None:
    second = client.WeekEvents("active", SOME_DAY) & ~client.UniqueEvents("churned")
    third = client.WeekEvents("song:played", SOME_DAY) | client.UniqueEvents("a&b")
    segment = client.UniqueEvents("premium") | client.UniqueEvents("signup_form:new")
    table = funnel(
        ["signup", second, third],
        period="week",
        start=START,
        end=END,
        window=2,
        breakdown=[segment],
        system=client,
        now=NOW,
    )
    steps = ["signup", "active & ~churned:u", 'song:played | "a&b":u']
    query = {"steps": steps, "window": 2, "breakdown": "premium:u | signup_form:new:u", **WEEKS}
    answer = http.get(url("/funnel.json", **query)).json()
    assert answer == library_json(table)
    page = http.get(url("/funnel", **query)).text
    assert (
        "<h1>Funnel: signup → active &amp; ~churned:u → song:played | &#34;a&amp;b&#34;:u" in page
    )
    for link in hrefs(page, "/funnel/users"):
        params = parse_qs(urlsplit(link).query)
        assert params["steps"] == steps
        step, dropped = int(params["step"][0]), params.get("dropped") == ["1"]
        users = http.get(link.replace("/funnel/users?", "/funnel/users.csv?")).text.split()
        assert users[1:] == [str(uid) for uid in table.ids(step, 0, dropped=dropped)]


def test_lifecycle_event_first_seen_and_breakdown(http: TestClient, client: Bitmapist) -> None:
    event = client.WeekEvents("active", SOME_DAY) & ~client.UniqueEvents("churned")
    first = client.WeekEvents("signup", SOME_DAY) | client.WeekEvents("a&b", SOME_DAY)
    table = lifecycle(
        event,
        period="week",
        start=START,
        end=END,
        first_seen=first,
        breakdown=["premium", ~client.UniqueEvents("premium")],
        system=client,
        now=NOW,
    )
    query = {
        "event": "active & ~churned:u",
        "first_seen": 'signup | "a&b"',
        "breakdown": ["premium", "~premium:u"],
        **WEEKS,
    }
    answer = http.get(url("/lifecycle.json", **query)).json()
    assert answer == library_json(table)
    page = http.get(url("/lifecycle", **query)).text
    assert "<h1>Lifecycle of active &amp; ~churned:u per week</h1>" in page
    links = hrefs(page, "/lifecycle/users")
    assert len(links) == 2 * 3 * 5
    for link in links:
        params = parse_qs(urlsplit(link).query)
        assert params["event"] == [query["event"]]
        row, status = int(params["row"][0]), params["status"][0]
        segment = int(params.get("segment", ["0"])[0])
        users = http.get(link.replace("/lifecycle/users?", "/lifecycle/users.csv?")).text.split()
        assert users[1:] == [str(uid) for uid in table.ids(row, status, segment)]


def test_stickiness_of_an_expression(http: TestClient, client: Bitmapist) -> None:
    event = client.DayEvents("active", SOME_DAY) | client.DayEvents("song:played", SOME_DAY)
    table = stickiness(
        event,
        period="week",
        unit="day",
        start=START,
        end=END,
        breakdown=[client.UniqueEvents("premium")],
        system=client,
        now=NOW,
    )
    query = {"event": "active | song:played", "breakdown": "premium:u", **WEEKS}
    answer = http.get(url("/stickiness.json", **query)).json()
    assert answer == library_json(table)
    assert answer["rows"][2]["counts"][:4] == [1, 1, 0, 1]  # W47, premium: 3, 7 and 1 (4 days)
    page = http.get(url("/stickiness", **query)).text
    assert "<h1>Stickiness of active | song:played: days active per week</h1>" in page
    link = hrefs(page, "/stickiness/users")[0]
    assert parse_qs(urlsplit(link).query)["event"] == ["active | song:played"]
    params = parse_qs(urlsplit(link).query)
    users = http.get(link.replace("/stickiness/users?", "/stickiness/users.csv?")).text.split()
    row, units = int(params["row"][0]), int(params["units"][0])
    assert users[1:] == [str(uid) for uid in table.ids(row, units, 0)]


def test_retention_cohort_returning_and_segment(http: TestClient, client: Bitmapist) -> None:
    cohort = client.WeekEvents("signup", SOME_DAY) & ~client.UniqueEvents("churned")
    returning = client.WeekEvents("active", SOME_DAY) | client.WeekEvents("song:played", SOME_DAY)
    start = datetime(2026, 11, 2)
    query = {
        "cohort": "signup & ~churned:u",
        "returning": "active | song:played",
        "segment": "premium | signup_form:new",  # plain names in an expression: period events
        "period": "week",
        "cohorts": 3,
        "periods": 2,
        "start": "2026-11-02",
    }
    segment = client.WeekEvents("premium", SOME_DAY) | client.WeekEvents(
        "signup_form:new", SOME_DAY
    )
    table = retention(
        cohort & segment,
        returning,
        period="week",
        start=start,
        cohorts=3,
        periods=2,
        system=client,
        now=NOW,
    )
    csv = http.get(url("/retention.csv", **query))
    assert csv.status_code == 200 and csv.text == table.to_csv("percent")
    page = http.get(url("/retention", **query)).text
    assert "Retention: signup &amp; ~churned:u → active | song:played" in page
    # a plain name as the segment is the flag, as `bitmapist retention --segment` reads it
    flagged = {**query, "segment": "premium"}
    table = retention(
        cohort & client.UniqueEvents("premium"),
        returning,
        period="week",
        start=start,
        cohorts=3,
        periods=2,
        system=client,
        now=NOW,
    )
    assert http.get(url("/retention.csv", **flagged)).text == table.to_csv("percent")
    users = http.get(url("/users.csv", row=0, col=0, **flagged)).text.split()
    assert users[1:] == [str(uid) for uid in table.ids(0, 0)] == ["1", "3"]


def test_activity_of_an_expression_equals_the_library(http: TestClient, client: Bitmapist) -> None:
    text = "(active | song:played) & ~churned:u"
    event = (client.DayEvents("active", SOME_DAY) | client.DayEvents("song:played", SOME_DAY)) & (
        ~client.UniqueEvents("churned")
    )
    days = active_users(event, start=date(2026, 11, 8), end=date(2026, 11, 21), system=client)
    page = http.get(url("/activity", event=text, days=14, end="2026-11-21")).text
    rows = re.findall(
        r"<tr><td>(\d{4}-\d\d-\d\d)</td><td>([\d,]+)</td><td>([\d,]+)</td>"
        r"<td>([\d,]+)</td>",
        page,
    )
    assert rows == [(d.day.isoformat(), str(d.dau), str(d.wau), str(d.mau)) for d in days[::-1]]
    assert days[-3].dau == 1  # Nov 19: users 1 and 5 active, 5 churned
    assert f"<h1>Active users: {escape(text)}</h1>" in page
    assert f"{escape(text)}: daily, weekly and monthly active users" in page
    assert f'value="{escape(text)}"' in page  # the form keeps the text
    # a plain name is the event, a quoted one too
    quoted = http.get(url("/activity", event='"a&b"', days=14, end="2026-11-21")).text
    assert "<tr><td>2026-11-12</td><td>2</td>" in quoted


ACTIVITY_BAD = [
    ("active &", "at position 9 (the end): it ends too early"),
    ("(active | b", "at position 12 (the end): missing ')'"),
    ("active:2026-13", "at position 1: month 13 is out of range"),
    ("active ^ ^ b", "at position 10: expected an event name, got '^'"),
]


@pytest.mark.parametrize(("text", "problem"), ACTIVITY_BAD)
def test_activity_bad_text_is_a_400_naming_the_text_and_position(
    http: TestClient, text: str, problem: str
) -> None:
    response = http.get(url("/activity", event=text, days=14))
    assert response.status_code == 400
    error = re.search(r'<div class="card error" id="error">([^<]*)</div>', response.text)
    assert error, response.text
    assert unescape(error.group(1)).startswith(f"event: expression {text!r} {problem}")
    # the activity form, filled again with the text and the valid days
    assert 'action="/activity"' in response.text
    assert f'value="{escape(text)}"' in response.text and 'value="14"' in response.text


def test_activity_limits_are_the_question_pages(http: TestClient) -> None:
    def ask(text: str) -> Any:
        return http.get(url("/activity", event=text, days=14))

    assert ask("(" * MAX_NESTING + "active" + ")" * MAX_NESTING).status_code == 200
    deep = ask("~" * (MAX_NESTING + 1) + "active")
    assert deep.status_code == 400
    assert f"at position {MAX_NESTING + 1}: more than {MAX_NESTING} levels" in deep.text
    long = ask(" | ".join(["active"] * 60))
    assert long.status_code == 400 and "event is 537 characters long" in long.text
    names = [f"e{i}" for i in range(MAX_PAGE_OPERANDS + 1)]
    assert ask("|".join(names[:MAX_PAGE_OPERANDS])).status_code == 200
    many = ask("|".join(names))
    assert many.status_code == 400
    assert f"brings the page to {MAX_PAGE_OPERANDS + 1} event operands" in many.text


def test_overview_links_quote_names_that_are_not_plain(http: TestClient, client: Bitmapist) -> None:
    page = http.get("/").text
    link = next(h for h in hrefs(page, "/trends") if "a%26b" in h)
    assert parse_qs(urlsplit(link).query)["events"] == ['"a&b":this-month']
    answer = http.get(link.replace("/trends?", "/trends.json?") + "&period=week").json()
    table = trends("a&b", period="week", system=client, now=NOW)
    assert [s["counts"] for s in answer["series"]] == [list(table.series[0].counts)]
    assert sum(table.series[0].counts) == 2
    activity = next(h for h in hrefs(page, "/activity") if "a%26b" in h)
    assert parse_qs(urlsplit(activity).query)["event"] == ['"a&b":this-month']
    assert "<tr><td>2026-11-12</td><td>2</td>" in http.get(activity).text


# --- bad text: a 400 naming the field, the text and the position, on every page


BAD = [
    ("/trends", {"events": ["active", "active &"]}, "at position 9 (the end): it ends too early"),
    ("/trends", {"events": "active", "breakdown": "premium:u)"}, "at position 10: unexpected ')'"),
    ("/funnel", {"steps": ["signup", "(active | b"]}, "at position 12 (the end): missing ')'"),
    (
        "/funnel",
        {"steps": ["signup", "active"], "breakdown": "a & & b"},
        "at position 5: expected an event name, got '&'",
    ),
    ("/lifecycle", {"event": "active:2026-13"}, "at position 1: month 13 is out of range"),
    (
        "/lifecycle",
        {"event": "active", "first_seen": "| signup"},
        "at position 1: expected an event name",
    ),
    ("/stickiness", {"event": "active ^"}, "at position 9 (the end): it ends too early"),
    ("/retention", {"returning": "active", "cohort": "signup &"}, "at position 9 (the end)"),
    (
        "/retention",
        {"cohort": "signup", "returning": "(active"},
        "at position 8 (the end): missing",
    ),
    ("/retention", {"cohort": "signup", "segment": "premium:u & &"}, "at position 13"),
]


def _bad(query: dict) -> tuple[str, str]:
    """The field and text of the bad value (the last one given)."""
    field, value = list(query.items())[-1]
    return field, value[-1] if isinstance(value, list) else value


@pytest.mark.parametrize(("path", "query", "problem"), BAD)
def test_bad_text_is_a_400_naming_the_text_and_position(
    http: TestClient, path: str, query: dict, problem: str
) -> None:
    field, text = _bad(query)
    message = f"{field}: expression {text!r} {problem}"
    response = http.get(url(path, **query))
    assert response.status_code == 400
    page = response.text
    error = re.search(r'<div class="card error" id="error">([^<]*)</div>', page)
    assert error, page
    assert unescape(error.group(1)).startswith(message)
    # the form is filled again with the text, so it can be corrected
    assert f'value="{escape(text)}"' in page
    drill = {"row": 0, "series": 0, "step": 0, "status": "new", "units": 1, "col": 0}
    csv_paths = [path + ".csv"] + (
        [path + "/users.csv"] if path != "/retention" else ["/users.csv"]
    )
    for csv_path in csv_paths:
        plain = http.get(url(csv_path, **drill, **query))
        assert plain.status_code == 400
        assert plain.text.startswith(f"error: {message}")
    users_path = path + "/users" if path != "/retention" else "/users"
    users = http.get(url(users_path, **drill, **query))
    assert users.status_code == 400 and escape(message) in users.text
    if path != "/retention":
        answer = http.get(url(path + ".json", **query))
        assert answer.status_code == 400 and answer.json()["error"].startswith(message)


@pytest.mark.parametrize("path", ["/trends", "/funnel", "/lifecycle", "/stickiness"])
def test_the_query_languages_limits_apply(http: TestClient, path: str) -> None:
    field = {"/trends": "events", "/funnel": "steps"}.get(path, "event")
    others = {"steps": ["signup"]} if field == "steps" else {}

    def ask(text: str, suffix: str = ".json") -> Any:
        values = [*others.get(field, []), text]
        return http.get(
            url(path + suffix, **{field: values if field != "event" else text}, **WEEKS)
        )

    deepest = "(" * MAX_NESTING + "active" + ")" * MAX_NESTING
    assert ask(deepest).status_code == 200
    too_deep = "~" * (MAX_NESTING + 1) + "active"
    answer = ask(too_deep)
    assert answer.status_code == 400
    assert (
        f"at position {MAX_NESTING + 1}: more than {MAX_NESTING} levels" in answer.json()["error"]
    )
    too_long = " | ".join(["active"] * 60)  # 537 characters
    answer = ask(too_long)
    assert answer.status_code == 400
    assert answer.json()["error"] == f"{field} is 537 characters long: at most 500 are allowed"
    page = ask(too_deep, "")
    assert page.status_code == 400 and "more than 100 levels" in page.text


def test_the_docs_example_urls_answer(http: TestClient) -> None:
    docs = Path(__file__).parent.parent / "docs"
    found = re.findall(r"/trends\?events=active\+%26[^\s`]*", (docs / "dashboard.md").read_text())
    found += re.findall(r"/trends\?events=active\+%26[^\s`]*", (docs / "analytics.md").read_text())
    assert len(found) == 2, found
    names = []
    for example in found:
        answer = http.get(example.replace("/trends?", "/trends.json?"))
        assert answer.status_code == 200, example
        names.append([s["name"] for s in answer.json()["series"]])
        assert all(s["total"] > 0 for s in answer.json()["series"]), example
    assert names == [
        ["active & premium:u · signup_form:new", "active & ~premium:u · signup_form:new"],
        ["active & premium:u · ~churned:u"],
    ]


def test_a_page_reads_a_bounded_number_of_operands(http: TestClient) -> None:
    """Each operand is read in every period: all the fields of a page share one budget."""
    names = [f"e{i}" for i in range(MAX_PAGE_OPERANDS + 1)]
    most = "|".join(names[:MAX_PAGE_OPERANDS])
    assert http.get(url("/trends.json", events=most, **WEEKS)).status_code == 200
    two_fields = {"events": "|".join(names[:40]), "breakdown": "|".join(names[40:])}
    answer = http.get(url("/trends.json", **two_fields, **WEEKS))
    assert answer.status_code == 400
    assert answer.json()["error"] == (
        f"breakdown: expression {two_fields['breakdown']!r} brings the page to "
        f"{MAX_PAGE_OPERANDS + 1} event operands: at most {MAX_PAGE_OPERANDS} fit a page "
        "(each is read in every period); ask fewer or shorter expressions"
    )
    page = http.get(url("/funnel", steps=["signup", "|".join(names)], **WEEKS))
    assert page.status_code == 400 and "brings the page to 66 event operands" in page.text
