"""`NetChanges`: what a run of journal rows did to each key, for a checkpoint's fold.

A checkpoint in a process that has few bitmaps loaded used to load every pending key on
its own, each load scanning the journal for the key's rows: over a 50,000-row journal a
single step took a second (issue 17). Instead the checkpointer reads the journal once, a
chunk per step, into net changes per key: the bits set and the bits cleared, the last
change of a bit winning. A key's folded bits are then its stored bitmap, minus what was
cleared, plus what was set.

Re-applying rows the stored bitmap already holds changes nothing (for every bit they
touch, the last of them decides, as it did when the bitmap was stored), so the scan may
start at the journal's first row whatever each key's `base_seq`. Only a whole new value
cuts the chain: a PUT or DELETE of the key, a FLUSHDB of its db, a FLUSHALL: the changes
before it are dropped, and `was_reset` says so.
"""

from __future__ import annotations

from collections.abc import Callable

from pyroaring import BitMap

from . import format as fmt
from .journal import Row

_Name = tuple[int, bytes]


class NetChanges:
    """The set/cleared bits per key over the rows added so far (see the module docstring)."""

    def __init__(self, skip: Callable[[_Name], bool] | None = None) -> None:
        # (set?, offsets serialized, where) in order, per key
        self._keys: dict[_Name, list[tuple[bool, bytes, str]]] = {}
        self._skip = skip
        self.skipped: set[_Name] = set()  # keys whose changes were not kept
        self._reset_keys: set[_Name] = set()
        self._reset_dbs: set[int] = set()
        self._reset_all = False

    def add_rows(self, rows: list[Row], where: str) -> None:
        """Add journal rows, in sequence order."""
        for seq, db, key, op, bits in rows:
            if op in fmt.BIT_OPS:
                assert key is not None and bits is not None
                self._change(db, key, op == fmt.OP_SET, bits, f"{where} row {seq}")
            elif op == fmt.OP_SETS:
                assert bits is not None
                row_where = f"{where} row {seq}"
                for change_op, change_db, change_key, data in fmt.decode_sets(bits, row_where):
                    self._change(change_db, change_key, change_op == fmt.OP_SET, data, row_where)
            elif op in (fmt.OP_PUT, fmt.OP_DELETE):
                assert key is not None
                self._keys.pop((db, key), None)
                self._reset_keys.add((db, key))
            elif op == fmt.OP_FLUSHDB:
                for name in [name for name in self._keys if name[0] == db]:
                    del self._keys[name]
                self._reset_dbs.add(db)
            elif op == fmt.OP_FLUSHALL:
                self._keys.clear()
                self._reset_all = True
            elif op not in fmt.KNOWN_OPS:
                raise fmt.CorruptStore(f"{where} row {seq}: unknown op {op!r}")

    def _change(self, db: int, key: bytes, value: bool, data: bytes, where: str) -> None:
        name = (db, key)
        if self._skip is not None and self._skip(name):
            self.skipped.add(name)
            return
        changes = self._keys.get(name)
        if changes is None:
            changes = self._keys[name] = []
        changes.append((value, data, where))

    def was_reset(self, db: int, key: bytes) -> bool:
        """Whether a row replaced the key's whole value (its earlier changes are gone)."""
        return self._reset_all or db in self._reset_dbs or (db, key) in self._reset_keys

    def apply(self, db: int, key: bytes, bits: BitMap) -> None:
        """Apply the key's changes to `bits`, in order, and forget them."""
        for value, data, where in self._keys.pop((db, key), ()):
            offsets = fmt.decode_bits(data, where)
            if value:
                bits |= offsets
            else:
                bits -= offsets
