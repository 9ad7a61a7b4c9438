"""Read round trips against two servers, same run, with PING as the floor of each.

A read's round trip is the server's request path (what a PING costs: parsing, dispatch,
the event loop, the kernel's socket work), the read's own work (making the reply's bytes),
and the client's side. To tell them apart, every command is timed next to a PING in the
same interleaved rounds, through two clients: redis-py (what applications see) and a raw
socket that sends prebuilt bytes and reads back exactly the reply's length (no parsing,
so the least client time). `minus_ping` (a read's median minus PING's, per server and
client) is then what the read adds on top of that server's floor. Each server's CPU time
per request (the scheduler's count, all threads) is measured over the same round trips:
unlike a round trip, it hardly moves with the machine's load, and it is the server's own
cost. A do-nothing asyncio server (`_floor_server.py`, on our server's event loop) can
answer PING in the same rounds: the floor of any Python asyncio server, above which our own
work per request shows.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

CLIENTS = ("redis-py", "raw")


def resp_command(*args: bytes | str | int) -> bytes:
    """One command as a RESP multibulk request."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class RawClient:
    """A TCP connection that sends a prebuilt request and reads back `size` reply bytes."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray(1 << 20)
        self.view = memoryview(self.buffer)

    def reply_size(self, request: bytes) -> int:
        """The length of the reply to `request` (a bulk string, a status or an integer),
        learnt by sending it once."""
        self.sock.sendall(request)
        got = self.sock.recv_into(self.view)
        while self.buffer.find(b"\r\n", 0, got) < 0:
            got += self.sock.recv_into(self.view[got:])
        if self.buffer[0:1] != b"$":
            return got
        line = self.buffer.find(b"\r\n", 0, got) + 2
        size = line + int(self.buffer[1 : line - 2]) + 2
        while got < size:
            got += self.sock.recv_into(self.view[got:])
        return size

    def roundtrip(self, request: bytes, size: int) -> None:
        """Send `request`, wait until its `size`-byte reply has arrived."""
        self.sock.sendall(request)
        got, view, recv_into = 0, self.view, self.sock.recv_into
        while got < size:
            got += recv_into(view[got:])

    def close(self) -> None:
        self.sock.close()


@contextmanager
def floor_server(loop: str = "asyncio") -> Iterator[tuple[Any, int, int]]:
    """A running do-nothing RESP server on `loop` ("asyncio" or "uvloop"): yields
    (redis-py client, port, pid) as `measure_reads` takes them."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = Path(__file__).with_name("_floor_server.py")
    process = subprocess.Popen([sys.executable, str(script), str(port), loop])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"the floor server did not start on port {port}") from None
                time.sleep(0.05)
        client = redis.Redis(host="127.0.0.1", port=port)
        yield client, port, process.pid
        client.close()
    finally:
        process.terminate()
        process.wait()


def cpu_seconds(pid: int) -> float:
    """CPU time of process `pid` so far, all its threads: the scheduler's nanosecond count
    (/proc/<pid>/task/<tid>/schedstat), not /proc's 10 ms ticks."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as stat:
                total += int(stat.read().split()[0])
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return total / 1e9


def _median_us(call: Any, samples: int) -> float:
    times = []
    clock = time.perf_counter
    for _ in range(samples):
        start = clock()
        call()
        times.append(clock() - start)
    return statistics.median(times) * 1e6


def measure_reads(
    servers: dict[str, tuple[Any, int, int]],
    commands: dict[str, tuple],
    samples: int,
    rounds: int = 5,
    floor: tuple[Any, int, int] | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Median round trips (us) of PING and each of `commands` (label -> args) on each of
    `servers` (side -> (redis-py client, port, pid)), through each of `CLIENTS`.

    Interleaved: each round times every (command, client, side) once, `samples` round
    trips each, so PING and the reads, both servers and both clients, see the same machine
    load; the result is the median of the rounds' medians. Returns
    result[label][client] = {side: us, ..., "ratio": second side / first side,
    "minus_ping": {side: us above that side's PING}} for each client in `CLIENTS`, and
    result[label]["cpu"] = {side: server CPU us per request (median of the rounds), ...,
    "ratio": ...}. With `floor` (a `floor_server()`), it answers PING in the same rounds:
    result["PING"][client]["floor"] and result["PING"]["cpu"]["floor"]."""
    commands = {"PING": ("PING",), **commands}
    sides = {**servers, "floor": floor} if floor is not None else servers
    raws = {side: RawClient(port) for side, (_, port, _) in sides.items()}
    requests = {label: resp_command(*args) for label, args in commands.items()}
    sizes = {
        (label, side): raws[side].reply_size(requests[label])
        for label in commands
        for side in (sides if label == "PING" else servers)
    }
    times: dict[tuple[str, str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for label, args in commands.items():
            for side, (client, _, pid) in (sides if label == "PING" else servers).items():
                raw, request, size = raws[side], requests[label], sizes[label, side]
                calls = {
                    "redis-py": lambda c=client, a=args: c.execute_command(*a),
                    "raw": lambda r=raw, q=request, n=size: r.roundtrip(q, n),
                }
                before = cpu_seconds(pid)
                for kind, call in calls.items():
                    times.setdefault((label, kind, side), []).append(_median_us(call, samples))
                per_request = (cpu_seconds(pid) - before) / (len(calls) * samples) * 1e6
                cpu.setdefault((label, side), []).append(per_request)
    first, second = list(servers)
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for label in commands:
        for kind in CLIENTS:
            row: dict[str, Any] = {
                side: statistics.median(times[label, kind, side]) for side in servers
            }
            row["ratio"] = row[second] / row[first]
            result.setdefault(label, {})[kind] = row
        row = {side: statistics.median(cpu[label, side]) for side in servers}
        if floor is not None and label == "PING":
            for kind in CLIENTS:
                result[label][kind]["floor"] = statistics.median(times[label, kind, "floor"])
            row["floor"] = statistics.median(cpu[label, "floor"])
        row["ratio"] = row[second] / row[first] if row[first] else float("nan")
        result[label]["cpu"] = row
    for label in commands:
        for kind in CLIENTS:
            row, ping = result[label][kind], result["PING"][kind]
            row["minus_ping"] = {side: row[side] - ping[side] for side in servers}
    for raw in raws.values():
        raw.close()
    return result


def format_reads(result: dict[str, dict[str, dict[str, Any]]], indent: str = "  ") -> list[str]:
    """Lines per client: each command's medians, the ratio, and each side's time above its
    own PING in the same run (PING itself is the floor); then the servers' CPU per request."""
    lines = []
    for kind in CLIENTS:
        lines.append(f"{indent}round trips through {kind} (medians):")
        for label, by_client in result.items():
            row = by_client[kind]
            first, second = list(row["minus_ping"])
            line = (
                f"{indent}  {_name(label):12s} {first} {row[first]:7.1f} us  "
                f"{second} {row[second]:7.1f} us  {row['ratio']:5.2f}x"
            )
            if label != "PING":
                above = row["minus_ping"]
                line += (
                    f"   minus PING: {first} {above[first]:6.1f} us, "
                    f"{second} {above[second]:6.1f} us"
                )
            lines.append(line)
            if "floor" in row:
                lines.append(_floor_line(indent, row, first))
    lines.append(f"{indent}server CPU per request (all threads, same round trips, medians):")
    for label, by_client in result.items():
        row = by_client["cpu"]
        first, second = [side for side in row if side not in ("ratio", "floor")]
        lines.append(
            f"{indent}  {_name(label):12s} {first} {row[first]:7.1f} us  "
            f"{second} {row[second]:7.1f} us  {row['ratio']:5.2f}x"
        )
        if "floor" in row:
            lines.append(_floor_line(indent, row, first))
    return lines


def _floor_line(indent: str, row: dict[str, Any], first: str) -> str:
    return (
        f"{indent}    the same PING on a do-nothing asyncio server: {row['floor']:7.1f} us "
        f"({row['floor'] / row[first]:.2f}x {first})"
    )


def _name(label: str) -> str:
    return "PING (floor)" if label == "PING" else label
