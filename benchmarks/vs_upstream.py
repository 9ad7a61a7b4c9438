"""This package vs upstream bitmapist 3.119, same workload, same redis-server, same CPU.

Run from the repo root::

    python benchmarks/vs_upstream.py            # 5 interleaved rounds, a few minutes
    python benchmarks/vs_upstream.py --quick    # smoke run, seconds
    python benchmarks/vs_upstream.py --json     # machine-readable

Upstream runs in its own venv (`tests/upstream.py` creates it on first use). Both sides run
the same worker script (`_vs_upstream_worker.py`) as a subprocess pinned to the same CPU,
one side after the other, alternating which goes first, against one redis-server pinned to
another CPU. Each side's result must carry the same check value (same bits written, same
counts), or the comparison is refused. Printed: medians over rounds of seconds per op, and
speed ratios ours/upstream (upstream time / our time: higher is better).
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from _common import (
    Row,
    cpu_plan,
    redis_server,
    redis_server_version,
    report,
    run_json,
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

FULL = {
    "rounds": 5,
    "id_space": 1_000_000,
    "mark_n": 3_000,
    "bulk_n": 200_000,
    "reads_n": 2_000,
    "iter_n": 30,
    "month_members": 100_000,
    "day_members": 10_000,
}
QUICK = {
    "rounds": 1,
    "id_space": 1_000_000,
    "mark_n": 200,
    "bulk_n": 20_000,
    "reads_n": 100,
    "iter_n": 5,
    "month_members": 20_000,
    "day_members": 10_000,
}


def run(config: dict, *, rounds: int, ours_path: str | None = None) -> tuple[list[Row], dict]:
    plan = cpu_plan()
    pythons = {"ours": sys.executable, "upstream": str(upstream_python())}
    rows = {
        name: Row(label, goal=goal, note=note) for name, (label, goal, note) in BENCHMARKS.items()
    }
    redis_py: dict[str, str] = {}
    files: dict[str, str] = {}
    with redis_server(plan.server) as server:
        worker_cfg = {**config, "port": server.port, "db": 0, "benchmarks": list(BENCHMARKS)}
        for round_no in range(rounds):
            order = ["ours", "upstream"] if round_no % 2 == 0 else ["upstream", "ours"]
            results = {}
            for side in order:
                # -I: no cwd/script dir on sys.path, so each side imports its own bitmapist
                side_cfg = {**worker_cfg, "import_path": ours_path if side == "ours" else None}
                command = [pythons[side], "-I", str(WORKER), _json(side_cfg)]
                out = run_json(command, cpu=plan.clients)
                results[side] = out["results"]
                redis_py[side] = out["redis_py"]
                files[side] = out["file"]
            for name, row in rows.items():
                ours, upstream = results["ours"][name], results["upstream"][name]
                if ours["check"] != upstream["check"]:
                    raise SystemExit(
                        f"{name}: the two sides did different work "
                        f"(check ours={ours['check']!r}, upstream={upstream['check']!r})"
                    )
                row.ours.append(ours["seconds"])
                row.upstream.append(upstream["seconds"])
        meta = {
            "rounds": rounds,
            "sizes": {k: v for k, v in config.items() if k != "rounds"},
            "redis-server": redis_server_version(server),
            "cpus": plan.describe(),
            "python": platform.python_version(),
            "ours": f"bitmapist at {Path(files['ours']).parent} (redis-py {redis_py['ours']})",
            "upstream": f"bitmapist {UPSTREAM_VERSION} (redis-py {redis_py['upstream']})",
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
        help="import our bitmapist from this directory (e.g. a patched checkout) instead",
    )
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    rounds = args.rounds or config["rounds"]
    rows, meta = run(config, rounds=rounds, ours_path=args.ours_path)
    report(rows, meta, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
