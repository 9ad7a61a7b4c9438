"""Crash safety and several processes on one store file, with real processes.

- kill -9: a child marks events and reports each acknowledged one; it is SIGKILLed at random
  moments (also while checkpointing); every acknowledged event must be there afterwards.
- 4 processes x 10,000 marks on one file: exact counts, and each sees the others' writes.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
from datetime import datetime

from bitmapist import Bitmapist
from bitmapist.stores.embedded import EmbeddedStore

from .acks import read_acks

WHEN = datetime(2026, 3, 14, 12)
ROUNDS = 24
IDS_PER_ROUND = 100_000  # round r marks ids r * IDS_PER_ROUND + 0, 1, 2, ...


def _child_marks(path: str, round_no: int, ack_fd: int) -> None:
    """Mark events forever, writing each id to `ack_fd` once `mark_event` returned."""
    # Frequent checkpoints so that kills also land inside them.
    client = Bitmapist(EmbeddedStore(path, checkpoint_rows=150))
    uid = round_no * IDS_PER_ROUND
    while True:
        client.mark_event("active", uid, now=WHEN)
        os.write(ack_fd, b"%d\n" % uid)
        uid += 1


def test_acknowledged_marks_survive_kill_9(tmp_path):
    path = str(tmp_path / "crash.db")
    rng = random.Random(1234)
    acknowledged: set[int] = set()
    for round_no in range(ROUNDS):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            try:
                os.close(read_fd)
                _child_marks(path, round_no, write_fd)
            finally:
                os._exit(1)
        os.close(write_fd)
        buffer = bytearray()
        # Kill after a random number of acknowledged writes (0: possibly while opening).
        read_acks(read_fd, rng.choice([0, 1, rng.randrange(2, 400)]), buffer)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        read_acks(read_fd, 10**9, buffer)  # acks written before the kill still count
        os.close(read_fd)
        acknowledged.update(int(line) for line in buffer.split(b"\n")[:-1])
        # The store opens cleanly after every crash and holds everything acknowledged.
        client = Bitmapist(EmbeddedStore(path))
        day = client.DayEvents("active", 2026, 3, 14).bitmap()
        client.close()
        assert acknowledged <= set(day), sorted(acknowledged - set(day))[:10]
    assert len(acknowledged) > ROUNDS  # the rounds did write
    client = Bitmapist(EmbeddedStore(path))
    for events in (
        client.DayEvents("active", 2026, 3, 14),
        client.WeekEvents.from_date("active", WHEN),
        client.MonthEvents("active", 2026, 3),
    ):
        assert acknowledged <= set(events.bitmap())
    client.close()


PROCESSES = 4
MARKS = 10_000


def _worker(path: str, index: int, barrier, results) -> None:
    client = Bitmapist(EmbeddedStore(path))
    base = index * MARKS
    for uid in range(base, base + MARKS):
        client.mark_event("active", uid, now=WHEN)
    client.mark_event("finished", index, now=WHEN)
    barrier.wait(timeout=120)  # everyone has written: each must now see all the writes
    results.put(
        (
            index,
            len(client.DayEvents("active", 2026, 3, 14)),
            len(client.MonthEvents("active", 2026, 3)),
            len(client.DayEvents("finished", 2026, 3, 14)),
        )
    )
    client.close()


def test_four_processes_mark_into_one_file_without_loss(tmp_path):
    path = str(tmp_path / "shared.db")
    watcher = Bitmapist(EmbeddedStore(path))  # opened before the others write
    assert len(watcher.DayEvents("active", 2026, 3, 14)) == 0
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [
        context.Process(target=_worker, args=(path, index, barrier, results))
        for index in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    seen = sorted(results.get(timeout=240) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    total = PROCESSES * MARKS
    assert seen == [(index, total, total, PROCESSES) for index in range(PROCESSES)]
    assert len(watcher.DayEvents("active", 2026, 3, 14)) == total
    assert len(watcher.WeekEvents.from_date("active", WHEN)) == total
    assert set(watcher.MonthEvents("active", 2026, 3).bitmap()) == set(range(total))
    watcher.close()
    reopened = Bitmapist(EmbeddedStore(path))
    assert len(reopened.MonthEvents("active", 2026, 3)) == total
    reopened.close()
