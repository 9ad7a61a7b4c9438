"""Shared benchmark helpers: CPU pinning, a private redis-server, medians and ratio tables.

Benchmarks are scripts run from the repo root (`python benchmarks/<name>.py [--quick] [--json]`);
importing this module puts the repo root on `sys.path`, so `tests.servers` / `tests.upstream`
are importable. Conventions every script follows (the smoke test relies on them):

- `--quick` runs a small smoke workload in seconds; `--json` prints one JSON object instead
  of the table;
- speed ratios are ours/upstream speed (upstream time / our time, higher is better) and
  are printed as `<ratio>x` by `format_table`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.servers import RedisServer  # noqa: E402 - needs the sys.path line above

# --- CPU pinning


@dataclass(frozen=True)
class CpuPlan:
    """Where the server and the benchmark clients run. None: not pinned."""

    server: int | None
    clients: int | None

    def describe(self) -> str:
        if self.server is None:
            return "not pinned (no CPU affinity support)"
        if self.server == self.clients:
            return f"redis-server and clients pinned to CPU {self.server}"
        return f"redis-server on CPU {self.server}, clients on CPU {self.clients}"


def cpu_plan() -> CpuPlan:
    """Server and clients on one CPU (the last one we may use; CPU 0 takes most interrupts).

    Why one CPU: every operation measured is a round trip, and on small VMs a wake-up across
    CPUs costs more than the work itself and varies a lot (measured here: a GETBIT round trip
    ~45 us on one CPU vs ~100-200 us across two). On one CPU both sides pay the same
    context switches, and the numbers are steadier.
    """
    if not hasattr(os, "sched_getaffinity"):
        return CpuPlan(None, None)
    cpu = max(os.sched_getaffinity(0))
    return CpuPlan(cpu, cpu)


def pinned(command: Sequence[str], cpu: int | None) -> list[str]:
    """`command` prefixed with `taskset -c cpu`; unchanged when there is no taskset binary
    (then `run_json` pins the child itself) or nothing to pin to."""
    taskset = shutil.which("taskset")
    if cpu is None or taskset is None:
        return list(command)
    return [taskset, "-c", str(cpu), *command]


def pin_process(pid: int, cpu: int | None) -> None:
    """Pin a running process (e.g. a redis-server we started) to one CPU."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(pid, {cpu})


# --- a private redis-server


@contextmanager
def redis_server(cpu: int | None = None) -> Iterator[RedisServer]:
    """A fresh redis-server on a free port in a temp dir, pinned to `cpu`, killed after."""
    with tempfile.TemporaryDirectory(prefix="bitmapist-bench-") as workdir:
        server = RedisServer(Path(workdir))
        try:
            pin_process(server.process.pid, cpu)
            yield server
        finally:
            server.stop()


def redis_server_version(server: RedisServer) -> str:
    client = server.client()
    try:
        return str(client.info("server").get("redis_version"))
    finally:
        client.close()


# --- running workers


def run_json(command: Sequence[str], *, cpu: int | None = None, timeout: float = 900) -> Any:
    """Run a worker pinned to `cpu`; return the JSON document on its last stdout line."""
    command = pinned(command, cpu)
    preexec = None
    if cpu is not None and command[0] != shutil.which("taskset"):
        preexec = lambda: pin_process(0, cpu)  # noqa: E731 - same syscall taskset makes
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, preexec_fn=preexec
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"benchmark worker failed (exit {proc.returncode}): {' '.join(command)}\n"
            f"{proc.stderr[-4000:]}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


class JsonWorker:
    """A long-lived worker process spoken to in JSON lines (one request, one reply).

    Keeping one worker per side alive lets a driver alternate the sides chunk by chunk,
    so both meet the same machine load (other jobs come and go on a shared machine).
    The first line the worker writes is its greeting, kept in `hello`.
    """

    def __init__(self, command: Sequence[str], *, cpu: int | None = None):
        command = pinned(command, cpu)
        preexec = None
        if cpu is not None and command[0] != shutil.which("taskset"):
            preexec = lambda: pin_process(0, cpu)  # noqa: E731 - same syscall taskset makes
        self.command = command
        # stderr to a file, not a pipe: a chatty worker can't block on a full pipe
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            preexec_fn=preexec,
        )
        self.hello: dict[str, Any] = self._read()

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=30)
            self._stderr.seek(0)
            stderr = self._stderr.read()
            raise RuntimeError(
                f"benchmark worker exited ({self.process.returncode}): {' '.join(self.command)}"
                f"\n{stderr[-4000:]}"
            )
        return json.loads(line)

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stderr.close()


# --- results


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


@dataclass
class Row:
    """One measured operation: per-op seconds of each round for both packages; round i of
    `ours` and of `upstream` ran back to back (a pair)."""

    name: str
    ours: list[float] = field(default_factory=list)
    upstream: list[float] = field(default_factory=list)
    goal: float | None = None  # minimum speed ratio we promise, if any
    note: str = ""

    @property
    def ours_median(self) -> float:
        return median(self.ours)

    @property
    def upstream_median(self) -> float:
        return median(self.upstream)

    @property
    def ratio(self) -> float:
        """ours/upstream speed (higher is better): the median over pairs of upstream time /
        our time, which cancels load that changes between pairs."""
        if len(self.ours) != len(self.upstream):
            return self.upstream_median / self.ours_median
        return median([up / ours for ours, up in zip(self.ours, self.upstream)])

    @property
    def ratio_of_medians(self) -> float:
        """upstream median time / our median time (unpaired; moves with load swings)."""
        return self.upstream_median / self.ours_median

    @property
    def meets_goal(self) -> bool | None:
        """Met only if both ratios reach the goal: no claim rests on the kinder one."""
        if self.goal is None:
            return None
        return min(self.ratio, self.ratio_of_medians) >= self.goal

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            ours_median_s=self.ours_median,
            upstream_median_s=self.upstream_median,
            ratio=self.ratio,
            ratio_of_medians=self.ratio_of_medians,
            meets_goal=self.meets_goal,
        )
        return data


def format_seconds(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_table(rows: Sequence[Row]) -> str:
    """A plain-text table of medians per op and speed ratios (`12.3x`): the median of
    paired ratios, then the ratio of the medians."""
    header = ("operation", "ours/op", "upstream/op", "speed ratio", "of medians", "goal")
    lines = [header]
    for row in rows:
        goal = ""
        if row.goal is not None:
            goal = f">= {row.goal:g}x " + ("ok" if row.meets_goal else "MISSED")
        lines.append(
            (
                row.name,
                format_seconds(row.ours_median),
                format_seconds(row.upstream_median),
                f"{row.ratio:.2f}x",
                f"{row.ratio_of_medians:.2f}x",
                goal,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for i, line in enumerate(lines):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
        if i == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)


def base_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the flags every benchmark script takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny workload, for a smoke run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per side (interleaved)")
    return parser


def report(rows: Sequence[Row], meta: dict[str, Any], *, as_json: bool) -> None:
    """Print the results as a table (with `meta` above it) or as one JSON object."""
    if as_json:
        print(json.dumps({"meta": meta, "results": [row.as_dict() for row in rows]}, indent=2))
        return
    for key, value in meta.items():
        print(f"{key}: {value}")
    print()
    print(format_table(rows))
    for row in rows:
        if row.note:
            print(f"  {row.name}: {row.note}")


def process_status_bytes(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of process `pid` from /proc/<pid>/status, in bytes: `VmRSS` (its
    resident size now) or `VmHWM` (the peak of it so far)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} for pid {pid}")
