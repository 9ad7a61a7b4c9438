"""The coloured terminal heatmap, pictured: `bitmapist retention` run with colours forced,
its ANSI output recorded by rich as SVG and photographed by headless Chromium.

The test checks the colours are really there (one background per percentage band); with
BITMAPIST_SAVE_SCREENSHOTS=1 the PNG goes to docs/images/ for the README.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from playwright.sync_api import sync_playwright
from rich.console import Console
from rich.text import Text

from bitmapist import Bitmapist
from bitmapist.cli import cli
from bitmapist.cli.heatmap import shade
from bitmapist.demo import record_demo

from .test_web_browser import CHROMIUM, CHROMIUM_ARGS, DOCS_IMAGES

NOW = datetime(2026, 11, 28, 15, 30, tzinfo=UTC)
WIDTH = 118
TERMINAL_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; background: #0f172a; }}
pre {{ display: inline-block; margin: 0; padding: 18px 22px; color: #e2e8f0; background: #0f172a;
      font: 15px/normal "DejaVu Sans Mono", monospace; }}
</style></head><body><pre>{code}</pre></body></html>"""


def test_terminal_heatmap_picture(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/store.db"
    record_demo(Bitmapist(url), users=6000, days=70, now=NOW)
    command = [
        "retention",
        "signup",
        "active",
        "--period",
        "week",
        "--cohorts",
        "8",
        "--periods",
        "8",
        "--now",
        NOW.isoformat(),
        "--store",
        url,
    ]
    env = {"FORCE_COLOR": "1", "COLORTERM": "truecolor", "COLUMNS": str(WIDTH)}
    result = CliRunner(env=env).invoke(cli, command, prog_name="bitmapist")
    assert result.exit_code == 0, result.output
    ansi = result.stdout
    # 100% cells carry the darkest shade; the table's text survives the colouring
    red, green, blue = shade(100.0)
    assert f"48;2;{red};{green};{blue}m" in ansi
    assert "Week 0" in Text.from_ansi(ansi).plain

    recorder = Console(record=True, width=WIDTH, force_terminal=True, color_system="truecolor")
    recorder.print(Text(f"$ bitmapist {' '.join(command[:-4])}", style="bold"))
    recorder.print(Text.from_ansi(ansi))
    # HTML rather than rich's SVG: its SVG wants a web font (offline here), and box-drawing
    # characters only join up in a local monospace font at its natural line height
    page_file = tmp_path / "heatmap.html"
    recorder.save_html(str(page_file), inline_styles=True, code_format=TERMINAL_PAGE)
    assert re.search(r"background-color: #1e40af", page_file.read_text())

    png = tmp_path / "terminal-heatmap.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(page_file.as_uri())
        page.locator("pre").screenshot(path=str(png))
        browser.close()
    assert png.stat().st_size > 10_000
    if os.environ.get("BITMAPIST_SAVE_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copy(png, DOCS_IMAGES / png.name)
