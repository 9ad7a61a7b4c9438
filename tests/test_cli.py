"""The `bitmapist` command, run in-process with click's CliRunner, with exact output.

Every test runs against each store kind in CLI_STORE_KINDS, through `--store URL`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner, Result

import bitmapist
from bitmapist import Bitmapist
from bitmapist.cli import cli

# Stores the CLI tests run on: each kind maps to a fixture-time URL factory below.
CLI_STORE_KINDS = ["file", "redis"]


@pytest.fixture(params=CLI_STORE_KINDS)
def store_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        client = server.client()
        client.flushall()
        client.close()
        yield server.url
    else:
        url = f"file://{tmp_path}/store.db"
        Bitmapist(url).close()  # reading commands refuse to create a store; this one exists
        yield url


Run = Callable[..., Result]


@pytest.fixture
def run(store_url: str) -> Run:
    """Invoke `bitmapist ARGS --store <the test's store>`; stdin via `input=`."""

    def invoke(*args: str, input: str | None = None, store: str | None = None) -> Result:
        runner = CliRunner()
        args = (*args, "--store", store or store_url)
        return runner.invoke(cli, args, input=input, prog_name="bitmapist")

    return invoke


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def test_mark_then_count_and_ids(run: Run) -> None:
    for uid in ("1", "2", "3"):
        ok(run("mark", "active", uid, "--at", "2026-11-28T13:05:00Z"))
    ok(run("mark", "active", "2", "--at", "2026-10-03"))
    assert ok(run("count", "active:2026-11")) == "3\n"
    assert ok(run("count", "active:2026-10")) == "1\n"
    assert ok(run("count", "active:2026-W48")) == "3\n"
    assert ok(run("count", "active:2026-11-28")) == "3\n"
    assert ok(run("count", "active:2026")) == "3\n"
    assert ok(run("count", "active", "--period", "day", "--at", "2026-11-28")) == "3\n"
    assert ok(run("count", "active:2026-11 & active:2026-10")) == "1\n"
    assert ok(run("count", "active:2026-11 & ~active:2026-10")) == "2\n"
    assert ok(run("ids", "active:2026-11")) == "1\n2\n3\n"
    assert ok(run("ids", "active:2026-11", "--limit", "2")) == "1\n2\n"
    assert ok(run("ids", "active:2026-11 ^ active:2026-10", "--json")) == "[1, 3]\n"
    assert ok(run("count", "active:2026-11", "--json")) == (
        '{"expression": "active:2026-11", "count": 3}\n'
    )


def test_relative_periods_follow_at(run: Run) -> None:
    ok(run("mark", "active", "7", "--at", "2026-11-27T23:00:00Z"))
    ok(run("mark", "active", "8", "--at", "2026-11-28T09:00:00Z", "--hourly"))
    at = ("--at", "2026-11-28T09:30:00Z")
    assert ok(run("ids", "active:today", *at)) == "8\n"
    assert ok(run("ids", "active:yesterday", *at)) == "7\n"
    assert ok(run("ids", "active:this-hour", *at)) == "8\n"
    assert ok(run("ids", "active:this-week", *at)) == "7\n8\n"
    assert ok(run("ids", "active:last-month", *at)) == ""
    assert ok(run("ids", "active:2026-11-28T09")) == "8\n"


def test_event_names_with_colons_and_unique_flags(run: Run) -> None:
    ok(run("mark", "song:played", "5", "--at", "2026-11-28"))
    ok(run("mark", "premium", "5", "--only-unique"))
    ok(run("mark", "premium", "6", "--only-unique"))
    assert ok(run("count", "song:played:2026-11")) == "1\n"
    assert ok(run("count", "song:played", "--at", "2026-11-02")) == "1\n"
    assert ok(run("ids", "premium:u")) == "5\n6\n"
    assert ok(run("ids", "premium:u & song:played:2026-11-28")) == "5\n"
    assert ok(run("events")) == "premium\nsong:played\n"
    assert ok(run("events", "--prefix", "song")) == "song:played\n"
    assert ok(run("events", "--json")) == '["premium", "song:played"]\n'
    ok(run("unmark", "premium", "6", "--only-unique"))
    assert ok(run("ids", "premium:u")) == "5\n"


def test_unmark_removes_what_mark_set(run: Run) -> None:
    ok(run("mark", "active", "9", "--at", "2026-11-28", "--unique"))
    assert ok(run("count", "active:u | active:2026-11-28")) == "1\n"
    ok(run("unmark", "active", "9", "--at", "2026-11-28", "--unique"))
    assert ok(run("count", "active:u | active:2026-11-28 | active:2026-11")) == "0\n"


def test_operator_precedence_is_pythons(run: Run) -> None:
    ok(run("mark", "a", "1", "--at", "2026-11-28"))
    ok(run("mark", "b", "2", "--at", "2026-11-28"))
    ok(run("mark", "c", "3", "--at", "2026-11-28"))
    # a | b & c means a | (b & c): only user 1
    assert ok(run("ids", "a | b & c", "--period", "day", "--at", "2026-11-28")) == "1\n"
    assert ok(run("ids", "(a | b) & c", "--period", "day", "--at", "2026-11-28")) == ""
    assert ok(run("ids", "(a | b) & ~c", "--period", "day", "--at", "2026-11-28")) == "1\n2\n"


def test_quoted_names_may_hold_operator_characters(run: Run) -> None:
    ok(run("mark", "a&b", "4", "--at", "2026-11-28"))
    assert ok(run("ids", '"a&b":2026-11')) == "4\n"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            "active &",
            "Error: expression 'active &' at position 9 (the end): it ends too early; "
            "expected EVENT[:PERIOD] operands joined by &, |, ^, ~ and parentheses\n",
        ),
        (
            "(active",
            "Error: expression '(active' at position 8 (the end): missing ')'; "
            "expected EVENT[:PERIOD] operands joined by &, |, ^, ~ and parentheses\n",
        ),
        (
            "active)",
            "Error: expression 'active)' at position 7: unexpected ')'; "
            "expected EVENT[:PERIOD] operands joined by &, |, ^, ~ and parentheses\n",
        ),
        (
            "a & & b",
            "Error: expression 'a & & b' at position 5: expected an event name, got '&'; "
            "expected EVENT[:PERIOD] operands joined by &, |, ^, ~ and parentheses\n",
        ),
        ("", "Error: expression '' is empty: give an event name such as active:today\n"),
        (
            "b & active:2026-13",
            "Error: expression 'b & active:2026-13' at position 5: "
            "month 13 is out of range: expected [1, 12]\n",
        ),
    ],
)
def test_bad_expressions_are_clean_errors(run: Run, expression: str, message: str) -> None:
    result = run("count", expression)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == message


def test_bad_times_and_ids_are_clean_errors(run: Run) -> None:
    result = run("mark", "active", "1", "--at", "soon")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: time 'soon' is not an ISO date or datetime (e.g. 2026-11-28 or "
        "2026-11-28T13:05:00Z), 'now', 'today' or 'yesterday'\n"
    )
    result = run("mark", "active", str(2**32))
    assert result.exit_code == 2
    assert result.stderr == (
        "Usage: bitmapist mark [OPTIONS] EVENT USER_ID\n"
        "Try 'bitmapist mark --help' for help.\n\n"
        "Error: Invalid value for 'USER_ID': 4294967296 is not in the range 0<=x<=4294967295.\n"
    )
    assert ok(run("events")) == ""


def test_info_reports_kind_keys_and_events(run: Run, store_url: str) -> None:
    ok(run("mark", "active", "1", "--at", "2026-11-28"))
    facts = json.loads(ok(run("info", "--json")))
    assert facts["kind"] == Bitmapist(store_url).store.kind
    assert facts["events"] == 1
    text = ok(run("info"))
    lines = text.splitlines()
    width = max(len(name) for name in facts)
    assert lines[0] == "kind".ljust(width) + "  " + facts["kind"]
    assert lines[-1] == "events".ljust(width) + "  1"
    assert len(lines) == len(facts)


def test_an_unreachable_store_is_a_clean_error() -> None:
    result = CliRunner().invoke(cli, ["count", "active", "--store", "redis://127.0.0.1:1/0"])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: cannot reach the store: Error 111 connecting to 127.0.0.1:1. Connection refused.\n"
    )


def test_store_url_comes_from_the_environment(store_url: str) -> None:
    runner = CliRunner(env={"BITMAPIST_URL": store_url})
    assert runner.invoke(cli, ["mark", "active", "3", "--at", "2026-11-28"]).exit_code == 0
    assert runner.invoke(cli, ["count", "active:2026-11"]).stdout == "1\n"
    assert Bitmapist(store_url).MonthEvents("active", 2026, 11).get_count() == 1


def test_python_dash_m_runs_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bitmapist", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout == f"bitmapist, version {bitmapist.__version__}\n"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, args, prog_name="bitmapist")


@pytest.mark.parametrize("command", [("count", "active"), ("info",), ("mark", "active", "1")])
def test_a_store_path_that_is_a_directory_is_one_clean_line(tmp_path, command) -> None:
    for url in (str(tmp_path), f"file://{tmp_path}"):
        result = invoke(*command, "--store", url)
        assert result.exit_code == 1, result.output
        assert result.stderr == (
            f"Error: store {tmp_path} is a directory: give the store's file, "
            f"e.g. {tmp_path}/bitmapist.db\n"
        )


@pytest.mark.parametrize(
    "command", [("info",), ("count", "active"), ("ids", "active"), ("events",), ("export",)]
)
def test_reading_a_missing_store_creates_nothing(tmp_path, command) -> None:
    path = tmp_path / "missing" / "sub" / "store.db"
    result = invoke(*command, "--store", f"file://{path}")
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"Error: store {path} does not exist: nothing to read yet "
        "(bitmapist mark, import or demo create it)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_copy_from_a_missing_store_creates_nothing(tmp_path) -> None:
    result = invoke("copy", str(tmp_path / "old.db"), str(tmp_path / "new.db"))
    assert result.exit_code == 1
    assert "Error: store " + str(tmp_path / "old.db") + " does not exist" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_writing_creates_the_store_and_its_folders(tmp_path) -> None:
    path = tmp_path / "new" / "store.db"
    assert invoke("mark", "active", "1", "--store", str(path)).exit_code == 0
    assert invoke("count", "active", "--store", str(path)).stdout == "1\n"


def test_export_into_a_missing_folder_is_one_clean_line(tmp_path) -> None:
    target = tmp_path / "nope" / "out.csv"
    result = invoke("export", "-o", str(target), "--store", "memory://")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot write {target}: the folder {target.parent} does not exist\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_os_errors_are_one_clean_line(tmp_path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    result = invoke("mark", "active", "1", "--store", f"{a_file}/store.db")
    assert result.exit_code == 1
    assert result.stderr == f"Error: Not a directory: {a_file}/store.db\n"


@pytest.mark.parametrize(
    "args",
    [
        ("retention", "active", "active", "--start", "9999-12-31"),
        ("count", "active:last-week", "--at", "0001-01-01"),
    ],
)
def test_dates_past_the_calendar_are_one_error_line(run: Run, args) -> None:
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ")
    assert result.stderr.count("\n") == 1
