"""3.x systems that are not redis-py clients: any object with the Redis methods 3.x called
(a master/replica proxy, a wrapper class) assigned into `SYSTEMS` works (issue 13).

These run on the Redis-protocol stores (a real redis-server and our bitmapist-server).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import bitmapist
from bitmapist import (
    SYSTEMS,
    BitOpAnd,
    DayEvents,
    MonthEvents,
    delete_all_events,
    get_event_names,
    get_redis,
    mark_event,
    mark_unique,
)

NOW = datetime(2026, 11, 28, 13, tzinfo=UTC)


@pytest.fixture(params=["redis", "server"])
def real_client(request):
    if request.param == "redis":
        client = request.getfixturevalue("redis_client")
    else:
        client = request.getfixturevalue("bitmapist_server").client()
        client.flushall()
    yield client


class Wrapper:
    """A wrapper class with exactly the methods bitmapist 3.x called, and nothing else."""

    def __init__(self, client):
        self._client = client

    def pipeline(self):
        return self._client.pipeline()

    def setbit(self, key, offset, value):
        return self._client.setbit(key, offset, value)

    def getbit(self, key, offset):
        return self._client.getbit(key, offset)

    def bitcount(self, key):
        return self._client.bitcount(key)

    def bitop(self, op, dest, *keys):
        return self._client.bitop(op, dest, *keys)

    def get(self, key):
        return self._client.get(key)

    def delete(self, *keys):
        return self._client.delete(*keys)

    def keys(self, pattern="*"):
        return self._client.keys(pattern)

    def scan_iter(self, match=None, count=None):
        return self._client.scan_iter(match=match, count=count)


class MasterReplicaProxy:
    """Writes to the master, reads from the replica: every attribute is forwarded."""

    READS = {"get", "getbit", "bitcount", "scan_iter", "keys"}

    def __init__(self, master, replica):
        self.master, self.replica = master, replica
        self.calls: list[str] = []

    def __getattr__(self, name):
        self.calls.append(name)
        return getattr(self.replica if name in self.READS else self.master, name)


class SlottedWrapper:
    """The same methods, on an object that cannot be weakly referenced."""

    __slots__ = ("_client",)
    __init__ = Wrapper.__init__
    pipeline, setbit, getbit = Wrapper.pipeline, Wrapper.setbit, Wrapper.getbit
    bitcount, bitop, get, delete = Wrapper.bitcount, Wrapper.bitop, Wrapper.get, Wrapper.delete
    keys, scan_iter = Wrapper.keys, Wrapper.scan_iter


@pytest.fixture
def systems():
    saved = dict(SYSTEMS)
    yield SYSTEMS
    SYSTEMS.clear()
    SYSTEMS.update(saved)


def _3x_session(system_name: str) -> None:
    """What a 3.x app does with a system: mark, query, combine, list, clean up."""
    mark_event("active", 1, system=system_name, now=NOW, track_hourly=True)
    mark_event("active", 2, system=system_name, now=NOW)
    mark_event("song:played", 2, system=system_name, now=NOW)
    mark_unique("premium", 2, system=system_name)
    month = MonthEvents("active", 2026, 11, system=system_name)
    assert len(month) == 2 and 1 in month and "2" in month and 3 not in month
    assert list(month) == [1, 2] and month.has_events_marked()
    both = BitOpAnd(system_name, month, DayEvents("song:played", 2026, 11, 28, system_name))
    assert list(both) == [2] and len(both) == 1
    assert set(get_event_names(system=system_name)) == {"active", "song:played", "premium"}


@pytest.mark.parametrize(
    "make",
    [
        lambda client, redis_server_client: Wrapper(client),
        lambda client, redis_server_client: SlottedWrapper(client),
        lambda client, redis_server_client: MasterReplicaProxy(client, redis_server_client),
    ],
    ids=["wrapper", "slotted-wrapper", "master-replica-proxy"],
)
def test_redis_like_objects_in_systems_work_as_in_3x(make, real_client, systems):
    replica_view = real_client.__class__(connection_pool=real_client.connection_pool)
    system = make(real_client, replica_view)
    if isinstance(system, SlottedWrapper):
        with pytest.raises(TypeError):
            __import__("weakref").ref(system)
    SYSTEMS["stats"] = system
    _3x_session("stats")
    assert get_redis("stats") is system
    # the data is 3.x's layout, written through the object's own methods
    assert real_client.getbit("trackist_active_2026-11-28-13", 1) == 1
    assert real_client.getbit("trackist_premium_u", 2) == 1
    if isinstance(system, MasterReplicaProxy):
        assert {"pipeline", "scan_iter"} <= set(system.calls)
    delete_all_events(system="stats")
    assert real_client.keys("trackist_*") == []


def test_redis_like_objects_also_work_as_a_system_argument(real_client):
    wrapper = Wrapper(real_client)
    mark_event("active", 5, system=wrapper, now=NOW)
    assert 5 in MonthEvents("active", 2026, 11, system=wrapper)
    assert bitmapist.get_client(wrapper) is bitmapist.get_client(wrapper)


def test_objects_without_the_methods_are_still_refused(systems):
    SYSTEMS["broken"] = object()
    with pytest.raises(bitmapist.UnknownSystem, match="setbit, getbit, bitcount"):
        mark_event("active", 1, system="broken")
