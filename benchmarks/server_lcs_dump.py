"""bitmapist-server against redis-server, same run: the commands that hold the event loop for
long in pure Python, LCS and DUMP / RESTORE.

    python benchmarks/server_lcs_dump.py [--quick] [--rounds N] [--big] [--baseline PATH]

Each round times one call of each operation on each server, one after the other
(interleaved rounds: both see the same machine load); the table shows medians and the ratio
ours / redis. `--baseline PATH` adds a second bitmapist-server run from another checkout
(e.g. `git archive` of an older commit unpacked there), measured in the same rounds.

- LCS of two random 10 KB strings over ACGT (LEN, the string, IDX WITHMATCHLEN); with
  `--big`, of two 100 KB strings too, on ours alone: Redis refuses those (its table of
  40 GB exceeds proto-max-bulk-len), ours is run with the limit raised to show its cost.
- DUMP of a 1 KiB, 1 MiB and 16 MiB value (a bitmap with 1 bit in 40 set, so LZF has work),
  and RESTORE ... REPLACE of Redis's payload of it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from _common import process_status_bytes  # noqa: E402

from tests.resp_client import RawConnection  # noqa: E402
from tests.servers import RedisServer, free_port  # noqa: E402

BIG_LIMIT = 1 << 36  # proto-max-bulk-len for ours with --big: room for a 100 KB x 100 KB table


class OurServer:
    """`python -m bitmapist.server.main` run from `repo` (this checkout or a baseline)."""

    def __init__(self, repo: Path, workdir: Path, *flags: str):
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        command = [sys.executable, "-m", "bitmapist.server.main", "-addr"]
        command += [f"127.0.0.1:{self.port}", "-db", str(workdir / "db"), *flags]
        log = open(workdir / "server.log", "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen(command, cwd=repo, stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                RawConnection(self.port, timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"bitmapist-server from {repo} did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _bitmap(size: int, rng: random.Random) -> bytes:
    value = bytearray(size)
    for bit in rng.sample(range(size * 8), size * 8 // 40):
        value[bit >> 3] |= 0x80 >> (bit & 7)
    return bytes(value)


def _timed(connection: RawConnection, args: tuple) -> tuple[float, bytes]:
    start = time.perf_counter()
    reply = connection.call(*args)
    return time.perf_counter() - start, reply


def _operations(quick: bool, big: bool) -> tuple[dict, list[tuple]]:
    """Values to load, and (label, command, sides) to time."""
    rng = random.Random(7)
    size = 2000 if quick else 10_000
    values = {
        "s1": bytes(rng.choice(b"ACGT") for _ in range(size)),
        "s2": bytes(rng.choice(b"ACGT") for _ in range(size)),
    }
    label = f"LCS {size // 1000} KB x {size // 1000} KB"
    operations = [
        (f"{label} LEN", ("LCS", "s1", "s2", "LEN"), "all"),
        (label, ("LCS", "s1", "s2"), "all"),
        (f"{label} IDX WITHMATCHLEN", ("LCS", "s1", "s2", "IDX", "WITHMATCHLEN"), "all"),
    ]
    if big:
        values["b1"] = bytes(rng.choice(b"ACGT") for _ in range(100_000))
        values["b2"] = bytes(rng.choice(b"ACGT") for _ in range(100_000))
        operations += [
            ("LCS 100 KB x 100 KB LEN", ("LCS", "b1", "b2", "LEN"), "ours"),
            ("LCS 100 KB x 100 KB", ("LCS", "b1", "b2"), "ours"),
        ]
    for name, length in (("1 KiB", 1 << 10), ("1 MiB", 1 << 20), ("16 MiB", 1 << 24)):
        if quick and length > 1 << 20:
            continue
        values[f"v{name}"] = _bitmap(length, rng)
        operations.append((f"DUMP {name}", ("DUMP", f"v{name}"), "all"))
        operations.append((f"RESTORE {name}", ("RESTORE", f"r{name}", "0", name), "all"))
    return values, operations


def _run(sides: dict, rounds: int, quick: bool, big: bool) -> list[tuple[str, dict]]:
    values, operations = _operations(quick, big)
    connections = {side: RawConnection(port, timeout=600) for side, port in sides.items()}
    for connection in connections.values():
        connection.pipeline([("SET", key, value) for key, value in values.items()])
    payloads = {}
    for label, args, _ in operations:  # RESTORE takes Redis's own payload
        if args[0] == "DUMP":
            reply = connections["redis"].call(*args)
            payloads[label.split(" ", 1)[1]] = reply.split(b"\r\n", 1)[1][:-2]
    times: dict[str, dict[str, list[float]]] = {label: {} for label, _, _ in operations}
    for _ in range(rounds):
        for label, args, which in operations:
            if args[0] == "RESTORE":
                args = (*args[:3], payloads[args[3]], "REPLACE")
            for side, connection in connections.items():
                if which == "ours" and side != "ours":
                    continue
                seconds, reply = _timed(connection, args)
                if reply.startswith(b"-"):
                    raise RuntimeError(f"{side}: {label}: {reply[:200]!r}")
                times[label].setdefault(side, []).append(seconds)
    for connection in connections.values():
        connection.close()
    return [(label, {s: statistics.median(t) for s, t in times[label].items()}) for label in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small strings, no 16 MiB value")
    parser.add_argument("--rounds", type=int, default=0, help="rounds (default 7, quick 2)")
    parser.add_argument("--big", action="store_true", help="also LCS of 100 KB strings")
    parser.add_argument("--baseline", type=Path, help="a checkout to run a second server from")
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 7)
    flags = ["--checkpoint-interval", "0"]
    if args.big:
        flags += ["--max-bulk-len", str(BIG_LIMIT)]
    with tempfile.TemporaryDirectory(prefix="bitmapist-bench-") as tmp:
        servers: dict = {"redis": RedisServer(Path(tmp) / "redis")}
        try:
            servers["ours"] = OurServer(REPO_ROOT, Path(tmp) / "ours", *flags)
            if args.baseline:
                servers["before"] = OurServer(args.baseline, Path(tmp) / "before", *flags)
            ports = {side: server.port for side, server in servers.items()}
            rows = _run(ports, rounds, args.quick, args.big)
            peaks = {
                side: process_status_bytes(server.process.pid, "VmHWM") / 2**20
                for side, server in servers.items()
            }
        finally:
            for server in servers.values():
                server.stop()
    sides = ["redis", "ours", *(["before"] if args.baseline else [])]
    print(f"medians of {rounds} interleaved rounds, seconds; ratios: ours (and before) / redis")
    header = f"{'operation':32}" + "".join(f"{side:>12}" for side in sides) + f"{'ratio':>10}"
    print(header + (f"{'before':>10}" if args.baseline else ""))
    for label, medians in rows:
        cells = "".join(
            f"{medians[side]:12.4f}" if side in medians else f"{'-':>12}" for side in sides
        )
        ratios = [
            f"{medians[side] / medians['redis']:.2f}x" if "redis" in medians else "-"
            for side in sides[1:]
        ]
        print(f"{label:32}{cells}" + "".join(f"{ratio:>10}" for ratio in ratios))
    print("peak RSS, MiB: " + ", ".join(f"{side} {peak:.0f}" for side, peak in peaks.items()))


if __name__ == "__main__":
    main()
