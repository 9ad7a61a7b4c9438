"""SORT / SORT_RO (and their COMMAND entries) against redis-server 7.0: the same commands
to both servers, replies compared byte for byte in RESP2 and RESP3 (the method of
test_server_differential).

Our server holds only strings, so SORT of an existing key is WRONGTYPE and of a missing
key empty; what these cases pin is the option parsing, the order of its checks and its
errors, and STORE of the empty result (which deletes the destination).
"""

# The case tables below are data: one line holds several commands.
# ruff: noqa: E501
from __future__ import annotations

import pytest

from .test_server_differential import pair_factory  # noqa: F401 - the fixture

SORT_CASES = {
    "sort of a missing key": [
        ("SORT", "nosuch"),
        ("SORT", "nosuch", "ASC"),
        ("SORT", "nosuch", "desc", "alpha"),
        ("SORT", "nosuch", "LIMIT", "0", "10"),
        ("SORT", "nosuch", "LIMIT", "-5", "-1"),
        ("SORT", "nosuch", "LIMIT", "9223372036854775807", "-9223372036854775808"),
        ("SORT", "nosuch", "BY", "w_*"),
        ("SORT", "nosuch", "BY", "nosort"),
        ("SORT", "nosuch", "GET", "#", "GET", "o_*->f", "GET", "x"),
        ("SORT", "nosuch", "by", "w_*", "limit", "1", "2", "get", "#", "desc", "alpha"),
        ("SORT_RO", "nosuch"),
        ("SORT_RO", "nosuch", "BY", "w_*", "GET", "#", "LIMIT", "0", "1", "DESC", "ALPHA"),
    ],
    "sort of a string": [
        ("SET", "s", "3"),
        ("SORT", "s"),
        ("SORT", "s", "ALPHA", "LIMIT", "0", "1"),
        ("SORT", "s", "BY", "w_*", "GET", "#"),
        ("SORT_RO", "s"),
        ("SORT", "s", "STORE", "d"),
        ("EXISTS", "d"),
        ("SET", "d", "keep"),
        ("SORT", "s", "STORE", "d"),
        ("GET", "d"),
        ("SORT", "s", "LIMIT", "x", "1"),
        ("SORT", "s", "NOPE"),
        ("INFO", "keyspace"),
    ],
    "sort errors in order": [
        ("SORT", "k", "LIMIT"),
        ("SORT", "k", "LIMIT", "0"),
        ("SORT", "k", "LIMIT", "0", "x"),
        ("SORT", "k", "LIMIT", "x", "0"),
        ("SORT", "k", "LIMIT", "1.5", "2"),
        ("SORT", "k", "LIMIT", "9223372036854775808", "1"),
        ("SORT", "k", "LIMIT", "x", "1", "NOPE"),
        ("SORT", "k", "NOPE", "LIMIT", "x", "1"),
        ("SORT", "k", "BY"),
        ("SORT", "k", "GET"),
        ("SORT", "k", "STORE"),
        ("SORT", "k", "ASC", "BOGUS"),
        ("SORT", "k", "GET", "#", "BY"),
        ("SORT_RO", "k", "STORE", "d"),
        ("SORT_RO", "k", "LIMIT", "0", "1", "STORE", "d"),
        ("SORT_RO", "k", "STORE"),
        ("SORT",),
        ("SORT_RO",),
    ],
    "sort store": [
        ("SET", "d", "old"),
        ("EXPIRE", "d", "100"),
        ("SORT", "nosuch", "STORE", "d"),
        ("EXISTS", "d"),
        ("TTL", "d"),
        ("SORT", "nosuch", "STORE", "d"),
        ("SET", "d1", "a"),
        ("SET", "d2", "b"),
        ("SORT", "nosuch", "STORE", "d1", "STORE", "d2"),
        ("MGET", "d1", "d2"),
        ("SORT", "nosuch", "store", "d1", "LIMIT", "0", "1", "BY", "nosort", "GET", "#"),
        ("EXISTS", "d1"),
        ("SET", "d3", "c"),
        ("SORT", "nosuch", "STORE", "d3", "LIMIT", "x", "1"),
        ("GET", "d3"),
        ("SORT", "d3", "STORE", "d3"),
        ("GET", "d3"),
    ],
    "sort in a transaction and watched": [
        ("SET", "d", "v"),
        ("WATCH", "d"),
        ("MULTI",),
        ("SORT", "nosuch", "STORE", "d"),
        ("SORT_RO", "d"),
        ("SORT", "nosuch", "BOGUS"),
        ("EXEC",),
        ("EXISTS", "d"),
    ],
    "sort command entries": [
        ("COMMAND", "INFO", "sort", "sort_ro"),
        ("COMMAND", "DOCS", "sort", "sort_ro"),
        ("COMMAND", "GETKEYS", "sort", "a"),
        ("COMMAND", "GETKEYSANDFLAGS", "sort", "a", "BY", "w_*", "GET", "x", "STORE", "d"),
        ("COMMAND", "GETKEYS", "sort", "a", "STORE", "b", "STORE", "c", "LIMIT", "0", "1"),
        ("COMMAND", "GETKEYS", "sort", "a", "LIMIT", "store", "b"),
        ("COMMAND", "GETKEYS", "sort", "a", "GET", "store", "BY", "store", "store", "d"),
        ("COMMAND", "GETKEYS", "sort", "a", "STORE"),
        ("COMMAND", "GETKEYSANDFLAGS", "sort_ro", "a", "GET", "#", "STORE", "d"),
        ("COMMAND", "GETKEYS", "sort"),
    ],
}


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("case", sorted(SORT_CASES))
def test_sort_matches_redis(pair_factory, case, protocol):  # noqa: F811
    pair_factory(protocol).run(SORT_CASES[case])
