"""The cause of the first-open flake (`test_engine_faults.py::test_many_processes_opening_a_
new_store_at_once_all_succeed`, "database is locked"), made deterministic.

SQLite switches a file to WAL mode only with its exclusive lock, and when another
connection holds the write lock it answers SQLITE_BUSY at once, without waiting its busy
timeout (it would upgrade a read transaction it already holds). Several processes opening
a new store together meet exactly that: one switches while another writes the file's
header. The engine retries the switch until the busy timeout.
"""

from __future__ import annotations

import sqlite3
import threading

from bitmapist.engine import Engine, SetBits


def test_the_switch_to_wal_waits_for_another_connections_write(tmp_path):
    path = tmp_path / "store.db"
    with Engine(path) as engine:
        engine.write([SetBits(b"k", [1])])
    # Back to a rollback journal, as a file is before its first open finishes.
    with sqlite3.connect(path, isolation_level=None) as conn:
        assert conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"
    conn.close()
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")  # another process writing the file right now
    release = threading.Timer(0.3, writer.execute, ["COMMIT"])
    release.start()
    try:
        with Engine(path) as engine:
            assert engine.bitcount(b"k") == 1
            assert engine._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        release.join()
        writer.close()
