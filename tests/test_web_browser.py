"""The dashboard in a real headless Chromium (Debian's `chromium`, driven by Playwright).

uvicorn serves `create_app(...)` on a free loopback port in a thread. The test loads the
home page, searches and picks events, checks the heatmap's numbers against the library,
downloads the CSV, follows a cell to its users, and saves screenshots. With
BITMAPIST_SAVE_SCREENSHOTS=1 the screenshots go to docs/images/ (for the README).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from bitmapist import Bitmapist
from bitmapist.analytics.ranges import active_users
from bitmapist.analytics.retention import retention
from bitmapist.demo import record_demo
from bitmapist.query_language import name_text
from bitmapist.web import create_app

from .servers import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NOW = datetime(2026, 11, 28, 15, 30, tzinfo=UTC)
XSS = "<img src=x onerror=alert(1)>"
DOCS_IMAGES = Path(__file__).parent.parent / "docs" / "images"


class ServedApp:
    """uvicorn running an ASGI app on a free loopback port, in a daemon thread."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on port {self.port}")
            time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def demo_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bitmapist]:
    path = tmp_path_factory.mktemp("web") / "store.db"
    client = Bitmapist(f"file://{path}")
    record_demo(client, users=4000, days=60, now=NOW)
    client.mark_event(XSS, 7, now=NOW)
    yield client
    client.close()


@pytest.fixture(scope="module")
def served(demo_client: Bitmapist) -> Iterator[ServedApp]:
    served = ServedApp(create_app(demo_client, now=lambda: NOW))
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"{CHROMIUM} is missing: run `apt-get install -y chromium` (scripts/test.sh does)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs  # type: ignore[attr-defined]
    yield page
    context.close()


def save_screenshot(page: Page, name: str, tmp_path: Path) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a real picture, not a blank page
    if os.environ.get("BITMAPIST_SAVE_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS_IMAGES / name)
    return path


def test_pick_events_and_the_heatmap_equals_the_library(
    page: Page, served: ServedApp, demo_client: Bitmapist, tmp_path: Path
) -> None:
    page.goto(served.url + "/")
    names = page.locator(".filterable .event-name").all_inner_texts()
    assert sorted(names) == sorted(demo_client.get_event_names())

    # live search narrows the list
    page.fill("#event-search", "song")
    visible = [row.inner_text() for row in page.locator(".filterable [data-name]:visible").all()]
    assert len(visible) == 1 and visible[0].startswith("song:played")

    # choose the report in the retention page's form
    page.click("header a:has-text('Retention')")
    page.fill("input[name=cohort]", "signup")
    page.fill("input[name=returning]", "active")
    page.select_option("select[name=period]", "week")
    page.fill("input[name=cohorts]", "6")
    page.fill("input[name=periods]", "6")
    page.click("button:has-text('Show retention')")
    page.wait_for_selector("#retention-table")
    assert "/retention?" in page.url and "cohort=signup" in page.url

    expected = retention(
        "signup", "active", period="week", cohorts=6, periods=6, system=demo_client, now=NOW
    )
    rows = page.locator("#retention-table tbody tr:not(.average)")
    assert rows.count() == len(expected.rows)
    for r, row in enumerate(expected.rows):
        cells = rows.nth(r).locator("td")
        assert cells.nth(0).inner_text() == row.label
        assert cells.nth(1).inner_text() == ("" if row.size is None else f"{row.size:,}")
        for c, cell in enumerate(row.cells):
            td = cells.nth(2 + c)
            if cell.count is None:
                assert td.inner_text() == ""
                continue
            assert td.get_attribute("data-count") == str(cell.count)
            assert td.inner_text() == f"{cell.percent:.1f}%"
    averages = page.locator("#retention-table tr.average td").all_inner_texts()[2:]
    assert averages == [
        "" if a.weighted is None else f"{a.weighted:.1f}%" for a in expected.averages
    ]
    assert page.locator("svg.chart").count() == 1
    save_screenshot(page, "dashboard.png", tmp_path)

    # the CSV download is the library's CSV
    with page.expect_download() as download_info:
        page.click("#csv-link")
    download = download_info.value
    assert download.suggested_filename == "retention-signup-active-week.csv"
    assert Path(download.path()).read_text() == expected.to_csv()

    # a cell's users, paginated
    page.locator("#retention-table tbody tr").nth(1).locator("td").nth(3).locator("a").click()
    page.wait_for_selector("#user-ids")
    ids = expected.ids(1, 1)
    assert page.inner_text("#user-total") == f"{len(ids):,}"
    shown = [int(text) for text in page.locator("#user-ids li").all_inner_texts()]
    assert shown == ids[:100]
    if len(ids) > 100:
        page.click("#next-page")
        page.wait_for_url("**page=2**")
        shown = [int(text) for text in page.locator("#user-ids li").all_inner_texts()]
        assert shown == ids[100:200]
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_activity_chart_equals_the_library(
    page: Page, served: ServedApp, demo_client: Bitmapist, tmp_path: Path
) -> None:
    page.goto(served.url + "/activity?event=active&days=60")
    page.wait_for_selector("#activity-table")
    expected = active_users(
        "active", start=NOW.date().replace(day=1), end=NOW.date(), system=demo_client
    )
    rows = page.locator("#activity-table tbody tr")
    first = rows.nth(0).locator("td").all_inner_texts()
    last_day = expected[-1]
    assert first[:4] == [
        last_day.day.isoformat(),
        f"{last_day.dau:,}",
        f"{last_day.wau:,}",
        f"{last_day.mau:,}",
    ]
    assert rows.count() == 60
    assert page.locator("svg.chart polyline").count() == 3
    save_screenshot(page, "dashboard-activity.png", tmp_path)


def test_an_event_name_with_html_is_shown_as_text(page: Page, served: ServedApp) -> None:
    page.goto(served.url + "/")
    names = page.locator(".filterable .event-name").all_inner_texts()
    assert XSS in names
    assert page.locator("main img").count() == 0
    # written as the overview's links write a name with spaces and parentheses
    cohort = name_text(XSS)
    query = urlencode({"cohort": cohort, "returning": "active", "cohorts": 2, "periods": 1})
    page.goto(f"{served.url}/retention?{query}")
    page.wait_for_selector("#retention-table")
    assert XSS in page.inner_text("h1")
    assert page.locator("main img").count() == 0
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_overview_numbers_equal_the_library(
    page: Page, served: ServedApp, demo_client: Bitmapist, tmp_path: Path
) -> None:
    page.goto(served.url + "/")
    c = demo_client
    for name in ("active", "song:played"):
        row = page.locator(f"#overview tr[data-name='{name}']")
        cells = row.locator("td.count").all_inner_texts()
        periods = (c.DayEvents, c.WeekEvents, c.MonthEvents)
        assert cells == [f"{len(p.from_date(name, NOW)):,}" for p in periods]
        assert row.locator("svg.sparkline polyline").count() == 1
    # the event's name leads to its trends
    page.locator("#overview tr[data-name='active'] .event-name").click()
    page.wait_for_url("**/trends?events=active")
