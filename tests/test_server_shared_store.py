"""The server does not hold its database alone: other processes (web workers, the CLI,
a script using the embedded store) may open the same file and write it. So every turn of
the server that reads a key first catches up with their writes (`Engine.view`, opened by
`Keyspace` at a turn's first read), and what the server writes is visible to them.

These tests run the real server and write the same file from this process, through the
engine's fast log (SETBIT of an existing key) and through SQLite (a new key, SET, DEL):
each write is seen by the server's very next reply, on a connection that has been reading
all along.
"""

from __future__ import annotations

from bitmapist.engine import Delete, Engine, Put, SetBits, Value

from .bitmapist_server import BitmapistServerProcess


def test_the_server_sees_other_processes_writes_at_its_next_read(tmp_path):
    server = BitmapistServerProcess(tmp_path, "--checkpoint-interval", "0")
    try:
        client = server.client()
        assert client.get("k") is None and client.ping()
        with Engine(server.db_path) as engine:
            engine.write([SetBits(b"k", [7])])  # a new key: an SQLite write
            assert client.getbit("k", 7) == 1
            assert client.get("k") == b"\x01"
            for offset in (1, 3, 5):  # an existing key: appended to the fast log
                engine.write([SetBits(b"k", [offset])])
                assert client.getbit("k", offset) == 1
                assert client.bitcount("k") == {1: 2, 3: 3, 5: 4}[offset]
            engine.write([Put(b"other", Value.from_bytes(b"abc"))])
            assert client.get("other") == b"abc"
            assert client.dbsize() == 2 and sorted(client.keys()) == [b"k", b"other"]
            engine.write([Delete(b"other")])
            assert client.exists("other") == 0 and client.strlen("other") == 0
            # and the other way round: the server's acknowledged writes are in the file
            assert client.setbit("k", 100, 1) == 0
            assert engine.getbit(b"k", 100) == 1
            client.set("s", "xyz")
            assert engine.get(b"s").to_bytes() == b"xyz"
        client.close()
    finally:
        server.stop()
