"""Redis glob patterns (KEYS, SCAN MATCH), with Redis's exact rules, compiled to regexes.

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
    matcher = re.compile(b"".join(parts), re.DOTALL).fullmatch
    # Redis's loop never runs for an empty key: only the empty pattern (and KEYS's "*"
    # shortcut) matches it.
    empty_matches = pattern == b""
    return lambda key: matcher(key) is not None if key else empty_matches


def glob_match(pattern: bytes, key: bytes) -> bool:
    """Whether `key` matches the Redis glob `pattern`."""
    return compile_glob(pattern)(key)
