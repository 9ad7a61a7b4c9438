"""A damaged, emptied or foreign `-log`, and sequence numbers that skip or go back
(issue 17 item 9): each is `CorruptStore` naming the file and saying to restore from a
backup, never a store that opens with fewer bits. Each test here failed before its fix;
the kill -9 tests (test_embedded_durability.py) check that a crash raises none of this."""

from __future__ import annotations

import multiprocessing
import os
import struct

import pytest

from bitmapist.engine import CorruptStore, Engine, SetBits
from bitmapist.engine.fastlog import HEADER_SIZE, log_path

FORK = multiprocessing.get_context("fork")


def _write_and_die(path: str) -> None:
    """Full-path commits, then fast-path rows left in the log, then death without closing
    (as kill -9: nothing drains the log)."""
    engine = Engine(path)
    engine.write([SetBits(b"k", range(100))])  # new key: an SQLite commit
    engine.write([SetBits(b"k", [5000])])  # grows it: an SQLite commit
    for n in range(10):
        engine.write([SetBits(b"k", [n + 200])])  # fast path: the log
    assert engine.stats()["log_bytes"] > 0
    os._exit(0)


def _killed_writer(path) -> None:
    child = FORK.Process(target=_write_and_die, args=(str(path),))
    child.start()
    child.join(60)
    assert child.exitcode == 0


def test_a_killed_writers_store_reopens_with_everything(tmp_path):
    """The baseline the checks must not break: a crash is not damage."""
    path = tmp_path / "store.db"
    _killed_writer(path)
    with Engine(path) as engine:
        assert engine.bitcount(b"k") == 111


@pytest.mark.parametrize("how", ["truncated", "zeroed"])
def test_a_log_emptied_while_the_store_was_closed_is_refused(tmp_path, how):
    """It used to be taken for a new log: the 10 bits it held were silently gone."""
    path = tmp_path / "store.db"
    _killed_writer(path)
    log = log_path(path)
    if how == "truncated":
        log.write_bytes(b"")
    else:
        log.write_bytes(bytes(log.stat().st_size))
    with pytest.raises(CorruptStore, match=r"store.db-log was emptied.*backup"):
        Engine(path)
    with pytest.raises(CorruptStore):
        Engine(path, readonly=True)
    log.unlink()  # what the message says to do to accept the loss
    with Engine(path) as engine:
        assert engine.bitcount(b"k") == 101


def test_a_log_emptied_behind_a_live_process_is_refused(tmp_path):
    """Its end set back within one generation: the process used to read on as if the
    rows had never been there (and the next append overwrote nothing it knew of)."""
    path = tmp_path / "store.db"
    with Engine(path) as writer, Engine(path) as reader:
        writer.write([SetBits(b"k", range(100))])
        writer.write([SetBits(b"k", [7])])  # (already set: nothing)
        writer.write([SetBits(b"k", [50])])
        for n in range(5):
            writer.write([SetBits(b"k", [n + 200])])
        assert reader.bitcount(b"k") == 105
        with open(log_path(path), "r+b") as raw:  # as a tool that "cleans" the log would
            raw.seek(16)
            raw.write(struct.pack("<Q", HEADER_SIZE))
        with pytest.raises(CorruptStore, match=r"store.db-log was emptied or overwritten"):
            reader.bitcount(b"k")
        with pytest.raises(CorruptStore, match=r"store.db-log was emptied or overwritten"):
            writer.write([SetBits(b"k", [300])])
        writer._closed = reader._closed = True  # (closing would drain the damaged log)


def test_log_rows_after_commits_lost_from_the_wal_are_refused(tmp_path):
    """A -wal deleted behind a killed writer: the database lacks its commits, and the
    log's rows used to be applied on top as if nothing were missing."""
    path = tmp_path / "store.db"
    _killed_writer(path)
    for suffix in ("-wal", "-shm"):
        os.unlink(f"{path}{suffix}")
    with pytest.raises(CorruptStore, match=r"row \d+ but the journal ends at row 0.*backup"):
        Engine(path)


def test_another_stores_log_is_refused(tmp_path):
    path, other = tmp_path / "store.db", tmp_path / "other.db"
    _killed_writer(path)
    _killed_writer(other)
    log_path(path).write_bytes(log_path(other).read_bytes())
    with pytest.raises(CorruptStore, match=r"is not the log of .*store.db"):
        Engine(path)
