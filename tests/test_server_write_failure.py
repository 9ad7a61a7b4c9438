"""A commit that fails (the files may not grow: RLIMIT_FSIZE on the real server process)
fails every write of its batch: pipelined SETBITs, which share their replies within a
batch, all get the error, none is acknowledged falsely, and the server goes on serving."""

from __future__ import annotations

import random
import resource

import pytest

from bitmapist.engine import Engine

from .bitmapist_server import BitmapistServerProcess
from .resp_client import RawConnection, command

LIMIT = 1 << 20  # bytes any file of the server may reach


def _replies(conn: RawConnection, count: int) -> list[bytes]:
    return [conn.reply() for _ in range(count)]


# Offsets of any size (pipelines split at every CRLF), or all of nine digits (taken whole
# as commands that differ in their offset only): two ways the server takes SETBIT runs.
@pytest.mark.parametrize("low", [0, 10**8], ids=["any-size", "one-size"])
def test_failed_commit_fails_its_setbits_and_loses_no_acknowledged_bit(tmp_path, low):
    server = BitmapistServerProcess(tmp_path, "--checkpoint-interval", "0")
    rng = random.Random(4)
    acked: set[int] = set()
    errors: list[bytes] = []
    try:
        resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (LIMIT, LIMIT))
        with RawConnection(server.port) as conn:
            for _ in range(400):
                offsets = [rng.randrange(low, 10**9) for _ in range(500)]
                conn.send(b"".join(command("SETBIT", "big", o, 1) for o in offsets))
                for offset, reply in zip(offsets, _replies(conn, len(offsets)), strict=True):
                    if reply in (b":0\r\n", b":1\r\n"):
                        acked.add(offset)
                    else:
                        errors.append(reply)
                if errors:
                    break
            assert errors, "the file size limit was never reached"
            assert all(e.startswith(b"-ERR write failed") for e in errors), errors[:3]
            # the server still answers, and reads what it acknowledged
            conn.send(command("PING"))
            assert conn.reply() == b"+PONG\r\n"
    finally:
        server.stop()
    assert acked
    with Engine(server.db_path) as engine:
        missing = [o for o in acked if not engine.getbit(b"big", o)]
    assert not missing, f"{len(missing)} acknowledged bits lost"


def test_failed_commit_fails_the_writes_that_read_its_staged_values(tmp_path):
    """APPENDs of one key in a pipeline read the value the one before staged, and share
    its commit: when it fails they all answer the error, and no reply (an APPEND's new
    length, or a non-integer error of an INCR) ever counts on a value that was lost."""
    server = BitmapistServerProcess(tmp_path, "--checkpoint-interval", "0")
    chunk = "x" * 700  # a pipeline under 16 KiB: one socket read, one turn, one batch
    committed = {"a": 0, "b": 0}  # each key's length as its acknowledged APPENDs left it
    errors: list[bytes] = []
    try:
        resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (LIMIT, LIMIT))
        with RawConnection(server.port) as conn:
            for _ in range(400):
                commands = [("APPEND", key, chunk) for key in "abab" * 4] + [("INCR", "a")]
                conn.send(b"".join(command(*args) for args in commands))
                replies = _replies(conn, len(commands))
                if replies[0].startswith(b"-"):  # the whole batch failed
                    assert [r for r in replies if not r.startswith(b"-ERR write failed")] == []
                    errors.extend(replies)
                    break
                for (_, key, _), reply in zip(commands[:-1], replies):
                    committed[key] += len(chunk)
                    assert reply == b":%d\r\n" % committed[key]
                assert replies[-1] == b"-ERR value is not an integer or out of range\r\n"
            assert errors, "the file size limit was never reached"
            for key, length in committed.items():  # the lost APPENDs are not there
                assert conn.call("STRLEN", key) == b":%d\r\n" % length
    finally:
        server.stop()
