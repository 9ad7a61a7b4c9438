"""A cold read after a big import with no checkpoint (issue 17, also found): it used to
scan the whole journal for each key (~5.5 ms a key after a 400k-line import). The
journal's rows are listed by key when the index is read, so a cold read fetches only its
own. Measured here without timing: by SQLite's virtual-machine steps, which grow with
the rows a query visits."""

from __future__ import annotations

import random

from pyroaring import BitMap

from bitmapist.engine import Engine, SetBits

NO_CHECKPOINT = {"checkpoint_rows": 10**9, "checkpoint_bytes": 1 << 40}


def _store(path, other_rows: int) -> dict[bytes, BitMap]:
    """`other_rows` batches over other keys (op-8 rows once they exist) around a few rows
    of b"k" of each kind: set, clear, its own row and op-8 rows."""
    expected: dict[bytes, BitMap] = {b"k": BitMap()}
    rng = random.Random(7)
    with Engine(path, **NO_CHECKPOINT) as engine:
        for n in range(other_rows):
            batch = [SetBits(b"o%d" % rng.randrange(50), [rng.randrange(10_000)]) for _ in range(3)]
            if n % (other_rows // 4) == 0:
                offsets = [rng.randrange(1000) for _ in range(20)]
                batch.append(SetBits(b"k", offsets))
                expected[b"k"] |= BitMap(offsets)
            if n % (other_rows // 3) == 1:
                batch.append(SetBits(b"k", sorted(expected[b"k"])[:5], value=False))
                expected[b"k"] -= BitMap(sorted(expected[b"k"])[:5])
            engine.write(batch)
    return expected


def _steps_of_a_cold_read(path, expected) -> int:
    engine = Engine(path, **NO_CHECKPOINT)
    try:
        engine.write([SetBits(b"k", [5000])])  # a row after the index was read: scanned
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0

        engine._journal.conn.set_progress_handler(count, 10)
        assert engine.get(b"k").bits == expected[b"k"] | BitMap([5000])
        engine._journal.conn.set_progress_handler(None, 0)
        return steps[0]
    finally:
        engine.close()


def test_a_cold_read_visits_its_keys_rows_not_the_whole_journal(tmp_path):
    small = _steps_of_a_cold_read(tmp_path / "small.db", _store(tmp_path / "small.db", 400))
    large = _steps_of_a_cold_read(tmp_path / "large.db", _store(tmp_path / "large.db", 4000))
    # 10x the journal: a scan is ~10x the steps; fetching the key's own rows is not.
    assert large < 2 * small, (small, large)
