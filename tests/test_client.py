"""The `Bitmapist` client object: bound classes, prefixes, transactions, time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import bitmapist
from bitmapist import Bitmapist, InvalidInput, get_client
from bitmapist.expressions import Key

NOW = datetime(2026, 3, 14, 15, 9, tzinfo=UTC)


def test_bound_classes_use_the_client(client: Bitmapist):
    client.mark_event("active", 5, now=NOW)
    month = client.MonthEvents("active", 2026, 3)
    assert month.system is client
    assert 5 in month
    assert isinstance(month, bitmapist.MonthEvents)
    assert list(month & client.DayEvents("active", 2026, 3, 14)) == [5]
    assert list(client.BitOpOr(month, client.DayEvents("x", 2026, 3, 14))) == [5]
    assert client.MonthEvents.from_date("active", NOW) == month
    assert month.prev().system is client
    assert client.MonthEvents is client.MonthEvents  # created once per client


def test_key_prefix_separates_clients(store):
    ours = Bitmapist(store, key_prefix="bitmapist_")
    theirs = Bitmapist(store)
    ours.mark_event("active", 1, now=NOW)
    theirs.mark_event("active", 2, now=NOW)
    assert ours.MonthEvents("active", 2026, 3).redis_key == "bitmapist_active_2026-3"
    assert list(ours.MonthEvents("active", 2026, 3)) == [1]
    assert list(theirs.MonthEvents("active", 2026, 3)) == [2]
    assert ours.get_event_names() == ["active"]
    ours.delete_all_events()
    assert list(theirs.MonthEvents("active", 2026, 3)) == [2]
    assert list(store.scan_keys("bitmapist_*")) == []


def test_client_tracking_defaults(store):
    client = Bitmapist(store, track_hourly=True, track_unique=True)
    client.mark_event("active", 9, now=NOW)
    assert 9 in client.HourEvents("active", 2026, 3, 14, 15)
    assert 9 in client.UniqueEvents("active")
    client.mark_event("other", 9, now=NOW, track_hourly=False, track_unique=False)
    assert 9 not in client.HourEvents("other", 2026, 3, 14, 15)


def test_transaction_commits_on_success(client: Bitmapist):
    with client.transaction():
        client.mark_event("active", 1, now=NOW)
        client.mark_unique("premium", 1)
        with client.transaction():  # nested blocks join the outer one
            client.mark_event("active", 2, now=NOW)
        assert len(client.MonthEvents("active", 2026, 3)) == 0  # not applied yet
    assert list(client.MonthEvents("active", 2026, 3)) == [1, 2]
    assert 1 in client.UniqueEvents("premium")


def test_transaction_discards_on_error(client: Bitmapist):
    with pytest.raises(RuntimeError), client.transaction():
        client.mark_event("active", 1, now=NOW)
        raise RuntimeError("boom")
    assert len(client.MonthEvents("active", 2026, 3)) == 0
    client.mark_event("active", 3, now=NOW)  # the client is usable afterwards
    assert list(client.MonthEvents("active", 2026, 3)) == [3]


def test_timezone_decides_the_calendar(store):
    berlin = Bitmapist(store, timezone="Europe/Berlin")
    late = datetime(2026, 3, 14, 23, 30, tzinfo=UTC)  # 00:30 on the 15th in Berlin
    berlin.mark_event("active", 1, now=late)
    assert 1 in berlin.DayEvents("active", 2026, 3, 15)
    assert 1 not in berlin.DayEvents("active", 2026, 3, 14)
    assert berlin.DayEvents.from_date("active", late).day == 15
    start = berlin.DayEvents("active", 2026, 3, 15).period_start()
    assert start.tzinfo == ZoneInfo("Europe/Berlin") and start.hour == 0
    berlin.mark_events([("bulk", 2, late)])
    assert 2 in berlin.DayEvents("bulk", 2026, 3, 15)
    utc = Bitmapist(store)
    utc.mark_event("utc", 1, now=late)
    assert 1 in utc.DayEvents("utc", 2026, 3, 14)


def test_bad_timezone_and_prefix_are_rejected(store):
    with pytest.raises(InvalidInput, match="Mars/Olympus"):
        Bitmapist(store, timezone="Mars/Olympus")
    with pytest.raises(InvalidInput, match="key_prefix"):
        Bitmapist(store, key_prefix=None)


def test_systems_accept_clients_names_and_redis(redis_client, client):
    assert get_client(client) is client
    wrapped = get_client(redis_client)
    assert wrapped is get_client(redis_client)  # cached per redis-py client
    bitmapist.mark_event("active", 11, system=redis_client, now=NOW)
    assert 11 in bitmapist.MonthEvents("active", 2026, 3, system=redis_client)
    bitmapist.SYSTEMS["stats"] = client
    try:
        bitmapist.mark_event("active", 12, system="stats", now=NOW)
        assert 12 in bitmapist.MonthEvents("active", 2026, 3, system="stats")
        assert 12 in bitmapist.MonthEvents("active", 2026, 3, system=client)
    finally:
        del bitmapist.SYSTEMS["stats"]


def test_unknown_system_names_the_system():
    with pytest.raises(bitmapist.UnknownSystem, match="'nope' is not configured"):
        bitmapist.mark_event("active", 1, system="nope")
    with pytest.raises(KeyError):  # 3.x raised KeyError; ours is a subclass
        bitmapist.get_redis("nope")


def test_mark_events_is_one_batch_of_grouped_keys(client: Bitmapist):
    rows = [("active", uid, NOW + timedelta(hours=uid % 3)) for uid in range(1000)]
    client.mark_events(rows)
    assert client.store.count(Key("trackist_active_2026-3-14")) == 1000
    assert client.MonthEvents("active", 2026, 3).get_count() == 1000
    client.mark_events(rows[:10], value=False)
    assert client.MonthEvents("active", 2026, 3).get_count() == 990
