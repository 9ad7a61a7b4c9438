"""Upstream bitmapist 3.119 in its own venv, for compatibility tests and benchmarks.

`upstream_python()` creates `<repo>/.bench/upstream` on first use (``python3 -m venv`` + pip from
PyPI) and returns its python; `run_upstream(code)` runs a snippet there and returns its stdout.
Creation is guarded by a file lock, so concurrent first use (pytest-xdist, colleagues running
benchmarks) builds the venv once. A `.ready` marker naming the requirements is written last,
so a half-built venv (an interrupted pip) or one built for other requirements is rebuilt.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

UPSTREAM_VERSION = "3.119"
# hiredis on both sides: our package depends on it, so upstream gets the same reply parser.
UPSTREAM_REQUIREMENTS = [f"bitmapist=={UPSTREAM_VERSION}", "hiredis"]

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_DIR = REPO_ROOT / ".bench" / "upstream"
_READY = VENV_DIR / ".ready"
_LOCK = REPO_ROOT / ".bench" / "upstream.lock"


class UpstreamError(RuntimeError):
    """The upstream venv could not be created, or code run in it failed."""


def _venv_python() -> Path:
    return VENV_DIR / "bin" / "python"


def _run(args: list[str], what: str) -> None:
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise UpstreamError(
            f"could not create the upstream bitmapist venv at {VENV_DIR}: {what} failed "
            f"(exit {proc.returncode}).\ncommand: {' '.join(args)}\n"
            f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}\n"
            "Needs python3-venv (apt-get install -y python3-venv) and access to PyPI."
        )


def _create() -> None:
    if VENV_DIR.exists():
        shutil.rmtree(VENV_DIR)  # a previous attempt died half-way
    _run([sys.executable, "-m", "venv", str(VENV_DIR)], "python -m venv")
    pip = [str(_venv_python()), "-m", "pip", "--disable-pip-version-check", "-q"]
    requirements = " ".join(UPSTREAM_REQUIREMENTS)
    _run([*pip, "install", *UPSTREAM_REQUIREMENTS], f"pip install {requirements}")
    _run(
        [str(_venv_python()), "-I", "-c", "import bitmapist, hiredis; print(bitmapist.__file__)"],
        "importing upstream bitmapist",
    )
    _READY.write_text(" ".join(UPSTREAM_REQUIREMENTS) + "\n")


def _is_ready() -> bool:
    """Built completely, for the requirements we ask for today (else it is rebuilt)."""
    try:
        return _READY.read_text().split() == UPSTREAM_REQUIREMENTS and _venv_python().exists()
    except OSError:
        return False


def upstream_python() -> Path:
    """Return the python of a venv with bitmapist==3.119 installed, creating it on first use.

    Raises `UpstreamError` (with pip's output) if the venv cannot be created.
    """
    if _is_ready():
        return _venv_python()
    _LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # others wait here while one process builds
        try:
            if not _is_ready():
                _create()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return _venv_python()


def run_upstream(code: str, *, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    """Run `code` with upstream bitmapist's python and return its stdout.

    `env` is added to the current environment. Python runs isolated (``-I``: no cwd on sys.path,
    no PYTHON* variables) in the venv directory, so this repo's own `bitmapist` package can never
    shadow the upstream one.
    Raises `UpstreamError` with stderr if the code exits non-zero.
    """
    python = upstream_python()
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [str(python), "-I", "-c", code],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=VENV_DIR,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise UpstreamError(
            f"upstream code failed (exit {proc.returncode}):\n{proc.stderr[-5000:]}"
        )
    return proc.stdout
