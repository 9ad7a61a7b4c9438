"""Every benchmark script runs: `python benchmarks/<name>.py --quick` exits 0 and prints ratios.

No timing is asserted (timings belong to the benchmarks themselves). Scripts named `_*.py` are
helpers; a script without a `--quick` flag is reported as skipped, by name, never dropped
silently. A script that exits with status 3 could not install a tool it needs (vs_sql.py:
DuckDB and chDB, in their own venv): it is skipped with the reason it printed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO_ROOT / "benchmarks"
SCRIPTS = sorted(path for path in BENCHMARKS.glob("*.py") if not path.name.startswith("_"))
# `format_table` in benchmarks/_common.py prints speed ratios as e.g. `12.34x`
RATIO = re.compile(r"(?<![\w.])\d+(?:\.\d+)?x\b")
#: A benchmark's exit status when a tool it needs cannot be installed.
CANNOT_INSTALL = 3


def _run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), "--quick", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_there_are_benchmarks() -> None:
    assert BENCHMARKS / "vs_upstream.py" in SCRIPTS
    assert BENCHMARKS / "vs_sql.py" in SCRIPTS


def test_vs_sql_quick_checks_every_question_in_every_engine() -> None:
    """The quick run asks all six questions of the three engines and compares the answers
    (it refuses to print a table otherwise)."""
    proc = _run(BENCHMARKS / "vs_sql.py", "--json")
    if proc.returncode == CANNOT_INSTALL:
        pytest.skip(proc.stderr.strip()[-1500:])
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout)
    assert report["meta"]["events"] == 20_000 and report["meta"]["duckdb"]
    assert set(report["medians"]) == {
        "trends",
        "funnel",
        "lifecycle",
        "stickiness",
        "retention",
        "dau_wau_mau",
    }
    for by_engine in report["medians"].values():
        assert set(by_engine) == {"bitmapist", "duckdb", "chdb"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_quick_run_prints_ratios(script: Path) -> None:
    if "--quick" not in script.read_text():
        pytest.skip(f"benchmarks/{script.name} has no --quick flag, so it is not smoke-run")
    proc = _run(script)
    if proc.returncode == CANNOT_INSTALL:
        pytest.skip(f"benchmarks/{script.name}: {proc.stderr.strip()[-1500:]}")
    assert proc.returncode == 0, (
        f"{script.name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )
    assert RATIO.search(proc.stdout), f"{script.name} printed no ratio:\n{proc.stdout[-2000:]}"


def test_vs_upstream_json_has_every_operation() -> None:
    proc = _run(BENCHMARKS / "vs_upstream.py", "--json", "--rounds", "1")
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout)
    names = [row["name"] for row in report["results"]]
    for expected in [
        "mark_event (default store)",
        "bulk ingestion",
        "len(MonthEvents)",
        "len(BitOpAnd(day, day))",
        "iterate a 10k-member day",
        "uuid in MonthEvents",
    ]:
        assert expected in names
    for row in report["results"]:
        assert row["ratio"] > 0 and len(row["ours"]) == len(row["upstream"]) > 0
    assert "3.119" in report["meta"]["upstream"]
