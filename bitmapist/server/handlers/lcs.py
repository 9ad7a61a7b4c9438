"""LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: Redis 7.0's `lcsCommand`.

The same dynamic-programming table as Redis (one uint32 per cell, refused when it would
exceed proto-max-bulk-len), built and walked back in the same order, so that the string,
the length and the match ranges are Redis's own. The table costs O(len1 * len2) time in
Python (some 10 million cells a second) on the event loop: like Redis, LCS of long
strings blocks every client while it runs, only longer.
"""

from __future__ import annotations

from array import array
from typing import Any

from ..resp import Error, Map, strict_int
from ..session import ServerState, Session
from .arguments import NOT_INTEGER, SYNTAX

_UINT32_MAX = 2**32 - 1
_BOTH = Error("ERR If you want both the length and indexes, please just use IDX.")
_TOO_LONG = Error("ERR String too long for LCS")
_TOO_MUCH = Error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")


def _string(state: ServerState, session: Session, key: bytes) -> bytes:
    """The key's value, or the empty string for a missing key (as Redis)."""
    value = state.keyspace.value(session.db, key)
    state.looked_up(value is not None)
    return b"" if value is None else value.to_bytes()


def _table(a: bytes, b: bytes) -> list[array]:
    """Rows i = 0..len(a) of LCS(a[:i], b[:j]) for j = 0..len(b)."""
    width = len(b) + 1
    rows = [array("I", bytes(4 * width))]
    previous = [0] * width
    for char in a:
        row = [0] * width
        left = 0
        for j, other in enumerate(b, 1):
            if other == char:
                left = previous[j - 1] + 1
            else:
                up = previous[j]
                if up > left:
                    left = up
            row[j] = left
        rows.append(array("I", row))
        previous = row
    return rows


def _walk(
    a: bytes, b: bytes, rows: list[array], minmatchlen: int, withmatchlen: bool
) -> tuple[bytes, list[list[Any]]]:
    """Walk the table back from its corner: the LCS and the match ranges (last first)."""
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
            if rows[i - 1][j] > rows[i][j - 1]:
                i -= 1
            else:
                j -= 1
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
    rows = _table(a, b)
    length = rows[-1][-1]
    if getlen:
        return length
    result, ranges = _walk(a, b, rows, minmatchlen, withmatchlen)
    if getidx:
        return Map({b"matches": ranges, b"len": length})
    return result
