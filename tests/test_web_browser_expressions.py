"""An expression typed into a question page's form (and the activity page's), in a real
headless Chromium, on the demo data: the chart and table show the library's answer for the
equivalent event objects, and a number's link leads to the library's users behind it."""

# ruff: noqa: F811  (the fixtures imported below are pytest's, redefined as arguments)
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Page

from bitmapist import Bitmapist
from bitmapist.analytics.funnels import funnel
from bitmapist.analytics.ranges import active_users
from bitmapist.analytics.trends import trends

from .test_web_browser import (  # noqa: F401 (fixtures)
    NOW,
    ServedApp,
    browser,
    demo_client,
    page,
    served,
)

PREMIUM_ACTIVE = "active & premium:u"
NOT_CLASSIC = "~signup_form:classic:u"


def test_typed_expression_gives_the_librarys_trends_and_users(
    page: Page, served: ServedApp, demo_client: Bitmapist
) -> None:
    page.goto(served.url + "/trends")
    events = page.locator("input[name=events]")
    events.nth(0).fill(PREMIUM_ACTIVE)
    events.nth(1).fill("song:played")
    page.select_option("select[name=period]", "week")
    page.locator("input[name=breakdown]").nth(0).fill(NOT_CLASSIC)
    page.click("form.report button[type=submit]")
    page.wait_for_selector("#question-table")
    assert page.dialogs == []  # type: ignore[attr-defined]

    # the same question asked of the library with event objects
    some_day = datetime(2026, 1, 5)
    premium_active = demo_client.DayEvents("active", some_day) & demo_client.UniqueEvents("premium")
    not_classic = ~demo_client.UniqueEvents("signup_form:classic")
    table = trends(
        [premium_active, "song:played"],
        period="week",
        breakdown=[not_classic],
        system=demo_client,
        now=NOW,
    )
    # the form kept the text; the chart's legend and the heading show it as typed
    assert page.input_value("input[name=events] >> nth=0") == PREMIUM_ACTIVE
    legend = page.locator("svg.chart g.legend-item").all_text_contents()
    assert f"{PREMIUM_ACTIVE} · {NOT_CLASSIC}" in [text.strip() for text in legend]
    assert page.inner_text("h1") == f"Trends: {PREMIUM_ACTIVE}, song:played per week"
    # every number in the table is the library's
    cells = page.locator("#question-table tbody tr")
    assert cells.count() == len(table.rows)
    for r, row in enumerate(table.rows):
        shown = cells.nth(r).locator("a.num").all_inner_texts()
        assert shown == [f"{n:,}" for n in (*row.counts, *row.previous)]
    # a number (the premium active users of the last full week) leads to their ids
    last_full = len(table.rows) - 2
    link = cells.nth(last_full).locator("a.num").nth(0)
    expected = table.ids(last_full, 0)
    assert len(expected) > 0 and link.inner_text() == f"{len(expected):,}"
    link.click()
    page.wait_for_selector("#user-ids")
    query = parse_qs(urlsplit(page.url).query)
    assert query["events"] == [PREMIUM_ACTIVE, "song:played"]
    assert query["breakdown"] == [NOT_CLASSIC]
    assert page.inner_text("#user-total") == f"{len(expected):,}"
    shown = [int(t) for t in page.locator("#user-ids li").all_inner_texts()]
    assert shown == expected[:100]
    assert PREMIUM_ACTIVE in page.inner_text("h1")
    # back to the table: the form still holds the expression
    page.click("#back")
    page.wait_for_selector("#question-table")
    assert page.input_value("input[name=events] >> nth=0") == PREMIUM_ACTIVE


def test_typed_funnel_step_and_a_bad_one(page: Page, served: ServedApp, demo_client) -> None:
    page.goto(served.url + "/funnel")
    steps = page.locator("input[name=steps]")
    steps.nth(0).fill("signup")
    steps.nth(1).fill("activate & ~premium:u")
    page.fill("input[name=window]", "7")
    page.click("form.report button[type=submit]")
    page.wait_for_selector("#question-table")
    step = demo_client.DayEvents("activate", datetime(2026, 1, 5)) & ~demo_client.UniqueEvents(
        "premium"
    )
    table = funnel(["signup", step], window=7, system=demo_client, now=NOW)
    users = page.locator("#question-table a.num").all_inner_texts()
    assert users[:2] == [f"{row.count:,}" for row in table.rows[:2]]
    assert "2. activate & ~premium:u" in page.inner_text("#question-table")
    # a typo: the page says where, and the form keeps the text to fix
    page.locator("input[name=steps]").nth(1).fill("activate & ~premium:u)")
    page.click("form.report button[type=submit]")
    page.wait_for_selector("#error")
    assert page.inner_text("#error").startswith(
        "steps: expression 'activate & ~premium:u)' at position 22: unexpected ')'"
    )
    assert page.input_value("input[name=steps] >> nth=1") == "activate & ~premium:u)"


def test_typed_expression_on_the_activity_page(page: Page, served: ServedApp, demo_client) -> None:
    page.goto(served.url + "/activity")
    page.fill("input[name=event]", PREMIUM_ACTIVE)
    page.fill("input[name=days]", "30")
    page.click("form.report button[type=submit]")
    page.wait_for_selector("#activity-table")
    assert page.dialogs == []  # type: ignore[attr-defined]
    some_day = datetime(2026, 1, 5)
    premium_active = demo_client.DayEvents("active", some_day) & demo_client.UniqueEvents("premium")
    end = NOW.date()
    expected = active_users(
        premium_active, start=end - timedelta(days=29), end=end, system=demo_client
    )
    shown = page.eval_on_selector_all(
        "#activity-table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert [row[:4] for row in shown] == [
        [d.day.isoformat(), f"{d.dau:,}", f"{d.wau:,}", f"{d.mau:,}"] for d in reversed(expected)
    ]
    assert expected[-2].dau > 0
    assert page.inner_text("h1") == f"Active users: {PREMIUM_ACTIVE}"
    title = page.locator("svg.chart text.chart-title").text_content() or ""
    assert title.startswith(f"{PREMIUM_ACTIVE}: daily, weekly and monthly active users")
    # a typo: the page says where, and the activity form keeps the text to fix
    page.fill("input[name=event]", PREMIUM_ACTIVE + ")")
    page.click("form.report button[type=submit]")
    page.wait_for_selector("#error")
    assert page.inner_text("#error").startswith(
        f"event: expression '{PREMIUM_ACTIVE})' at position 19: unexpected ')'"
    )
    assert page.input_value("input[name=event]") == PREMIUM_ACTIVE + ")"
    assert page.input_value("input[name=days]") == "30"
