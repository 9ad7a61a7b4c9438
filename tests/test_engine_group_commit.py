"""The optional group-commit mode: writes commit together, at most a window later.

Its promise: a write is durable once `flush()` (or a checkpoint / close) returned, or once
the window has passed; a crash may lose only the writes of the open window.
"""

from __future__ import annotations

import os
import select
import signal
import time

import pytest
from pyroaring import BitMap

from bitmapist.engine import Engine, SetBits
from bitmapist.errors import InvalidInput
from bitmapist.stores.embedded import EmbeddedStore


def _wait_until(condition, what: str, timeout: float = 20.0) -> None:
    """Poll for liveness (not speed): fail only if it never happens."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never happened")
        time.sleep(0.01)


def test_writes_are_visible_at_once_here_and_to_others_after_the_commit(tmp_path):
    path = tmp_path / "group.db"
    writer = Engine(path, group_commit_ms=50)
    reader = Engine(path)
    writer.write([SetBits(b"k", [1])])
    assert writer.getbit(b"k", 1) == 1  # in memory at once
    _wait_until(lambda: reader.getbit(b"k", 1) == 1, "the timed group commit")
    writer.write([SetBits(b"k", [2])])
    writer.flush()
    assert reader.get(b"k").bits == BitMap([1, 2])
    writer.close()
    reader.close()


def test_close_and_checkpoint_commit_the_open_window(tmp_path):
    path = tmp_path / "group.db"
    with Engine(path, group_commit_ms=10_000) as writer:
        writer.write([SetBits(b"k", [1])])
        writer.checkpoint()
        writer.write([SetBits(b"k", [2])])
    with Engine(path) as reader:
        assert reader.get(b"k").bits == BitMap([1, 2])


def test_a_failing_batch_keeps_the_earlier_batches_of_its_window(tmp_path):
    path = tmp_path / "group.db"
    with Engine(path, group_commit_ms=10_000) as writer:
        writer.write([SetBits(b"kept", [1])])
        with pytest.raises(InvalidInput):
            writer.write([SetBits(b"lost", [1]), SetBits(b"lost", [2], db=99)])
        assert writer.exists(b"kept") and not writer.exists(b"lost")
        with Engine(path) as reader:
            assert reader.exists(b"kept")  # committed when the bad batch was undone
            assert not reader.exists(b"lost")


def test_bad_windows_are_refused(tmp_path):
    for bad in (0, -1, 10_001):
        with pytest.raises(InvalidInput, match="group_commit_ms"):
            Engine(tmp_path / "x.db", group_commit_ms=bad)
    store = EmbeddedStore.from_url(f"file://{tmp_path}/x.db?group_commit_ms=5")
    assert store.engine.group_commit_ms == 5
    store.close()


def _child(path: str, ack_fd: int) -> None:
    engine = Engine(path, group_commit_ms=30)
    uid = 0
    while True:
        engine.write([SetBits(b"active", [uid])])
        if uid % 10 == 9:
            engine.flush()
            os.write(ack_fd, b"%d\n" % uid)  # everything up to uid is durable now
        uid += 1


def test_a_crash_loses_nothing_that_was_flushed(tmp_path):
    path = str(tmp_path / "group-crash.db")
    flushed = -1
    for round_no in range(8):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read_fd)
                _child(path, write_fd)
            finally:
                os._exit(1)
        os.close(write_fd)
        data = b""
        while data.count(b"\n") < 3 + round_no:
            ready, _, _ = select.select([read_fd], [], [], 20)
            assert ready, "the child stopped flushing"
            data += os.read(read_fd, 4096)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        while chunk := os.read(read_fd, 4096):
            data += chunk
        os.close(read_fd)
        flushed = max(int(line) for line in data.split(b"\n")[:-1])
        with Engine(path) as engine:  # opens cleanly after every crash
            bits = engine.get(b"active").bits
            assert BitMap(range(flushed + 1)) <= bits
            engine.write([SetBits(b"active", bits, value=False)])  # the next round starts at 0
    assert flushed >= 9
