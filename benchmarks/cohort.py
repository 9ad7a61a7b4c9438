"""Cohort table: this package's get_dates_data vs upstream bitmapist 3.119, same data.

Run from the repo root::

    python benchmarks/cohort.py            # 30 days x ~10,000 active of 100,000 users
    python benchmarks/cohort.py --quick    # smoke run, seconds
    python benchmarks/cohort.py --json     # machine-readable

A 31-row x 13-column daily table (`get_dates_data("active", "active", num_results=31,
num_of_rows=12)`) is computed by the same worker code under each package, as subprocesses
pinned to one CPU, interleaved over rounds, against one redis-server; ours also runs on the
embedded store (a file:// store holding the same marks). Each worker computes the table
`repeat` times; its first call (which also connects, or loads the store) is dropped and
medians are taken over the rest. Every run must return the same table as upstream, or the
comparison is refused.

Memory: the data is saved and the server restarted on it, so that `used_memory_peak`
starts at the data's own footprint (Redis 7.0's CONFIG RESETSTAT does not reset the peak);
then one table is computed and the new peak is compared with `used_memory` before it.
The same is done for upstream (which writes a BITOP key per cell) for comparison.
"""

from __future__ import annotations

import json
import platform
import random
import shutil
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from _common import (
    REPO_ROOT,
    Row,
    base_parser,
    cpu_plan,
    pin_process,
    redis_server_version,
    report,
    run_json,
)

from tests.servers import RedisServer
from tests.upstream import UPSTREAM_VERSION, upstream_python

# `repeat`: tables per upstream worker; ours are far cheaper, so they repeat more, which
# keeps their medians clear of the odd scheduler hiccup on a shared machine.
FULL = {"rounds": 5, "repeat": 6, "repeat_ours": 30, "pool": 100_000, "daily": 10_000, "days": 30}
QUICK = {"rounds": 1, "repeat": 3, "repeat_ours": 5, "pool": 20_000, "daily": 2_000, "days": 30}
FIRST_DAY = date(2026, 10, 1)

# Runs under either package: only the 3.x API. argv[1] is a JSON config.
WORKER = r"""
import json, sys, time
cfg = json.loads(sys.argv[1])
if cfg.get("repo"):  # ours: this checkout, whatever an editable install points at
    sys.path.insert(0, cfg["repo"])
import bitmapist
from bitmapist import cohort

if cfg.get("store_url"):
    system = bitmapist.Bitmapist(cfg["store_url"])
else:
    bitmapist.setup_redis("bench", "127.0.0.1", cfg["port"], db=0)
    system = "bench"
times = []
for _ in range(cfg["repeat"]):
    start = time.perf_counter()
    data = cohort.get_dates_data("active", "active", time_group="days", num_results=31,
                                 num_of_rows=12, start_date=cfg["start_date"], system=system)
    times.append(time.perf_counter() - start)
table = [[row[0].isoformat(), *row[1:]] for row in data]
print(json.dumps({"times": times, "check": table, "module": bitmapist.__file__}))
"""


def make_marks(config: dict) -> list[tuple[str, int, datetime]]:
    rng = random.Random(42)
    marks = []
    for d in range(config["days"]):
        day = FIRST_DAY + timedelta(days=d)
        when = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        active = rng.sample(range(config["pool"]), config["daily"])
        marks += [("active", uid, when) for uid in active]
    return marks


def run_worker(python: str, cfg: dict, cpu: int | None) -> dict:
    return run_json([python, "-I", "-c", WORKER, json.dumps(cfg)], cpu=cpu)


def memory_of(server: RedisServer) -> dict[str, int]:
    client = server.client()
    try:
        info = client.info("memory")
        return {
            "used_memory": info["used_memory"],
            "used_memory_peak": info["used_memory_peak"],
            "used_memory_dataset": info["used_memory_dataset"],
            "keys": client.dbsize(),
        }
    finally:
        client.close()


def peak_during_one_table(workdir: Path, python: str, cfg: dict, cpu: int | None) -> dict:
    """Restart a server on the saved data, compute one table, report its memory peak."""
    server = RedisServer(workdir)
    try:
        pin_process(server.process.pid, cpu)
        before = memory_of(server)
        run_worker(python, {**cfg, "port": server.port, "repeat": 1}, cpu)
        after = memory_of(server)
    finally:
        server.stop()
    return {
        "used_memory_before": before["used_memory"],
        "dataset_before": before["used_memory_dataset"],
        "peak_before": before["used_memory_peak"],
        "peak_during": after["used_memory_peak"],
        "peak_ratio": after["used_memory_peak"] / before["used_memory"],
        "keys_before": before["keys"],
        "keys_after": after["keys"],
    }


def run(config: dict, *, rounds: int) -> tuple[list[Row], dict]:
    from bitmapist import Bitmapist

    plan = cpu_plan()
    pythons = {"ours": sys.executable, "upstream": str(upstream_python())}
    marks = make_marks(config)
    rows = {
        "redis": Row("31x13 daily cohort table, Redis", goal=10.0),
        "embedded": Row(
            "31x13 daily cohort table, ours on the embedded store",
            goal=30.0,
            note="upstream on Redis; ours on a file:// store",
        ),
    }
    tmp = Path(tempfile.mkdtemp(prefix="bitmapist-cohort-bench-"))
    try:
        workdir = tmp / "redis"
        loader = RedisServer(workdir)
        try:
            pin_process(loader.process.pid, plan.server)
            version = redis_server_version(loader)
            client = Bitmapist(loader.client())
            client.mark_events(marks)
            client.store.redis_client().save()
        finally:
            loader.stop()
        store_url = f"file://{tmp / 'embedded.db'}"
        embedded = Bitmapist(store_url)
        embedded.mark_events(marks)
        embedded.close()

        base = {"start_date": FIRST_DAY.isoformat(), "repeat": config["repeat"]}
        memory = {
            "ours": peak_during_one_table(
                workdir, pythons["ours"], {**base, "repo": str(REPO_ROOT)}, plan.clients
            ),
            "upstream": peak_during_one_table(workdir, pythons["upstream"], base, plan.clients),
        }
        server = RedisServer(workdir)
        try:
            pin_process(server.process.pid, plan.server)
            redis_cfg = {**base, "port": server.port}
            for round_no in range(rounds):
                sides = ["ours", "upstream", "embedded"]
                if round_no % 2:
                    sides.reverse()
                results = {}
                for side in sides:
                    ours_repeat = {"repeat": config["repeat_ours"], "repo": str(REPO_ROOT)}
                    if side == "embedded":
                        cfg = {**base, **ours_repeat, "store_url": store_url}
                        python = pythons["ours"]
                    elif side == "ours":
                        cfg, python = {**redis_cfg, **ours_repeat}, pythons["ours"]
                    else:
                        cfg, python = redis_cfg, pythons["upstream"]
                    results[side] = run_worker(python, cfg, plan.clients)
                for side in ("ours", "embedded"):
                    if results[side]["check"] != results["upstream"]["check"]:
                        raise SystemExit(f"{side}: the cohort table differs from upstream's")
                # warm calls only: each worker's first call also connects / loads the store
                warm = {side: result["times"][1:] for side, result in results.items()}
                rows["redis"].ours += warm["ours"]
                rows["redis"].upstream += warm["upstream"]
                rows["embedded"].ours += warm["embedded"]
                rows["embedded"].upstream += warm["upstream"]
        finally:
            server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    ours_mem = memory["ours"]
    meta = {
        "rounds": rounds,
        "sizes": {k: v for k, v in config.items() if k != "rounds"},
        "marks": len(marks),
        "redis-server": version,
        "cpus": plan.describe(),
        "python": platform.python_version(),
        "upstream": f"bitmapist {UPSTREAM_VERSION}",
        "modules": {side: result["module"] for side, result in results.items()},
        "memory (ours)": (
            f"used_memory_peak during the query {ours_mem['peak_during']:,} B = "
            f"{ours_mem['peak_ratio']:.3f}x used_memory before it "
            f"({ours_mem['used_memory_before']:,} B, dataset {ours_mem['dataset_before']:,} B; "
            f"goal <= 1.2x {'ok' if ours_mem['peak_ratio'] <= 1.2 else 'MISSED'}); "
            f"keys {ours_mem['keys_before']} -> {ours_mem['keys_after']}"
        ),
        "memory (upstream)": (
            f"used_memory_peak {memory['upstream']['peak_during']:,} B = "
            f"{memory['upstream']['peak_ratio']:.3f}x; "
            f"keys {memory['upstream']['keys_before']} -> {memory['upstream']['keys_after']}"
        ),
        "memory_detail": memory,
        # Medians are the measure; on a shared, busy machine a ~1 ms table is often preempted
        # for a whole scheduler slice, so the fastest decile is shown too, for context.
        "fastest-decile ratios": ", ".join(
            f"{row.name}: {_decile(row.upstream) / _decile(row.ours):.1f}x" for row in rows.values()
        ),
    }
    return list(rows.values()), meta


def _decile(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 10]


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    rows, meta = run(config, rounds=args.rounds or config["rounds"])
    if not args.json:
        meta.pop("memory_detail")
    report(rows, meta, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
