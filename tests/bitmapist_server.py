"""Run the real `bitmapist-server` as a subprocess for tests (free loopback port, temp dir)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from .servers import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]


class BitmapistServerProcess:
    """`python -m bitmapist.server.main` on 127.0.0.1 with its database in `workdir`.

    On asyncio's event loop unless `extra_args` say otherwise: the loop a plain install
    runs, although the test extra installs uvloop (which `--event-loop auto` would pick)."""

    def __init__(self, workdir: Path, *extra_args: str, port: int | None = None, db: str = ""):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.db_path = db or str(workdir / "bitmapist.db")
        self.log_path = workdir / "server.log"
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        args = [
            sys.executable,
            "-m",
            "bitmapist.server.main",
            "-addr",
            f"127.0.0.1:{self.port}",
            "-db",
            self.db_path,
            "--event-loop",
            "asyncio",
            *self.extra_args,
        ]
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        # From the repo root, `-m` runs this checkout's package whatever is installed.
        self.process = subprocess.Popen(args, stdout=log, stderr=log, cwd=REPO_ROOT)
        log.close()
        self._wait_ready()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, **kwargs) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait_ready(self, timeout: float = 20.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        password = None
        if "--requirepass" in self.extra_args:
            password = self.extra_args[self.extra_args.index("--requirepass") + 1]
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"bitmapist-server exited with {self.process.returncode}:\n{self.log()[-3000:]}"
                )
            try:
                client = self.client(socket_timeout=2, password=password)
                if client.ping():
                    client.close()
                    return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"bitmapist-server on port {self.port} did not answer in {timeout}s")

    def signal(self, signum: int) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL: no chance to flush anything."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
