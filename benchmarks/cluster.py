"""Redis Cluster scale-out: bulk marking and cohort queries, cluster vs one redis-server.

Run from the repo root::

    python benchmarks/cluster.py            # 3 rounds, ~1-2 minutes
    python benchmarks/cluster.py --quick    # smoke run, seconds
    python benchmarks/cluster.py --json     # machine-readable

Same run, same machine: a single redis-server and a 3-master Redis Cluster (no replicas)
are started side by side. Measured, as medians over rounds:

- bulk marking throughput (events/s): upstream bitmapist 3.119 on the single server (its
  pipeline idiom, in its own venv), ours on the single server, ours on the cluster;
- a 31x13 daily cohort table (`get_dates_data`) on the same data: upstream and ours on the
  single server, ours on the cluster; and `len(BitOpAnd(day, month))`;
- per-shard figures for docs/scaling.md: bytes per user per key, cohort time per shard.

Speed ratios are `<reference time> / <time>` (higher is better). On this machine the
cluster's three masters share the same 2 cores as the client, so the cluster cannot be
faster here: its figures are inputs to the capacity plan, not a claim of speed-up.
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from _common import Row, base_parser, median, redis_server_version, report, run_json

from tests.servers import RedisCluster, RedisServer
from tests.upstream import UPSTREAM_VERSION, upstream_python

FULL = {
    "rounds": 3,
    "users": 200_000,
    "daily": 20_000,
    "days": 30,
    "chunk": 10_000,
    "shards": 24,
    "big_users": 4_000_000,
    "calls": 3_000,
}
QUICK = {
    "rounds": 1,
    "users": 20_000,
    "daily": 2_000,
    "days": 30,
    "chunk": 10_000,
    "shards": 24,
    "big_users": 400_000,
    "calls": 300,
}
FIRST_DAY = date(2026, 10, 1)

# Upstream's side, run in its venv: 3.x API only. argv[1] is a JSON config.
UPSTREAM_WORKER = r"""
import json, sys, time, redis
import bitmapist
from bitmapist import cohort
from datetime import datetime, timezone, timedelta
cfg = json.loads(sys.argv[1])
bitmapist.setup_redis("bench", "127.0.0.1", cfg["port"])
r = bitmapist.get_redis("bench")
r.flushall()
with open(cfg["marks_file"]) as f:
    marks = [(e, u, datetime.fromisoformat(w)) for e, u, w in json.load(f)]
start = time.perf_counter()
pipe = r.pipeline()
for i, (event, uid, when) in enumerate(marks, 1):
    bitmapist.mark_event(event, uid, system=pipe, now=when, use_pipeline=False)
    if i % cfg["chunk"] == 0:
        pipe.execute()
pipe.execute()
mark_seconds = time.perf_counter() - start
times = []
for _ in range(cfg["repeat"]):
    start = time.perf_counter()
    data = cohort.get_dates_data("active", "active", time_group="days", num_results=31,
                                 num_of_rows=12, start_date=cfg["start_date"], system="bench")
    times.append(time.perf_counter() - start)
table = [[row[0].isoformat(), *row[1:]] for row in data]
print(json.dumps({"mark_seconds": mark_seconds, "cohort_times": times, "check": table}))
"""


def make_marks(config: dict) -> list[tuple[str, int, datetime]]:
    """`daily` of `users` sequential ids active per day (a fixed stride pattern, so every
    round and both packages see the same marks), plus a signup day per user."""
    users, daily = config["users"], config["daily"]
    marks = []
    for d in range(config["days"]):
        day = FIRST_DAY + timedelta(days=d)
        when = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        step = users // daily
        marks += [("active", (i * step + d * 7) % users, when) for i in range(daily)]
    return marks


def ours_mark(client, marks: list, chunk: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(marks), chunk):
        client.mark_events(marks[i : i + chunk])
    return time.perf_counter() - start


def single_marks(client, calls: int) -> float:
    """Seconds per `mark_event` call, one event per call (a live web request's write)."""
    start = time.perf_counter()
    for i in range(calls):
        client.mark_event("live", i * 37, now=datetime(2026, 10, 5, 12, tzinfo=UTC))
    return (time.perf_counter() - start) / calls


def server_cpu(clients) -> float:
    """CPU seconds (user + sys) the given redis-servers have used so far, summed."""
    total = 0.0
    for client in clients:
        cpu = client.info("cpu")
        total += cpu["used_cpu_user"] + cpu["used_cpu_sys"]
    return total


def ours_cohort(client) -> tuple[float, list]:
    from bitmapist.cohort import get_dates_data

    start = time.perf_counter()
    data = get_dates_data(
        "active",
        "active",
        time_group="days",
        num_results=31,
        num_of_rows=12,
        start_date=FIRST_DAY.isoformat(),
        system=client,
    )
    seconds = time.perf_counter() - start
    return seconds, [[row[0].isoformat(), *row[1:]] for row in data]


def bitop_count_seconds(client, repeat: int = 20) -> float:
    times = []
    month = client.MonthEvents("active", FIRST_DAY.year, FIRST_DAY.month)
    for d in range(repeat):
        day = client.DayEvents.from_date("active", FIRST_DAY + timedelta(days=d % 30))
        start = time.perf_counter()
        len(client.BitOpAnd(day, month))
        times.append(time.perf_counter() - start)
    return median(times)


def big_key_seconds(store, users: int, repeat: int = 7) -> dict[str, float]:
    """Two `users`-wide keys (every 2nd / 3rd id): median seconds of a count of their AND
    (server-side work) and of fetching one as a bitmap (transfer + decoding)."""
    from pyroaring import BitMap

    from bitmapist.expressions import Key, Op
    from bitmapist.stores.base import BitChange

    a, b = Key("trackist_big_a"), Key("trackist_big_b")
    store.set_bits(
        [
            BitChange(a.name, BitMap(range(0, users, 2))),
            BitChange(b.name, BitMap(range(0, users, 3))),
        ]
    )
    both = Op("AND", (a, b), "trackist_bitop_AND_big")
    counts, fetches = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        store.count(both)
        counts.append(time.perf_counter() - start)
        start = time.perf_counter()
        store.bitmap(a)
        fetches.append(time.perf_counter() - start)
    store.delete([a.name, b.name, both.name])
    return {"and_count": median(counts), "fetch": median(fetches)}


def key_memory(store, key: str) -> int:
    """MEMORY USAGE of a logical key: its one string, or the sum of its shard strings."""
    layout = getattr(store, "layout", None)
    if layout is None:
        return store.redis.memory_usage(key, samples=0) or 0
    return sum(
        store.cluster.memory_usage(layout.physical(s, key), samples=0) or 0
        for s in range(layout.shards)
    )


def grown_key_bytes_per_user(store, users: int) -> dict[str, float]:
    """Bytes per user of a full key written two ways: one bulk merge (exact-size string)
    and one SETBIT at a time in ascending ids (Redis grows strings with preallocation)."""
    from pyroaring import BitMap

    from bitmapist.stores.base import BitChange

    store.set_bits([BitChange("trackist_mem_bulk", BitMap(range(users)))])
    store.set_bits([BitChange("trackist_mem_grown", range(i, i + 8)) for i in range(0, users, 8)])
    result = {
        "bulk": key_memory(store, "trackist_mem_bulk") / users,
        "grown": key_memory(store, "trackist_mem_grown") / users,
    }
    if hasattr(store, "compact"):
        store.compact(["trackist_mem_grown"])
        result["compacted"] = key_memory(store, "trackist_mem_grown") / users
    store.delete(["trackist_mem_bulk", "trackist_mem_grown"])
    return result


def shard_key_bytes(cluster: RedisCluster) -> dict[str, float]:
    """MEMORY USAGE of every shard key of the data set (not the layout key)."""
    total = keys = 0
    for i in cluster.master_indexes():
        node = cluster.node_client(i)
        for key in node.scan_iter(match="{bm*}trackist_active_*", count=1000):
            total += node.memory_usage(key, samples=0) or 0
            keys += 1
    return {"bytes": total, "shard_keys": keys}


def run(config: dict, *, rounds: int) -> tuple[list[Row], dict]:
    from bitmapist import Bitmapist
    from bitmapist.stores.cluster import RedisClusterStore
    from bitmapist.stores.redis import RedisStore

    marks = make_marks(config)
    upstream_cfg = {
        "chunk": config["chunk"],
        "repeat": 3,
        "start_date": FIRST_DAY.isoformat(),
    }
    samples: dict[str, list[float]] = {
        k: []
        for k in (
            "up_mark",
            "single_mark",
            "cluster_mark",
            "up_cohort",
            "single_cohort",
            "cluster_cohort",
            "single_and",
            "cluster_and",
            "single_mark_cpu",
            "cluster_mark_cpu",
            "single_one",
            "cluster_one",
            "cluster_one_cpu",
        )
    }
    tmp = Path(tempfile.mkdtemp(prefix="bitmapist-cluster-bench-"))
    single = RedisServer(tmp / "single")
    cluster = RedisCluster(tmp / "cluster", masters=3)
    python = str(upstream_python())
    marks_file = tmp / "marks.json"
    marks_file.write_text(json.dumps([(e, u, w.isoformat()) for e, u, w in marks]))
    upstream_cfg["marks_file"] = str(marks_file)
    try:
        version = redis_server_version(single)
        for _ in range(rounds):
            up = run_json(
                [
                    python,
                    "-I",
                    "-c",
                    UPSTREAM_WORKER,
                    json.dumps({**upstream_cfg, "port": single.port}),
                ]
            )
            samples["up_mark"].append(up["mark_seconds"])
            samples["up_cohort"].append(median(up["cohort_times"]))

            single.client().flushall()
            ours_single = Bitmapist(RedisStore(single.client()))
            cpu = server_cpu([single.client()])
            samples["single_mark"].append(ours_mark(ours_single, marks, config["chunk"]))
            samples["single_mark_cpu"].append(server_cpu([single.client()]) - cpu)
            cohort_s, table_single = min(ours_cohort(ours_single) for _ in range(3))
            samples["single_cohort"].append(cohort_s)
            samples["single_and"].append(bitop_count_seconds(ours_single))

            cluster.flush()
            ours_cluster = Bitmapist(RedisClusterStore(cluster.client(), shards=config["shards"]))
            masters = [cluster.node_client(i) for i in cluster.master_indexes()]
            cpu = server_cpu(masters)
            samples["cluster_mark"].append(ours_mark(ours_cluster, marks, config["chunk"]))
            samples["cluster_mark_cpu"].append(server_cpu(masters) - cpu)
            samples["single_one"].append(single_marks(ours_single, config["calls"]))
            cpu = server_cpu(masters)
            samples["cluster_one"].append(single_marks(ours_cluster, config["calls"]))
            samples["cluster_one_cpu"].append((server_cpu(masters) - cpu) / config["calls"])
            cohort_c, table_cluster = min(ours_cohort(ours_cluster) for _ in range(3))
            samples["cluster_cohort"].append(cohort_c)
            samples["cluster_and"].append(bitop_count_seconds(ours_cluster))
            if not (table_single == table_cluster == up["check"]):
                raise SystemExit("cohort tables differ between upstream, single and cluster")
        memory = shard_key_bytes(cluster)
        single_store = RedisStore(single.client())
        cluster_store = RedisClusterStore(cluster.client(), shards=config["shards"])
        big_single = big_key_seconds(single_store, config["big_users"])
        big_cluster = big_key_seconds(cluster_store, config["big_users"])
        mem_single = grown_key_bytes_per_user(single_store, config["big_users"])
        mem_cluster = grown_key_bytes_per_user(cluster_store, config["big_users"])
        days = {(w.year, w.month, w.day) for _, _, w in marks}
        weeks = {w.isocalendar()[:2] for _, _, w in marks}
        months = {(w.year, w.month) for _, _, w in marks}
        keys_per_event = len(days) + len(weeks) + len(months)
    finally:
        cluster.stop()
        single.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    n = len(marks)
    per_event = lambda key: [s / n for s in samples[key]]  # noqa: E731 - seconds per event
    rows = [
        Row(
            "bulk marking, ours single vs upstream single",
            per_event("single_mark"),
            per_event("up_mark"),
            note=f"{n} events, mark_events chunks of {config['chunk']}",
        ),
        Row(
            "bulk marking, ours cluster vs upstream single",
            per_event("cluster_mark"),
            per_event("up_mark"),
            note="expect < 1x: 3 masters + client on 2 cores",
        ),
        Row(
            "bulk marking, ours cluster vs ours single",
            per_event("cluster_mark"),
            per_event("single_mark"),
        ),
        Row(
            "mark_event (one event per call), cluster vs single",
            samples["cluster_one"],
            samples["single_one"],
        ),
        Row(
            "31x13 daily cohort, ours single vs upstream",
            samples["single_cohort"],
            samples["up_cohort"],
        ),
        Row(
            "31x13 daily cohort, ours cluster vs upstream",
            samples["cluster_cohort"],
            samples["up_cohort"],
        ),
        Row(
            "31x13 daily cohort, ours cluster vs ours single",
            samples["cluster_cohort"],
            samples["single_cohort"],
        ),
        Row(
            "len(BitOpAnd(day, month)), cluster vs single",
            samples["cluster_and"],
            samples["single_and"],
        ),
        Row(
            f"count(AND) of two {config['big_users']:,}-id keys, cluster vs single",
            [big_cluster["and_count"]],
            [big_single["and_count"]],
        ),
        Row(
            f"fetch a {config['big_users']:,}-id key as a BitMap, cluster vs single",
            [big_cluster["fetch"]],
            [big_single["fetch"]],
        ),
    ]
    big_mb = config["big_users"] / 8 / 1e6
    shards = config["shards"]
    users_per_shard = config["users"] / shards
    meta = {
        "machine": f"{platform.machine()}, python {platform.python_version()}",
        "redis-server": version,
        "upstream": f"bitmapist {UPSTREAM_VERSION} (its pipeline idiom for bulk marks)",
        "data": f"{config['users']} sequential ids, {config['daily']} active/day, "
        f"{config['days']} days; cluster: 3 masters, S={shards}",
        "events/s ours single": round(n / median(samples["single_mark"])),
        "events/s ours cluster": round(n / median(samples["cluster_mark"])),
        "events/s upstream single": round(n / median(samples["up_mark"])),
        "server CPU us per event, single / all masters": (
            f"{median(samples['single_mark_cpu']) / n * 1e6:.3f} / "
            f"{median(samples['cluster_mark_cpu']) / n * 1e6:.3f}"
        ),
        "cohort ms per shard (cluster time / S)": round(
            median(samples["cluster_cohort"]) / shards * 1000, 3
        ),
        "shard keys / bytes (MEMORY USAGE)": f"{memory['shard_keys']} / {memory['bytes']}",
        "bytes per user per logical key": round(
            memory["bytes"] / (keys_per_event * config["users"]), 4
        ),
        "users per shard": users_per_shard,
        "count(AND) ms per logical MB, single / cluster": (
            f"{big_single['and_count'] / big_mb * 1000:.3f} / "
            f"{big_cluster['and_count'] / big_mb * 1000:.3f}"
        ),
        "bytes/user of a full key, bulk-written, single / cluster": (
            f"{mem_single['bulk']:.4f} / {mem_cluster['bulk']:.4f}"
        ),
        "bytes/user of a full key, SETBIT-grown, single / cluster": (
            f"{mem_single['grown']:.4f} / {mem_cluster['grown']:.4f}"
        ),
        "bytes/user of that SETBIT-grown key after compact(), cluster": (
            f"{mem_cluster['compacted']:.4f}"
        ),
        "server CPU us per mark_event call, all masters": (
            f"{median(samples['cluster_one_cpu']) * 1e6:.1f}"
        ),
        "fetch ms per logical MB, single / cluster": (
            f"{big_single['fetch'] / big_mb * 1000:.3f} / "
            f"{big_cluster['fetch'] / big_mb * 1000:.3f}"
        ),
    }
    return rows, meta


def main() -> None:
    args = base_parser(__doc__.splitlines()[0]).parse_args()
    config = QUICK if args.quick else FULL
    rows, meta = run(config, rounds=args.rounds or config["rounds"])
    report(rows, meta, as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
