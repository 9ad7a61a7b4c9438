"""bitmapist-server against redis-server, same run: reads of whole bitmaps, and disk size.

    python benchmarks/server_reads.py [--quick] [--json] [--server-flags "..."]

Data sets (bitmapist's day and month keys, loaded with SET of prebuilt strings):
- dense: 90 days x 10,000 ids/day drawn from [0, 100000);
- yearly: 365 days of sequential signups (1,000 a day), 15% of those signed up active daily.
Per data set, on the last month key: median round trip of GET, GETRANGE (4 KiB from the
middle), BITCOUNT and BITOP OR of the months (ours / redis; goal for GET and GETRANGE:
<= 2x), each next to PING measured in the same interleaved rounds (the floor of each
server's request path; "minus PING" is what the read adds), through redis-py and through a
raw socket, and each server's CPU time per request, with the PING of a do-nothing asyncio
server on the same event loop (benchmarks/_roundtrips.py). Then the
database file (plus WAL) after SAVE against the keys' serialized roaring size (goal <= 2x).
Last, GET of a bitmap holding id 2**32-1 (a 512 MB string, skipped by
--quick): its time, and the server's RSS before and at its peak while answering (the
streamed reply's memory bound, docs/server.md). RSS of both servers after the load, and
of ours after a cold restart (data on disk, loaded on demand), are printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from _common import process_status_bytes  # noqa: E402
from _roundtrips import floor_server, format_reads, measure_reads  # noqa: E402
from pyroaring import BitMap  # noqa: E402

from bitmapist.bitbytes import to_bytes  # noqa: E402
from tests.bitmapist_server import BitmapistServerProcess  # noqa: E402
from tests.resp_client import command  # noqa: E402
from tests.servers import RedisServer  # noqa: E402

FULL = {
    "dense_days": 90,
    "year_days": 365,
    "signups": 1000,
    "samples": 300,
    "rounds": 5,
    "huge": True,
}
QUICK = {
    "dense_days": 31,
    "year_days": 62,
    "signups": 200,
    "samples": 20,
    "rounds": 1,
    "huge": False,
}


def _month(day: int) -> int:
    return day // 30  # 30-day "months": the shape of bitmapist's month keys, simpler


def dense(cfg: dict) -> dict[str, BitMap]:
    rng = random.Random(1)
    keys: dict[str, BitMap] = {}
    for day in range(cfg["dense_days"]):
        users = BitMap(rng.sample(range(100_000), 10_000))
        keys[f"dense_d{day}"] = users
        keys.setdefault(f"dense_m{_month(day)}", BitMap()).update(users)
    return keys


def yearly(cfg: dict) -> dict[str, BitMap]:
    rng = random.Random(2)
    keys: dict[str, BitMap] = {}
    for day in range(cfg["year_days"]):
        signed_up = (day + 1) * cfg["signups"]
        users = BitMap(rng.sample(range(signed_up), signed_up * 15 // 100))
        keys[f"year_d{day}"] = users
        keys.setdefault(f"year_m{_month(day)}", BitMap()).update(users)
    return keys


def _disk(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def bench_dataset(name: str, keys: dict[str, BitMap], cfg: dict, redis_srv, ours) -> dict:
    clients = {"redis": redis_srv.client(), "ours": ours.client()}
    for client in clients.values():
        client.flushall()
        pipe = client.pipeline(transaction=False)
        for key, bits in keys.items():
            pipe.set(key, to_bytes(bits, bits.max() // 8 + 1))
        pipe.execute()
    months = sorted((k for k in keys if "_m" in k), key=lambda k: int(k.rsplit("m", 1)[1]))
    month = months[-1]
    middle = (keys[month].max() // 8) // 2
    commands = {
        "GET": ("GET", month),
        "GETRANGE": ("GETRANGE", month, middle, middle + 4095),
        "BITCOUNT": ("BITCOUNT", month),
        "BITOP": ("BITOP", "OR", "dest", *months),
    }
    result: dict = {"month_bytes": keys[month].max() // 8 + 1, "load_before": os.getloadavg()}
    servers = {
        "redis": (clients["redis"], redis_srv.port, redis_srv.process.pid),
        "ours": (clients["ours"], ours.port, ours.process.pid),
    }
    with floor_server(_event_loop(cfg["server_flags"])) as floor:
        result["reads"] = measure_reads(servers, commands, cfg["samples"], cfg["rounds"], floor)
    result["load_after"] = os.getloadavg()
    clients["ours"].delete("dest")
    result["rss_after_load"] = {
        "ours": _rss(ours.process.pid),
        "redis": _rss(redis_srv.process.pid),
    }
    clients["ours"].save()
    serialized = sum(len(bits.serialize()) for bits in keys.values())
    result["disk_bytes"] = _disk(Path(ours.db_path))
    result["file_bytes"] = Path(ours.db_path).stat().st_size  # without the WAL
    result["serialized_bytes"] = serialized
    result["disk_ratio"] = result["disk_bytes"] / serialized
    result["redis_used_memory"] = clients["redis"].info("memory")["used_memory"]
    ours.terminate()  # a cold restart: the data is on disk, loaded on demand
    ours.start()
    result["rss_after_restart"] = _rss(ours.process.pid)
    return result


def _event_loop(flags: list[str]) -> str:
    """The event loop our server runs with these flags (the do-nothing server runs on it too)."""
    return "uvloop" if "uvloop" in flags else "asyncio"


def _rss(pid: int) -> int:
    return process_status_bytes(pid)


def bench_huge(ours) -> dict:
    """GET of a 512 MB value (id 2**32-1): time, and the server's RSS while answering."""
    client = ours.client()
    client.flushall()
    client.setbit("huge", 2**32 - 1, 1)
    pid = ours.process.pid
    before = _rss(pid)
    peak = [before]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss(pid))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    conn = socket.create_connection(("127.0.0.1", ours.port))
    conn.sendall(command("GET", "huge") + command("PING"))
    want = len(b"$536870912\r\n") + 2**29 + len(b"\r\n+PONG\r\n")
    received, start = 0, time.perf_counter()
    while received < want:
        chunk = conn.recv(1 << 20)
        if not chunk:
            break
        received += len(chunk)
    seconds = time.perf_counter() - start
    done.set()
    watcher.join()
    conn.close()
    client.flushall()
    return {
        "seconds": seconds,
        "complete": received == want,
        "rss_before": before,
        "rss_peak": peak[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run (seconds)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--server-flags",
        default="",
        help='more flags for our server, e.g. "--event-loop asyncio"',
    )
    args = parser.parse_args()
    cfg = dict(QUICK if args.quick else FULL)
    cfg["server_flags"] = args.server_flags.split()
    result: dict = {"config": cfg, "datasets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        redis_srv = RedisServer(Path(tmp) / "redis")
        ours = BitmapistServerProcess(
            Path(tmp) / "ours", "--checkpoint-interval", "0", *cfg["server_flags"]
        )
        try:
            result["redis_version"] = redis_srv.client().info("server")["redis_version"]
            for name, make in (("dense", dense), ("yearly", yearly)):
                result["datasets"][name] = bench_dataset(name, make(cfg), cfg, redis_srv, ours)
            if cfg["huge"]:
                result["huge_get"] = bench_huge(ours)
        finally:
            ours.stop()
            redis_srv.stop()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"bitmapist-server vs redis-server {result['redis_version']}, same run")
    mib = 1024 * 1024
    for name, row in result["datasets"].items():
        load = "/".join(f"{x:.1f}" for x in row["load_before"] + row["load_after"][:1])
        print(
            f"\n{name}: last month key {row['month_bytes']:,} bytes; medians of "
            f"{cfg['rounds']} interleaved rounds of {cfg['samples']}; load average (1/5/15 "
            f"min before, 1 min after) {load}"
        )
        print("\n".join(format_reads(row["reads"])))
        print(
            f"  disk after SAVE {row['disk_bytes'] / mib:.2f} MiB "
            f"(the file {row['file_bytes'] / mib:.2f} MiB, the rest WAL), serialized "
            f"{row['serialized_bytes'] / mib:.2f} MiB ({row['disk_ratio']:.2f}x, goal <= 2x); "
            f"redis used_memory {row['redis_used_memory'] / mib:.2f} MiB"
        )
        rss = row["rss_after_load"]
        print(
            f"  RSS after load: redis {rss['redis'] / mib:.1f} MiB, ours {rss['ours'] / mib:.1f}"
            f" MiB; ours after a cold restart {row['rss_after_restart'] / mib:.1f} MiB"
        )
    huge = result.get("huge_get")
    if huge:
        print(
            f"\nGET of a 512 MB value: {huge['seconds']:.2f} s, complete: {huge['complete']}, "
            f"server RSS {huge['rss_before'] / mib:.1f} MiB before, "
            f"{huge['rss_peak'] / mib:.1f} MiB at peak"
        )


if __name__ == "__main__":
    main()
