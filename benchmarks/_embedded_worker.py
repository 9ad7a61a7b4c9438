"""Worker for `embedded.py`: one round of the embedded-store benchmarks on one side.

side "upstream": bitmapist 3.119 (its venv) on redis-server; side "ours": this package on
its embedded default store (a fresh file, durable default settings). Both run the same 3.x
module-API calls; bulk ingestion uses each side's best path. Input: one JSON argument;
output: one JSON line of seconds per op and a check value per benchmark (the driver refuses
to compare sides whose checks differ).
"""

from __future__ import annotations

import gc
import json
import os
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

bitmapist = None  # imported in main(), after sys.path is set for the side
SAMPLES = 5
YEAR, MONTH = 2026, 1


def _chunks(items: list, parts: int) -> list[list]:
    size = max(1, len(items) // parts)
    return [items[i : i + size] for i in range(0, len(items), size)]


def _per_op(fn, items: list) -> float:
    """Median over SAMPLES chunks of (time to call fn on each item of the chunk) / items."""
    times = []
    for chunk in _chunks(items, SAMPLES):
        start = time.perf_counter()
        for item in chunk:
            fn(item)
        times.append((time.perf_counter() - start) / len(chunk))
    return statistics.median(times)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Side:
    """What differs between the sides: setup, bulk path, raw writes, checks."""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.name = cfg["side"]
        if self.name == "upstream":
            bitmapist.setup_redis("default", "127.0.0.1", cfg["port"])
            self.redis = bitmapist.get_redis("default")
            self.redis.flushdb()
        else:
            self.client = bitmapist.get_client()
            assert self.client.store.kind == "embedded", self.client.store

    def bulk(self, events: list) -> None:
        if self.name == "ours":
            bitmapist.mark_events(events)
            return
        pipe = self.redis.pipeline(transaction=False)
        for i, (name, uuid, when) in enumerate(events, 1):
            bitmapist.mark_event(name, uuid, system=pipe, now=when, use_pipeline=False)
            if i % 10_000 == 0:
                pipe.execute()
        pipe.execute()

    def keys(self, pattern: str) -> list[str]:
        if self.name == "ours":
            return sorted(self.client.store.scan_keys(pattern))
        return sorted(key.decode() for key in self.redis.keys(pattern))

    def bitcount(self, key: str) -> int:
        if self.name == "ours":
            from bitmapist.expressions import Key

            return self.client.store.count(Key(key))
        return self.redis.bitcount(key)

    def write_ids(self, key: str, ids: set[int]) -> None:
        if self.name == "ours":
            from bitmapist.stores.base import BitChange

            self.client.store.set_bits([BitChange(key, sorted(ids))])
            return
        buf = bytearray(max(ids) // 8 + 1)
        for uuid in ids:
            buf[uuid >> 3] |= 0x80 >> (uuid & 7)
        self.redis.set(key, bytes(buf))

    def used_memory(self) -> int:
        return int(self.redis.info("memory")["used_memory"])


def bench_mark_event(side: Side, cfg: dict) -> dict:
    rng = random.Random(1)
    uuids = [rng.randrange(cfg["id_space"]) for _ in range(cfg["mark_n"])]
    latencies: list[float] = []

    def mark(uuid: int) -> None:
        start = time.perf_counter()
        bitmapist.mark_event("bench:mark", uuid)
        latencies.append(time.perf_counter() - start)

    seconds = _per_op(mark, uuids)
    return {
        "seconds": seconds,
        "p50": _percentile(latencies, 0.5),
        "p99": _percentile(latencies, 0.99),
        "check": len(bitmapist.MonthEvents("bench:mark")),
    }


def bench_mark_event_group(side: Side, cfg: dict) -> dict:
    """mark_event with the optional group commit (10 ms window) on ours; upstream as is."""
    rng = random.Random(1)
    uuids = [rng.randrange(cfg["id_space"]) for _ in range(cfg["mark_n"])]
    system = "default"
    if side.name == "ours":
        from bitmapist import Bitmapist

        path = os.path.join(cfg["home"], "group.db")
        bitmapist.SYSTEMS["group"] = Bitmapist(f"file://{path}?group_commit_ms=10")
        system = "group"

    def mark(uuid: int) -> None:
        bitmapist.mark_event("bench:group", uuid, system=system)

    seconds = _per_op(mark, uuids)
    if side.name == "ours":
        bitmapist.SYSTEMS["group"].store.flush()
    return {"seconds": seconds, "check": len(bitmapist.MonthEvents("bench:group", system=system))}


def _bulk_events(cfg: dict) -> list:
    rng = random.Random(2)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    names = ["bulk:active", "bulk:song_played", "bulk:signup"]
    return [
        (
            rng.choice(names),
            rng.randrange(cfg["id_space"]),
            start + timedelta(seconds=rng.randrange(28 * 86400)),
        )
        for _ in range(cfg["bulk_n"])
    ]


def bench_bulk(side: Side, cfg: dict) -> dict:
    events = _bulk_events(cfg)
    gc.collect()
    start = time.perf_counter()
    side.bulk(events)
    seconds = (time.perf_counter() - start) / len(events)
    keys = side.keys("trackist_bulk:*")
    return {"seconds": seconds, "check": [len(keys), sum(side.bitcount(k) for k in keys)]}


def _setup_reads(side: Side, cfg: dict) -> None:
    rng = random.Random(3)
    month = set(rng.sample(range(cfg["id_space"]), cfg["month_members"]))
    days = [set(rng.sample(sorted(month), cfg["day_members"])) for _ in range(2)]
    side.write_ids(f"trackist_read_{YEAR}-{MONTH}", month)
    for day, ids in zip((15, 16), days):
        side.write_ids(f"trackist_read_{YEAR}-{MONTH}-{day}", ids)


def bench_month_len(side: Side, cfg: dict) -> dict:
    def count(_: int) -> int:
        return len(bitmapist.MonthEvents("read", YEAR, MONTH))

    return {"seconds": _per_op(count, list(range(cfg["reads_n"]))), "check": count(0)}


def bench_and_len(side: Side, cfg: dict) -> dict:
    def count(_: int) -> int:
        return len(
            bitmapist.BitOpAnd(
                bitmapist.DayEvents("read", YEAR, MONTH, 15),
                bitmapist.DayEvents("read", YEAR, MONTH, 16),
            )
        )

    return {"seconds": _per_op(count, list(range(cfg["reads_n"]))), "check": count(0)}


def bench_checkpoint_p99(side: Side, cfg: dict) -> dict:
    """mark_event latency while a checkpoint folds a large journal (ours only).

    The journal is filled by bulk ingestion of `ckpt_events` events, then a thread runs a
    full checkpoint while this thread marks; only marks made during it are counted.
    """
    if side.name != "ours":
        return {"seconds": 0.0, "check": None}
    engine = side.client.store.engine
    engine.checkpoint()
    rng = random.Random(5)
    start = datetime(2026, 5, 1, tzinfo=UTC)
    events = [
        (f"ckpt:e{n % 5}", rng.randrange(cfg["id_space"]), start + timedelta(days=n % 60))
        for n in range(cfg["ckpt_events"])
    ]
    for chunk in _chunks(events, 200):  # many journal rows, many keys
        bitmapist.mark_events(chunk)
    rows = engine.stats()["journal_rows"]
    done = threading.Event()
    checkpoint_seconds = []

    def run_checkpoint() -> None:
        began = time.perf_counter()
        engine.checkpoint()
        checkpoint_seconds.append(time.perf_counter() - began)
        done.set()

    thread = threading.Thread(target=run_checkpoint)
    latencies: list[float] = []
    thread.start()
    uuid = 0
    while not done.is_set():
        began = time.perf_counter()
        bitmapist.mark_event("bench:during", uuid)
        latencies.append(time.perf_counter() - began)
        uuid += 1
    thread.join()
    fresh = _fresh_process_marks(engine, events, cfg)
    return {
        "seconds": statistics.median(latencies) if latencies else 0.0,
        "p99": _percentile(latencies, 0.99) if latencies else 0.0,
        "max": max(latencies) if latencies else 0.0,
        "marks": len(latencies),
        "journal_rows": rows,
        "checkpoint_seconds": checkpoint_seconds[0],
        **fresh,
        "check": None,
    }


def _fresh_process_marks(engine, events: list, cfg: dict) -> dict:
    """mark_event latency in a process that has just opened the store (no bitmap loaded)
    while its own writes take the automatic checkpoint's steps over a full journal."""
    from bitmapist import Bitmapist
    from bitmapist.stores.embedded import EmbeddedStore

    for chunk in _chunks(events, 200):  # the journal full again
        bitmapist.get_client().mark_events(chunk, value=False)
    rows = engine.stats()["journal_rows"]
    store = EmbeddedStore(engine.path, checkpoint_rows=1_000)  # as a fresh process opens it
    client = Bitmapist(store)
    latencies: list[float] = []
    for uuid in range(cfg["mark_n"]):
        began = time.perf_counter()
        client.mark_event("bench:fresh", uuid)
        latencies.append(time.perf_counter() - began)
    left = store.engine.stats()["journal_rows"]
    store.close()
    return {
        "fresh_p99": _percentile(latencies, 0.99),
        "fresh_max": max(latencies),
        "fresh_journal_rows": rows,
        "fresh_rows_left": left,
    }


def bench_memory(side: Side, cfg: dict) -> dict:
    """The sparse dataset: `mem_days` days x `mem_per_day` users/day drawn from
    `mem_population` ids spread over [0, 2**27)."""
    rng = random.Random(6)
    population = rng.sample(range(2**27), cfg["mem_population"])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    days = cfg["mem_days"] if side.name == "ours" else cfg["mem_days_redis"]
    before = side.used_memory() if side.name == "upstream" else 0
    for day in range(days):
        when = start + timedelta(days=day)
        users = rng.sample(population, cfg["mem_per_day"])
        side.bulk([("mem:active", uuid, when) for uuid in users])
    keys = side.keys("trackist_mem:*")
    result = {"days": days, "keys": len(keys), "check": None, "seconds": 0.0}
    if side.name == "upstream":
        result["used_memory"] = side.used_memory() - before
        return result
    store = side.client.store
    store.engine.compact()  # fold the journal, free its pages, shrink the WAL
    result["file_bytes"] = store.engine.stats()["file_bytes"]
    result["bits"] = sum(side.bitcount(k) for k in keys)
    result["roaring_bytes"] = store.engine.memory_bytes()
    # Process memory of the store: a fresh interpreter opens the file and loads every bitmap.
    result.update(_measure_fresh_process(str(store.engine.path)))
    return result


_FRESH_PROCESS = """
import gc, json, resource, sys
sys.path.insert(0, sys.argv[2])
from bitmapist.engine import Engine
def rss():
    with open('/proc/self/statm') as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()
gc.collect()
before = rss()
engine = Engine(sys.argv[1])
for key in engine.keys(b'trackist_mem:*'):
    engine.bitcount(key)
gc.collect()
print(json.dumps({'process_bytes': rss() - before, 'loaded_bitmaps': engine.loaded_bitmaps}))
"""


def _measure_fresh_process(path: str) -> dict:
    import subprocess

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS, path, repo],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


BENCHMARKS = {
    "mark_event": bench_mark_event,
    "mark_event_group": bench_mark_event_group,
    "bulk": bench_bulk,
    "month_len": bench_month_len,
    "and_len": bench_and_len,
    "checkpoint_p99": bench_checkpoint_p99,
    "memory": bench_memory,
}


def main() -> None:
    global bitmapist
    cfg = json.loads(sys.argv[1])
    if cfg["side"] == "ours":
        sys.path.insert(0, cfg["repo"])
        os.environ["BITMAPIST_HOME"] = cfg["home"]  # the embedded default, in a temp dir
        os.environ.pop("BITMAPIST_URL", None)
    import bitmapist

    side = Side(cfg)
    _setup_reads(side, cfg)
    results = {name: BENCHMARKS[name](side, cfg) for name in cfg["benchmarks"]}
    print(json.dumps({"results": results, "file": bitmapist.__file__}))


if __name__ == "__main__":
    main()
