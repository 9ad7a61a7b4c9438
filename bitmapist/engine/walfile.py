"""Whether a database file is shorter than its pages, judged with its WAL, before SQLite
opens the two (`format.check_file`).

Alone, the file must be as long as its header says. With a WAL, the file may lag its own
header (a checkpoint under way), so the WAL decides: every page of the database as of
the WAL's last commit must be in the file or in a frame of the WAL. A page in neither
means the file was truncated (a copy tool, a full disk): SQLite would read zeros there
and answer "malformed" at some later read, long after the store opened.
Formats: sqlite.org/fileformat2.html (the header) and its #walformat (big-endian).
"""

from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path
from typing import NamedTuple

_MAGICS = (0x377F0682, 0x377F0683)  # (the low bit: the checksums' byte order)
# magic, format version, page size, checkpoint sequence, salt-1, salt-2 (then 2 checksums)
_WAL_HEADER = struct.Struct(">IIIIII")
_WAL_HEADER_SIZE = 32
# page number, database size in pages after a commit (0: not a commit), salt-1, salt-2
_FRAME = struct.Struct(">IIII")
_FRAME_HEADER_SIZE = 24


class WalCommits(NamedTuple):
    """The committed frames of a WAL's current generation."""

    page_size: int
    pages: int  # the database's size in pages after the last commit
    held: set[int]  # the page numbers those commits wrote


def truncation(path: Path) -> str | None:
    """What is missing from the database file at `path` (an SQLite database with a
    complete header), or None when nothing is."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        header = file.read(100)
    wal = Path(f"{path}-wal")
    commits = committed_frames(wal)
    if commits is not None:
        missing = missing_pages(size, commits)
        if not missing:
            return None
        return (
            f"{path} is truncated: {size} bytes, and {len(missing)} of its {commits.pages} "
            f"pages (from page {missing[0]}) are in neither it nor {wal.name}. Restore it "
            "from a backup (files left untouched)"
        )
    page_size = struct.unpack_from(">H", header, 16)[0]
    page_size = 65536 if page_size == 1 else page_size
    pages = struct.unpack_from(">I", header, 28)[0]
    # (the header's size counts only when written with the change counter it matches)
    if header[24:28] == header[92:96] and size < pages * page_size:
        return (
            f"{path} is truncated: the header says {pages * page_size} bytes, the file has {size}"
        )
    return None


def committed_frames(path: Path) -> WalCommits | None:
    """The committed frames of the WAL at `path`, or None when it has none (missing,
    empty, not a WAL, or reset since its last checkpoint: SQLite then ignores it).

    Frames count from the header while their salts are the header's: a later frame is
    of an earlier generation, which SQLite does not replay. Checksums are not verified,
    so a torn last commit may count (it can only hide a missing page, never invent one).
    """
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed below, after the map
    except FileNotFoundError:
        return None
    with file:
        size = os.fstat(file.fileno()).st_size
        if size < _WAL_HEADER_SIZE:
            return None
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            magic, _, page_size, _, salt1, salt2 = _WAL_HEADER.unpack_from(data, 0)
            if magic not in _MAGICS or not 512 <= page_size <= 65536:
                return None
            step = _FRAME_HEADER_SIZE + page_size
            unpack = _FRAME.unpack_from
            held: set[int] = set()
            pending: list[int] = []
            pages = 0
            for offset in range(_WAL_HEADER_SIZE, size - step + 1, step):
                page, commit, frame_salt1, frame_salt2 = unpack(data, offset)
                if frame_salt1 != salt1 or frame_salt2 != salt2:
                    break
                pending.append(page)
                if commit:
                    held.update(pending)
                    pending.clear()
                    pages = commit
    return WalCommits(page_size, pages, held) if pages else None


def missing_pages(file_size: int, commits: WalCommits) -> list[int]:
    """Pages of the database as of the WAL's last commit that are neither in the file
    (`file_size` bytes) nor in a committed frame. SQLite never stores the page holding
    the byte at 1 GiB (its lock bytes), so that one is never missing."""
    lock_page = (1 << 30) // commits.page_size + 1
    in_file = file_size // commits.page_size
    return [
        page
        for page in range(in_file + 1, commits.pages + 1)
        if page not in commits.held and page != lock_page
    ]
