"""bitmapist-server against redis-server, same machine, same run: memory, throughput, latency.

    python benchmarks/server.py [--quick] [--json] [--only throughput] [--server-flags "..."]

1. Memory: the sparse dataset (90 days x 20,000 users/day drawn from 1,000,000 ids spread
   over [0, 2**27), with the week and month keys bitmapist writes too). bitmapist-server
   holds all of it; its RSS is measured in a fresh process after a restart that loads
   every bitmap (the median of three restarts). redis-server gets only the first few
   days (each key costs 16 MB there) and its RSS is extrapolated per key to the full
   dataset. Goal: ours <= 1/50 of Redis.
   The package's bytecode is compiled first, as `pip install` does: a server started
   from sources without .pyc files (this checkout under PYTHONDONTWRITEBYTECODE=1)
   compiles every module at start and keeps ~1 MB more; that case is printed too, with
   the rest of the idle server's floor (python itself, with and without site, and the
   idle server's largest mappings).
2. Throughput: `redis-benchmark -P 16 -c 50` SETBIT and GETBIT, and BITCOUNT on a month
   key, against each server in interleaved rounds; medians and ratios ours/redis (goal
   >= 0.5x). SETBIT and GETBIT over 10,000 random keys too (no goal: pipelines that mix
   keys, so the server's shortcuts for runs on one key do not apply).
   String writes over 1,000 keys (`-r 1000`: INCR, SET, APPEND, SETRANGE, BITFIELD), each
   key deleted before its run (no goal: whole-value writes, each committed to SQLite).
   Every row also gives each server's CPU per request (the scheduler's count): steadier
   than requests per second when other jobs share the machine.
3. Latency: SETBIT round trips (one at a time) while another client writes steadily and
   checkpoints (BGSAVE) run back to back; p50, p99 and p99/p50 (goal <= 10x).

Data is loaded with SET of prebuilt strings (the load itself is not what is measured).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from _common import process_status_bytes as rss_bytes  # noqa: E402
from _roundtrips import cpu_seconds  # noqa: E402

from bitmapist.bitbytes import to_redis_string  # noqa: E402
from tests.bitmapist_server import BitmapistServerProcess  # noqa: E402
from tests.servers import RedisServer  # noqa: E402

FULL = {
    "days": 90,
    "redis_days": 6,
    "per_day": 20_000,
    "population": 1_000_000,
    "rounds": 3,
    "setbit_n": 300_000,
    "getbit_n": 300_000,
    "bitcount_n": 2_000,
    "string_n": 100_000,
    "latency_seconds": 8.0,
    "memory_restarts": 3,
}
QUICK = {
    "days": 10,
    "redis_days": 2,
    "per_day": 2_000,
    "population": 100_000,
    "rounds": 1,
    "setbit_n": 30_000,
    "getbit_n": 30_000,
    "bitcount_n": 200,
    "string_n": 10_000,
    "latency_seconds": 2.0,
    "memory_restarts": 1,
}
ID_SPACE = 2**27
# Offsets of the latency test: small keys, so that Redis's BGSAVE forks stay cheap too.
LATENCY_SPACE = 2**20


def interpreter_rss(*flags: str) -> int:
    """RSS of this Python doing nothing (same site-packages): the floor under any server.

    `-S` leaves out site: the .pth files of site-packages (some import a lot at start)."""
    code = "import re; print(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read())[1])"
    out = subprocess.run(
        [sys.executable, *flags, "-c", code], capture_output=True, text=True, check=True
    )
    return int(out.stdout) * 1024


def rss_by_mapping(pid: int) -> dict[str, int]:
    """Resident bytes per mapping name ([heap], [anon], a library's path...), largest first."""
    sizes: dict[str, int] = {}
    name = "[anon]"
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if re.match(r"[0-9a-f]+-[0-9a-f]+$", fields[0]):
                name = fields[5] if len(fields) > 5 else "[anon]"
            elif fields[0] == "Rss:":
                sizes[name] = sizes.get(name, 0) + int(fields[1]) * 1024
    return dict(sorted(sizes.items(), key=lambda item: -item[1]))


def compile_bytecode() -> None:
    """Write the package's .pyc files, as `pip install` does for an installed server."""
    import compileall

    compileall.compile_dir(REPO_ROOT / "bitmapist", quiet=1)


def idle_rss_from_source(tmp: Path) -> int:
    """RSS of an idle server run from a copy of the sources without .pyc files (and none
    written): it compiles every module at start, as this checkout does under
    PYTHONDONTWRITEBYTECODE=1, and the compiler's freed temporaries stay in its RSS."""
    import shutil

    import redis

    from tests.servers import free_port

    source = tmp / "source"
    shutil.copytree(
        REPO_ROOT / "bitmapist", source / "bitmapist", ignore=shutil.ignore_patterns("__pycache__")
    )
    port = free_port()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bitmapist.server.main",
            "-addr",
            f"127.0.0.1:{port}",
            "-db",
            str(source / "idle.db"),
            "--checkpoint-interval",
            "0",
        ],
        cwd=source,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client = redis.Redis(port=port, socket_timeout=2)
                client.ping()
                client.close()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the server from source did not start") from None
                time.sleep(0.05)
        return rss_bytes(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)


def dataset(cfg: dict) -> dict[str, set[int]]:
    """Keys of the sparse dataset in bitmapist's layout: day, ISO week and month keys."""
    rng = random.Random(6)
    population = rng.sample(range(ID_SPACE), cfg["population"])
    keys: dict[str, set[int]] = {}
    start = date(2026, 1, 1)
    for index in range(cfg["days"]):
        day = start + timedelta(days=index)
        users = rng.sample(population, cfg["per_day"])
        iso = day.isocalendar()
        for key in (
            f"trackist_active_{day.year}-{day.month}-{day.day}",
            f"trackist_active_W{iso[0]}-{iso[1]}",
            f"trackist_active_{day.year}-{day.month}",
        ):
            keys.setdefault(key, set()).update(users)
    return keys


def load(client, keys: dict[str, set[int]], names: list[str]) -> None:
    for name in names:
        client.set(name, to_redis_string(sorted(keys[name])))


def redis_benchmark(port: int, n: int, *command: str) -> float:
    """Requests per second reported by `redis-benchmark -P 16 -c 50 -q`."""
    return redis_benchmark_cpu(port, None, n, *command)[0]


def redis_benchmark_cpu(port: int, pid: int | None, n: int, *command: str) -> tuple[float, float]:
    """(requests per second reported by `redis-benchmark -P 16 -c 50 -q`, the CPU seconds
    process `pid` used per request meanwhile (0.0 without a pid))."""
    before = cpu_seconds(pid) if pid else 0.0
    proc = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-P", "16", "-c", "50", "-n", str(n), "-q", *command],
        capture_output=True,
        text=True,
        timeout=600,
    )
    used = cpu_seconds(pid) - before if pid else 0.0
    found = re.findall(r"([0-9.]+) requests per second", proc.stdout)
    if not found:
        raise RuntimeError(f"redis-benchmark failed: {proc.stdout[-500:]} {proc.stderr[-500:]}")
    return float(found[-1]), used / n


# String writes over 1,000 keys (`-r 1000`: key:000000000000 ... key:000000000999).
STRING_WRITES = {
    "INCR 1k keys": ("-t", "incr"),
    "SET 1k keys": ("-t", "set"),
    "APPEND 1k keys": ("APPEND", "key:__rand_int__", "x"),
    "SETRANGE 1k keys": ("SETRANGE", "key:__rand_int__", "5", "abc"),
    "BITFIELD 1k keys": ("BITFIELD", "key:__rand_int__", "INCRBY", "u8", "0", "1"),
}
STRING_KEYS = [f"key:{i:012d}" for i in range(1000)]


def bench_memory(cfg: dict, redis_srv: RedisServer, ours: BitmapistServerProcess) -> dict:
    keys = dataset(cfg)
    names = sorted(keys)
    day_names = [name for name in names if name.count("-") == 2]
    redis_days = set(sorted(day_names)[: cfg["redis_days"]])
    # Redis: a few day keys (16 MB each whatever their users), extrapolated per key.
    r = redis_srv.client()
    r.flushall()
    time.sleep(0.2)
    redis_before = rss_bytes(redis_srv.process.pid)
    load(r, keys, sorted(redis_days))
    redis_after = rss_bytes(redis_srv.process.pid)
    per_key = (redis_after - redis_before) / len(redis_days)
    redis_full = redis_before + per_key * len(names)
    r.flushall()
    r.close()
    # Ours: everything; then a restart (fresh process) that loads every bitmap.
    ours_idle = rss_bytes(ours.process.pid)  # an empty server: the interpreter and libraries
    idle_mappings = rss_by_mapping(ours.process.pid)
    client = ours.client()
    client.flushall()
    load(client, keys, names)
    client.save()
    client.close()
    ours_rss_runs = []
    for _ in range(cfg["memory_restarts"]):  # the median: RSS varies ~0.2 MB between starts
        ours.terminate()
        compile_bytecode()  # again: a source edited since the start would be compiled at start
        ours.start()
        client = ours.client()
        assert client.dbsize() == len(names)
        bits = sum(client.bitcount(name) for name in names)
        client.close()
        ours_rss_runs.append(rss_bytes(ours.process.pid))
    ours_rss = int(statistics.median(ours_rss_runs))
    # BITCOUNT leaves cold bitmaps packed; any other read decodes them (as many as
    # --hot-bytes holds: all of these). What a server that just read every key holds:
    client = ours.client()
    for name in names:
        client.getbit(name, 1)
    decoded = client.info("memory")["loaded_bitmaps"] - client.info("memory")["packed_bitmaps"]
    client.close()
    ours_rss_decoded = rss_bytes(ours.process.pid)
    from pyroaring import BitMap

    return {
        "keys": len(names),
        "bits": bits,
        "redis_keys_loaded": len(redis_days),
        "redis_rss_before": redis_before,
        "redis_bytes_per_key": int(per_key),
        "redis_rss_full_extrapolated": int(redis_full),
        "ours_rss": ours_rss,
        "ours_rss_runs": ours_rss_runs,
        "ours_rss_decoded": ours_rss_decoded,
        "decoded_bitmaps": decoded,
        "ours_idle_rss": ours_idle,
        "interpreter_rss": interpreter_rss(),
        "interpreter_rss_without_site": interpreter_rss("-S"),
        "ours_idle_rss_from_source": idle_rss_from_source(ours.workdir.parent),
        "ours_idle_mappings": {
            re.sub(r"(\.cpython-.*)?\.so.*", "", Path(name).name): size
            for name, size in list(idle_mappings.items())[:8]
        },
        # The bitmaps in CRoaring's portable format: what the data would take packed.
        "bitmaps_serialized_bytes": sum(len(BitMap(keys[name]).serialize()) for name in names),
        "ratio_redis_over_ours": redis_full / ours_rss,
        "db_file_bytes": Path(ours.db_path).stat().st_size,
        "month_key": max(name for name in names if name.count("-") == 1 and "_W" not in name),
        "_keys": keys,
    }


def bench_throughput(
    cfg: dict,
    redis_srv: RedisServer,
    ours: BitmapistServerProcess,
    month: str,
    month_bits: set[int],
) -> dict:
    value = to_redis_string(sorted(month_bits))
    for srv in (redis_srv, ours):
        client = srv.client()
        client.set(month, value)
        client.close()
    results: dict[str, dict[str, list[float]]] = {}
    tests = {
        "SETBIT": (cfg["setbit_n"], ("SETBIT", "bench", "123456", "1")),
        "GETBIT": (cfg["getbit_n"], ("GETBIT", "bench", "123456")),
        "BITCOUNT month": (cfg["bitcount_n"], ("BITCOUNT", month)),
        # No goal: 10,000 keys (`-r` fills __rand_int__ with 12 digits), so each pipeline
        # mixes keys, as bitmapist's day/week/month marks do, unlike the fixed rows above.
        # (fewer requests: the engine's per-key work makes these rows slow)
        "SETBIT 10k keys": (
            cfg["setbit_n"] // 5,
            ("-r", "10000", "SETBIT", "k:__rand_int__", "7", "1"),
        ),
        "GETBIT 10k keys": (cfg["getbit_n"] // 5, ("-r", "10000", "GETBIT", "k:__rand_int__", "7")),
    }
    for name, command in STRING_WRITES.items():
        tests[name] = (cfg["string_n"], ("-r", "1000", *command))
    cpu: dict[str, dict[str, list[float]]] = {}
    for _ in range(cfg["rounds"]):
        for name, (n, command) in tests.items():
            for side, srv in (("redis", redis_srv), ("ours", ours)):
                if name in STRING_WRITES:  # each run starts from no keys: APPEND's grow
                    client = srv.client()
                    client.delete(*STRING_KEYS)
                    client.close()
                rps, seconds = redis_benchmark_cpu(srv.port, srv.process.pid, n, *command)
                results.setdefault(name, {}).setdefault(side, []).append(rps)
                cpu.setdefault(name, {}).setdefault(side, []).append(seconds)
    out = {}
    for name, sides in results.items():
        redis_rps = statistics.median(sides["redis"])
        ours_rps = statistics.median(sides["ours"])
        # Each round runs both servers back to back: the median of those paired ratios
        # is steadier than the ratio of medians when other jobs share the machine.
        paired = statistics.median(o / r for o, r in zip(sides["ours"], sides["redis"]))
        out[name] = {
            "redis_rps": redis_rps,
            "ours_rps": ours_rps,
            "ratio": ours_rps / redis_rps,
            "paired_ratio": paired,
            "redis_cpu_us": statistics.median(cpu[name]["redis"]) * 1e6,
            "ours_cpu_us": statistics.median(cpu[name]["ours"]) * 1e6,
            "rounds": sides,
        }
    return out


def _latencies(port: int, seconds: float, trigger_saves: bool) -> list[float]:
    import redis

    stop = threading.Event()

    def steady_writer() -> None:
        client = redis.Redis(port=port)
        rng = random.Random(2)
        while not stop.is_set():
            pipe = client.pipeline(transaction=False)
            for _ in range(200):
                pipe.setbit(f"load:{rng.randrange(50)}", rng.randrange(LATENCY_SPACE), 1)
            pipe.execute()
        client.close()

    def saver() -> None:
        client = redis.Redis(port=port)
        while not stop.is_set():
            with contextlib.suppress(redis.ResponseError):  # one is already running
                client.bgsave()
            time.sleep(0.2)
        client.close()

    threads = [threading.Thread(target=steady_writer)]
    if trigger_saves:
        threads.append(threading.Thread(target=saver))
    for thread in threads:
        thread.start()
    client = redis.Redis(port=port)
    rng = random.Random(3)
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        client.setbit(f"probe:{rng.randrange(20)}", rng.randrange(LATENCY_SPACE), 1)
        samples.append(time.perf_counter() - started)
    stop.set()
    for thread in threads:
        thread.join()
    client.close()
    return samples


def bench_latency(cfg: dict, redis_srv: RedisServer, ours: BitmapistServerProcess) -> dict:
    out = {}
    for saves in (False, True):
        for side, srv in (("redis", redis_srv), ("ours", ours)):
            samples = sorted(_latencies(srv.port, cfg["latency_seconds"], trigger_saves=saves))
            p50 = samples[len(samples) // 2]
            p99 = samples[int(len(samples) * 0.99)]
            out[f"{side}, {'during BGSAVEs' if saves else 'no saves'}"] = {
                "samples": len(samples),
                "p50": p50,
                "p99": p99,
                "p99_over_p50": p99 / p50,
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run (seconds)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--only", choices=("memory", "throughput", "latency"), help="run one part only"
    )
    parser.add_argument("--rounds", type=int, help="throughput rounds (default 3, quick 1)")
    parser.add_argument(
        "--server-flags",
        default="",
        help='more flags for our server, e.g. "--event-loop asyncio"',
    )
    args = parser.parse_args()
    cfg = dict(QUICK if args.quick else FULL)
    cfg["server_flags"] = args.server_flags.split()
    if args.rounds:
        cfg["rounds"] = args.rounds
    parts = {args.only} if args.only else {"memory", "throughput", "latency"}
    compile_bytecode()  # the server as installed (see the docstring)
    memory: dict = {}
    throughput: dict = {}
    latency: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        redis_srv = RedisServer(Path(tmp) / "redis")
        ours = BitmapistServerProcess(
            Path(tmp) / "ours", "--checkpoint-interval", "0", *cfg["server_flags"]
        )
        try:
            if "memory" in parts:
                memory = bench_memory(cfg, redis_srv, ours)
                keys = memory.pop("_keys")
                month = memory["month_key"]
            if "throughput" in parts:
                if not memory:
                    keys = dataset(cfg)
                    month = max(k for k in keys if k.count("-") == 1 and "_W" not in k)
                throughput = bench_throughput(cfg, redis_srv, ours, month, keys[month])
            if "latency" in parts:
                latency = bench_latency(cfg, redis_srv, ours)
            version = redis_srv.client().info("server")["redis_version"]
        finally:
            ours.stop()
            redis_srv.stop()
    result = {
        "redis_version": version,
        "config": cfg,
        "memory": memory,
        "throughput": throughput,
        "latency": latency,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"bitmapist-server vs redis-server {version}, same machine, same run")
    if memory:
        print_memory(memory)
    if throughput:
        print(f"\nthroughput, redis-benchmark -P 16 -c 50, median of {cfg['rounds']} rounds")
        for name, row in throughput.items():
            print(
                f"  {name:16s} redis {row['redis_rps']:>10,.0f}/s  "
                f"ours {row['ours_rps']:>10,.0f}/s  ratio {row['ratio']:.3f}x, "
                f"paired per round {row['paired_ratio']:.3f}x; server CPU per request "
                f"redis {row['redis_cpu_us']:.2f} us, ours {row['ours_cpu_us']:.2f} us"
                f"{'' if 'keys' in name else ' (goal >= 0.5x)'}"
            )
    if latency:
        print("\nSETBIT latency, one at a time, during steady pipelined writes (and BGSAVEs)")
        for side, row in latency.items():
            print(
                f"  {side:22s} p50 {row['p50'] * 1e3:.3f} ms  p99 {row['p99'] * 1e3:.3f} ms  "
                f"p99/p50 {row['p99_over_p50']:.1f}x  ({row['samples']} samples)"
            )


def print_memory(memory: dict) -> None:
    mb = 1024 * 1024
    print(f"\nmemory, sparse dataset: {memory['keys']} keys, {memory['bits']} bits")
    print(
        f"  redis-server RSS, extrapolated from {memory['redis_keys_loaded']} keys "
        f"({memory['redis_bytes_per_key'] / mb:.1f} MB/key): "
        f"{memory['redis_rss_full_extrapolated'] / mb:.0f} MB"
    )
    runs = "/".join(f"{rss / mb:.1f}" for rss in memory["ours_rss_runs"])
    print(
        f"  bitmapist-server RSS (fresh process, every bitmap loaded): "
        f"{memory['ours_rss'] / mb:.1f} MB (median of {runs}); "
        f"database file {memory['db_file_bytes'] / mb:.1f} MB"
    )
    data = memory["ours_rss"] - memory["ours_idle_rss"]
    print(
        f"  of which an idle server (interpreter, libraries): "
        f"{memory['ours_idle_rss'] / mb:.1f} MB; the data: {data / mb:.1f} MB "
        f"= 1/{memory['redis_rss_full_extrapolated'] / data:.0f} of redis"
    )
    print(f"  for scale: the bitmaps serialized {memory['bitmaps_serialized_bytes'] / mb:.1f} MB")
    ratio = memory["ratio_redis_over_ours"]
    print(f"  ours = 1/{ratio:.1f} of redis (goal <= 1/50: {'ok' if ratio >= 50 else 'MISSED'})")
    decoded = memory["ours_rss_decoded"]
    print(
        f"  then a GETBIT on every key, which decodes it ({memory['decoded_bitmaps']} kept "
        f"decoded, within --hot-bytes): {decoded / mb:.1f} MB "
        f"= 1/{memory['redis_rss_full_extrapolated'] / decoded:.0f} of redis"
    )
    print("the idle server's floor (its bytecode compiled, as pip install leaves it):")
    print(
        f"  python doing nothing: {memory['interpreter_rss'] / mb:.1f} MB; without site "
        f"(-S: no .pth imports) {memory['interpreter_rss_without_site'] / mb:.1f} MB"
    )
    print(
        f"  an idle server run from sources without .pyc files: "
        f"{memory['ours_idle_rss_from_source'] / mb:.1f} MB (it compiles every module)"
    )
    largest = ", ".join(
        f"{name} {size / mb:.1f}" for name, size in memory["ours_idle_mappings"].items()
    )
    print(f"  the idle server's largest mappings (MB): {largest}")


if __name__ == "__main__":
    main()
