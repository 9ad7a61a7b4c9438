"""`bitmapist import` of a large CSV vs upstream bitmapist 3.119's best equivalent.

Run from the repo root::

    python benchmarks/cli_import.py            # 1,000,000 lines, 3 rounds
    python benchmarks/cli_import.py --quick    # 20,000 lines, smoke run
    python benchmarks/cli_import.py --json

Ours: the real command in a fresh process (`python -m bitmapist import FILE --store URL`),
timed from start to exit (interpreter start-up included), into a fresh embedded store
(`file://`) and into the same redis-server upstream uses. Upstream has no importer: its
best equivalent reads the same CSV and calls `mark_event` once per line (each call one
pipeline round trip), timed inside its process on the first `--upstream-lines` lines
(a million would take minutes). Figures are per line, so the sizes compare; the goal is
>= 200,000 lines/s into the embedded store.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import Row, base_parser, cpu_plan, pinned, redis_server, report

from tests.upstream import UPSTREAM_VERSION, run_upstream

GOAL_LINES_PER_S = 200_000
EVENTS = ("active", "song:played", "task:complete", "signup")

UPSTREAM_CODE = """
import csv, json, time
from datetime import datetime
from itertools import islice
import bitmapist
bitmapist.setup_redis("default", "127.0.0.1", {port})
started = time.perf_counter()
with open({path!r}, newline="") as f:
    for name, uid, ts in islice(csv.reader(f), {lines}):
        bitmapist.mark_event(name, int(uid), now=datetime.fromisoformat(ts))
print(json.dumps(time.perf_counter() - started))
"""


def write_csv(path: Path, lines: int, seed: int = 7) -> None:
    """`lines` events over 90 days: 4 event names, ids in [0, 500,000), ISO timestamps."""
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    span = 90 * 86400
    with path.open("w") as out:
        for _ in range(lines):
            name = EVENTS[min(3, int(rng.random() ** 2 * 4))]
            when = start + timedelta(seconds=int(rng.random() * span))
            out.write(f"{name},{rng.randrange(500_000)},{when:%Y-%m-%dT%H:%M:%SZ}\n")


def time_import(csv_path: Path, store_url: str, cpu: int | None) -> float:
    command = [
        sys.executable,
        "-m",
        "bitmapist",
        "import",
        str(csv_path),
        "--no-progress",
        "--store",
        store_url,
    ]
    started = time.perf_counter()
    done = subprocess.run(pinned(command, cpu), capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or not done.stdout.startswith("Imported "):
        raise RuntimeError(f"import failed: {done.stdout}{done.stderr}")
    return elapsed


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=None, help="CSV lines (default 1,000,000)")
    parser.add_argument(
        "--upstream-lines",
        type=int,
        default=None,
        help="lines upstream marks one by one (default 50,000)",
    )
    args = parser.parse_args()
    lines = args.lines or (20_000 if args.quick else 1_000_000)
    upstream_lines = min(lines, args.upstream_lines or (5_000 if args.quick else 50_000))
    rounds = args.rounds or (1 if args.quick else 3)
    plan = cpu_plan()

    embedded = Row("import -> embedded store, per line", goal=None)
    redis_row = Row("import -> redis, per line", goal=None)
    with (
        tempfile.TemporaryDirectory(prefix="bitmapist-import-") as tmp,
        redis_server(plan.server) as server,
    ):
        csv_path = Path(tmp) / "events.csv"
        write_csv(csv_path, lines)
        client = server.client()
        for round_number in range(rounds):
            store = Path(tmp) / f"store-{round_number}.db"
            embedded.ours.append(time_import(csv_path, f"file://{store}", plan.clients) / lines)
            client.flushall()
            redis_row.ours.append(time_import(csv_path, server.url, plan.clients) / lines)
            client.flushall()
            code = UPSTREAM_CODE.format(port=server.port, path=str(csv_path), lines=upstream_lines)
            seconds = float(run_upstream(code).strip().splitlines()[-1])
            for row in (embedded, redis_row):
                row.upstream.append(seconds / upstream_lines)
            client.flushall()
        client.close()

    rate = 1 / embedded.ours_median
    embedded.note = (
        f"{rate:,.0f} lines/s (goal >= {GOAL_LINES_PER_S:,}: "
        f"{'ok' if rate >= GOAL_LINES_PER_S else 'MISSED'}); upstream: one mark_event per "
        f"line on Redis, {1 / embedded.upstream_median:,.0f} lines/s"
    )
    redis_row.note = f"{1 / redis_row.ours_median:,.0f} lines/s into the same redis-server"
    meta = {
        "benchmark": "bitmapist import of a CSV (event, user id, ISO timestamp)",
        "lines imported by ours": f"{lines:,} (whole command, start-up included)",
        "lines marked by upstream": f"{upstream_lines:,} (mark_event per line, timed in-process)",
        "rounds": rounds,
        "upstream": f"bitmapist {UPSTREAM_VERSION} on the same redis-server",
        "cpu": plan.describe(),
    }
    report([embedded, redis_row], meta, as_json=args.json)


if __name__ == "__main__":
    main()
