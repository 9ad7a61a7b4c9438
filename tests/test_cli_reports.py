"""`bitmapist retention`, `copy` and `demo`, in-process, with exact output."""

from __future__ import annotations

import json
import os
import sysconfig
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from bitmapist import Bitmapist
from bitmapist.analytics.retention import retention
from bitmapist.demo import demo_answers
from bitmapist.expressions import Key

from . import test_cli
from .test_cli import Run, ok

store_url = test_cli.store_url
run = test_cli.run

RETENTION_ARGS = (
    "retention",
    "signup",
    "active",
    "--period",
    "week",
    "--cohorts",
    "2",
    "--periods",
    "2",
    "--start",
    "2026-11-02",
    "--now",
    "2026-11-28",
)


def _weekly_data(run: Run) -> None:
    """Week 45: users 1-4 sign up and are active; 1, 2 come back in week 46, 1 in 47.
    Week 46: user 5 signs up and is active, never again."""
    for uid in "1234":
        ok(run("mark", "signup", uid, "--at", "2026-11-02"))
        ok(run("mark", "active", uid, "--at", "2026-11-03"))
    ok(run("mark", "signup", "5", "--at", "2026-11-10"))
    for uid in "125":
        ok(run("mark", "active", uid, "--at", "2026-11-11"))
    ok(run("mark", "active", "1", "--at", "2026-11-18"))


def test_retention_heatmap(run: Run) -> None:
    _weekly_data(run)
    assert ok(run(*RETENTION_ARGS)) == (
        "signup → active\n"
        "┏━━━━━━━━━━┳━━━━━━━┳━━━━━━━━┳━━━━━━━━┳━━━━━━━━┓\n"
        "┃ Cohort   ┃ Users ┃ Week 0 ┃ Week 1 ┃ Week 2 ┃\n"
        "┡━━━━━━━━━━╇━━━━━━━╇━━━━━━━━╇━━━━━━━━╇━━━━━━━━┩\n"
        "│ 2026-W45 │     4 │ 100.0% │  50.0% │  25.0% │\n"
        "│ 2026-W46 │     1 │ 100.0% │   0.0% │  0.0%* │\n"
        "├──────────┼───────┼────────┼────────┼────────┤\n"
        "│ Average  │       │ 100.0% │  40.0% │  25.0% │\n"
        "└──────────┴───────┴────────┴────────┴────────┘\n"
    )


def test_retention_csv_json_and_counts(run: Run, store_url: str) -> None:
    _weekly_data(run)
    assert ok(run(*RETENTION_ARGS, "--csv")) == (
        "cohort,size,Week 0,Week 1,Week 2\n"
        "2026-W45,4,100.00,50.00,25.00\n"
        "2026-W46,1,100.00,0.00,0.00\n"
    )
    assert ok(run(*RETENTION_ARGS, "--csv", "--counts")) == (
        "cohort,size,Week 0,Week 1,Week 2\n2026-W45,4,4,2,1\n2026-W46,1,1,0,0\n"
    )
    library = retention(
        "signup",
        "active",
        period="week",
        cohorts=2,
        periods=2,
        start=datetime(2026, 11, 2),
        system=Bitmapist(store_url),
        now=datetime(2026, 11, 28, tzinfo=UTC),
    )
    assert json.loads(ok(run(*RETENTION_ARGS, "--json"))) == library.to_dict()


def test_retention_segment_and_expressions(run: Run) -> None:
    _weekly_data(run)
    for uid in "15":
        ok(run("mark", "premium", uid, "--only-unique"))
    expected = "cohort,size,Week 0,Week 1,Week 2\n2026-W45,1,1,1,1\n2026-W46,1,1,0,0\n"
    assert ok(run(*RETENTION_ARGS, "--segment", "premium", "--csv", "--counts")) == expected
    args = list(RETENTION_ARGS)
    args[1] = "signup & premium:u"
    assert ok(run(*args, "--csv", "--counts")) == expected


def test_retention_bad_input(run: Run) -> None:
    result = run("retention", "signup", "active", "--period", "fortnight")
    assert result.exit_code == 2
    assert "Invalid value for '--period': 'fortnight' is not one of" in result.stderr


def test_copy_between_stores(run: Run, store_url: str, tmp_path) -> None:
    _weekly_data(run)
    destination = f"file://{tmp_path}/copy.db"
    result = CliRunner().invoke(cli_group(), ["copy", store_url, destination])
    assert result.exit_code == 0, result.output
    source, copy = Bitmapist(store_url), Bitmapist(destination)
    keys = sorted(source.store.scan_keys("*"))
    assert result.stdout == f"Copied {len(keys)} keys from {store_url} to {destination}.\n"
    assert sorted(copy.store.scan_keys("*")) == keys
    for key in keys:
        assert copy.store.bitmap(Key(key)) == source.store.bitmap(Key(key))
    again = CliRunner().invoke(cli_group(), ["copy", store_url, destination])
    assert again.exit_code == 0
    assert sorted(copy.store.scan_keys("*")) == keys


def cli_group():
    from bitmapist.cli import cli

    return cli


DEMO_NOW = "2026-11-28T15:30:00Z"


def test_demo_prints_the_libraries_answers(
    run: Run, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # this Python's scripts on PATH, as in an activated virtual environment
    monkeypatch.setenv("PATH", f"{sysconfig.get_path('scripts')}{os.pathsep}{os.environ['PATH']}")
    result = run("demo", "--users", "400", "--days", "30", "--now", DEMO_NOW)
    out = ok(result)
    lines = out.splitlines()
    store = Bitmapist(store_url).store
    where = "redis store"
    if store.kind == "embedded":
        where = f"embedded store at {store.info()['path']}"
    assert lines[0] == (
        "Recorded 400 users over 30 days (2026-10-30 to 2026-11-28 15:30 UTC): "
        f"{_event_count(out)} events in the {where}."
    )
    assert lines[-4:] == [
        "Next, try:",
        f"    bitmapist count 'active:this-week & premium:u' --store {store_url}",
        f"    bitmapist retention signup active --period week --store {store_url}",
        f"    bitmapist dashboard --store {store_url}",
    ]
    now = datetime(2026, 11, 28, 15, 30, tzinfo=UTC)
    answers = demo_answers(Bitmapist(store_url), now)
    for answer in answers:
        assert f"{answer.question} {answer.answer}" in lines
        assert f"    {answer.code}" in lines
    assert "Retention: of each week's sign-ups, % active N weeks later" in out
    assert result.stderr.startswith("(recorded in ")


def test_demo_twice_writes_the_same_bits(run: Run, store_url: str) -> None:
    client = Bitmapist(store_url)

    def contents() -> dict[str, list[int]]:
        return {k: list(client.store.bitmap(Key(k))) for k in sorted(client.store.scan_keys("*"))}

    first = ok(run("demo", "--users", "300", "--days", "20", "--now", DEMO_NOW))
    before = contents()
    assert ok(run("demo", "--users", "300", "--days", "20", "--now", DEMO_NOW)) == first
    assert contents() == before


def _event_count(out: str) -> str:
    return out.split(": ", 1)[1].split(" events")[0]


def test_demo_on_a_throwaway_memory_store() -> None:
    result = CliRunner().invoke(
        cli_group(),
        ["demo", "--store", "memory://", "--users", "300", "--days", "10", "--now", DEMO_NOW],
        prog_name="bitmapist",
    )
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith("Recorded 300 users over 10 days (2026-11-19 to 2026-11-28 15:30 UTC)")
    assert first.endswith(" events in the embedded store.")
    assert result.stdout.endswith(
        "\nmemory:// is gone now; to keep the data: --store file:///path/to/store.db\n"
    )
