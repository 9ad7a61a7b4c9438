"""bitmapist-server against redis-server at data scale, same run: load, memory, disk, reads.

    python benchmarks/server_datasets.py [--quick] [--json] [--datasets sparse40,dense]
                                         [--days N] [--scale F] [--redis-days N]
                                         [--server-flags "..."] [--load-only]

Data sets (issue 16), in bitmapist's layout: a day, a week (day // 7) and a month (day // 30)
key per day, every event marking all three:
- sparse40 / sparse90: 40 / 90 days x 20,000 ids a day drawn from a population of
  1,000,000 ids spread over [0, 2**31);
- dense: 90 days x 10,000 ids a day drawn from [0, 100000);
- yearly: 365 days of sequential signups (1,000 a day), 15% of those signed up active daily.
`--days N` caps every data set at N days and `--scale F` multiplies the ids per day (and the
signups), for a quicker run; `--quick` is a smoke run of a few seconds. `--server-flags`
passes flags to our server (e.g. "--hot-bytes 0": keep no bitmap decoded between commands).

Per data set, each on a fresh server of each kind:
- load: events/s through pipelined SETBITs over RESP, the same client code for both servers
  (a window of two batches in flight);
- memory: our RSS idle, after the load, after SAVE (a checkpoint's fold), its peak until
  then (VmHWM: the load, the reads and the SAVE), after a cold
  restart, after the restart plus a BITCOUNT of every key (data is decoded on demand; a
  stored bitmap is counted from its header), then a GETBIT of every key (decoded while
  `--hot-bytes` has room, else tested packed);
  Redis's used_memory and RSS after the load.
  Redis cannot hold the sparse sets (a key holding an id near 2**31 is a 256 MiB string: 90 days
  is ~26.5 GiB): it loads only the first `--redis-days` days and its memory is projected per
  key to the full key count (printed as "projected");
- disk: our database file plus WAL after SAVE, against the keys' serialized roaring size;
- reads of the last month key (not on the sparse sets, where Redis holds only a subset): medians
  of GET, GETRANGE (4 KiB from the middle), BITCOUNT, BITOP OR of the months, as ratios
  ours/redis time (lower is better, printed `<ratio>x`), each next to PING in the same
  interleaved rounds (each server's floor; "minus PING" is what the read adds), through
  redis-py and a raw socket, and each server's CPU time per request, with the PING of a
  do-nothing asyncio server on our event loop (benchmarks/_roundtrips.py). The goal is judged
  on redis-py's medians.
Goals (issue 16) are marked met / NOT MET.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from _common import process_status_bytes  # noqa: E402
from _roundtrips import floor_server, format_reads, measure_reads  # noqa: E402
from pyroaring import BitMap  # noqa: E402

from tests.bitmapist_server import BitmapistServerProcess  # noqa: E402
from tests.servers import RedisServer  # noqa: E402

MIB = 1024 * 1024
ALL = ("sparse40", "sparse90", "dense", "yearly")
BATCH = 4000  # SETBITs per pipelined batch
SPARSE_SPACE = 2**31
SPARSE_POPULATION = 1_000_000
SPARSE_RSS_GOAL = 56 * MIB  # 1/4 of the Go server's 225 MiB on sparse90

Day = tuple[int, list[int]]  # (day index, ids active that day, in arrival order)


# --- data sets: generators of (day, ids), so that no set is held whole


def sparse(days: int, per_day: int) -> Callable[[], Iterator[Day]]:
    def gen() -> Iterator[Day]:
        rng = random.Random(6)
        population = rng.sample(range(SPARSE_SPACE), SPARSE_POPULATION)
        for day in range(days):
            yield day, rng.sample(population, per_day)

    return gen


def dense(days: int, per_day: int) -> Callable[[], Iterator[Day]]:
    def gen() -> Iterator[Day]:
        rng = random.Random(1)
        for day in range(days):
            yield day, rng.sample(range(100_000), per_day)

    return gen


def yearly(days: int, signups: int) -> Callable[[], Iterator[Day]]:
    def gen() -> Iterator[Day]:
        rng = random.Random(2)
        for day in range(days):
            signed_up = (day + 1) * signups
            yield day, rng.sample(range(signed_up), signed_up * 15 // 100)

    return gen


def datasets(args: argparse.Namespace) -> dict[str, Callable[[], Iterator[Day]]]:
    def days(full: int) -> int:
        return min(full, args.days) if args.days else full

    def n(full: int) -> int:
        return max(1, int(full * args.scale))

    return {
        "sparse40": sparse(days(40), n(20_000)),
        "sparse90": sparse(days(90), n(20_000)),
        "dense": dense(days(90), n(10_000)),
        "yearly": yearly(days(365), n(1_000)),
    }


def key_names(day: int) -> tuple[bytes, bytes, bytes]:
    return (b"d%d" % day, b"w%d" % (day // 7), b"m%d" % (day // 30))


# --- loading over RESP: the same client code for both servers


def _setbits(day: int, ids: list[int]) -> Iterator[bytes]:
    heads = [b"*4\r\n$6\r\nSETBIT\r\n$%d\r\n%s\r\n" % (len(key), key) for key in key_names(day)]
    for user in ids:
        offset = b"%d" % user
        tail = b"$%d\r\n%s\r\n$1\r\n1\r\n" % (len(offset), offset)
        for head in heads:
            yield head + tail


def _read_replies(sock: socket.socket, count: int) -> None:
    """Read `count` integer replies (`:0\\r\\n` or `:1\\r\\n`, 4 bytes each), or fail."""
    want, got = count * 4, bytearray()
    while len(got) < want:
        chunk = sock.recv(want - len(got))  # not past this batch: the next one is in flight
        if not chunk:
            raise RuntimeError("server closed the connection during the load")
        got += chunk
    if got.count(b":") != count:
        raise RuntimeError(f"unexpected reply during the load: {bytes(got[:200])!r}")


def load(port: int, days: Iterator[Day]) -> dict:
    """Send every event as SETBITs of its day, week and month keys; two batches in flight."""
    sock = socket.create_connection(("127.0.0.1", port))
    events = commands = 0
    pending: list[int] = []
    start = time.perf_counter()
    for day, ids in days:
        events += len(ids)
        stream = _setbits(day, ids)
        while batch := [cmd for _, cmd in zip(range(BATCH), stream)]:
            sock.sendall(b"".join(batch))
            commands += len(batch)
            pending.append(len(batch))
            if len(pending) > 1:
                _read_replies(sock, pending.pop(0))
    for count in pending:
        _read_replies(sock, count)
    seconds = time.perf_counter() - start
    sock.close()
    return {"events": events, "setbits": commands, "seconds": seconds, "events_s": events / seconds}


def bitmaps(days: Iterator[Day]) -> dict[bytes, BitMap]:
    keys: dict[bytes, BitMap] = {}
    for day, ids in days:
        for key in key_names(day):
            keys.setdefault(key, BitMap()).update(ids)
    return keys


# --- measuring


def rss(pid: int) -> int:
    """The process's RSS now."""
    return process_status_bytes(pid)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process `pid` has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss(pid: int) -> int:
    """The process's peak RSS so far (VmHWM)."""
    return process_status_bytes(pid, "VmHWM")


def reads(servers: dict, keys: dict[bytes, BitMap], cfg: dict) -> dict:
    """Median round trips of reads of the last month key and of PING, interleaved rounds;
    `servers`: side -> (redis-py client, port, pid). A do-nothing asyncio server on our
    server's event loop answers PING in the same rounds."""
    months = sorted((k for k in keys if k.startswith(b"m")), key=lambda k: int(k[1:]))
    month = months[-1]
    middle = (keys[month].max() // 8) // 2
    commands = {
        "GET": ("GET", month),
        "GETRANGE": ("GETRANGE", month, middle, middle + 4095),
        "BITCOUNT": ("BITCOUNT", month),
        "BITOP": ("BITOP", "OR", "dest", *months),
    }
    result: dict = {"month_bytes": keys[month].max() // 8 + 1, "load_before": os.getloadavg()}
    samples, rounds = cfg["samples"], cfg["rounds"]
    result["rounds"], result["samples"] = rounds, samples
    loop = "uvloop" if "uvloop" in cfg["server_flags"] else "asyncio"
    with floor_server(loop) as floor:
        result["latency"] = measure_reads(servers, commands, samples, rounds, floor)
    result["load_after"] = os.getloadavg()
    for client, _, _ in servers.values():
        client.delete("dest")
    return result


def _disk(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def redis_memory(client) -> dict:
    info = client.info("memory")
    return {"used_memory": info["used_memory"], "rss": info["used_memory_rss"]}


def bench_redis(tmp: Path, days: Iterator[Day], full_keys: int) -> tuple[RedisServer, dict]:
    """Load `days` into a fresh redis-server; project memory to `full_keys` keys if a subset."""
    redis_srv = RedisServer(tmp / "redis")
    client = redis_srv.client()
    idle = redis_memory(client)
    out: dict = {"load": load(redis_srv.port, days), "idle": idle}
    after = redis_memory(client)
    out.update(after)
    held = client.dbsize()
    out["keys"] = held
    if held < full_keys:  # a subset: project the memory per key to the whole data set
        out["projected"] = {
            name: idle[name] + (after[name] - idle[name]) * full_keys // held for name in after
        }
    client.close()
    return redis_srv, out


def bench_load(tmp: Path, make: Callable[[], Iterator[Day]], cfg: dict) -> dict:
    """`--load-only`: our server's load alone, with its CPU time per event (the cost of a
    write path, e.g. with keys being written that do not fit `--hot-bytes`)."""
    flags = ("--checkpoint-interval", "0", *cfg["server_flags"])
    ours = BitmapistServerProcess(tmp / "ours", *flags)
    try:
        pid = ours.process.pid
        out: dict = {"rss_idle": rss(pid)}
        cpu = cpu_seconds(pid)
        out["load"] = load(ours.port, make())
        out["cpu_us_per_event"] = (cpu_seconds(pid) - cpu) / out["load"]["events"] * 1e6
        out["rss_after_load"] = rss(pid)
        out["rss_peak"] = peak_rss(pid)
        return out
    finally:
        ours.stop()


def bench_dataset(tmp: Path, make: Callable[[], Iterator[Day]], cfg: dict) -> dict:
    keys = bitmaps(make())
    serialized = sum(len(bits.serialize()) for bits in keys.values())
    flags = ("--checkpoint-interval", "0", *cfg["server_flags"])
    ours = BitmapistServerProcess(tmp / "ours", *flags)
    try:
        out: dict = {"keys": len(keys), "serialized_bytes": serialized}
        out["rss_idle"] = rss(ours.process.pid)
        out["load"] = load(ours.port, make())
        out["rss_after_load"] = rss(ours.process.pid)
        sparse_set = max(bits.max() for bits in keys.values()) >= 2**27
        days = islice(make(), cfg["redis_days"]) if sparse_set else make()
        redis_srv, out["redis"] = bench_redis(tmp, days, len(keys))
        try:
            if not sparse_set:
                servers = {
                    "redis": (redis_srv.client(), redis_srv.port, redis_srv.process.pid),
                    "ours": (ours.client(), ours.port, ours.process.pid),
                }
                out["reads"] = reads(servers, keys, cfg)
                for client, _, _ in servers.values():
                    client.close()
        finally:
            redis_srv.stop()
        client = ours.client()
        client.save()
        client.close()
        out["rss_after_save"] = rss(ours.process.pid)  # a checkpoint's fold included
        out["rss_peak"] = peak_rss(ours.process.pid)  # load, reads and SAVE
        out["disk_bytes"] = _disk(Path(ours.db_path))
        out["file_bytes"] = Path(ours.db_path).stat().st_size
        ours.terminate()  # a cold restart: the data is on disk, decoded on demand
        ours.start()
        out["rss_after_restart"] = rss(ours.process.pid)
        client = ours.client()
        wrong = [key for key in keys if client.bitcount(key) != len(keys[key])]
        out["rss_after_reading_all"] = rss(ours.process.pid)
        # GETBIT decodes each key while the hot budget has room (else tests it packed;
        # BITCOUNT reads a stored bitmap's count from its header)
        wrong += [key for key in keys if client.getbit(key, keys[key].max()) != 1]
        out["rss_after_decoding_all"] = rss(ours.process.pid)
        client.close()
        if wrong:
            raise RuntimeError(f"BITCOUNT after the restart differs on {wrong[:5]}")
        return out
    finally:
        ours.stop()


# --- goals and output


def goals(name: str, row: dict) -> dict[str, bool]:
    """Issue 16's goals that apply to this data set: description -> met."""
    met = {"disk after SAVE <= 2x serialized": row["disk_bytes"] <= 2 * row["serialized_bytes"]}
    if name == "sparse90":
        met["RSS after load <= 56 MiB"] = row["rss_after_load"] <= SPARSE_RSS_GOAL
        met["peak RSS (load, SAVE) <= 56 MiB"] = row["rss_peak"] <= SPARSE_RSS_GOAL
        met["RSS after cold restart <= 56 MiB"] = row["rss_after_restart"] <= SPARSE_RSS_GOAL
        met["RSS after restart + reading every key <= 56 MiB"] = (
            row["rss_after_reading_all"] <= SPARSE_RSS_GOAL
        )
        met["RSS after decoding every key too <= 56 MiB"] = (
            row["rss_after_decoding_all"] <= SPARSE_RSS_GOAL
        )
    if name == "dense":
        met["RSS after load - idle <= Redis used_memory"] = (
            row["rss_after_load"] - row["rss_idle"] <= row["redis"]["used_memory"]
        )
    if "reads" in row and name in ("dense", "yearly"):
        for label in ("GET", "GETRANGE"):
            met[f"{label} <= 2x Redis"] = row["reads"]["latency"][label]["redis-py"]["ratio"] <= 2
    return met


def print_dataset(name: str, row: dict) -> None:
    ours, red = row, row["redis"]
    print(f"\n{name}: {row['keys']} keys")
    subset = f" (first {red['keys']} keys only)" if "projected" in red else ""
    print(
        f"  load (SETBIT pipelined over RESP): ours {ours['load']['events_s']:,.0f} events/s, "
        f"redis {red['load']['events_s']:,.0f} events/s{subset}; "
        f"{ours['load']['events']:,} events, {ours['load']['setbits']:,} SETBITs"
    )
    print(
        f"  ours RSS: idle {ours['rss_idle'] / MIB:.1f} MiB, after load "
        f"{ours['rss_after_load'] / MIB:.1f} MiB, after SAVE {ours['rss_after_save'] / MIB:.1f}"
        f" MiB, after a cold restart {ours['rss_after_restart'] / MIB:.1f} MiB, after "
        f"BITCOUNT of every key {ours['rss_after_reading_all'] / MIB:.1f} MiB, then GETBIT of "
        f"every key (decoded) {ours['rss_after_decoding_all'] / MIB:.1f} MiB; peak before the "
        f"restart {ours['rss_peak'] / MIB:.1f} MiB"
    )
    mem = red.get("projected", red)
    label = "projected to every key" if "projected" in red else "after load"
    print(
        f"  redis {label}: used_memory {mem['used_memory'] / MIB:,.1f} MiB, "
        f"RSS {mem['rss'] / MIB:,.1f} MiB"
    )
    print(
        f"  disk after SAVE {row['disk_bytes'] / MIB:.2f} MiB (file {row['file_bytes'] / MIB:.2f}"
        f" MiB, the rest WAL); serialized {row['serialized_bytes'] / MIB:.2f} MiB "
        f"({row['disk_bytes'] / row['serialized_bytes']:.2f}x)"
    )
    if "reads" in row:
        reads_ = row["reads"]
        load = "/".join(f"{x:.1f}" for x in reads_["load_before"] + reads_["load_after"][:1])
        print(
            f"  reads of the last month key ({reads_['month_bytes']:,} bytes), ours/redis time;"
            f" medians of {reads_['rounds']} interleaved rounds of {reads_['samples']}; load "
            f"average (1/5/15 min before, 1 min after) {load}:"
        )
        print("\n".join(format_reads(reads_["latency"], indent="    ")))
    else:
        print("  reads: not compared (redis holds only a subset of this data set)")
    for goal, met in goals(name, row).items():
        print(f"  goal {goal}: {'met' if met else 'NOT MET'}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run (seconds)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--datasets", default=",".join(ALL), help=f"any of {','.join(ALL)}")
    parser.add_argument("--days", type=int, default=0, help="cap every data set at N days")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the ids per day")
    parser.add_argument(
        "--redis-days", type=int, default=2, help="days of a sparse set redis loads (256 MiB/key)"
    )
    parser.add_argument("--samples", type=int, default=100, help="round trips per read median")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of reads")
    parser.add_argument(
        "--server-flags", default="", help='more flags for our server, e.g. "--hot-bytes 0"'
    )
    parser.add_argument(
        "--load-only",
        action="store_true",
        help="only load our server: events/s, its CPU time per event, RSS (no Redis, no reads)",
    )
    args = parser.parse_args()
    if args.quick:
        args.days, args.scale = args.days or 3, min(args.scale, 0.02)
        args.redis_days, args.samples, args.rounds = 1, 5, 1
    unknown = set(args.datasets.split(",")) - set(ALL)
    if unknown:
        parser.error(f"unknown data set(s) {sorted(unknown)}; choose from {list(ALL)}")
    return args


def main() -> None:
    args = parse_args()
    cfg = {
        "redis_days": args.redis_days,
        "samples": args.samples,
        "rounds": args.rounds,
        "server_flags": args.server_flags.split(),
    }
    makers = datasets(args)
    result: dict = {"args": vars(args), "datasets": {}}
    with tempfile.TemporaryDirectory(prefix="bitmapist-datasets-") as tmp:
        for name in args.datasets.split(","):
            if args.load_only:
                row = result["datasets"][name] = bench_load(Path(tmp) / name, makers[name], cfg)
                if not args.json:
                    print(
                        f"{name}: {row['load']['events']:,} events, "
                        f"{row['load']['events_s']:,.0f} events/s, server CPU "
                        f"{row['cpu_us_per_event']:.1f} us/event; RSS after load "
                        f"{row['rss_after_load'] / MIB:.1f} MiB, "
                        f"peak {row['rss_peak'] / MIB:.1f} MiB"
                    )
                continue
            row = bench_dataset(Path(tmp) / name, makers[name], cfg)
            row["goals"] = goals(name, row)
            result["datasets"][name] = row
            if not args.json:
                print_dataset(name, row)
                sys.stdout.flush()
    if args.json:
        print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
