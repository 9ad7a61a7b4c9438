"""LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: Redis 7.0's `lcsCommand`.

Redis fills a table of LCS(a[:i], b[:j]) with one uint32 per cell and walks it back from
the corner. Here the table is computed bit-parallel (Allison-Dix, in Hyyro's form): one
big integer per byte of the first string holds a row as one bit per column, set where
the row does *not* grow (LCS(i, j) == LCS(i, j - 1)), so a row costs a handful of C
big-int operations on len2 bits instead of len2 Python steps. The walk back needs only
those bits: at a mismatch Redis steps up (i - 1) exactly when LCS(i - 1, j) >
LCS(i, j - 1), which is when the row grows at column j (then LCS(i, j - 1) is one less
and LCS(i - 1, j) must equal LCS(i, j)); on a tie it steps left, as Redis. So the path,
the string and the match ranges are Redis's own.

The limit is Redis's (its table must fit in proto-max-bulk-len); the rows kept for the
walk take 1/32 of that table. Cost and what still blocks the loop: docs/server.md.
"""

from __future__ import annotations

from typing import Any

from ..resp import Error, Map, strict_int
from ..session import ServerState, Session
from .arguments import NOT_INTEGER, SYNTAX

_UINT32_MAX = 2**32 - 1
_BOTH = Error("ERR If you want both the length and indexes, please just use IDX.")
_TOO_LONG = Error("ERR String too long for LCS")
_TOO_MUCH = Error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
#: For each byte: a translation that spells it "1" and every other byte "0".
_DIGITS = [b"0" * char + b"1" + b"0" * (255 - char) for char in range(256)]


def _string(state: ServerState, session: Session, key: bytes) -> bytes:
    """The key's value, or the empty string for a missing key (as Redis)."""
    value = state.keyspace.value(session.db, key)
    state.looked_up(value is not None)
    return b"" if value is None else value.to_bytes()


def _masks(a: bytes, b: bytes) -> dict[int, int]:
    """For each byte of `a` that occurs in `b`: the positions of it in `b` as bits (bit j
    for b[j]), built in C: `b` spelled as '0'/'1' digits, lowest position last."""
    reversed_b = b[::-1]
    return {char: int(reversed_b.translate(_DIGITS[char]), 2) for char in set(a) & set(b)}


def _rows(a: bytes, b: bytes, keep: bool) -> tuple[int, list[bytes]]:
    """LCS(a, b) and, when `keep`, row i (for a[:i + 1]) as bytes, little-endian: bit j
    set when LCS(i + 1, j + 1) == LCS(i + 1, j)."""
    width = len(b)
    full = (1 << width) - 1
    size = (width + 7) // 8
    masks = _masks(a, b)
    row = full  # row 0: LCS(0, j) never grows
    rows: list[bytes] = []
    for char in a:
        matches = row & masks.get(char, 0)
        # Each run of set bits ending at a match clears its lowest match (the row grows
        # there) and sets the bit the run ended at: Hyyro's (V + U) | (V - U).
        row = ((row + matches) | (row - matches)) & full
        if keep:
            rows.append(row.to_bytes(size, "little"))
    return width - row.bit_count(), rows


def _walk(
    a: bytes, b: bytes, rows: list[bytes], minmatchlen: int, withmatchlen: bool
) -> tuple[bytes, list[list[Any]]]:
    """Walk the table back from its corner as Redis does: the LCS and the match ranges
    (last first)."""
    alen = len(a)
    i, j = alen, len(b)
    result = bytearray()
    ranges: list[list[Any]] = []
    a_start = alen  # alen: no range under way
    a_end = b_start = b_end = 0
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result.append(a[i - 1])
            if a_start == alen:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            elif a_start == i and b_start == j:
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            i -= 1
            j -= 1
        else:
            # Up when row i grows at column j (its bit j - 1 is clear), else left.
            if rows[i - 1][(j - 1) >> 3] >> ((j - 1) & 7) & 1:
                j -= 1
            else:
                i -= 1
            if a_start != alen:
                emit = True
        if emit:
            match_len = a_end - a_start + 1
            if minmatchlen == 0 or match_len >= minmatchlen:
                entry: list[Any] = [[a_start, a_end], [b_start, b_end]]
                if withmatchlen:
                    entry.append(match_len)
                ranges.append(entry)
            a_start = alen
    result.reverse()
    return bytes(result), ranges


def lcs(state: ServerState, session: Session, args: list[bytes]) -> Any:
    a = _string(state, session, args[1])
    b = _string(state, session, args[2])
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
    if len(a) >= _UINT32_MAX - 1 or len(b) >= _UINT32_MAX - 1:
        return _TOO_LONG
    if (len(a) + 1) * (len(b) + 1) * 4 > state.settings.max_bulk_len:
        return _TOO_MUCH
    length, rows = _rows(a, b, keep=not getlen)
    if getlen:
        return length
    result, ranges = _walk(a, b, rows, minmatchlen, withmatchlen)
    if getidx:
        return Map({b"matches": ranges, b"len": length})
    return result
