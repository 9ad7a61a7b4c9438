"""The overview and the question pages in a real headless Chromium, on the demo data.

Each page's chart is there with a title and a legend, its tick labels and legend entries
do not overlap (measured with getBoundingClientRect after layout), and clicking a number
in its table leads to the users behind it. With BITMAPIST_SAVE_SCREENSHOTS=1 the
screenshots go to docs/images/ (for docs/dashboard.md).
"""

# ruff: noqa: F811  (the fixtures imported below are pytest's, redefined as arguments)
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from bitmapist import Bitmapist
from bitmapist.demo import record_demo

from .test_web_browser import (  # noqa: F401 (fixtures)
    NOW,
    ServedApp,
    browser,
    page,
    save_screenshot,
    served,
)


@pytest.fixture(scope="module")
def demo_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bitmapist]:
    """The demo data alone (no HTML-named event: the pictures go to the docs)."""
    path = tmp_path_factory.mktemp("web-questions") / "store.db"
    client = Bitmapist(f"file://{path}")
    record_demo(client, users=4000, days=60, now=NOW)
    yield client
    client.close()


PAGES = {
    "trends": "/trends?events=active&events=song:played",
    "funnel": (
        "/funnel?steps=signup&steps=activate&steps=invite&steps=upgrade&window=7"
        "&breakdown=signup_form:new&breakdown=signup_form:classic"
    ),
    "lifecycle": "/lifecycle?event=active&first_seen=signup",
    "stickiness": "/stickiness?event=active",
    # expressions, as in docs/dashboard.md's example: premium against the others
    "expressions": (
        "/trends?events=active+%26+premium%3Au&events=active+%26+~premium%3Au"
        "&breakdown=signup_form%3Anew&period=week&start=2026-10-01&compare=off"
    ),
}

# Left, right, top and bottom of every element matching a selector, per chart.
_BOXES = """(selector) => [...document.querySelectorAll("svg.chart")].map(svg =>
  [...svg.querySelectorAll(selector)].map(e => {
    const r = e.getBoundingClientRect();
    return [r.left, r.right, r.top, r.bottom, e.textContent];
  }))"""


_INSIDE = """() => [...document.querySelectorAll("svg.chart")].map(svg => {
  const box = svg.getBoundingClientRect();
  return [...svg.querySelectorAll("text")].every(t => {
    const r = t.getBoundingClientRect();
    return r.left >= box.left - 0.5 && r.right <= box.right + 0.5
      && r.top >= box.top - 0.5 && r.bottom <= box.bottom + 0.5;
  });
})"""


def overlapping(boxes: list[list]) -> list[tuple[str, str]]:
    """Pairs of boxes (by text) that overlap, in one chart."""
    pairs = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a[1] <= b[0] or b[1] <= a[0] or a[3] <= b[2] or b[3] <= a[2]
            if not apart:
                pairs.append((a[4], b[4]))
    return pairs


def check_charts(page: Page) -> None:
    """Every chart has a title, a legend, x labels that fit, and no overlaps."""
    charts = page.locator("svg.chart")
    assert charts.count() >= 1
    for i in range(charts.count()):
        chart = charts.nth(i)
        assert (chart.locator("text.chart-title").text_content() or "").strip()
        assert chart.locator("g.legend-item").count() >= 1
        assert chart.locator("text.xlabel").count() >= 1
    for selector in ("text.xlabel", "text.ylabel", "g.legend-item", "text.barlabel"):
        for boxes in page.evaluate(_BOXES, selector):
            assert overlapping(boxes) == [], selector
    # titles, labels and legends stay inside their chart
    inside = page.evaluate(_INSIDE)
    assert inside == [True] * charts.count()


def follow_a_number(page: Page) -> None:
    """Clicking a non-zero number of the table opens its users: as many as it said."""
    numbers = page.locator("#question-table a.num")
    texts = numbers.all_inner_texts()
    index = next(i for i, text in enumerate(texts) if text not in ("0", "-0"))
    expected = texts[index].lstrip("-")
    numbers.nth(index).click()
    page.wait_for_selector("#user-ids")
    assert page.inner_text("#user-total") == expected
    shown = page.locator("#user-ids li").count()
    assert shown == min(100, int(expected.replace(",", "")))


@pytest.mark.parametrize("name", list(PAGES))
def test_question_page_chart_and_click_through(
    page: Page, served: ServedApp, name: str, tmp_path: Path
) -> None:
    page.goto(served.url + PAGES[name])
    page.wait_for_selector("#question-table")
    check_charts(page)
    save_screenshot(page, f"dashboard-{name}.png", tmp_path)
    # the CSV link downloads the page's table
    with page.expect_download() as download_info:
        page.click("#csv-link")
    question = PAGES[name].split("?")[0].strip("/")
    assert download_info.value.suggested_filename.startswith(f"{question}-")
    follow_a_number(page)
    assert page.dialogs == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "path",
    [
        "/trends?events=active&period=hour&start=2026-11-22&end=2026-11-28",
        "/trends?events=active&period=day&start=2026-09-01&end=2026-11-28&compare=off",
        "/lifecycle?event=active&period=day&start=2026-10-01",
        "/stickiness?event=active&period=day&unit=hour&start=2026-11-28",
        "/activity?event=active&days=366",
    ],
)
def test_dense_charts_thin_their_labels(page: Page, served: ServedApp, path: str) -> None:
    page.goto(served.url + path)
    check_charts(page)


def test_overview_sparklines_and_links(page: Page, served: ServedApp, tmp_path: Path) -> None:
    page.goto(served.url + "/")
    # the table fits the page: nothing sticks out to the right
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    save_screenshot(page, "dashboard-overview.png", tmp_path)
    rows = page.locator("#overview tbody tr")
    assert rows.count() >= 4
    for i in range(rows.count()):
        assert rows.nth(i).locator("svg.sparkline").count() == 1
        assert rows.nth(i).locator("td.change").count() == 3
    # a count leads to the event's trends per that period
    page.locator("#overview tr[data-name='active'] td.count a").nth(1).click()
    page.wait_for_selector("#question-table")
    assert "period=week" in page.url
    check_charts(page)
