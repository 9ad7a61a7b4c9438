"""This package vs upstream bitmapist 3.119, same workload, same redis-server, same CPU.

Run from the repo root::

    python benchmarks/vs_upstream.py            # about a minute
    python benchmarks/vs_upstream.py --quick    # smoke run, seconds
    python benchmarks/vs_upstream.py --json     # machine-readable
    python benchmarks/vs_upstream.py --ours-path /tmp/patched   # measure a patched checkout

Upstream runs in its own venv (`tests/upstream.py` creates it on first use). Each side has
one worker process running the same script (`_vs_upstream_worker.py`), pinned with the
redis-server to one CPU, each on its own db of that server. The driver alternates the two
workers chunk by chunk (which side goes first alternates too), so both meet the same
machine load. Each side's work must leave the same fingerprint (bits written, counts), or
the comparison is refused. Printed: medians of seconds per op, and speed ratios
ours/upstream, higher is better: the median over back-to-back pairs of upstream time / our
time, and the ratio of the medians. A goal counts as met only if both ratios reach it.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from _common import (
    REPO_ROOT,
    JsonWorker,
    Row,
    cpu_plan,
    redis_server,
    redis_server_version,
    report,
)

from tests.upstream import UPSTREAM_VERSION, upstream_python

WORKER = Path(__file__).with_name("_vs_upstream_worker.py")

# name in the worker -> (label, goal as a minimum speed ratio, note)
BENCHMARKS = {
    "mark_event": ("mark_event (default store)", 1.0, ""),
    "bulk": (
        "bulk ingestion",
        10.0,
        "ours: mark_events(list); upstream: mark_event(system=pipe, use_pipeline=False), "
        "pipe.execute() every 10,000 events",
    ),
    "bulk_sparse": (
        "bulk ingestion, sparse keys",
        None,
        "10k events over 1M ids and 28 days (~120 bits per day key): our store falls back to "
        "SETBIT per bit there, so the ratio depends on density",
    ),
    "bulk_pipeline_idiom": (
        "bulk, 3.x pipeline idiom on both",
        None,
        "both sides run upstream's pipeline idiom: what unchanged 3.x code gets",
    ),
    "month_count": ("len(MonthEvents)", 1.0, ""),
    "bitop_count": ("len(BitOpAnd(day, day))", 1.0, ""),
    "iterate_day": ("iterate a 10k-member day", 1.0, ""),
    "contains": ("uuid in MonthEvents", 1.0, ""),
}

# name -> (chunks, items per chunk); a bulk chunk is one whole ingestion of `items` events
FULL = {
    "mark_event": (15, 200),
    "bulk": (5, 200_000),
    "bulk_sparse": (5, 10_000),
    "bulk_pipeline_idiom": (5, 50_000),
    "month_count": (15, 200),
    "bitop_count": (15, 200),
    "iterate_day": (15, 3),
    "contains": (15, 200),
}
QUICK = {
    "mark_event": (3, 50),
    "bulk": (2, 10_000),
    "bulk_sparse": (1, 2_000),
    "bulk_pipeline_idiom": (2, 2_000),
    "month_count": (3, 50),
    "bitop_count": (3, 50),
    "iterate_day": (3, 1),
    "contains": (3, 50),
}
DATA = {"id_space": 1_000_000, "month_members": 100_000, "day_members": 10_000}
QUICK_DATA = {**DATA, "month_members": 20_000}


def run(
    plan_sizes: dict[str, tuple[int, int]],
    *,
    rounds: int | None = None,
    ours_path: str | None = None,
    data: dict[str, int] = DATA,
) -> tuple[list[Row], dict]:
    plan = cpu_plan()
    pythons = {"ours": sys.executable, "upstream": str(upstream_python())}
    rows = {
        name: Row(label, goal=goal, note=note) for name, (label, goal, note) in BENCHMARKS.items()
    }
    with redis_server(plan.server) as server:
        base = {
            **data,
            "port": server.port,
            "benchmarks": list(BENCHMARKS),
            "sizes": {name: {"size": size} for name, (_, size) in plan_sizes.items()},
        }
        workers = {}
        try:
            for db, side in enumerate(("ours", "upstream"), 1):
                cfg = {**base, "db": db, "import_path": ours_path if side == "ours" else None}
                # -I: no cwd/script dir on sys.path, so each side imports its own bitmapist
                command = [pythons[side], "-I", str(WORKER), _json(cfg)]
                workers[side] = JsonWorker(command, cpu=plan.clients)
            for name, row in rows.items():
                chunks = rounds or plan_sizes[name][0]
                for chunk in range(chunks):
                    order = ("ours", "upstream") if chunk % 2 == 0 else ("upstream", "ours")
                    for side in order:
                        seconds = workers[side].ask({"bench": name, "chunk": chunk})["seconds"]
                        (row.ours if side == "ours" else row.upstream).append(seconds)
                checks = {
                    side: worker.ask({"check": name})["check"] for side, worker in workers.items()
                }
                if checks["ours"] != checks["upstream"]:
                    raise SystemExit(f"{name}: the two sides did different work: {checks}")
            hello = {side: worker.hello for side, worker in workers.items()}
        finally:
            for worker in workers.values():
                worker.close()
        meta = {
            "chunks": {name: rounds or chunks for name, (chunks, _) in plan_sizes.items()},
            "items per chunk": {name: size for name, (_, size) in plan_sizes.items()},
            "data": data,
            "redis-server": redis_server_version(server),
            "cpus": plan.describe(),
            "python": platform.python_version(),
            "ours": f"bitmapist at {Path(hello['ours']['file']).parent} "
            f"(redis-py {hello['ours']['redis_py']})",
            "upstream": f"bitmapist {UPSTREAM_VERSION} (redis-py {hello['upstream']['redis_py']})",
        }
    return list(rows.values()), meta


def _json(value: dict) -> str:
    import json

    return json.dumps(value)


def main(argv: list[str] | None = None) -> int:
    from _common import base_parser

    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--ours-path",
        default=str(REPO_ROOT),
        help="import our bitmapist from this directory (default: this checkout, whatever "
        "`pip install -e` last pointed at)",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    data = QUICK_DATA if args.quick else DATA
    rows, meta = run(sizes, rounds=args.rounds, ours_path=args.ours_path, data=data)
    if args.quick:
        meta["mode"] = "--quick smoke run: sizes too small for the ratios to mean much"
    report(rows, meta, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
