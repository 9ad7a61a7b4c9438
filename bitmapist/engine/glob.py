"""Redis glob patterns (KEYS, SCAN MATCH), with Redis's exact rules, compiled to regexes
(several stars: to segments matched in order, without backtracking).

Mirrors `stringmatchlen` in Redis's util.c: `*`, `?`, `[...]` (`^` negates, `a-z` ranges
with ends swapped when reversed, `\\` escapes, an unterminated class runs to the end of
the pattern), `\\x` matches `x`, a trailing `\\` matches itself. Ranges compare bytes as
signed chars, as Redis does on x86. An empty key matches only `*` and the empty pattern.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache


def _signed(byte: int) -> int:
    return byte - 256 if byte >= 128 else byte


def _byte_class(members: set[int], negate: bool) -> bytes:
    if negate:
        members = set(range(256)) - members
    if not members:
        return rb"(?!)"  # matches nothing, as `[]` does in Redis
    return b"[" + b"".join(b"\\x%02x" % byte for byte in sorted(members)) + b"]"


def _parse_class(pattern: bytes, i: int) -> tuple[bytes, int]:
    """Translate the class starting after `[` at index i; returns (regex, next index)."""
    n = len(pattern)
    negate = i < n and pattern[i] == ord("^")
    if negate:
        i += 1
    members: set[int] = set()
    while True:
        left = n - i
        if left >= 2 and pattern[i] == ord("\\"):
            members.add(pattern[i + 1])
            i += 1
        elif left and pattern[i] == ord("]"):
            break
        elif left == 0:
            i -= 1  # Redis steps back so that the outer loop ends exactly at the end
            break
        elif left >= 3 and pattern[i + 1] == ord("-"):
            start, end = _signed(pattern[i]), _signed(pattern[i + 2])
            if start > end:
                start, end = end, start
            members.update(b for b in range(256) if start <= _signed(b) <= end)
            i += 2
        else:
            members.add(pattern[i])
        i += 1
    return _byte_class(members, negate), i + 1


@lru_cache(maxsize=256)
def compile_glob(pattern: bytes) -> Callable[[bytes], bool]:
    """A function telling whether a key matches the Redis glob `pattern`."""
    if pattern == b"*":
        return lambda key: True
    parts: list[bytes] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == ord("*"):
            parts.append(b".*")
            i += 1
        elif ch == ord("?"):
            parts.append(b".")
            i += 1
        elif ch == ord("["):
            regex, i = _parse_class(pattern, i + 1)
            parts.append(regex)
        elif ch == ord("\\") and n - i >= 2:
            parts.append(re.escape(pattern[i + 1 : i + 2]))
            i += 2
        else:
            parts.append(re.escape(pattern[i : i + 1]))
            i += 1
    # Redis's loop never runs for an empty key: only the empty pattern (and KEYS's "*"
    # shortcut) matches it.
    empty_matches = pattern == b""
    if parts.count(b".*") <= 1:  # one star backtracks at most once per position
        matcher = re.compile(b"".join(parts), re.DOTALL).fullmatch
        return lambda key: matcher(key) is not None if key else empty_matches
    return _segments_matcher(parts, empty_matches)


def _segments_matcher(parts: list[bytes], empty_matches: bool) -> Callable[[bytes], bool]:
    """A matcher for a glob with several stars that never backtracks: between the stars
    are segments of one byte per part, so the first segment must match at the start, the
    last at the end, and each middle one at its leftmost place after the one before
    (any later place leaves less room for the rest). A regex with several `.*` would try
    every split instead: `*a*a*a*a*a*a*a*b` against a long key takes hours."""
    segments: list[list[bytes]] = [[]]
    for part in parts:
        if part == b".*":
            segments.append([])
        else:
            segments[-1].append(part)
    first, last = segments[0], segments[-1]
    middle = [
        re.compile(b"".join(segment), re.DOTALL).search for segment in segments[1:-1] if segment
    ]
    head = re.compile(b"".join(first), re.DOTALL).match
    tail = re.compile(b"".join(last), re.DOTALL).match

    def match(key: bytes) -> bool:
        if not key:
            return empty_matches
        end = len(key) - len(last)
        if end < len(first) or head(key) is None or tail(key, end) is None:
            return False
        position = len(first)
        for search in middle:
            found = search(key, position, end)
            if found is None:
                return False
            position = found.end()
        return True

    return match


def glob_match(pattern: bytes, key: bytes) -> bool:
    """Whether `key` matches the Redis glob `pattern`."""
    return compile_glob(pattern)(key)
