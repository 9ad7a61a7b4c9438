"""The embedded store (durable default) vs upstream bitmapist 3.119 on redis-server.

Run from the repo root::

    python benchmarks/embedded.py            # 3 interleaved rounds + the memory test
    python benchmarks/embedded.py --quick    # smoke run, seconds
    python benchmarks/embedded.py --json     # machine-readable
    python benchmarks/embedded.py --redis-appendfsync everysec   # upstream's Redis keeps an AOF

Both sides run `_embedded_worker.py` as a subprocess pinned to the same CPU (upstream in its
own venv, created by `tests/upstream.py` on first use), alternating which goes first. Ours
uses the embedded default store in a fresh `$BITMAPIST_HOME` (a file on local disk, every
write committed before it returns); upstream uses a private redis-server on the same CPU.

Printed: medians of seconds per op and speed ratios (upstream time / our time); p99 of
mark_event while a checkpoint folds a large journal; memory of the sparse dataset (90 days
x 20,000 users/day from 1,000,000 ids over [0, 2**27)): our process memory (a fresh process
loading every bitmap) and file size (after `compact()`) against Redis `used_memory`.
Redis holds fewer days (`mem_days_redis`; every Redis bitmap costs ~16 MB at ids up to
2**27) and its figure is extrapolated per key to the full dataset.
"""

from __future__ import annotations

import platform
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _common import (
    REPO_ROOT,
    Row,
    base_parser,
    cpu_plan,
    format_seconds,
    median,
    pin_process,
    redis_server,
    redis_server_version,
    report,
    run_json,
)

from tests.servers import RedisServer
from tests.upstream import UPSTREAM_VERSION, upstream_python

WORKER = Path(__file__).with_name("_embedded_worker.py")

# worker name -> (label, goal as a minimum speed ratio, note)
TIMED = {
    "mark_event": ("mark_event (durable default)", 3.0, ""),
    "mark_event_group": (
        "mark_event, group commit 10 ms",
        None,
        "ours: ?group_commit_ms=10 (a crash may lose the last 10 ms of writes); upstream as is",
    ),
    "bulk": (
        "bulk ingestion, per event",
        40.0,
        "ours: mark_events(list); upstream: mark_event into a pipeline, execute() per 10,000",
    ),
    "month_len": ("len(MonthEvents)", 5.0, "a month of 100,000 ids"),
    "and_len": ("len(BitOpAnd(day, day))", 5.0, "two days of 10,000 ids"),
}

FULL = {
    "rounds": 3,
    "id_space": 1_000_000,
    "mark_n": 3_000,
    "bulk_n": 300_000,
    "reads_n": 2_000,
    "month_members": 100_000,
    "day_members": 10_000,
    "ckpt_events": 600_000,
    "mem_days": 90,
    "mem_days_redis": 10,
    "mem_per_day": 20_000,
    "mem_population": 1_000_000,
}
QUICK = {
    **FULL,
    "rounds": 1,
    "mark_n": 200,
    "bulk_n": 20_000,
    "reads_n": 100,
    "ckpt_events": 30_000,
    "mem_days": 5,
    "mem_days_redis": 2,
    "mem_per_day": 2_000,
    "mem_population": 50_000,
}


@contextmanager
def _redis(cpu: int | None, appendfsync: str | None) -> Iterator[RedisServer]:
    """The usual private redis-server; with `appendfsync`, an AOF-persistent one (to
    compare like with like: upstream's default server keeps nothing on disk)."""
    if appendfsync is None:
        with redis_server(cpu) as server:
            yield server
        return
    with tempfile.TemporaryDirectory(prefix="bitmapist-bench-aof-") as workdir:
        server = RedisServer(Path(workdir), "--appendonly", "yes", "--appendfsync", appendfsync)
        try:
            pin_process(server.process.pid, cpu)
            yield server
        finally:
            server.stop()


def run(
    config: dict, *, rounds: int, appendfsync: str | None = None, only: list[str] | None = None
) -> tuple[list[Row], dict, dict]:
    """`only` runs just those timed rows (no checkpoint or memory test): for quick checks."""
    plan = cpu_plan()
    pythons = {"ours": sys.executable, "upstream": str(upstream_python())}
    timed = {name: TIMED[name] for name in only} if only else TIMED
    rows = {name: Row(label, goal=goal, note=note) for name, (label, goal, note) in timed.items()}
    extra: dict = {
        "mark_event_p50": {"ours": [], "upstream": []},
        "mark_event_p99": {"ours": [], "upstream": []},
        "checkpoint": [],
        "memory": {},
    }
    with _redis(plan.server, appendfsync) as server:
        for round_no in range(rounds):
            order = ["ours", "upstream"] if round_no % 2 == 0 else ["upstream", "ours"]
            benchmarks = [*timed]
            if not only:
                benchmarks += ["checkpoint_p99"] + (["memory"] if round_no == 0 else [])
            results = {}
            for side in order:
                with tempfile.TemporaryDirectory(prefix="bitmapist-embedded-bench-") as home:
                    cfg = {
                        **config,
                        "side": side,
                        "port": server.port,
                        "home": home,
                        "repo": str(REPO_ROOT),
                        "benchmarks": benchmarks,
                    }
                    out = run_json([pythons[side], "-I", str(WORKER), _json(cfg)], cpu=plan.clients)
                    results[side] = out["results"]
                server.client().flushall()
            for name, row in rows.items():
                ours, upstream = results["ours"][name], results["upstream"][name]
                if ours["check"] != upstream["check"]:
                    raise SystemExit(
                        f"{name}: the sides did different work "
                        f"(ours {ours['check']!r}, upstream {upstream['check']!r})"
                    )
                row.ours.append(ours["seconds"])
                row.upstream.append(upstream["seconds"])
            for side in ("ours", "upstream"):
                if "mark_event" in results[side]:
                    extra["mark_event_p50"][side].append(results[side]["mark_event"]["p50"])
                    extra["mark_event_p99"][side].append(results[side]["mark_event"]["p99"])
            if "checkpoint_p99" in results["ours"]:
                extra["checkpoint"].append(results["ours"]["checkpoint_p99"])
            if "memory" in results["ours"]:
                extra["memory"] = {side: results[side]["memory"] for side in results}
        meta = {
            "rounds": rounds,
            "sizes": {k: v for k, v in config.items() if k != "rounds"},
            "redis-server": redis_server_version(server),
            "cpus": plan.describe(),
            "python": platform.python_version(),
            "upstream": f"bitmapist {UPSTREAM_VERSION} on redis-server "
            + (f"(appendonly, appendfsync {appendfsync})" if appendfsync else "(no persistence)"),
            "ours": "EmbeddedStore (default durability: committed to the WAL before returning)",
        }
    return list(rows.values()), meta, extra


def _json(value: dict) -> str:
    import json

    return json.dumps(value)


def summarize(extra: dict) -> dict:
    """The non-ratio results: latencies during checkpoints and the memory comparison."""
    p99 = extra["mark_event_p99"]
    ckpt = extra["checkpoint"]
    summary: dict = {
        "mark_event_p50": {side: median(v) for side, v in extra["mark_event_p50"].items()},
        "mark_event_p99": {side: median(values) for side, values in p99.items()},
        "during_checkpoint": {
            "median": median([c["seconds"] for c in ckpt]),
            "p99": median([c["p99"] for c in ckpt]),
            "max": max(c["max"] for c in ckpt),
            "marks": [c["marks"] for c in ckpt],
            "journal_rows": [c["journal_rows"] for c in ckpt],
            "checkpoint_seconds": [round(c["checkpoint_seconds"], 3) for c in ckpt],
        },
        "fresh_process": {
            "p99": median([c["fresh_p99"] for c in ckpt]),
            "max": max(c["fresh_max"] for c in ckpt),
            "journal_rows": [c["fresh_journal_rows"] for c in ckpt],
            "rows_left": [c["fresh_rows_left"] for c in ckpt],
        },
    }
    memory = extra["memory"]
    if memory:
        ours, redis = memory["ours"], memory["upstream"]
        redis_full = redis["used_memory"] / redis["keys"] * ours["keys"]
        summary["memory"] = {
            "keys": ours["keys"],
            "bits": ours["bits"],
            "redis_days_measured": redis["days"],
            "redis_keys_measured": redis["keys"],
            "redis_used_memory_measured": redis["used_memory"],
            "redis_used_memory_extrapolated": int(redis_full),
            "ours_process_bytes": ours["process_bytes"],
            "ours_roaring_bytes": ours["roaring_bytes"],
            "ours_file_bytes": ours["file_bytes"],
            "process_vs_redis": ours["process_bytes"] / redis_full,
            "file_vs_redis": ours["file_bytes"] / redis_full,
        }
    return summary


def print_summary(summary: dict) -> None:
    p99 = summary["mark_event_p99"]
    during = summary["during_checkpoint"]
    print()
    p50 = summary["mark_event_p50"]
    print(
        f"mark_event per call (durable default, no checkpoint): p50 ours "
        f"{format_seconds(p50['ours'])}, upstream {format_seconds(p50['upstream'])} "
        f"({p50['upstream'] / p50['ours']:.2f}x); p99 ours {format_seconds(p99['ours'])}, "
        f"upstream {format_seconds(p99['upstream'])}"
    )
    print(
        f"mark_event during a full checkpoint of {during['journal_rows']} journal rows "
        f"(took {during['checkpoint_seconds']} s): median {format_seconds(during['median'])}, "
        f"p99 {format_seconds(during['p99'])}, max {format_seconds(during['max'])} "
        f"({during['marks']} marks)"
    )
    fresh = summary["fresh_process"]
    print(
        f"mark_event in a process that just opened the store, its writes taking the automatic "
        f"checkpoint's steps over {fresh['journal_rows']} journal rows (left after: "
        f"{fresh['rows_left']}): p99 {format_seconds(fresh['p99'])}, "
        f"max {format_seconds(fresh['max'])}"
    )
    memory = summary.get("memory")
    if memory:
        mb = 1 << 20
        print(
            f"memory, sparse dataset ({memory['keys']} keys, {memory['bits']} bits): "
            f"ours process {memory['ours_process_bytes'] / mb:.1f} MB "
            f"(roaring {memory['ours_roaring_bytes'] / mb:.1f} MB), "
            f"file {memory['ours_file_bytes'] / mb:.1f} MB; "
            f"Redis used_memory {memory['redis_used_memory_extrapolated'] / mb:.0f} MB "
            f"(measured {memory['redis_used_memory_measured'] / mb:.0f} MB for "
            f"{memory['redis_days_measured']} days / {memory['redis_keys_measured']} keys, "
            f"extrapolated per key)"
        )
        print(
            f"  process/Redis = 1/{1 / memory['process_vs_redis']:.0f} (goal <= 1/50), "
            f"file/Redis = 1/{1 / memory['file_vs_redis']:.0f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--redis-appendfsync",
        choices=["everysec", "always"],
        help="give upstream's redis-server an AOF with this fsync policy (default: none)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(TIMED),
        help="run only this timed benchmark (repeatable; skips the checkpoint and memory tests)",
    )
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    rows, meta, extra = run(
        config,
        rounds=args.rounds or config["rounds"],
        appendfsync=args.redis_appendfsync,
        only=args.only,
    )
    if args.only:
        report(rows, meta, as_json=args.json)
        return 0
    summary = summarize(extra)
    if args.json:
        meta = {**meta, "summary": summary}
        report(rows, meta, as_json=True)
        return 0
    report(rows, meta, as_json=False)
    print_summary(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
