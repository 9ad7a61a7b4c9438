"""`FastLog`: the engine's fast write path, an append log shared through a memory map.

A durable write has to reach the operating system before it returns. An SQLite commit
does that in ~13 us here (file locks, two writes, B-tree work). Bytes copied into a file
mapped `MAP_SHARED` are in the OS page cache at once: they survive the death of the
process (kill -9) exactly as a WAL commit with `synchronous=NORMAL` does (neither
survives a power loss without an fsync). With `flock` around the append: ~2 us.

`<store>.db-log` (little-endian):

- header, 32 bytes: magic `b"BMPLOG01"`, generation (u64), end (u64: bytes in use,
  header included), the store's log id (u64; 0 in logs made before it existed), which
  the database's `meta.log_id` names, so a log emptied or swapped behind the store is
  told from a new one;
- entries from byte 32 to `end`: payload length (u32), CRC-32 of the payload (u32),
  payload = one journal row: seq (u64), db (u8), op (u8), key length (u32,
  0xFFFFFFFF for none), key, bits.

The engine keeps these rules:

- Only the fast path appends, under the exclusive lock, after applying every entry
  already there (so sequence numbers stay dense and ordered).
- Every SQLite write happens under the exclusive lock, after the log was drained into the
  SQLite journal (same rows, same sequence numbers); then the log is emptied and its
  generation bumped. A generation a process has not seen therefore means "SQLite changed".
- Readers take the shared lock to read entries.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import mmap
import os
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from ..errors import StoreError
from .format import CorruptStore

MAGIC = b"BMPLOG01"
HEADER = struct.Struct("<8sQQQ")
HEADER_SIZE = HEADER.size  # where the entries start
_STATE = struct.Struct("<QQ")  # generation, end (bytes 8..24 of the header)
_ENTRY = struct.Struct("<II")  # payload length, crc
_ROW = struct.Struct("<QBBI")  # seq, db, op, key length
_NO_KEY = 0xFFFFFFFF
CAPACITY = 1 << 20  # bytes; a full log is drained into SQLite (~10,000 marks)

Row = tuple[int, int, "bytes | None", int, bytes]  # seq, db, key, op, bits


def _allocate(fd: int, size: int) -> None:
    """Give the file `size` bytes of real disk blocks (ENOSPC raises here, not later)."""
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
        # A file system without fallocate: writing zeros allocates the blocks too.
        chunk = bytes(64 << 10)
        for offset in range(os.fstat(fd).st_size, size, len(chunk)):
            os.pwrite(fd, chunk[: size - offset], offset)


def log_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + "-log")


class FastLog:
    """The mapped log of one store file (see the module docstring). Not thread-safe: the
    engine's lock serializes its threads; `flock` serializes processes."""

    def __init__(
        self,
        path: Path,
        *,
        readonly: bool = False,
        capacity: int = CAPACITY,
        busy_timeout: float = 60.0,
    ):
        self.path = path
        self.readonly = readonly
        self.busy_timeout = busy_timeout
        flags = os.O_RDONLY if readonly else os.O_RDWR | os.O_CREAT
        self._fd = os.open(path, flags | os.O_CLOEXEC, 0o644)
        self._held: int | None = None  # the flock mode this object holds
        try:
            with self.locked(exclusive=not readonly):
                size = os.fstat(self._fd).st_size
                if not readonly and size < capacity:
                    # Real blocks, not a sparse file: writing a page through the map when
                    # the disk is full would kill the process (SIGBUS), not raise.
                    _allocate(self._fd, capacity)
                    size = capacity
                if size < HEADER_SIZE:
                    raise CorruptStore(f"{path} is truncated: {size} bytes")
                access = mmap.ACCESS_READ if readonly else mmap.ACCESS_WRITE
                self._map = mmap.mmap(self._fd, size, access=access)
                magic, generation, end, _ = HEADER.unpack_from(self._map, 0)
                if magic == b"\0" * 8 and not readonly:  # a new log
                    HEADER.pack_into(self._map, 0, MAGIC, 1, HEADER_SIZE, 0)
                elif magic != MAGIC or not HEADER_SIZE <= end <= size:
                    raise CorruptStore(f"{path} is not a bitmapist log or is damaged")
        except BaseException:
            os.close(self._fd)
            raise
        self.capacity = len(self._map)

    @contextlib.contextmanager
    def locked(self, *, exclusive: bool) -> Iterator[bool]:
        """Hold the log's lock; yields True for the outermost holder. Nested uses keep
        the outer lock (asking for exclusive inside shared is a bug, and refused)."""
        if self._held is not None:
            if exclusive and self._held != fcntl.LOCK_EX:
                raise RuntimeError("exclusive log lock asked inside a shared one")
            yield False
            return
        self.acquire(exclusive=exclusive)
        try:
            yield True
        finally:
            self.release()

    @property
    def held_exclusive(self) -> bool:
        return self._held == fcntl.LOCK_EX

    def acquire(self, *, exclusive: bool) -> None:
        """Take the lock (for a hold that spans calls, like a group-commit window),
        waiting at most `busy_timeout` seconds for other processes, as SQLite does."""
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(self._fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            deadline = time.monotonic() + self.busy_timeout
            pause = 0.0001
            while True:
                time.sleep(pause)
                pause = min(pause * 2, 0.01)
                try:
                    fcntl.flock(self._fd, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreError(
                            f"{self.path} is locked: another process has held it for more "
                            f"than {self.busy_timeout:g} s"
                        ) from None
        self._held = mode

    def release(self) -> None:
        self._held = None
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def state(self) -> tuple[int, int]:
        """(generation, end). Without the lock it is a hint, to be checked under it."""
        return _STATE.unpack_from(self._map, 8)

    @property
    def log_id(self) -> int:
        return struct.unpack_from("<Q", self._map, 24)[0]

    def set_log_id(self, log_id: int) -> None:
        """Write the store's id into the header and make the header durable (under the
        exclusive lock, once per log): the database names this id only after this
        returns, so a power loss cannot leave a database naming a log with no header."""
        struct.pack_into("<Q", self._map, 24, log_id)
        self._map.flush()
        os.fsync(self._fd)

    def rows(self, start: int, end: int) -> list[Row]:
        """The rows of the entries between byte offsets `start` and `end` (under the lock)."""
        rows, good_end = self._scan(start, end)
        if good_end != end:
            raise CorruptStore(f"{self.path}: damaged entry at byte {good_end}")
        return rows

    def repair(self) -> int:
        """Cut the log at its first damaged entry (under the exclusive lock, when the store
        opens); returns the bytes dropped.

        Killing a process cannot damage an entry (the page cache stays whole); a power
        loss can, since the log is never fsynced. As SQLite does with a WAL frame whose
        checksum fails, the log then ends before it: what follows was never durable.
        """
        _, end = self.state()
        _, good_end = self._scan(HEADER_SIZE, end)
        if good_end != end:
            struct.pack_into("<Q", self._map, 16, good_end)
        return end - good_end

    def _scan(self, start: int, end: int) -> tuple[list[Row], int]:
        """The rows of the entries from `start`, up to `end` or the first damaged entry,
        and where they stop."""
        rows: list[Row] = []
        data = self._map
        pos = start
        while pos < end:
            if pos + 8 > end:
                break
            length, crc = _ENTRY.unpack_from(data, pos)
            payload = data[pos + 8 : pos + 8 + length]
            if len(payload) != length or pos + 8 + length > end or zlib.crc32(payload) != crc:
                break
            seq, db, op, key_len = _ROW.unpack_from(payload, 0)
            at = _ROW.size
            if key_len == _NO_KEY:
                key = None
            else:
                key, at = payload[at : at + key_len], at + key_len
            rows.append((seq, db, key, op, payload[at:]))
            pos += 8 + length
        return rows, pos

    def append(self, row: Row) -> int | None:
        """Append one row (under the exclusive lock); the new end, or None when full."""
        seq, db, key, op, bits = row
        head = _ROW.pack(seq, db, op, _NO_KEY if key is None else len(key))
        payload = b"".join((head, key or b"", bits))
        _, end = self.state()
        new_end = end + 8 + len(payload)
        if new_end > self.capacity:
            return None
        data = self._map
        _ENTRY.pack_into(data, end, len(payload), zlib.crc32(payload))
        data[end + 8 : new_end] = payload
        # The entry is complete before `end` covers it: a crash in between loses only
        # this unacknowledged write.
        struct.pack_into("<Q", data, 16, new_end)
        return new_end

    def reset(self) -> tuple[int, int]:
        """Empty the log and bump its generation (under the exclusive lock, after its rows
        reached SQLite): the new (generation, end)."""
        generation, _ = self.state()
        _STATE.pack_into(self._map, 8, generation + 1, HEADER_SIZE)
        return generation + 1, HEADER_SIZE

    def close(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._map.close()
        with contextlib.suppress(OSError):
            os.close(self._fd)
