"""3.x's `reduce(operator.or_, days)` in snapshot mode: each operation is a stored key, so a
chain longer than the nesting limit of lazy operations works, as it did in 3.x. The rule
is the same on every store; it runs on the in-memory one (1,000 snapshots cost seconds on
the others)."""

from __future__ import annotations

import functools
import operator
from datetime import UTC, datetime

import pytest

from bitmapist import Bitmapist, InvalidInput
from bitmapist.expressions import MAX_DEPTH


def test_snapshot_chains_longer_than_the_nesting_limit_work():
    client = Bitmapist("memory://", snapshot_bitops=True)
    client.mark_event("a", 4, now=datetime(2026, 1, 1, tzinfo=UTC))
    days = [client.DayEvents("a", 2026, 1, 1).delta(n) for n in range(MAX_DEPTH + 10)]
    assert list(functools.reduce(operator.or_, days)) == [4]
    lazy = Bitmapist(client.store, snapshot_bitops=False)
    with pytest.raises(InvalidInput, match="nest"):
        functools.reduce(operator.or_, [lazy.DayEvents("a", 2026, 1, 1)] * (MAX_DEPTH + 10))
