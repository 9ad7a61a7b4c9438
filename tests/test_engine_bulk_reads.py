"""Reading many keys at once (`View.values`, which the embedded store uses for the leaves
of the expressions it is given): the keys not in memory are loaded together, a few SQL
statements per 500 keys instead of a few per key, and built by the one-key path's own
builder. Every answer must equal the one-key path's (`View.value`) and a model's: keys
with checkpointed bitmaps, with journal rows listed when the index was read and rows
written since (by another engine and by another process, through SQLite and through the
log), cleared bits, expired keys, missing keys, and more keys than one statement takes.
Statements are counted (SQLite's trace callback), not timed."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

import pytest
from pyroaring import BitMap

from bitmapist.engine import Engine, Expire, SetBits, now_ms
from bitmapist.engine.journal import CHUNK, NEEDLES

NO_CHECKPOINT = {"checkpoint_rows": 10**9, "checkpoint_bytes": 1 << 40}
KEYS = 2 * CHUNK + 100  # three statements' worth of keys

Batch = list[tuple[str, list[int], bool]]

# Another process writing `batches` (JSON on stdin) to the store: with durability "full"
# (rows straight into SQLite), "closed" (through the log, drained into SQLite when it
# closes), "killed" (through the log, left there: the process dies without closing) or
# "checkpoint" (then folding the whole journal, which deletes rows others had listed).
_OTHER_PROCESS = """
import json, os, sys
from bitmapist.engine import Engine, SetBits
path, mode = sys.argv[1], sys.argv[2]
engine = Engine(path, durability="full" if mode == "full" else "normal",
                checkpoint_rows=10**9, checkpoint_bytes=1 << 40)
for batch in json.loads(sys.stdin.read()):
    engine.write([SetBits(key.encode(), offsets, value) for key, offsets, value in batch])
if mode == "killed":
    os._exit(0)
if mode == "checkpoint":
    engine.checkpoint()
engine.close()
"""


def _batches(rng: random.Random, keys: list[str], model: dict[str, BitMap], n: int) -> list[Batch]:
    """`n` random batches over `keys` (one key: a plain row; several: one OP_SETS row),
    setting and clearing bits, applied to `model` too."""
    batches = []
    for _ in range(n):
        batch: Batch = []
        for key in rng.sample(keys, rng.choice((1, 1, 2, 5, 12))):
            bits = model.setdefault(key, BitMap())
            if bits and rng.random() < 0.3:
                offsets = rng.sample(sorted(bits), min(len(bits), rng.randrange(1, 6)))
                bits -= BitMap(offsets)
                batch.append((key, sorted(offsets), False))
                continue
            # a few offsets, some in far containers (the bitmaps stay several containers)
            offsets = sorted(
                {
                    rng.choice((rng.randrange(3000), rng.randrange(2**20)))
                    for _ in range(rng.randrange(1, 15))
                }
            )
            bits |= BitMap(offsets)
            batch.append((key, offsets, True))
        batches.append(batch)
    return batches


def _write(engine: Engine, batches: list[Batch]) -> None:
    for batch in batches:
        engine.write([SetBits(key.encode(), offsets, value) for key, offsets, value in batch])


def _other_process(path, mode: str, batches: list[Batch]) -> None:
    subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, str(path), mode],
        input=json.dumps(batches),
        text=True,
        check=True,
        timeout=120,
    )


@pytest.mark.parametrize("other", ["full", "closed", "killed", "checkpoint"])
def test_many_keys_at_once_equal_the_one_key_path_and_the_model(tmp_path, other):
    path = tmp_path / "store.db"
    rng = random.Random(f"bulk {other}")
    keys = [f"k{n}" for n in range(KEYS)]
    model: dict[str, BitMap] = {}
    with Engine(path, **NO_CHECKPOINT) as writer:
        _write(writer, _batches(rng, keys, model, 600))
        writer.checkpoint()  # checkpointed bitmaps
        # journal rows on top of them: listed when the readers read the index
        _write(writer, _batches(rng, keys[:400], model, 300))
        soon = now_ms() + 200
        expired = rng.sample(keys[700:-30], 30)  # (not written after: they stay expired)
        writer.write([Expire(key.encode(), soon) for key in expired])
        writer.write([Expire(key.encode(), now_ms() + 600_000) for key in keys[-30:]])
    bulk, one = Engine(path, **NO_CHECKPOINT), Engine(path, **NO_CHECKPOINT)
    try:
        # rows after the readers read the index, found by scans: over more keys than
        # one scan takes, from another engine writing SQLite and from another process
        with Engine(path, durability="full", **NO_CHECKPOINT) as later:
            _write(later, _batches(rng, keys[200 : 200 + 3 * NEEDLES], model, 200))
        _other_process(path, other, _batches(rng, keys[100:700], model, 150))
        while now_ms() <= soon:  # (waits for the expiry: no timing is measured)
            time.sleep(0.05)
        for key in expired:
            model.pop(key, None)
        names = [key.encode() for key in keys] + [b"missing", b"k1x"]
        rng.shuffle(names)
        names += names[:10]  # a key asked twice is read once, answered twice
        with bulk.view() as view:
            at_once = view.values(names)
        with one.view() as view:
            one_by_one = [view.value(name) for name in names]
    finally:
        bulk.close()
        one.close()
    assert at_once == one_by_one
    for name, value in zip(names, at_once):
        expected = model.get(name.decode())
        if expected is None:
            assert value is None or not value.bits, name
        else:
            assert value is not None and value.bits == expected, name
    # read again (now hot): the same answers
    with Engine(path) as again, again.view() as view:
        assert view.values(names) == view.values(names)


def _statements(engine: Engine, read) -> int:
    """How many SQL statements `read()` makes the engine run."""
    statements: list[str] = []
    engine._conn.set_trace_callback(statements.append)
    try:
        read()
    finally:
        engine._conn.set_trace_callback(None)
    return len(statements)


def _cold_statements(path, names: list[bytes], *, one_by_one: bool = False) -> int:
    with Engine(path, **NO_CHECKPOINT) as engine:  # fresh: every key cold
        engine.write([SetBits(b"elsewhere", [1])])  # a row newer than the index: scans run
        with engine.view() as view:
            if one_by_one:
                return _statements(engine, lambda: [view.value(name) for name in names])
            return _statements(engine, lambda: view.values(names))


def test_cold_keys_take_a_few_statements_per_chunk_not_a_few_each(tmp_path):
    path = tmp_path / "store.db"
    rng = random.Random(5)
    keys = [f"k{n}" for n in range(KEYS)]
    model: dict[str, BitMap] = {}
    with Engine(path, **NO_CHECKPOINT) as engine:
        _write(engine, _batches(rng, keys, model, 600))
        engine.checkpoint()
        _write(engine, _batches(rng, keys, model, 300))  # journal rows for many keys
    names = [key.encode() for key in keys]
    few = _cold_statements(path, names[:10])
    many = _cold_statements(path, names)
    # BEGIN, the keys' rows (one statement per CHUNK keys), their journal rows by sequence,
    # one scan per NEEDLES journaled keys, COMMIT: 100x the keys is not 100x the statements
    assert few <= 5, few
    assert many <= 2 + 2 * (KEYS // CHUNK + 1) + KEYS // NEEDLES + 1, many
    # the one-key path, for scale: a few statements per key
    assert _cold_statements(path, names[:100], one_by_one=True) >= 300
