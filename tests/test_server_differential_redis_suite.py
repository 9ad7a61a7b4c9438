"""Differential tests for what Redis's own test suite (tests/unit/*.tcl of redis/redis, run
against bitmapist-server as an external server: see docs/server.md) found wrong.

Same method as test_server_differential: the same commands to redis-server 7.0 and
bitmapist-server, replies compared byte for byte in RESP2 and RESP3.
"""

# The case tables below are data: one line holds several commands.
# ruff: noqa: E501
from __future__ import annotations

import pytest

from .test_server_differential import pair_factory  # noqa: F401 - the fixture

# The two strings of the suite's "LCS basic" tests (unit/type/string.tcl).
RNA1 = "CACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTTCGTCCGGGTGTG"
RNA2 = "ATTAAAGGTTTATACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT"

CASES = {
    "lcs": [
        ("SET", "v1", RNA1),
        ("SET", "v2", RNA2),
        ("LCS", "v1", "v2"),
        ("LCS", "v1", "v2", "LEN"),
        ("LCS", "v1", "v2", "IDX"),
        ("LCS", "v1", "v2", "IDX", "WITHMATCHLEN"),
        ("LCS", "v1", "v2", "IDX", "WITHMATCHLEN", "MINMATCHLEN", "5"),
        ("LCS", "v1", "v2", "idx", "minmatchlen", "-3", "withmatchlen"),
        ("LCS", "v2", "v1", "IDX", "MINMATCHLEN", "222"),
        ("SET", "a", "ohmytext"),
        ("SET", "b", "mynewtext"),
        ("LCS", "a", "b"),
        ("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"),
        ("LCS", "a", "a", "IDX"),
        ("LCS", "a", "nosuch"),
        ("LCS", "nosuch", "b", "IDX"),
        ("LCS", "nosuch", "other", "LEN"),
        ("SET", "e", ""),
        ("LCS", "e", "a", "IDX", "WITHMATCHLEN"),
        ("SET", "n", "12345"),
        ("SET", "m", "a1b2c3"),
        ("LCS", "n", "m", "IDX", "WITHMATCHLEN"),
        ("SET", "x", "ab"),
        ("SET", "y", "ba"),
        ("LCS", "x", "y"),
        ("LCS", "x", "y", "IDX"),
        ("SET", "x", "abcXbcaYcab"),
        ("SET", "y", "cabYbcaXabc"),
        ("LCS", "x", "y", "IDX", "WITHMATCHLEN"),
        ("LCS", "y", "x"),
    ],
    "lcs errors": [
        ("SET", "a", "ohmytext"),
        ("LCS", "a"),
        ("LCS", "a", "b", "LEN", "IDX"),
        ("LCS", "a", "b", "IDX", "LEN"),
        ("LCS", "a", "b", "NOPE"),
        ("LCS", "a", "b", "MINMATCHLEN"),
        ("LCS", "a", "b", "MINMATCHLEN", "x"),
        ("LCS", "a", "b", "MINMATCHLEN", "1.5", "LEN"),
        ("LCS", "a", "b", "LEN", "LEN"),
        ("MULTI",),
        ("LCS", "a", "b", "LEN"),
        ("LCS", "a"),
        ("EXEC",),
    ],
}


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("case", sorted(CASES))
def test_cases_from_redis_suite_match_redis(pair_factory, case, protocol):  # noqa: F811
    pair_factory(protocol).run(CASES[case])
