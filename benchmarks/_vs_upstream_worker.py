"""Worker for `vs_upstream.py`: runs benchmark chunks with whichever `bitmapist` the
interpreter running it has (upstream 3.119 in its venv, or this package).

Only the 3.x module API is used, so the same calls run on both sides; the one exception is
bulk ingestion, where each side uses its best way (`mark_events` here, pipelined
`mark_event` upstream). The driver keeps one worker per side alive and alternates them chunk
by chunk, so both meet the same machine load. Protocol, one JSON object per line:

- argv[1]: config (port, db, sizes, and `import_path` to import a patched checkout);
- stdin `{"bench": name, "chunk": i}` -> stdout `{"seconds": seconds per op}`;
- stdin `{"check": name}` -> stdout `{"check": value}`: a fingerprint of the work done
  (bits written, counts), which must be equal on both sides;
- the first line written is `{"ready": ..., "redis_py": ..., "file": ...}`.
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

bitmapist: Any = None  # imported in main(), after import_path may have moved sys.path

READ_YEAR, READ_MONTH, READ_DAY = 2026, 1, 15
BULK_NAMES = ["bulk:active", "bulk:song_played", "bulk:signup"]


def _bitmap_string(ids: set[int]) -> bytes:
    buf = bytearray(max(ids) // 8 + 1)
    for uuid in ids:
        buf[uuid >> 3] |= 0x80 >> (uuid & 7)
    return bytes(buf)


def _timed(fn, items: list) -> float:
    """Seconds per item of calling `fn` on each item."""
    start = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - start) / len(items)


class Bench:
    """A benchmark: `chunk(i)` is timed; `check()` fingerprints the work done."""

    def __init__(self, redis, cfg: dict):
        self.redis, self.cfg = redis, cfg

    def chunk(self, i: int) -> float:
        raise NotImplementedError

    def check(self) -> Any:
        return None


class MarkEvent(Bench):
    def chunk(self, i: int) -> float:
        rng = random.Random(i)
        uuids = [rng.randrange(self.cfg["id_space"]) for _ in range(self.cfg["size"])]
        return _timed(lambda uuid: bitmapist.mark_event("bench:mark", uuid), uuids)

    def check(self) -> Any:
        return len(bitmapist.MonthEvents("bench:mark"))


def _mark_with_pipeline(redis, events) -> None:
    """Upstream's best bulk path: mark_event into a pipeline executed every 10,000 events."""
    pipe = redis.pipeline(transaction=False)
    for i, (name, uuid, when) in enumerate(events, 1):
        bitmapist.mark_event(name, uuid, system=pipe, now=when, use_pipeline=False)
        if i % 10_000 == 0:
            pipe.execute()
    pipe.execute()


class Bulk(Bench):
    """Best bulk path of each side: `mark_events` if the package has it, else pipelines.

    Every chunk ingests the same events into empty keys, then deletes them.
    """

    def __init__(self, redis, cfg: dict):
        super().__init__(redis, cfg)
        rng = random.Random(2)
        start = datetime(2026, 3, 1, tzinfo=UTC)
        self.events = [
            (
                rng.choice(BULK_NAMES),
                rng.randrange(cfg["id_space"]),
                start + timedelta(seconds=rng.randrange(28 * 86400)),
            )
            for _ in range(cfg["size"])
        ]
        self.fingerprint: Any = None

    def ingest(self) -> None:
        if hasattr(bitmapist, "mark_events"):
            bitmapist.mark_events(self.events)
        else:
            _mark_with_pipeline(self.redis, self.events)

    def chunk(self, i: int) -> float:
        start = time.perf_counter()
        self.ingest()
        seconds = (time.perf_counter() - start) / len(self.events)
        keys = sorted(self.redis.keys("trackist_bulk:*"))
        self.fingerprint = [len(keys), sum(self.redis.bitcount(key) for key in keys)]
        self.redis.delete(*keys)
        return seconds

    def check(self) -> Any:
        return self.fingerprint


class BulkPipelineIdiom(Bulk):
    """The 3.x pipeline idiom on both sides: what unchanged 3.x code gets."""

    def ingest(self) -> None:
        _mark_with_pipeline(self.redis, self.events)


class MonthCount(Bench):
    def chunk(self, i: int) -> float:
        return _timed(
            lambda _: len(bitmapist.MonthEvents("read", READ_YEAR, READ_MONTH)),
            range(self.cfg["size"]),
        )

    def check(self) -> Any:
        return len(bitmapist.MonthEvents("read", READ_YEAR, READ_MONTH))


class BitOpCount(Bench):
    def __init__(self, redis, cfg: dict):
        super().__init__(redis, cfg)
        self.day = bitmapist.DayEvents("read", READ_YEAR, READ_MONTH, READ_DAY)

    def chunk(self, i: int) -> float:
        return _timed(
            lambda _: len(bitmapist.BitOpAnd(self.day, self.day)), range(self.cfg["size"])
        )

    def check(self) -> Any:
        return len(bitmapist.BitOpAnd(self.day, self.day))


class IterateDay(Bench):
    @staticmethod
    def iterate(_: Any = None) -> int:
        total = 0
        for uuid in bitmapist.DayEvents("read", READ_YEAR, READ_MONTH, READ_DAY):
            total += uuid
        return total

    def chunk(self, i: int) -> float:
        return _timed(self.iterate, range(self.cfg["size"]))

    def check(self) -> Any:
        return self.iterate()


class Contains(Bench):
    def __init__(self, redis, cfg: dict):
        super().__init__(redis, cfg)
        rng = random.Random(4)
        month = sorted(cfg["month"])
        # half members, half (most likely) not
        self.probes = [
            rng.choice(month) if i % 2 else rng.randrange(cfg["id_space"])
            for i in range(cfg["size"])
        ]

    @staticmethod
    def contains(uuid: int) -> bool:
        return uuid in bitmapist.MonthEvents("read", READ_YEAR, READ_MONTH)

    def chunk(self, i: int) -> float:
        return _timed(self.contains, self.probes)

    def check(self) -> Any:
        return sum(self.contains(uuid) for uuid in self.probes)


BENCHMARKS = {
    "mark_event": MarkEvent,
    "bulk": Bulk,
    "bulk_sparse": Bulk,  # same path, few events per key: shows how the ratio moves
    "bulk_pipeline_idiom": BulkPipelineIdiom,
    "month_count": MonthCount,
    "bitop_count": BitOpCount,
    "iterate_day": IterateDay,
    "contains": Contains,
}


def _setup_reads(redis, cfg: dict) -> set[int]:
    """A month with `month_members` ids and a day with `day_members` of them, written raw."""
    rng = random.Random(3)
    month = set(rng.sample(range(cfg["id_space"]), cfg["month_members"]))
    day = set(rng.sample(sorted(month), cfg["day_members"]))
    redis.set(f"trackist_read_{READ_YEAR}-{READ_MONTH}", _bitmap_string(month))
    redis.set(f"trackist_read_{READ_YEAR}-{READ_MONTH}-{READ_DAY}", _bitmap_string(day))
    return month


def _reply(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> None:
    global bitmapist
    cfg = json.loads(sys.argv[1])
    if cfg.get("import_path"):
        sys.path.insert(0, cfg["import_path"])  # measure a patched checkout of this package
    import redis as redis_py

    import bitmapist

    bitmapist.setup_redis("default", "127.0.0.1", cfg["port"], db=cfg["db"])
    redis = bitmapist.get_redis("default")
    redis.flushdb()
    month = _setup_reads(redis, cfg)
    benches = {
        name: BENCHMARKS[name](redis, {**cfg, **cfg["sizes"][name], "month": month})
        for name in cfg["benchmarks"]
    }
    _reply({"ready": True, "redis_py": redis_py.__version__, "file": bitmapist.__file__})
    for line in sys.stdin:
        request = json.loads(line)
        if "bench" in request:
            _reply({"seconds": benches[request["bench"]].chunk(request["chunk"])})
        elif "check" in request:
            _reply({"check": benches[request["check"]].check()})
    redis.flushdb()


if __name__ == "__main__":
    main()
