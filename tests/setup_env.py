"""Helpers for the tests that play a new user: a fresh login's environment, running a
long-lived command until it answers, and GETs against it."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: What a stock Debian or Ubuntu login has on PATH: the system Python and nothing else.
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# The tester's own pip configuration (indexes, local wheels), before HOME is replaced.
_PIP_CONF = Path(os.path.expanduser("~/.config/pip/pip.conf"))
# loopback requests never go through an http_proxy from the environment
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fresh_login(home: Path, path: str = SYSTEM_PATH) -> dict[str, str]:
    """The environment of a new user's shell: `path`, an empty `home`, no virtual environment.

    pip keeps this machine's configured indexes and wheel directories (PIP_* variables and the
    user's pip.conf, copied into `home`), so installs stay as fast as the machine allows."""
    env = {k: v for k, v in os.environ.items() if k.startswith("PIP_") or k in ("LANG", "TZ")}
    env.update(PATH=path, HOME=str(home))
    home.mkdir(parents=True, exist_ok=True)
    if _PIP_CONF.is_file():
        (home / ".config" / "pip").mkdir(parents=True, exist_ok=True)
        shutil.copy(_PIP_CONF, home / ".config" / "pip" / "pip.conf")
    return env


def get(url: str) -> tuple[int, str, bytes]:
    """GET `url`: (status, content type, body), error statuses included."""
    try:
        with _NO_PROXY.open(url, timeout=30) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("content-type", ""), exc.read()


@contextmanager
def running(
    args: list[str], ready: Callable[[], bool], log: Path, wait: float = 60.0, **popen
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `args` until `ready()` is true (polled; the process dying fails at once), yield
    it, then stop it."""
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, **popen)
    try:
        deadline = time.monotonic() + wait
        while not _answers(ready):
            if process.poll() is not None:
                raise AssertionError(f"{args} exited {process.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{args} did not answer in {wait}s:\n{log.read_text()}")
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(ready: Callable[[], bool]) -> bool:
    try:
        return ready()
    except OSError:  # not listening yet
        return False
