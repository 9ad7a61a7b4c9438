"""`bitmapist trend|funnel|lifecycle|stickiness`: the library's tables, printed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from bitmapist import Bitmapist, funnel, lifecycle, stickiness, trends
from bitmapist.cli import cli

MONDAY = datetime(2026, 3, 2, 10, tzinfo=UTC)
NOW = "2026-03-20T12:00:00Z"
NOW_DT = datetime(2026, 3, 20, 12, tzinfo=UTC)


@pytest.fixture
def store_url(tmp_path) -> str:
    url = f"file://{tmp_path}/cli.db"
    client = Bitmapist(url)
    day = timedelta(days=1)
    client.mark_events(
        [("signup", uid, MONDAY) for uid in range(1, 11)]
        + [("activate", uid, MONDAY + day) for uid in range(1, 7)]
        + [("upgrade", uid, MONDAY + 2 * day) for uid in range(1, 3)]
        + [("active", uid, MONDAY + (uid % 5) * day) for uid in range(1, 11)]
        + [("active", uid, MONDAY + timedelta(weeks=1)) for uid in range(1, 4)]
        + [("active", 9, MONDAY + timedelta(weeks=2))]
    )
    client.mark_unique("premium", 1)
    client.close()
    return url


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), prog_name="bitmapist", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_trend_prints_counts_bars_and_the_change(store_url):
    out = _run("trend", "active", "--period", "week", "--store", store_url, "--now", NOW)
    assert "active per week" in out and "2026-W10" in out and "\u2588" in out
    assert "Change" in out
    table = trends("active", period="week", system=Bitmapist(store_url), now=NOW_DT)
    csv_out = _run(
        "trend", "active", "--period", "week", "--csv", "--store", store_url, "--now", NOW
    )
    assert csv_out == table.to_csv()


def test_funnel_csv_and_json_match_the_library(store_url):
    args = ["signup", "activate", "upgrade", "--window", "2", "--store", store_url, "--now", NOW]
    args += ["--start", "2026-03-01", "--end", "2026-03-05"]
    expected = funnel(
        ["signup", "activate", "upgrade"],
        window=2,
        start=datetime(2026, 3, 1, tzinfo=UTC),
        end=datetime(2026, 3, 5, tzinfo=UTC),
        system=Bitmapist(store_url),
        now=NOW_DT,
    )
    assert [row.count for row in expected.rows] == [10, 6, 2]
    assert _run("funnel", *args, "--csv") == expected.to_csv()
    data = json.loads(_run("funnel", *args, "--json"))
    assert [row["users"] for row in data["rows"]] == [10, 6, 2]
    out = _run("funnel", *args)
    assert "3. upgrade" in out and "20.0%" in out and "window 2 days" in out


def test_lifecycle_and_breakdown(store_url):
    out = _run("lifecycle", "active", "--store", store_url, "--now", NOW, "--lookback", "4")
    assert "Resurrecting" in out and "2026-W12*" in out
    data = json.loads(
        _run(
            "lifecycle",
            "active",
            "--breakdown",
            "premium",
            "--json",
            "--store",
            store_url,
            "--now",
            NOW,
        )
    )
    assert set(data["segments"]) == {"premium"}
    expected = lifecycle("active", system=Bitmapist(store_url), now=NOW_DT, first_seen="signup")
    got = _run(
        "lifecycle", "active", "--first-seen", "signup", "--csv", "--store", store_url, "--now", NOW
    )
    assert got == expected.to_csv()


def test_stickiness(store_url):
    out = _run("stickiness", "active", "--store", store_url, "--now", NOW)
    assert "Power (>= 5)" in out and "2026-W10" in out
    expected = stickiness("active", period="month", system=Bitmapist(store_url), now=NOW_DT)
    got = _run(
        "stickiness", "active", "--period", "month", "--csv", "--store", store_url, "--now", NOW
    )
    assert got == expected.to_csv()


def test_bad_input_is_a_clean_error(store_url):
    result = CliRunner().invoke(
        cli, ["funnel", "signup", "--store", store_url], prog_name="bitmapist"
    )
    assert result.exit_code == 1 and "Error: steps" in result.output


def test_expressions_are_titled_as_typed(store_url):
    """Headers, CSV and JSON columns name an expression by the text typed, a name by itself;
    never by the library's repr."""
    typed = "active&~premium:u"
    args = ["--period", "week", "--store", store_url, "--now", NOW]
    out = _run("trend", typed, "signup", *args, "--breakdown", "~premium:u")
    assert f"{typed}, signup per week" in out
    assert f"┃ {typed} · ~premium:u ┃ signup · ~premium:u ┃" in out
    assert "BitOp" not in out and "Events(" not in out
    csv_header = _run("trend", typed, "signup", *args, "--csv").splitlines()[0]
    assert csv_header == (
        f"period,{typed},signup,previous period,{typed} (previous),signup (previous)"
    )
    data = json.loads(_run("trend", typed, *args, "--json", "--breakdown", "premium"))
    assert data["title"] == f"{typed} per week"
    assert [s["name"] for s in data["series"]] == [f"{typed} · premium"]
    # the same question asked of the library with event objects: named in the language
    client = Bitmapist(store_url)
    active_free = client.WeekEvents("active", MONDAY) & ~client.UniqueEvents("premium")
    table = trends(active_free, period="week", breakdown="premium", system=client, now=NOW_DT)
    assert [s.name for s in table.series] == ["active & ~premium:u · premium"]
    assert [s.counts for s in table.series] == [tuple(s["counts"]) for s in data["series"]]
    funnel_out = _run("funnel", "signup", "(activate | upgrade)", *args, "--json")
    assert json.loads(funnel_out)["steps"] == ["signup", "(activate | upgrade)"]
    lifecycle_out = _run("lifecycle", typed, *args, "--first-seen", "signup:u | signup")
    assert f"Lifecycle of {typed} per week" in lifecycle_out
    stickiness_out = _run("stickiness", typed, *args, "--csv", "--breakdown", "premium:u")
    assert stickiness_out.splitlines()[1].startswith("premium:u,")
    assert "Stickiness of active&~premium:u" in _run("stickiness", typed, *args)
