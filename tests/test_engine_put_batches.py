"""Puts in one batch are written in bulk, the last of each key only (`engine/batch.py`):
any mix of Puts, SETBITs, DELs, RENAMEs and expiries of a few keys in one batch leaves
the state a model of Redis strings gives, in memory, in another engine on the same file,
after a reopen and after a checkpoint."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitmapist.engine import Delete, Engine, Expire, Put, Rename, SetBits, Value, now_ms

KEYS = (b"a", b"b")
HOUR_MS = 3_600_000

_key = st.sampled_from(KEYS)
_data = st.sampled_from([b"", b"\x00\x00", b"1", b"-12", b"\xff" * 40, b"x" * 9000])
_op = st.one_of(
    st.builds(lambda key, data, keep: ("put", key, data, keep), _key, _data, st.booleans()),
    st.builds(
        lambda key, offsets, value: ("setbits", key, offsets, value),
        _key,
        st.lists(st.integers(0, 80_000), min_size=1, max_size=3),
        st.booleans(),
    ),
    st.builds(lambda key: ("delete", key), _key),
    st.builds(lambda src, dst: ("rename", src, dst), _key, _key),
    st.builds(lambda key, later: ("expire", key, later), _key, st.booleans()),
)


def _apply(model: dict[bytes, bytearray], expiring: set[bytes], op: tuple):
    """The op on the model (Redis strings) and the op for the engine."""
    kind, key = op[0], op[1]
    if kind == "put":
        _, _, data, keep = op
        model[key] = bytearray(data)
        if not keep:
            expiring.discard(key)
        return Put(key, Value.from_bytes(data), keep_ttl=keep)
    if kind == "setbits":
        _, _, offsets, value = op
        string = model.setdefault(key, bytearray())
        string.extend(bytes(max(0, max(offsets) // 8 + 1 - len(string))))
        for offset in offsets:
            mask = 0x80 >> (offset & 7)
            string[offset >> 3] = (
                (string[offset >> 3] | mask) if value else (string[offset >> 3] & ~mask)
            )
        return SetBits(key, offsets, value)
    if kind == "delete":
        model.pop(key, None)
        expiring.discard(key)
        return Delete(key)
    if kind == "rename":
        dst = op[2]
        if key in model and key != dst:
            model[dst] = model.pop(key)
            expiring.discard(dst)
            if key in expiring:
                expiring.discard(key)
                expiring.add(dst)
        return Rename(key, dst)
    later = op[2]  # expire in an hour, or persist
    if key in model:
        if later:
            expiring.add(key)
        else:
            expiring.discard(key)
    return Expire(key, now_ms() + HOUR_MS if later else None)


def _state(engine: Engine) -> dict[bytes, tuple[bytes, bool]]:
    return {
        key: (engine.get(key).to_bytes(), engine.expiry(key) >= 0)
        for key in KEYS
        if engine.exists(key)
    }


@pytest.fixture
def path(tmp_path_factory):
    return tmp_path_factory.mktemp("puts") / "engine.db"


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(_op, min_size=1, max_size=12), min_size=1, max_size=4))
def test_batches_of_puts_and_other_writes_leave_the_model_state(tmp_path_factory, batches):
    path = tmp_path_factory.mktemp("puts") / "engine.db"
    model: dict[bytes, bytearray] = {}
    expiring: set[bytes] = set()
    with Engine(path) as engine, Engine(path) as other:
        for ops in batches:
            engine.write([_apply(model, expiring, op) for op in ops])
        want = {key: (bytes(data), key in expiring) for key, data in model.items()}
        assert _state(engine) == want
        assert _state(other) == want
    with Engine(path) as engine:
        assert _state(engine) == want
        engine.checkpoint()
    with Engine(path) as engine:
        assert _state(engine) == want


def test_the_last_put_of_a_key_in_a_batch_wins(path):
    with Engine(path) as engine:
        engine.write([Put(b"k", Value.from_bytes(b"x" * 9000))])
        engine.write(
            [
                Put(b"k", Value.from_bytes(b"\x00")),  # no bits: its stored bitmap goes
                Put(b"k", Value.from_bytes(b"12")),
                Put(b"j", Value.from_bytes(b"7")),
                SetBits(b"j", [100]),  # after j's Put is written
                Put(b"k", Value.from_bytes(b"")),
            ]
        )
    with Engine(path) as engine:
        assert engine.get(b"k").to_bytes() == b""
        assert engine.get(b"j").to_bytes() == b"7" + bytes(11) + b"\x08"
