"""Worker for `vs_upstream.py`: one round of every benchmark, with whichever `bitmapist`
the interpreter running it has (upstream 3.119 in its venv, or this package).

Only the 3.x module API is used, so the same calls run on both sides; the one exception is
bulk ingestion, where each side uses its best way (`mark_events` here, pipelined
`mark_event` upstream). Input: one JSON argument (port, sizes, benchmarks); output: one
JSON line with seconds per op (median of the round's samples) and a check value per
benchmark, which the driver compares across sides to prove both did the same work.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

bitmapist = None  # imported in main(), after --ours-path may have moved sys.path

SAMPLES = 5  # timed chunks per benchmark and round
READ_YEAR, READ_MONTH, READ_DAY = 2026, 1, 15


def _chunks(items: list, parts: int) -> list[list]:
    size = max(1, len(items) // parts)
    return [items[i : i + size] for i in range(0, len(items), size)]


def _per_op(fn, args_chunks: list[list]) -> float:
    """Median over chunks of (time to call fn on every item of the chunk) / items."""
    times = []
    for chunk in args_chunks:
        start = time.perf_counter()
        for item in chunk:
            fn(item)
        times.append((time.perf_counter() - start) / len(chunk))
    return statistics.median(times)


def _bitmap_string(ids: set[int]) -> bytes:
    buf = bytearray(max(ids) // 8 + 1)
    for uuid in ids:
        buf[uuid >> 3] |= 0x80 >> (uuid & 7)
    return bytes(buf)


def bench_mark_event(redis, cfg: dict) -> dict:
    rng = random.Random(1)
    uuids = [rng.randrange(cfg["id_space"]) for _ in range(cfg["mark_n"])]

    def mark(uuid: int) -> None:
        bitmapist.mark_event("bench:mark", uuid)

    seconds = _per_op(mark, _chunks(uuids, SAMPLES))
    return {"seconds": seconds, "check": len(bitmapist.MonthEvents("bench:mark"))}


def _bulk_events(cfg: dict) -> list[tuple[str, int, datetime]]:
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


def _bulk_check(redis) -> list:
    keys = sorted(redis.keys("trackist_bulk:*"))
    return [len(keys), sum(redis.bitcount(key) for key in keys)]


def _mark_with_pipeline(redis, events) -> None:
    """Upstream's best bulk path: mark_event into a pipeline executed every 10,000 events."""
    pipe = redis.pipeline(transaction=False)
    for i, (name, uuid, when) in enumerate(events, 1):
        bitmapist.mark_event(name, uuid, system=pipe, now=when, use_pipeline=False)
        if i % 10_000 == 0:
            pipe.execute()
    pipe.execute()


def bench_bulk(redis, cfg: dict) -> dict:
    """Best bulk path of each side: `mark_events` if the package has it, else pipelines."""
    events = _bulk_events(cfg)
    start = time.perf_counter()
    if hasattr(bitmapist, "mark_events"):
        bitmapist.mark_events(events)
    else:
        _mark_with_pipeline(redis, events)
    seconds = (time.perf_counter() - start) / len(events)
    check = _bulk_check(redis)
    redis.delete(*redis.keys("trackist_bulk:*"))
    return {"seconds": seconds, "check": check}


def bench_bulk_pipeline_idiom(redis, cfg: dict) -> dict:
    """The 3.x pipeline idiom on both sides (how existing code ingests in bulk)."""
    events = _bulk_events(cfg)
    start = time.perf_counter()
    _mark_with_pipeline(redis, events)
    seconds = (time.perf_counter() - start) / len(events)
    check = _bulk_check(redis)
    redis.delete(*redis.keys("trackist_bulk:*"))
    return {"seconds": seconds, "check": check}


def _setup_reads(redis, cfg: dict) -> tuple[set[int], set[int]]:
    """A month with `month_members` ids and a day with `day_members`, written raw."""
    rng = random.Random(3)
    month = set(rng.sample(range(cfg["id_space"]), cfg["month_members"]))
    day = set(rng.sample(sorted(month), cfg["day_members"]))
    month_key = f"trackist_read_{READ_YEAR}-{READ_MONTH}"
    redis.set(month_key, _bitmap_string(month))
    redis.set(f"trackist_read_{READ_YEAR}-{READ_MONTH}-{READ_DAY}", _bitmap_string(day))
    return month, day


def bench_month_count(redis, cfg: dict) -> dict:
    def count(_: int) -> int:
        return len(bitmapist.MonthEvents("read", READ_YEAR, READ_MONTH))

    seconds = _per_op(count, _chunks(list(range(cfg["reads_n"])), SAMPLES))
    return {"seconds": seconds, "check": count(0)}


def bench_bitop_count(redis, cfg: dict) -> dict:
    day = bitmapist.DayEvents("read", READ_YEAR, READ_MONTH, READ_DAY)

    def count(_: int) -> int:
        return len(bitmapist.BitOpAnd(day, day))

    seconds = _per_op(count, _chunks(list(range(cfg["reads_n"])), SAMPLES))
    return {"seconds": seconds, "check": count(0)}


def bench_iterate_day(redis, cfg: dict) -> dict:
    def iterate(_: int) -> int:
        total = 0
        for uuid in bitmapist.DayEvents("read", READ_YEAR, READ_MONTH, READ_DAY):
            total += uuid
        return total

    seconds = _per_op(iterate, _chunks(list(range(cfg["iter_n"])), SAMPLES))
    return {"seconds": seconds, "check": iterate(0)}


def bench_contains(redis, cfg: dict) -> dict:
    rng = random.Random(4)
    month = sorted(cfg["_month"])
    # half members, half (most likely) not
    probes = [
        rng.choice(month) if i % 2 else rng.randrange(cfg["id_space"])
        for i in range(cfg["reads_n"])
    ]

    def contains(uuid: int) -> bool:
        return uuid in bitmapist.MonthEvents("read", READ_YEAR, READ_MONTH)

    seconds = _per_op(contains, _chunks(probes, SAMPLES))
    return {"seconds": seconds, "check": sum(contains(uuid) for uuid in probes)}


BENCHMARKS = {
    "mark_event": bench_mark_event,
    "bulk": bench_bulk,
    "bulk_pipeline_idiom": bench_bulk_pipeline_idiom,
    "month_count": bench_month_count,
    "bitop_count": bench_bitop_count,
    "iterate_day": bench_iterate_day,
    "contains": bench_contains,
}


def main() -> None:
    global bitmapist
    cfg = json.loads(sys.argv[1])
    if cfg.get("import_path"):
        sys.path.insert(0, cfg["import_path"])  # measure a patched checkout of this package
    import bitmapist

    bitmapist.setup_redis("default", "127.0.0.1", cfg["port"], db=cfg["db"])
    redis = bitmapist.get_redis("default")
    redis.flushdb()
    month, _ = _setup_reads(redis, cfg)
    cfg["_month"] = month
    results = {name: BENCHMARKS[name](redis, cfg) for name in cfg["benchmarks"]}
    redis.flushdb()
    import redis as redis_py

    report = {"results": results, "redis_py": redis_py.__version__, "file": bitmapist.__file__}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
