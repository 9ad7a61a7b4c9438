"""LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: Redis 7.0's `lcsCommand`.

Redis fills a table of LCS(a[:i], b[:j]) with one uint32 per cell and walks it back from
the corner. Here the table is computed bit-parallel (Allison-Dix, in Hyyro's form): one
big integer per byte of the shorter string holds a row as one bit per byte of the other,
set where the row does *not* grow, so a row costs four C big-int operations instead of a
Python step per cell. The walk back needs only those bits: at a mismatch Redis steps up
(i - 1) exactly when LCS(i - 1, j) > LCS(i, j - 1), which is when the row grows at
column j (then LCS(i, j - 1) is one less and LCS(i - 1, j) must equal LCS(i, j)); on a
tie it steps left. With the table computed the other way round (`a` the longer string)
the same rule reads the column's bit and a popcount. So the path, the string and the
match ranges are Redis's own; runs of steps that emit nothing are skipped in C.

The limit is Redis's (its table must fit in proto-max-bulk-len); the rows kept for the
walk take 1/32 of that table. Cost and what still blocks the loop: docs/server.md.
"""

from __future__ import annotations

from typing import Any

from ...engine import Value
from ..resp import Error, Map, strict_int
from ..session import ServerState, Session
from .arguments import NOT_INTEGER, SYNTAX

_UINT32_MAX = 2**32 - 1
_BOTH = Error("ERR If you want both the length and indexes, please just use IDX.")
_TOO_LONG = Error("ERR String too long for LCS")
_TOO_MUCH = Error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
#: For each byte: a translation that spells it "1" and every other byte "0".
_DIGITS = [b"0" * char + b"1" + b"0" * (255 - char) for char in range(256)]
#: A translation that flags the bytes of a row with a clear bit (1) and the others (0).
_PARTIAL = bytes([1] * 255 + [0])


def _value(state: ServerState, session: Session, key: bytes) -> Value | None:
    """The key's value (a missing key is the empty string for LCS, as in Redis)."""
    value = state.keyspace.value(session.db, key)
    state.looked_up(value is not None)
    return value


def _masks(a: bytes, b: bytes) -> tuple[list[int], list[int]]:
    """For each byte value: its positions in `b` as bits (bit j for b[j]), and the other
    positions of `b`; built in C, from `b` spelled as '0'/'1' digits, lowest position last."""
    full = (1 << len(b)) - 1
    reversed_b = b[::-1]
    masks, others = [0] * 256, [full] * 256
    for char in set(a) & set(b):
        masks[char] = int(reversed_b.translate(_DIGITS[char]), 2)
        others[char] = full ^ masks[char]
    return masks, others


def _rows(a: bytes, b: bytes, keep: bool) -> tuple[int, list[int]]:
    """LCS(a, b) and, when `keep`, row i (for a[:i + 1]) as an int: bit j set when
    LCS(i + 1, j + 1) == LCS(i + 1, j), for j < len(b). The bits from len(b) up count
    the carries out of the row (fewer than len(a)) and mean nothing: masking them off
    each row would cost a fifth more."""
    width = len(b)
    masks, others = _masks(a, b)
    row = (1 << width) - 1  # row 0: LCS(0, j) never grows
    rows: list[int] = []
    for char in a:
        # Each run of set bits ending at a match clears its lowest match (the row grows
        # there) and sets the bit the run ended at: Hyyro's (V + (V & M)) | (V & ~M).
        row = (row + (row & masks[char])) | (row & others[char])
        if keep:
            rows.append(row)
    return width - (row & ((1 << width) - 1)).bit_count(), rows


def _run_end(bits: bytes, other: bytes, char: int, k: int) -> int:
    """Where a run of the walk along one row (or column) `bits`, from position k down,
    ends: the last position before k where the row grows (its bit is clear) or `other`
    matches `char` there, else 0. Scans in C past the first few bytes, and only as far
    as the walk goes."""
    grows = 0
    position = k - 2  # the bit of position k - 1
    if position >= 0:
        byte = position >> 3
        clear = ~bits[byte] & ((2 << (position & 7)) - 1)
        low = max(byte - 8, 0)
        while not clear and byte > low:  # most runs end within a few bytes
            byte -= 1
            clear = ~bits[byte] & 0xFF
        if not clear and byte > 0:
            byte = bits[:byte].translate(_PARTIAL).rfind(1)
            clear = ~bits[byte] & 0xFF if byte >= 0 else 0
        if clear:
            grows = (byte << 3) + clear.bit_length()
    return other.rfind(char, grows, k - 1) + 1 or grows


class _Reply:
    """What the walk back builds, as Redis builds it: the LCS (last byte first) and the
    match ranges, each emitted when the walk leaves it (`lcsCommand`'s arange_*)."""

    def __init__(self, alen: int, minmatchlen: int, withmatchlen: bool):
        self.alen, self.minmatchlen, self.withmatchlen = alen, minmatchlen, withmatchlen
        self.result = bytearray()
        self.ranges: list[list[Any]] = []
        self.a_start = alen  # alen: no range under way
        self.a_end = self.b_start = self.b_end = 0

    def match(self, i: int, j: int, char: int) -> None:
        """The walk takes a[i - 1] == b[j - 1] and steps to (i - 1, j - 1)."""
        self.result.append(char)
        emit = False
        if self.a_start == self.alen:
            self.a_start = self.a_end = i - 1
            self.b_start = self.b_end = j - 1
        elif self.a_start == i and self.b_start == j:
            self.a_start -= 1
            self.b_start -= 1
        else:
            emit = True
        if emit or self.a_start == 0 or self.b_start == 0:
            self.emit()

    def emit(self) -> None:
        """End the range under way (called on every step without a match)."""
        if self.a_start == self.alen:
            return
        match_len = self.a_end - self.a_start + 1
        if self.minmatchlen == 0 or match_len >= self.minmatchlen:
            entry: list[Any] = [[self.a_start, self.a_end], [self.b_start, self.b_end]]
            if self.withmatchlen:
                entry.append(match_len)
            self.ranges.append(entry)
        self.a_start = self.alen

    def string(self) -> bytes:
        return bytes(reversed(self.result))


def _walk_rows(a: bytes, b: bytes, rows: list[int], reply: _Reply) -> None:
    """Walk back over rows (one per byte of `a`, from `_rows(a, b)`) as Redis does: up
    when the row grows at column j (its bit j - 1 is clear), else left, past every
    column that would step left again (a run emits no range after its first step)."""
    i, j = len(a), len(b)
    size = (len(b) + 7) // 8 + 8  # and the carry count above the row's bits
    bits, bits_of = b"", 0  # row bits_of as bytes: a bit test on an int copies the int
    while i > 0 and j > 0:
        char = a[i - 1]
        if char == b[j - 1]:
            reply.match(i, j, char)
            i -= 1
            j -= 1
            continue
        if bits_of != i:  # the walk leaves a row for good: one copy per row
            bits, bits_of = rows[i - 1].to_bytes(size, "little"), i
        if bits[(j - 1) >> 3] >> ((j - 1) & 7) & 1:
            j = _run_end(bits, b, char, j)
        else:
            i -= 1
        reply.emit()


def _walk_columns(a: bytes, b: bytes, columns: list[int], reply: _Reply) -> None:
    """The same walk over the table computed the other way round, one int per byte of
    `b` (from `_rows(b, a)`: bit i - 1 of column j set when LCS(i, j) == LCS(i - 1, j)),
    cheaper when `a` is the longer string. Up moves need LCS(i - 1, j) > LCS(i, j - 1):
    the column must not grow at i and LCS(i, j) must exceed LCS(i, j - 1), which a
    popcount of column j - 1 gives; it stays so going up, so a run of up moves ends only
    where the column grows or `a` matches, found in C as for rows."""
    width = (len(a) + 7) // 8 + 8

    def lcs_at(i: int, j: int) -> int:  # LCS(i, j), in C: O(len(a)) per call
        return i - (columns[j - 1] & ((1 << i) - 1)).bit_count() if j > 0 else 0

    i, j = len(a), len(b)
    here, left = lcs_at(i, j), lcs_at(i, j - 1)
    bits, bits_of = b"", 0
    while i > 0 and j > 0:
        char = b[j - 1]
        if a[i - 1] == char:
            reply.match(i, j, char)
            i -= 1
            j -= 1
            here, left = lcs_at(i, j), lcs_at(i, j - 1)
            continue
        if bits_of != j:
            bits, bits_of = columns[j - 1].to_bytes(width, "little"), j
        if here > left and bits[(i - 1) >> 3] >> ((i - 1) & 7) & 1:
            i = _run_end(bits, a, char, i)
            left = lcs_at(i, j - 1)
        else:
            j -= 1
            here, left = left, lcs_at(i, j - 1)
        reply.emit()


def lcs(state: ServerState, session: Session, args: list[bytes]) -> Any:
    # The keys are looked up first (as Redis), their bytes made only once the sizes pass.
    values = [_value(state, session, args[1]), _value(state, session, args[2])]
    a_len, b_len = (0 if value is None else value.length for value in values)
    getlen = getidx = withmatchlen = False
    minmatchlen = 0
    position = 3
    while position < len(args):
        option = args[position].lower()
        if option == b"idx":
            getidx = True
        elif option == b"len":
            getlen = True
        elif option == b"withmatchlen":
            withmatchlen = True
        elif option == b"minmatchlen" and position + 1 < len(args):
            parsed = strict_int(args[position + 1])
            if parsed is None:
                return NOT_INTEGER
            minmatchlen = max(0, parsed)
            position += 1
        else:
            return SYNTAX
        position += 1
    if getidx and getlen:
        return _BOTH
    if a_len >= _UINT32_MAX - 1 or b_len >= _UINT32_MAX - 1:
        return _TOO_LONG
    if (a_len + 1) * (b_len + 1) * 4 > state.settings.max_bulk_len:
        return _TOO_MUCH
    a, b = (b"" if value is None else value.to_bytes() for value in values)
    # One row per byte of the shorter string: the Python loop runs once per row.
    tall = len(a) > len(b)
    length, rows = _rows(b, a, not getlen) if tall else _rows(a, b, not getlen)
    if getlen:
        return length
    reply = _Reply(len(a), minmatchlen, withmatchlen)
    (_walk_columns if tall else _walk_rows)(a, b, rows, reply)
    if getidx:
        return Map({b"matches": reply.ranges, b"len": length})
    return reply.string()
