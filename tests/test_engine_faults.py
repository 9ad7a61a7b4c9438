"""Faults the engine must survive or report clearly (issue 17): concurrent first opens,
exits that leave a group-commit window open, damaged or missing companion files. Each
test here failed before its fix."""

from __future__ import annotations

import multiprocessing
import traceback

import pytest

from bitmapist.engine import CorruptStore, Engine, SetBits

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
    for round_no in range(40):  # before the fix: ~1 round in 10 failed
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
