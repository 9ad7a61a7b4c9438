"""Faults the engine must survive or report clearly (issue 17): concurrent first opens,
exits that leave a group-commit window open, damaged or missing companion files. Each
test here failed before its fix."""

from __future__ import annotations

import multiprocessing
import random
import traceback

import pytest
from pyroaring import BitMap

from bitmapist.engine import CorruptStore, Delete, Engine, FlushDb, Put, SetBits, Value

FORK = multiprocessing.get_context("fork")


def _open_at_once(path: str, barrier, errors) -> None:
    try:
        barrier.wait(10)
        Engine(path).close()
    except BaseException:
        errors.put(traceback.format_exc())


def test_many_processes_opening_a_new_store_at_once_all_succeed(tmp_path):
    """The schema check reads the header and the tables in one snapshot: read in two
    steps while another process created the schema, it looked like another
    application's database (NotABitmapistStore, application_id 0x0)."""
    processes_per_round = 6
    for round_no in range(40):  # before the fixes: ~1 round in 10 failed
        path = str(tmp_path / f"new{round_no}.db")
        barrier, errors = FORK.Barrier(processes_per_round), FORK.Queue()
        children = [
            FORK.Process(target=_open_at_once, args=(path, barrier, errors))
            for _ in range(processes_per_round)
        ]
        for child in children:
            child.start()
        for child in children:
            child.join(60)
        failures = [errors.get() for _ in range(errors.qsize())]
        assert not failures, f"round {round_no}: {failures[0]}"
        with Engine(path) as engine:
            engine.write([SetBits(b"k", [1])])


def _snapshot(directory) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


@pytest.mark.parametrize("damage", ["truncated", "deleted"])
def test_a_database_emptied_or_deleted_behind_its_companions_is_refused_untouched(tmp_path, damage):
    """It used to open as a new empty store (count 0) and delete the old -wal."""
    path = tmp_path / "store.db"
    with Engine(path) as engine:
        engine.write([SetBits(b"k", range(100))])
        engine.write([SetBits(b"k", (200,))])  # in the log
        if damage == "truncated":
            path.write_bytes(b"")  # as a copy tool or a full disk might leave it
        else:
            path.unlink()
        before = _snapshot(tmp_path)
        with pytest.raises(CorruptStore, match="store.db is (missing|empty).*backup"):
            Engine(path)
        with pytest.raises(CorruptStore):
            Engine(path, readonly=True)
        assert _snapshot(tmp_path) == before
        engine._closed = True  # (the engine itself would write into the damaged file)


def test_a_group_commit_window_is_committed_when_the_interpreter_exits(tmp_path):
    """A script that marks and exits without close() used to lose the open window."""
    import subprocess
    import sys

    path = tmp_path / "group.db"
    script = (
        "import sys\n"
        "from bitmapist.engine import Engine, SetBits\n"
        "engine = Engine(sys.argv[1], group_commit_ms=10_000)\n"
        "engine.write([SetBits(b'k', [1])])\n"
        "engine.write([SetBits(b'k', (7,))])\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)
    with Engine(path) as engine:
        assert list(engine.get(b"k").bits) == [1, 7]


def _mark_in_child(path: str | None, engine: Engine | None) -> None:
    if engine is None:
        engine = Engine(path, group_commit_ms=10_000)
    engine.write([SetBits(b"child", [3])])  # and exit without close()


@pytest.mark.parametrize("how", ["inherited engine", "own engine"])
def test_a_multiprocessing_child_commits_its_window_when_it_exits(tmp_path, how):
    """multiprocessing children end with os._exit (no atexit): they used to lose it."""
    path = tmp_path / "group.db"
    with Engine(path, group_commit_ms=10_000) as parent:
        parent.write([SetBits(b"parent", [1])])  # the parent's own window stays open
        args = (None, parent) if how == "inherited engine" else (str(path), None)
        child = FORK.Process(target=_mark_in_child, args=args)
        parent.flush()  # (else the child waits for the parent's window)
        child.start()
        child.join(60)
        assert child.exitcode == 0
        assert parent.getbit(b"child", 3) == 1


def _journal_scans(engine: Engine) -> list[str]:
    statements: list[str] = []
    engine._conn.set_trace_callback(statements.append)
    return statements


def test_a_checkpoint_in_a_fresh_process_reads_the_journal_once_not_once_per_key(tmp_path):
    """Each unloaded key used to be loaded on its own, each load scanning the journal: a
    step over a 50,000-row journal took a second in a process that had just opened."""
    path = tmp_path / "store.db"
    with Engine(path) as writer:
        writer.write([SetBits(b"key:%d" % n, [n]) for n in range(1500)])
        for n in range(1500):
            writer.write([SetBits(b"key:%d" % n, (n + 1,)), SetBits(b"key:%d" % (n // 2), (0,))])
    with Engine(path) as fresh:
        statements = _journal_scans(fresh)
        fresh.checkpoint()
        per_key = [statement for statement in statements if "instr(" in statement]
        assert per_key == []
        assert fresh.stats()["journal_rows"] <= 1
    with Engine(path) as reopened:
        for n in range(1500):
            expected = {n, n + 1} | ({0} if n < 750 else set())
            assert set(reopened.get(b"key:%d" % n).bits) == expected, n


def test_a_checkpoint_folds_every_kind_of_change_before_and_during_it(tmp_path):
    """The fold of unloaded keys from net changes: sets and clears in order, PUT, DELETE,
    FLUSHDB before the horizon, and writes of another process between its steps."""
    rng = random.Random(5)
    path = tmp_path / "store.db"
    model: dict[tuple[int, bytes], set[int]] = {}
    keys = [(db, b"k%d" % n) for db in (0, 1) for n in range(40)]

    def change(engine: Engine, flushes: bool = True) -> None:
        db, key = rng.choice(keys)
        kind = rng.random()
        if kind < 0.01 or (flushes and kind < 0.03):
            engine.write([Put(key, Value(BitMap([1, 2, 3]), 8), db=db)])
            model[(db, key)] = {1, 2, 3}
        elif flushes and kind < 0.05:
            engine.write([Delete(key, db=db)])
            model.pop((db, key), None)
        elif flushes and kind < 0.055:
            engine.write([FlushDb(db)])
            for name in [name for name in model if name[0] == db]:
                del model[name]
        else:
            offsets = rng.sample(range(300), rng.randint(1, 4))
            value = rng.random() < 0.7
            engine.write([SetBits(key, offsets, value, db=db)])
            bits = model.setdefault((db, key), set())
            if value:
                bits.update(offsets)
            else:
                bits.difference_update(offsets)

    with Engine(path) as other:
        for _ in range(2500):
            change(other)
        with Engine(path) as fresh:  # nothing loaded: every key folds from net changes
            checkpointer = fresh._checkpointer
            checkpointer.restart()
            steps = 0
            while not checkpointer.step():
                steps += 1
                for _ in range(rng.randint(0, 30)):
                    change(other, flushes=False)  # rows after the horizon (the tail)
            assert steps > 3  # it scanned and folded in several steps
            for (db, key), bits in model.items():
                assert set(other.get(key, db).bits) == bits
        with Engine(path) as reopened:
            for db, key in keys:
                value = reopened.get(key, db)
                assert (set(value.bits) if value else None) == (model.get((db, key))), (db, key)


@pytest.mark.parametrize(
    "edit, message",
    [
        ("UPDATE journal SET op = 42 WHERE seq = 2", "unknown op 42"),
        ("UPDATE meta SET value = 10000000 WHERE name = 'folded_seq'", "folded_seq 10000000"),
    ],
)
def test_a_hand_edited_journal_is_refused_not_ignored(tmp_path, edit, message):
    """Both used to open silently: the row ignored, or every later sequence number off."""
    import sqlite3

    path = tmp_path / "store.db"
    with Engine(path) as engine:
        engine.write([SetBits(b"a", [1])])
        engine.write([SetBits(b"b", [2])])
        engine.write([SetBits(b"c", [3])])
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(edit)
    conn.close()
    with pytest.raises(CorruptStore, match=message):
        Engine(path)


def test_an_unknown_op_written_behind_an_open_engine_is_refused(tmp_path):
    import sqlite3

    path = tmp_path / "store.db"
    with Engine(path) as engine, Engine(path) as writer:
        writer.write([SetBits(b"a", [1])])
        assert engine.bitcount(b"a") == 1
        writer.close()
        conn = sqlite3.connect(path)
        with conn:
            top = conn.execute("SELECT max(seq) FROM journal").fetchone()[0]
            conn.execute("INSERT INTO journal VALUES (?, 0, ?, 42, NULL)", (top + 1, b"a"))
        conn.close()
        import struct

        from bitmapist.engine.fastlog import log_path

        with open(log_path(path), "r+b") as log:  # as a writer's end of write would
            log.seek(8)
            generation = struct.unpack("<Q", log.read(8))[0]
            log.seek(8)
            log.write(struct.pack("<Q", generation + 1))
        with pytest.raises(CorruptStore, match="unknown op 42"):
            engine.bitcount(b"a")


def test_a_checkpoint_that_another_process_overtakes_reads_the_journal_again(tmp_path):
    """Rows after meta.folded_seq stay until a checkpoint raises it: one that finds it
    moved while it was reading the journal starts again, since the rows it had yet to
    read may be gone (here, the one that clears the bit it had read being set)."""
    path = tmp_path / "store.db"
    with Engine(path) as writer:
        writer.write([SetBits(b"k", [5]), SetBits(b"other", [0])])
        for n in range(1, 600):
            writer.write([SetBits(b"other", (n,))])
        writer.write([SetBits(b"k", [5], value=False), SetBits(b"k", [6])])
        writer.write([SetBits(b"other", [1000])])  # (the newest row always stays)
    with Engine(path) as slow, Engine(path) as fast:
        checkpointer = slow._checkpointer
        checkpointer.restart()
        checkpointer.step()  # reads the first rows: bit 5 set
        assert checkpointer.progress is not None and checkpointer.progress.scanned_to < 600
        fast.checkpoint()  # folds everything and deletes the rows slow has yet to read
        while not checkpointer.step():
            pass
    with Engine(path) as reopened:
        assert reopened.get(b"k").bits == BitMap([6])
