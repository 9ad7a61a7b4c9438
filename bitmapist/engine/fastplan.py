"""The common write batch, planned as one journal row: SETBITs on existing keys.

`mark_event` once its day exists, a server's turn of SETBITs: bits set or cleared on live
keys without expiry, within their length, with no previous bits asked. Such a batch is
one journal row (an OP_SETS row when it changes several keys) that the fast write paths
(`writes.LogAppend`, `writes.GuardedInsert`, and the group commit's queue) write in one
step. Anything else returns None from `plan` and takes the full path, which also
explains any error.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, NamedTuple

from pyroaring import BitMap

from . import format as fmt
from .bitmaps import Bitmaps, change_bits
from .journal import Journal, Row
from .keyspace import Entry, KeyIndex
from .ops import SetBits, WriteOp

# A server's turn of SETBITs over many keys is one write: up to this many ops, it is one
# journal row (redis-benchmark over 100-10,000 keys: +20-30% against a limit of 32, when
# the full path wrote a row per op). A row too big for the log's free space drains it.
FAST_MAX_OPS = 4096


#: One change of a plan: (entry, offsets, set?, db, key, the offsets serialized as in the
#: row). Offsets are a BitMap or one int.
Change = tuple[Entry, Any, bool, int, bytes, bytes]


class FastPlan(NamedTuple):
    row: Row  # the batch's one journal row
    changes: list[Change]


_ONE_OFFSET = struct.Struct("<IIHHIH")


def _one_offset(offset: int) -> bytes:
    """`BitMap([offset]).serialize()`, 4x faster: the portable format of one array
    container holding one value (cookie 12346, 1 container, its key and cardinality - 1,
    its byte offset 16, the value's low 16 bits)."""
    return _ONE_OFFSET.pack(12346, 1, offset >> 16, 0, 16, offset & 0xFFFF)


def plan(ops: Sequence[WriteOp], index: KeyIndex, seq: int) -> FastPlan | None:
    """The batch's journal row (sequence `seq`), or None when it needs the full path.
    Nothing is changed yet. One offset (`mark_event`, SETBIT) skips building a bitmap."""
    if not 0 < len(ops) <= FAST_MAX_OPS:
        return None
    dbs = index.dbs
    rows: list[tuple[int, int, bytes, bytes]] = []
    changes: list[Change] = []
    for op in ops:
        if type(op) is not SetBits:
            return None
        key, offsets, value, previous, db = op
        # (db & -16 is nonzero outside 0..15, negatives included)
        if previous or type(db) is not int or db & -16:
            return None  # the full path explains any error
        entry = dbs[db].get(key)
        if entry is None or entry.expire_at is not None or len(key) > fmt.SETS_MAX_KEY:
            return None  # (a longer key gets a journal row of its own)
        if type(offsets) is tuple and len(offsets) == 1:
            offset = offsets[0]
            if type(offset) is not int or not 0 <= offset < entry.length << 3:
                return None
            data = _one_offset(offset)
            offsets = offset
        else:
            if type(offsets) is not BitMap:
                try:
                    offsets = BitMap(offsets)
                except (OverflowError, TypeError, ValueError):
                    return None
            if not offsets or offsets.max() >= entry.length << 3:
                return None
            data = offsets.serialize()
        rows.append((fmt.OP_SET if value else fmt.OP_CLEAR, db, key, data))
        changes.append((entry, offsets, value, db, key, data))
    if len(rows) == 1:
        op, db, key, data = rows[0]
        return FastPlan((seq, db, key, op, data), changes)
    return FastPlan((seq, 0, None, fmt.OP_SETS, fmt.encode_sets(rows)), changes)


def already_set(plan: FastPlan, bitmaps: Bitmaps) -> bool:
    """Whether the plan only sets bits that are set already (loading a key's bits for
    a one-bit mark, so that the next mark of the same id finds them; a packed key is
    tested in place)."""
    for entry, offsets, value, db, key, _ in plan.changes:
        if not value:
            return False
        if type(offsets) is int:
            bits = entry.bits if entry.bits is not None else bitmaps.tests(db, key, entry)
            if offsets not in bits:
                return False
        elif entry.bits is None or not offsets <= entry.bits:
            return False
    return True


def apply(plan: FastPlan, journal: Journal, index: KeyIndex, bitmaps: Bitmaps) -> list[None]:
    """Apply a written (or, in group mode, queued) plan to memory."""
    journal.seq += 1
    journaled = index.journaled
    cache = bitmaps.cache
    for entry, offsets, value, db, key, _ in plan.changes:
        name = (db, key)
        journaled.add(name)
        bits = entry.bits
        if bits is not None:
            change_bits(bits, value, offsets)
            if value:
                # An upper bound, measured when it passes the budget (a measure costs a
                # pass over every container).
                cache.grow(name, entry, 1 if type(offsets) is int else len(offsets))
            cache.touch(name)
        elif entry.packed is not None:
            cache.change_packed(name, entry, value, offsets)  # (into its delta)
    journal.rows += 1
    journal.nbytes += len(plan.row[4])
    return [None] * len(plan.changes)
