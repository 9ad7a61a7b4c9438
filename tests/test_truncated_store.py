"""A store whose database file lost its end while its WAL lived on (a copy of a running
store, then a truncating copy tool or a full disk) is refused at open, by the library
and by bitmapist-server alike, with one clear error (issue 16).

It used to open (the header check only judged a file without a WAL): the server then
answered reads with an internal error ("database disk image is malformed") and still
accepted writes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from bitmapist.engine import CorruptStore, Engine, SetBits
from bitmapist.stores.embedded import EmbeddedStore

from .servers import free_port

KEYS = 200


def _bits(n: int) -> range:
    return range(n, 60_000, 7)


def _live_copy(tmp_path):
    """The files of a store copied while it runs: checkpointed bitmaps in the database
    file, newer commits in its WAL (and the log)."""
    live, copy = tmp_path / "live", tmp_path / "copy"
    live.mkdir()
    copy.mkdir()
    with Engine(live / "store.db") as engine:
        engine.write([SetBits(b"key:%d" % n, _bits(n)) for n in range(KEYS)])
        engine.checkpoint()
        engine._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # (SQLite's: pages to the file)
        engine.write([SetBits(b"key:1", [70_000]), SetBits(b"new", [5])])
        for source in live.iterdir():
            shutil.copy(source, copy / source.name)
    assert (copy / "store.db-wal").stat().st_size > 0
    return copy / "store.db"


def _snapshot(directory) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def test_a_live_copy_with_its_wal_opens_whole(tmp_path):
    path = _live_copy(tmp_path)
    with Engine(path) as engine:
        for n in range(KEYS):
            expected = set(_bits(n)) | ({70_000} if n == 1 else set())
            assert set(engine.get(b"key:%d" % n).bits) == expected
        assert engine.bitcount(b"new") == 1


@pytest.mark.parametrize("keep", [0.5, 0.95])
def test_a_store_truncated_behind_its_wal_is_refused_by_library_and_server(tmp_path, keep):
    path = _live_copy(tmp_path)
    page = 4096
    size = path.stat().st_size
    with open(path, "r+b") as file:
        file.truncate(int(size * keep) // page * page)
    before = _snapshot(path.parent)
    with pytest.raises(CorruptStore, match=r"store\.db is truncated: .* in neither it nor") as info:
        Engine(path)
    with pytest.raises(CorruptStore, match="truncated"):
        EmbeddedStore(path)
    server = subprocess.run(
        [sys.executable, "-m", "bitmapist.server.main"]
        + ["-addr", f"127.0.0.1:{free_port()}", "-db", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert server.returncode == 1
    assert server.stderr.strip().endswith(f"bitmapist-server: cannot open {path}: {info.value}")
    assert _snapshot(path.parent) == before  # nothing was written, the WAL is untouched
