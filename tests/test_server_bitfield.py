"""BITFIELD writes only the bits of its fields that change, as SETBITs would: never the
whole value (replies are checked against Redis in test_server_differential)."""

from __future__ import annotations

from pyroaring import BitMap

from bitmapist.engine import Engine, Put, SetBits, Value
from bitmapist.server.batch import Deferred
from bitmapist.server.handlers.bitfield import bitfield
from bitmapist.server.keyspace import Keyspace
from bitmapist.server.session import ServerState, Session


def _state(tmp_path) -> tuple[Engine, ServerState, Session]:
    engine = Engine(str(tmp_path / "bitfield.db"))
    return engine, ServerState(Keyspace(engine)), Session(1, authenticated=True)


def test_writes_only_the_changed_bits_of_the_fields(tmp_path):
    engine, state, session = _state(tmp_path)
    try:
        every_third = BitMap(range(0, 800_000, 3))
        engine.write([Put(b"k", Value(every_third, 100_000))])
        args = [b"BITFIELD", b"k", b"GET", b"u8", b"0", b"SET", b"u8", b"#10", b"255"]
        deferred = bitfield(state, session, args + [b"INCRBY", b"u4", b"300000", b"1"])
        assert type(deferred) is Deferred
        assert all(type(op) is SetBits for op in deferred.ops)
        # u8 at bit 80 held bits 81, 84, 87: 255 sets the other five; 0b1001 + 1 at
        # bit 300000 (bits 300000 and 300003 set) sets bit 300002 and clears 300003
        assert [(list(op.offsets), op.value) for op in deferred.ops] == [
            ([80, 82, 83, 85, 86, 300002], True),
            ([300003], False),
        ]
        assert deferred.finish(engine.write(deferred.ops)) == [146, 0b01001001, 0b1010]
        after = engine.get(b"k")
        assert after is not None and after.length == 100_000
        assert after.bits == (every_third | BitMap([80, 82, 83, 85, 86, 300002])) - BitMap([300003])
    finally:
        engine.close()


def test_writes_nothing_when_no_bit_changes_and_the_string_keeps_its_length(tmp_path):
    engine, state, session = _state(tmp_path)
    try:
        engine.write([Put(b"k", Value.from_bytes(b"\x05\x00"))])
        same = [b"BITFIELD", b"k", b"SET", b"u8", b"0", b"5", b"INCRBY", b"i8", b"8", b"0"]
        assert bitfield(state, session, same) == [5, 0]
        refused = [b"BITFIELD", b"k", b"OVERFLOW", b"FAIL", b"SET", b"u4", b"12", b"16"]
        assert bitfield(state, session, refused) == [None]
        # a refused write past the end still grows the string, through its last bit only
        grows = [b"BITFIELD", b"k", b"OVERFLOW", b"FAIL", b"SET", b"u4", b"100", b"16"]
        deferred = bitfield(state, session, grows)
        assert type(deferred) is Deferred and deferred.changes == 0
        assert [(list(op.offsets), op.value) for op in deferred.ops] == [([103], False)]
    finally:
        engine.close()
