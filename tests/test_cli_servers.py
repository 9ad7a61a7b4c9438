"""`bitmapist serve` and `bitmapist dashboard` as real processes on free loopback ports."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import redis
from click.testing import CliRunner

from bitmapist import Bitmapist
from bitmapist.cli import cli

from .servers import free_port


@contextmanager
def command(*args: str) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bitmapist", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until(check, process: subprocess.Popen, what: str, timeout: float = 30) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what}: exited {process.returncode}: {process.stderr.read()}")
        try:
            if check():
                return
        except (OSError, redis.exceptions.ConnectionError, httpx.TransportError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} did not come up in {timeout}s")


def test_serve_speaks_redis_to_the_cli(tmp_path) -> None:
    port = free_port()
    database = tmp_path / "served.db"
    with command("serve", "--port", str(port), "--store", f"file://{database}") as process:
        client = redis.Redis(host="127.0.0.1", port=port)
        wait_until(client.ping, process, "bitmapist serve")
        url = f"redis://127.0.0.1:{port}/0"
        runner = CliRunner()
        for uid in ("3", "5"):
            args = ["mark", "active", uid, "--at", "2026-11-28", "--store", url]
            marked = runner.invoke(cli, args)
            assert marked.exit_code == 0, marked.output
        assert runner.invoke(cli, ["count", "active:2026-11", "--store", url]).stdout == "2\n"
        assert client.bitcount("trackist_active_2026-11") == 2
        client.close()
    assert process.returncode is not None
    first_line = process.stdout.readline()
    assert first_line == (
        f"bitmapist server on 127.0.0.1:{port}, database {database} (Ctrl-C stops it)\n"
    )
    # what the server stored is in the embedded file, readable without it
    assert list(Bitmapist(f"file://{database}").MonthEvents("active", 2026, 11)) == [3, 5]


def test_serve_refuses_a_redis_store() -> None:
    result = CliRunner().invoke(cli, ["serve", "--store", "redis://localhost:6379/0"])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: serve runs on an embedded store, not 'redis://localhost:6379/0': give --store "
        "file:///path.db or memory:// (Redis already speaks RESP itself)\n"
    )


def test_dashboard_serves_the_store_on_loopback(tmp_path) -> None:
    url = f"file://{tmp_path}/dash.db"
    Bitmapist(url).mark_event("song:played", 9)
    port = free_port()
    with command("dashboard", "--port", str(port), "--store", url) as process:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(base + "/").status_code == 200, process, "dashboard")
        page = httpx.get(base + "/").text
        assert '<span class="event-name">song:played</span>' in page
        assert process.stdout.readline() == (
            f"bitmapist dashboard on http://127.0.0.1:{port}/ (Ctrl-C stops it)\n"
        )
