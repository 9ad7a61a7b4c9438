"""The SQL engines of `vs_sql.py` (DuckDB, chDB, with numpy and pandas) in their own venv.

They are large (chDB is ~180 MB) and no test needs them, so they stay out of the test extra.
`sql_python()` returns an interpreter that has them: this one if it does (after
``pip install -e '.[bench]'``), else `<repo>/.bench/sql`, created on first use with
``python -m venv`` and pip (the `bench` extra and the package's own dependencies, from
pyproject.toml; the package itself is imported from the checkout). As `tests/upstream.py`
does for upstream bitmapist: a file lock makes concurrent first uses build it once, and a
`.ready` marker naming the requirements is written last, so a half-built venv (pip
interrupted) or one built for other requirements is built again.
"""

from __future__ import annotations

import fcntl
import importlib.util
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_DIR = REPO_ROOT / ".bench" / "sql"
_READY = VENV_DIR / ".ready"
_LOCK = REPO_ROOT / ".bench" / "sql.lock"
MODULES = ("duckdb", "chdb", "numpy", "pandas")


class SqlEnvError(RuntimeError):
    """The SQL engines' venv could not be created (the message says why and what to do)."""


def requirements() -> list[str]:
    """The package's dependencies and its `bench` extra, as pyproject.toml lists them."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["bench"]]


def has_engines() -> bool:
    """Whether this interpreter can import DuckDB, chDB, numpy and pandas."""
    return all(importlib.util.find_spec(name) is not None for name in MODULES)


def sql_python() -> Path:
    """An interpreter with the SQL engines: this one if it has them, else the venv's
    (created on first use). Raises `SqlEnvError` with pip's output if it cannot be made."""
    if has_engines():
        return Path(sys.executable)
    python = VENV_DIR / "bin" / "python"
    if _is_ready(python):
        return python
    _LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # others wait here while one process builds it
        try:
            if not _is_ready(python):
                _create(python)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return python


def _is_ready(python: Path) -> bool:
    try:
        return _READY.read_text().split("\n") == requirements() and python.exists()
    except OSError:
        return False


def _create(python: Path) -> None:
    if VENV_DIR.exists():
        shutil.rmtree(VENV_DIR)  # a previous attempt died half-way, or other requirements
    _run([sys.executable, "-m", "venv", str(VENV_DIR)], "python -m venv")
    wanted = requirements()
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "-q", "install"]
    _run([*pip, *wanted], "pip install " + " ".join(wanted))
    _run([str(python), "-c", "import " + ", ".join(MODULES)], "importing the engines")
    _READY.write_text("\n".join(wanted))


def _run(args: list[str], what: str) -> None:
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SqlEnvError(
            f"could not create the SQL engines' venv at {VENV_DIR}: {what} failed "
            f"(exit {proc.returncode}).\nstdout:\n{proc.stdout[-3000:]}\n"
            f"stderr:\n{proc.stderr[-3000:]}\n"
            "It needs python3-venv and access to PyPI; or install them into this "
            "interpreter: pip install -e '.[bench]'"
        )
