"""Trends, funnels, lifecycle and stickiness give the same answers on every store kind
(the brute-force model tests run on the embedded store; these pin small known answers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bitmapist import Bitmapist, funnel, lifecycle, stickiness, trends

MONDAY = datetime(2026, 3, 2, 10, tzinfo=UTC)
NOW = MONDAY + timedelta(weeks=3)


def _mark(client: Bitmapist) -> None:
    day = timedelta(days=1)
    client.mark_events(
        [("signup", uid, MONDAY) for uid in (1, 2, 3, 4)]
        + [("activate", uid, MONDAY + day) for uid in (1, 2, 3)]
        + [("invite", uid, MONDAY + 2 * day) for uid in (1, 2)]
        + [("upgrade", 1, MONDAY + 3 * day)]
        + [("active", 1, MONDAY + d * day) for d in range(7)]
        + [("active", 2, MONDAY), ("active", 2, MONDAY + 2 * day)]
        + [("active", 3, MONDAY), ("active", 3, MONDAY + timedelta(weeks=2))]
        + [("active", 1, MONDAY + timedelta(weeks=1))]
    )
    client.mark_unique("premium", 1)
    client.mark_unique("premium", 3)


def _check(client: Bitmapist) -> None:
    _mark(client)
    weeks = trends(
        "active",
        period="week",
        start=MONDAY,
        end=NOW,
        breakdown=["premium"],
        system=client,
        now=NOW,
    )
    assert weeks.series[0].counts == (2, 1, 1, 0) and weeks.ids(2) == [3]
    steps = funnel(
        ["signup", "activate", "invite", "upgrade"],
        start=MONDAY,
        end=MONDAY,
        system=client,
        now=NOW,
    )
    assert [row.count for row in steps.rows] == [4, 3, 2, 1]
    assert steps.ids(1, dropped=True) == [4]
    strict = funnel(
        ["signup", "activate"], start=MONDAY, end=MONDAY, window=0, system=client, now=NOW
    )
    assert [row.count for row in strict.rows] == [4, 0]
    life = lifecycle("active", start=MONDAY, end=NOW, system=client, now=NOW, lookback=2)
    assert [(r.new, r.returning, r.resurrecting, r.dormant) for r in life.rows] == [
        (3, 0, 0, 0),
        (0, 1, 0, -2),
        (0, 0, 1, -1),
        (0, 0, 0, -1),
    ]
    assert life.ids(2, "resurrecting") == [3]
    sticky = stickiness("active", start=MONDAY, end=MONDAY, system=client, now=NOW)
    assert sticky.rows[0].counts == (1, 1, 0, 0, 0, 0, 1) and sticky.ids(0) == [1]


def test_every_store_kind(client: Bitmapist) -> None:
    _check(client)


@pytest.mark.parametrize("url", ["memory://"])
def test_memory_store(url: str) -> None:
    client = Bitmapist(url)
    try:
        _check(client)
    finally:
        client.close()
