"""Failover on a real cluster of 3 masters with one replica each.

The guarantee under test (`wait_replicas=1`): a write batch that returned was applied on
its masters and acknowledged by a replica of each, so killing any one master loses none
of it once its replica is promoted. While a promoted master has no replica in sync yet,
writes to its shards wait (they are not acknowledged); reads carry on.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from bitmapist import Bitmapist
from bitmapist.stores.cluster import RedisClusterStore

from .servers import RedisCluster

WHEN = datetime(2026, 3, 10, tzinfo=UTC)
BATCH = 300
BATCHES = 300
KILL_AFTER = 25


@pytest.fixture(scope="module")
def replicated(tmp_path_factory):
    cluster = RedisCluster(tmp_path_factory.mktemp("failover"), masters=3, replicas=1)
    yield cluster
    cluster.stop()


def batch_ids(i: int) -> range:
    return range(i * BATCH, (i + 1) * BATCH)  # sequential ids: every batch touches every shard


def test_killing_a_master_mid_workload_loses_no_acknowledged_write(replicated):
    store = RedisClusterStore(replicated.client(), shards=24, wait_replicas=1, retry_timeout=60)
    client = Bitmapist(store)
    acknowledged: list[int] = []
    counts: list[int] = []
    errors: list[BaseException] = []

    def workload() -> None:
        try:
            for i in range(BATCHES):
                client.mark_events(("play", uid, WHEN) for uid in batch_ids(i))
                acknowledged.append(i)  # set_bits returned: the batch is acknowledged
                counts.append(len(client.DayEvents("play", 2026, 3, 10)))  # reads go on too
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    worker = threading.Thread(target=workload)
    worker.start()
    while len(acknowledged) <= KILL_AFTER and worker.is_alive():
        threading.Event().wait(0.01)
    victim = replicated.master_indexes()[0]
    before_kill = list(acknowledged)
    replicated.kill_node(victim)
    assert worker.is_alive() and len(before_kill) < BATCHES  # the kill hit a running workload

    # The replica takes over: every batch acknowledged before the kill is still there.
    replicated.wait_healthy(timeout=30)
    assert victim not in replicated.master_indexes()
    reader = Bitmapist(RedisClusterStore(replicated.client()))
    day = reader.DayEvents("play", 2026, 3, 10)
    survived = set(day.get_uuids())
    assert all(set(batch_ids(i)) <= survived for i in before_kill)

    # The dead master comes back as a replica of its successor; the waiting writes finish.
    replicated.restart_node(victim)
    replicated.wait_healthy(timeout=30)
    worker.join(timeout=90)
    assert not worker.is_alive()
    assert errors == []
    assert acknowledged == list(range(BATCHES))
    expected = set(range(BATCHES * BATCH))
    assert set(day.get_uuids()) == expected
    assert len(reader.MonthEvents("play", 2026, 3)) == len(expected)
    assert counts == sorted(counts) and counts[-1] == len(expected)  # no read ever went back
