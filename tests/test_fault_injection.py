"""Fault injection across every write path of the embedded store (issue 17).

What this module keeps from coming back, with real processes and real files:

- kill -9 at random moments of each file write path (the mapped log, `durability=full`,
  group commit, and bulk `mark_events` batches small and large): everything acknowledged
  is there afterwards and the store opens cleanly;
- a full disk (the writer's files may not grow: RLIMIT_FSIZE): the failing write is a
  `StoreError`, nothing acknowledged is lost, and the store works again once there is room.

Damaged companion files and concurrent first opens have their own modules
(`test_engine_faults.py`, `test_engine_log_faults.py`, `test_truncated_store.py`,
`test_engine_open_race.py`).
"""

from __future__ import annotations

import os
import random
import resource
import signal
from datetime import datetime

import pytest

from bitmapist import Bitmapist, StoreError
from bitmapist.stores.embedded import EmbeddedStore

from .acks import read_acks

WHEN = datetime(2026, 3, 14, 12)
ROUNDS = 6
IDS_PER_ROUND = 1_000_000  # round r writes ids r * IDS_PER_ROUND + 0, 1, 2, ...

# Each write path, as the store is opened for it, and how many ids one write carries.
WRITE_PATHS = {
    "log": ({}, 1),  # the default: single marks go to the mapped log
    "full": ({"durability": "full"}, 1),  # fsync per commit, straight to SQLite
    "group": ({"group_commit_ms": 5}, 1),  # acknowledged only after flush()
    "small-batches": ({}, 37),  # mark_events: one journal row per batch
    "large-batches": ({}, 5_000),  # past 4,096 bits: the batch is split into rows
}


def _child_writes(path: str, write_path: str, round_no: int, ack_fd: int) -> None:
    """Write forever, reporting on `ack_fd` the last id of each write once it is acknowledged."""
    options, per_write = WRITE_PATHS[write_path]
    # Frequent checkpoints, so that kills also land inside them.
    store = EmbeddedStore(path, checkpoint_rows=120, **options)
    client = Bitmapist(store)
    uid = round_no * IDS_PER_ROUND
    while True:
        if per_write == 1:
            client.mark_event("active", uid, now=WHEN)
        else:
            client.mark_events([("active", i, WHEN) for i in range(uid, uid + per_write)])
        if write_path == "group":
            store.flush()  # the window is durable only once flushed
        uid += per_write
        os.write(ack_fd, b"%d\n" % (uid - 1))


def _acknowledged_ids(buffer: bytearray, round_no: int, per_write: int) -> set[int]:
    """Every id acknowledged in a round: each ack line is the last id of one write."""
    lines = buffer.split(b"\n")[:-1]
    if not lines:
        return set()
    return set(range(round_no * IDS_PER_ROUND, int(lines[-1]) + 1))


@pytest.mark.parametrize("write_path", list(WRITE_PATHS))
def test_acknowledged_writes_survive_kill_9_on_every_write_path(tmp_path, write_path):
    path = str(tmp_path / "crash.db")
    _, per_write = WRITE_PATHS[write_path]
    rng = random.Random(f"kill-9 {write_path}")
    acknowledged: set[int] = set()
    for round_no in range(ROUNDS):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            try:
                os.close(read_fd)
                _child_writes(path, write_path, round_no, write_fd)
            finally:
                os._exit(1)
        os.close(write_fd)
        buffer = bytearray()
        # Kill after a random number of acknowledged writes (0: possibly while opening).
        read_acks(read_fd, rng.choice([0, 1, rng.randrange(2, 200)]), buffer)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        read_acks(read_fd, 10**9, buffer)  # acks written before the kill still count
        os.close(read_fd)
        acknowledged |= _acknowledged_ids(buffer, round_no, per_write)
        client = Bitmapist(EmbeddedStore(path))  # opens cleanly after every crash
        day = set(client.DayEvents("active", 2026, 3, 14).bitmap())
        month = set(client.MonthEvents("active", 2026, 3).bitmap())
        client.close()
        missing = sorted(acknowledged - day)
        assert not missing, f"{len(missing)} acknowledged ids lost, e.g. {missing[:5]}"
        assert day == month  # the periods of one mark agree after recovery
    assert len(acknowledged) > ROUNDS  # the rounds did write


FILE_LIMIT = 4 << 20  # bytes any one file of the writer may grow to


def _child_fills_the_disk(path: str, ack_fd: int) -> None:
    """Mark ids until a write fails; report acks, then the failure's type and message."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
    client = Bitmapist(EmbeddedStore(path, checkpoint_rows=500))
    uid = 0
    try:
        while True:
            # spread ids, so that the data (not only the journal) grows
            client.mark_events([("active", uid * 7919 + i * 65_537, WHEN) for i in range(64)])
            os.write(ack_fd, b"%d\n" % uid)
            uid += 1
    except BaseException as exc:
        os.write(ack_fd, f"!{type(exc).__name__}: {exc}\n".encode())


def test_a_full_disk_fails_the_write_clearly_and_loses_nothing_acknowledged(tmp_path):
    path = str(tmp_path / "full.db")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            _child_fills_the_disk(path, write_fd)
        finally:
            os._exit(0)
    os.close(write_fd)
    buffer = bytearray()
    read_acks(read_fd, 10**9, buffer)  # until the child exits
    os.close(read_fd)
    os.waitpid(pid, 0)
    lines = buffer.decode().splitlines()
    failure = lines[-1]
    assert failure.startswith(f"!{StoreError.__name__}: "), failure
    acked = [int(line) for line in lines[:-1]]
    assert acked, "the child failed before any write"
    expected = {uid * 7919 + i * 65_537 for uid in acked for i in range(64)}
    # With room again, the store opens, holds every acknowledged id and takes new writes.
    client = Bitmapist(EmbeddedStore(path))
    day = set(client.DayEvents("active", 2026, 3, 14).bitmap())
    assert expected <= day, sorted(expected - day)[:5]
    client.mark_event("after", 1, now=WHEN)
    client.close()
    client = Bitmapist(EmbeddedStore(path))
    assert 1 in client.DayEvents("after", 2026, 3, 14)
    client.close()
