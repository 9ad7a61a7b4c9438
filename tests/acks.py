"""Acknowledgements from a writer child process, for the kill -9 tests: the child writes one
line per acknowledged write to a pipe; the parent reads them, also after the kill."""

from __future__ import annotations

import os
import select


def read_acks(fd: int, wanted: int, buffer: bytearray) -> None:
    """Read ack lines from `fd` into `buffer` until `wanted` lines arrived or the child is gone."""
    while buffer.count(b"\n") < wanted:
        ready, _, _ = select.select([fd], [], [], 20)
        if not ready:
            raise AssertionError("the child stopped acknowledging writes")
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        buffer.extend(chunk)
