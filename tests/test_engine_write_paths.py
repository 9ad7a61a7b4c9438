"""Each write path on its own (`bitmapist/engine/writes.py`, `group.py`), and the rule
that lets reads skip SQLite: every SQLite write bumps the log's generation first
(`bitmapist/engine/catchup.py`)."""

from __future__ import annotations

import pytest
from pyroaring import BitMap

from bitmapist.engine import Delete, Engine, Expire, Put, SetBits, Value
from bitmapist.engine import format as fmt

PATHS = {
    "log": {},
    "full": {"durability": "full"},
    "guarded insert": None,  # memory://
    "group commit": {"group_commit_ms": 5},
}


@pytest.fixture(params=list(PATHS))
def opened(request, tmp_path):
    """(engine, reopen): an engine that chose the write path named by the param."""
    options = PATHS[request.param]
    path = None if options is None else tmp_path / "store.db"

    def open_engine() -> Engine:
        return Engine(path, **(options or {}))

    engine = open_engine()
    assert engine.write_path == request.param
    yield engine, (None if path is None else open_engine)
    engine.close()


def _contents(engine: Engine) -> dict[bytes, BitMap]:
    keys = engine.keys(b"*")
    return {key: engine.get(key).bits for key in keys}


def test_every_write_path_gives_the_same_values(opened):
    engine, reopen = opened
    model: dict[bytes, BitMap] = {}

    def write(ops, expect=None):
        results = engine.write(ops)
        if expect is not None:
            assert results == expect
        for op in ops:
            if isinstance(op, SetBits):
                bits = model.setdefault(op.key, BitMap())
                if op.value:
                    bits |= BitMap(op.offsets)
                else:
                    bits -= BitMap(op.offsets)
            elif isinstance(op, Put):
                model[op.key] = BitMap(op.value.bits)
            elif isinstance(op, Delete):
                model.pop(op.key, None)

    write([SetBits(b"day", [1, 2, 3_000]), SetBits(b"month", [1, 2, 3_000])])
    write([SetBits(b"day", (7,)), SetBits(b"month", (7,))])  # the common batch
    write([SetBits(b"day", (7,))])  # already set: nothing to write
    write([SetBits(b"day", [2], value=False)])
    write([SetBits(b"day", [4], previous=True)], expect=[0])
    write([Put(b"put", Value(BitMap([9]), 2)), SetBits(b"put", (10,))])
    write([Delete(b"month")])
    write([Expire(b"put", None)], expect=[True])
    engine.flush()
    assert _contents(engine) == model
    if reopen is not None:
        engine.close()
        with reopen() as again:
            assert _contents(again) == model


def test_a_failed_batch_leaves_no_trace_on_any_write_path(opened):
    engine, _ = opened
    engine.write([SetBits(b"day", [1])])
    with pytest.raises(Exception, match="offsets"):
        engine.write([SetBits(b"day", (5,)), SetBits(b"other", ["x"])])
    engine.flush()
    assert engine.get(b"day").bits == BitMap([1])
    assert engine.keys() == [b"day"]


def _count_statements(engine: Engine) -> list[str]:
    statements: list[str] = []
    engine._conn.set_trace_callback(statements.append)
    return statements


def test_reads_that_find_nothing_new_make_no_sqlite_query(tmp_path):
    path = tmp_path / "store.db"
    with Engine(path) as writer, Engine(path) as reader:
        writer.write([SetBits(b"day", [1, 2]), SetBits(b"month", [1, 2])])
        assert reader.bitcount(b"day") == reader.getbit(b"month", 2) + 1  # loads them
        statements = _count_statements(reader)
        for _ in range(3):
            assert reader.bitcount(b"day") == 2
            assert reader.getbit(b"month", 2) == 1
            assert sorted(reader.keys()) == [b"day", b"month"]
        assert statements == []
        writer.write([SetBits(b"day", (3,))])  # appended to the log: still no query
        assert reader.bitcount(b"day") == 3
        assert statements == []
        writer.write([SetBits(b"new", [5])])  # an SQLite commit: the reader asks SQLite
        assert reader.getbit(b"new", 5) == 1
        assert statements


def test_a_writer_killed_inside_an_sqlite_write_is_seen_by_the_others(tmp_path):
    """The generation is bumped before SQLite changes: a process that dies after its
    commit, before it could bump it again, cannot leave others reading an old state or
    reusing its sequence numbers."""
    path = tmp_path / "store.db"
    with Engine(path) as dying, Engine(path) as other:
        dying.write([SetBits(b"day", [1])])
        assert other.bitcount(b"day") == 1
        catchup, journal = dying._catchup, dying._journal
        assert catchup.begin_file_write()
        journal.begin()
        seq = journal.next_seq()
        journal.insert_rows([(seq, 0, b"day", fmt.OP_SET, BitMap([2]).serialize())])
        journal.commit()
        dying._log.release()  # killed here: the kernel drops its lock, nothing else runs
        assert other.getbit(b"day", 2) == 1
        other.write([SetBits(b"day", (3,))])  # the log path: must follow the dead row
    with Engine(path) as reopened:
        assert reopened.get(b"day").bits == BitMap([1, 2, 3])


def test_the_guarded_insert_still_applies_after_a_checkpoint():
    """Checkpoints keep the newest journal row, so the guard (the journal still ends where
    this engine saw it last) holds after one: the next mark is one INSERT, no transaction."""
    engine = Engine(None)
    engine.write([SetBits(b"k", [1])])
    engine.write([SetBits(b"k", (2,))])
    engine.checkpoint()
    statements = _count_statements(engine)
    engine.write([SetBits(b"k", (3,))])
    assert statements and not [s for s in statements if s.startswith("BEGIN")]
    assert engine.get(b"k").bits == BitMap([1, 2, 3])
