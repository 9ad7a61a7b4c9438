"""Long differential fuzzing of bitmapist-server against redis-server.

    python fuzz/fuzz_server.py --seconds 600 [--seed 1]

Starts a redis-server and a bitmapist-server (temporary directories, free ports), then
sends damaged request pipelines (see tests/test_server_fuzz.py) to both until time runs
out, stopping at the first input whose output bytes differ; it prints that input as a
Python literal. Also checks now and then that the server still answers and has kept a
sentinel key. Exit status 0: no difference found.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.bitmapist_server import BitmapistServerProcess  # noqa: E402
from tests.servers import RedisServer  # noqa: E402
from tests.test_server_fuzz import compare, redis_only_command, stream  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        redis_server = RedisServer(Path(tmp) / "redis")
        ours = BitmapistServerProcess(Path(tmp) / "ours", "--max-args", str(2**31 - 1))
        try:
            deadline = time.monotonic() + args.seconds
            cases = 0
            while time.monotonic() < deadline:
                data = stream(rng)
                expected, got = compare(redis_server.port, ours.port, data)
                cases += 1
                if got != expected and not redis_only_command(redis_server.port, got):
                    print(f"seed {seed}, case {cases}: outputs differ for input\n{data!r}")
                    print(f"redis-server:     {expected!r}\nbitmapist-server: {got!r}")
                    return 1
                if cases % 500 == 0:
                    client = ours.client()
                    client.set("sentinel", "kept")
                    assert client.get("sentinel") == b"kept"
                    client.close()
                    print(f"{cases} cases, no difference (seed {seed})", flush=True)
            print(f"done: {cases} cases in {args.seconds:.0f}s, no difference (seed {seed})")
            return 0
        finally:
            ours.stop()
            redis_server.stop()


if __name__ == "__main__":
    sys.exit(main())
