"""`EmbeddedStore` specifics: URLs, the default location, info(), no temporary keys."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

import bitmapist
from bitmapist import Bitmapist
from bitmapist.errors import InvalidInput
from bitmapist.stores import default_store_url, open_store
from bitmapist.stores.embedded import EmbeddedStore, default_embedded_path

NOW = datetime(2026, 3, 14, 15, tzinfo=UTC)


def test_file_urls_and_plain_paths(tmp_path):
    for target in (f"file://{tmp_path}/a.db", str(tmp_path / "b.db"), f"file:{tmp_path}/c.db"):
        store = open_store(target)
        assert isinstance(store, EmbeddedStore)
        Bitmapist(store).mark_event("active", 1, now=NOW)
        store.close()
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["a.db", "b.db", "c.db"]
    client = Bitmapist(f"file://{tmp_path}/a.db")
    assert list(client.MonthEvents("active", 2026, 3)) == [1]
    client.close()


def test_url_options(tmp_path):
    store = EmbeddedStore.from_url(f"file://{tmp_path}/x.db?durability=full&cache_mb=1&hot_mb=0.5")
    assert store.engine.cache_bytes == 1 << 20
    assert store.engine.hot_bytes == 1 << 19
    store.close()
    reader = EmbeddedStore.from_url(f"file://{tmp_path}/x.db?readonly=1")
    assert reader.engine.readonly
    reader.close()
    with pytest.raises(InvalidInput, match="unknown option 'colour'"):
        EmbeddedStore.from_url(f"file://{tmp_path}/x.db?colour=red")
    with pytest.raises(InvalidInput, match="cache_mb"):
        EmbeddedStore.from_url(f"file://{tmp_path}/x.db?cache_mb=lots")
    with pytest.raises(InvalidInput, match=r"hot_mb '-1' .* must be >= 0"):
        EmbeddedStore.from_url(f"file://{tmp_path}/x.db?hot_mb=-1")


def test_bad_file_urls_are_explained(tmp_path):
    with pytest.raises(InvalidInput, match="three slashes"):
        EmbeddedStore.from_url("file://relative/path.db")
    with pytest.raises(InvalidInput, match="no path"):
        EmbeddedStore.from_url("file://")


def test_memory_store_is_throwaway(tmp_path):
    first, second = open_store("memory://"), open_store("memory://")
    Bitmapist(first).mark_event("active", 1, now=NOW)
    assert Bitmapist(second).MonthEvents("active", 2026, 3).get_count() == 0
    assert first.info()["path"] is None and first.info()["file_bytes"] == 0
    first.close()
    second.close()


def test_default_location(monkeypatch, tmp_path):
    monkeypatch.delenv("BITMAPIST_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_embedded_path() == tmp_path / "home/.local/share/bitmapist/bitmapist.db"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_embedded_path() == tmp_path / "xdg/bitmapist/bitmapist.db"
    monkeypatch.setenv("BITMAPIST_HOME", str(tmp_path / "bm"))
    assert default_embedded_path() == tmp_path / "bm/bitmapist.db"
    monkeypatch.delenv("BITMAPIST_URL", raising=False)
    assert default_store_url() == f"file://{tmp_path}/bm/bitmapist.db"
    monkeypatch.setenv("BITMAPIST_URL", "memory://")
    assert default_store_url() == "memory://"


def test_the_module_api_uses_the_embedded_default_with_no_configuration(tmp_path):
    """A fresh interpreter with no settings: data lands in the default file and stays."""
    code = (
        "import bitmapist, datetime\n"
        "now = datetime.datetime(2026, 3, 14)\n"
        "bitmapist.mark_event('active', 7, now=now)\n"
        "print(bitmapist.get_client().store.kind, len(bitmapist.MonthEvents('active', 2026, 3)))\n"
    )
    env = {"HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    for expected in ("embedded 1", "embedded 1"):  # the second run reads the first's data
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout
        assert out.split() == expected.split()
    assert (tmp_path / "home/.local/share/bitmapist/bitmapist.db").exists()


def test_bit_operations_leave_no_keys_behind(store_path):
    client = Bitmapist(f"file://{store_path}")
    client.mark_event("a", 1, now=NOW)
    client.mark_event("b", 1, now=NOW)
    both = client.MonthEvents("a", 2026, 3) & client.MonthEvents("b", 2026, 3)
    assert list(both) == [1]
    assert len(~client.MonthEvents("a", 2026, 3)) == 7  # NOT within the 1-byte string
    expected = [client.keys.month(e, 2026, 3) for e in "ab"]
    expected += [client.keys.week(e, 2026, 11) for e in "ab"]
    expected += [client.keys.day(e, 2026, 3, 14) for e in "ab"]
    assert sorted(client.store.scan_keys("*")) == sorted(expected)
    bitmapist.delete_runtime_bitop_keys()  # nothing to delete, and no error
    client.delete_temporary_bitop_keys()
    client.close()


@pytest.fixture
def store_path(tmp_path) -> Path:
    return tmp_path / "store.db"


def test_info_reports_keys_memory_and_file_size(store_path):
    client = Bitmapist(f"file://{store_path}")
    client.mark_events([("active", uid, NOW) for uid in range(0, 100_000, 3)])
    info = client.info()
    client.close()
    assert info["kind"] == "embedded"
    assert info["keys"] == 3
    assert info["memory_bytes"] > 0
    assert info["file_bytes"] > 0
    assert info["path"] == str(store_path)


def test_threads_share_one_store(store_path):
    import threading

    client = Bitmapist(f"file://{store_path}")

    def mark(first: int) -> None:
        for uid in range(first, first + 2000):
            client.mark_event("active", uid, now=NOW)
            if uid % 500 == 0:
                len(client.MonthEvents("active", 2026, 3))  # reads interleave with writes

    threads = [threading.Thread(target=mark, args=(n * 2000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(client.MonthEvents("active", 2026, 3)) == 8000
    assert set(client.DayEvents("active", 2026, 3, 14)) == set(range(8000))
    client.close()


def test_a_store_opened_before_fork_works_in_the_child(store_path):
    """Pre-fork web servers open the store in the parent: the child must not share its
    SQLite connection, and both must see each other's writes."""
    import os

    client = Bitmapist(f"file://{store_path}")
    client.mark_event("active", 1, now=NOW)
    pid = os.fork()
    if pid == 0:
        try:
            client.mark_event("active", 2, now=NOW)
            code = 0 if set(client.MonthEvents("active", 2026, 3)) == {1, 2} else 3
        except BaseException:
            code = 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert set(client.MonthEvents("active", 2026, 3)) == {1, 2}
    client.close()
