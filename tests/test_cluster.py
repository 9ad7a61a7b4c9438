"""RedisClusterStore on a real 3-master Redis Cluster: what is particular to the cluster
(hash tags, the layout key, URLs, even spread). The shared store suite and
test_cluster_differential.py check its answers equal a single Redis's."""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from redis.cluster import RedisCluster as RedisClusterClient

from bitmapist import Bitmapist
from bitmapist.errors import InvalidInput, StoreError
from bitmapist.expressions import Key, Op
from bitmapist.stores import open_store
from bitmapist.stores.base import BitChange
from bitmapist.stores.cluster import LAYOUT_KEY, RedisClusterStore

from .upstream import run_upstream


@pytest.fixture
def cluster(redis_cluster):
    redis_cluster.flush()
    return redis_cluster


def physical_keys(cluster) -> list[str]:
    keys = []
    for i in cluster.master_indexes():
        keys.extend(k.decode() for k in cluster.node_client(i).scan_iter(count=1000))
    return keys


def test_every_key_of_a_shard_shares_its_tags_slot_so_bitops_run(cluster):
    store = RedisClusterStore(cluster.client(), shards=6)
    store.set_bits([BitChange("a", range(0, 500, 3)), BitChange("b{x}", range(0, 500, 5))])
    both = Op("AND", (Key("a"), Key("b{x}")), "trackist_bitop_AND_a-b{x}")
    assert store.count(both) == len(range(0, 500, 15))
    slots = {}
    for physical in physical_keys(cluster):
        if physical == LAYOUT_KEY:
            continue
        tag = physical[1 : physical.index("}")]
        slots.setdefault(tag, set()).add(RedisClusterClient.keyslot(store.cluster, physical))
    assert len(slots) == 6  # both keys span all six shards; the bitop results too
    assert all(len(s) == 1 for s in slots.values())


def test_upstream_bitmapist_fails_with_crossslot_where_we_do_not(cluster):
    # the reason this store exists: 3.x BITOPs over keys in different slots
    port = cluster.ports[cluster.master_indexes()[0]]
    out = run_upstream(
        f"""
import bitmapist, redis.cluster
bitmapist.SYSTEMS["default"] = redis.cluster.RedisCluster("127.0.0.1", {port})
try:
    print(len(bitmapist.BitOpAnd(bitmapist.MonthEvents("a", 2026, 1),
                                 bitmapist.MonthEvents("b", 2026, 1))))
except Exception as exc:
    print(type(exc).__name__, exc)
"""
    )
    assert "CROSSSLOT" in out or "slot" in out.lower()
    ours = Bitmapist(cluster.client())
    ours.mark_event("a", 7, now=datetime(2026, 1, 3))
    ours.mark_event("b", 7, now=datetime(2026, 1, 4))
    assert len(ours.BitOpAnd(ours.MonthEvents("a", 2026, 1), ours.MonthEvents("b", 2026, 1))) == 1


def test_layout_is_fixed_at_creation_and_shared_by_later_stores(cluster):
    first = RedisClusterStore(cluster.client(), shards=12)
    first.set_bits([BitChange("k", [1, 2, 3, 1000])])
    second = RedisClusterStore(cluster.client())  # no S: takes the data set's
    assert second.layout == first.layout
    assert second.count(Key("k")) == 4
    with pytest.raises(InvalidInput, match="shards 24 does not match .* created with 12"):
        RedisClusterStore(cluster.client(), shards=24)


def test_scan_keys_gives_each_logical_key_once_and_ignores_foreign_keys(cluster):
    store = RedisClusterStore(cluster.client(), shards=24)
    store.set_bits([BitChange("trackist_a_2026-1", range(1000)), BitChange("trackist_b_u", [5])])
    store.cluster.set("trackist_foreign", "x")  # not of our layout: never listed
    store.cluster.set("{othertag}trackist_x", "x")
    assert sorted(store.scan_keys("trackist_*")) == ["trackist_a_2026-1", "trackist_b_u"]
    assert list(store.scan_keys("trackist_?_u")) == ["trackist_b_u"]
    assert store.delete(["trackist_a_2026-1", "trackist_nope"]) == 1
    assert list(store.scan_keys()) == ["trackist_b_u"]


def test_open_store_takes_cluster_urls_and_clients(cluster):
    url = f"{cluster.url},127.0.0.1:{cluster.ports[1]}?shards=6"
    store = open_store(url)
    assert isinstance(store, RedisClusterStore)
    assert store.layout.shards == 6
    store.set_bits([BitChange("k", [42])])
    from_client = open_store(cluster.client(decode_responses=True))  # decoding client works too
    assert isinstance(from_client, RedisClusterStore)
    assert list(from_client.ids(Key("k"))) == [42]
    assert Bitmapist(cluster.url).store.layout.shards == 6


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+cluster://127.0.0.1:1?shards=0", r"shards 0 is out of range"),
        ("redis+cluster://127.0.0.1:1?shards=x", r"shards='x' is not a non-negative integer"),
        ("redis+cluster://127.0.0.1:1?colour=red", r"unknown options \['colour'\]"),
        ("redis+cluster://127.0.0.1", r"node '127.0.0.1' is not host:port"),
    ],
)
def test_bad_cluster_urls_are_refused_by_name(url, message):
    with pytest.raises(InvalidInput, match=message):
        RedisClusterStore.from_url(url)


def test_a_command_the_server_refuses_becomes_store_error(cluster):
    store = RedisClusterStore(cluster.client(), shards=3)
    store.cluster.set(store.layout.physical(0, "k"), "text")  # shard 0's part is not a bitmap
    store.cluster.lpush(store.layout.physical(1, "k"), "x")  # wrong type: BITCOUNT refuses
    with pytest.raises(StoreError, match="WRONGTYPE"):
        store.count(Key("k"))
    store.cluster.delete(store.layout.physical(1, "k"))
    assert store.count(Key("k")) == sum(bin(b).count("1") for b in b"text")  # still usable


def test_cluster_store_refuses_non_cluster_clients(redis_client):
    with pytest.raises(InvalidInput, match="not a redis.cluster.RedisCluster"):
        RedisClusterStore(redis_client)


def _node_stats(cluster) -> dict[int, dict[str, int]]:
    stats = {}
    for i in cluster.master_indexes():
        node = cluster.node_client(i)
        stats[i] = {
            "keys": node.dbsize(),
            # what the node holds: the keys' own memory (used_memory adds buffers and noise)
            "memory": sum(node.memory_usage(k, samples=0) or 0 for k in node.scan_iter(count=1000)),
            "ops": node.info("stats")["total_commands_processed"],
        }
    return stats


def _spread(values: list[float]) -> float:
    """Largest relative distance from the mean."""
    mean = sum(values) / len(values)
    return max(abs(v - mean) / mean for v in values)


def test_sequential_ids_spread_evenly_over_the_masters(cluster, capsys):
    # A realistic small data set: 40k sequential ids, 4 events, 60 days of daily, weekly
    # and monthly keys, ids active on a day with a fixed pseudo-random pattern.
    client = Bitmapist(cluster.client())
    before = _node_stats(cluster)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for day in range(60):
        when = start + timedelta(days=day)
        client.mark_events(
            (event, uid, when)
            for e, event in enumerate(("active", "login", "buy", "share"))
            for uid in range(40_000)
            if (uid * 2654435761 + day * 97 + e) % (3 + e * 4) == 0
        )
    marked = _node_stats(cluster)
    for day in range(60):  # the read side: a cohort-style query per day
        d = start + timedelta(days=day)
        buyers = client.MonthEvents("buy", 2026, 2)
        client.BitOpAnd(client.DayEvents.from_date("active", d), buyers).get_count()
        len(~client.WeekEvents.from_date("login", d))
    read = _node_stats(cluster)
    keys = [marked[i]["keys"] - before[i]["keys"] for i in marked]
    memory = [marked[i]["memory"] - before[i]["memory"] for i in marked]
    write_ops = [marked[i]["ops"] - before[i]["ops"] for i in marked]
    read_ops = [read[i]["ops"] - marked[i]["ops"] for i in marked]
    with capsys.disabled():
        print(f"\nper master: keys {keys}, memory {memory}, ops {write_ops} / {read_ops}")
    measured = {"keys": keys, "memory": memory, "write ops": write_ops, "read ops": read_ops}
    for name, values in measured.items():
        assert _spread(values) <= 0.20, (name, values)


def test_redis_cli_sees_the_cluster_layout(cluster):
    # operators inspect the layout with plain redis-cli: the layout key is readable JSON
    RedisClusterStore(cluster.client(), shards=3)
    out = subprocess.run(
        ["redis-cli", "-c", "-p", str(cluster.ports[0]), "GET", LAYOUT_KEY],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert '"shards": 3' in out


def test_a_node_that_stays_unreachable_past_the_retry_timeout_gives_store_error(cluster):
    store = RedisClusterStore(cluster.client(socket_timeout=0.2), shards=3, retry_timeout=0.5)
    store.set_bits([BitChange("k", [1, 9, 17])])
    cluster.node_client(cluster.master_indexes()[0]).client_pause(1500, all=True)
    with pytest.raises(StoreError, match=r"could not run the commands of 1 shard\(s\) within 0.5s"):
        store.count(Key("k"))
    store.runner.retry_timeout = 10.0  # the pause ends: the same store recovers
    assert store.count(Key("k")) == 3


def test_compact_gives_back_setbit_preallocation_and_keeps_bits_and_ttl(cluster):
    store = RedisClusterStore(cluster.client(), shards=3)
    grown = [BitChange("k", range(i, i + 8)) for i in range(0, 240_000, 8)]  # SETBIT by SETBIT
    store.set_bits(grown + [BitChange("k", [250_000], False)])
    physical = [store.layout.physical(s, "k") for s in range(3)]
    store.cluster.pexpire(physical[0], 600_000)
    before = [store.cluster.memory_usage(key, samples=0) for key in physical]
    strings_before = store.strings([Key("k")])
    store.compact(["k", "missing"])
    after = [store.cluster.memory_usage(key, samples=0) for key in physical]
    print(f"memory of the shard strings before/after compact: {before} / {after}")
    assert sum(after) < sum(before) * 0.9, (before, after)
    assert store.strings([Key("k")]) == strings_before  # same bits, same byte length
    assert 0 < store.cluster.pttl(physical[0]) <= 600_000
    assert store.cluster.pttl(physical[1]) == -1
    assert list(store.scan_keys()) == ["k"]


def test_a_cluster_client_is_a_3x_system_like_a_redis_client(cluster):
    import bitmapist

    saved = dict(bitmapist.SYSTEMS)
    try:
        port = cluster.ports[0]
        bitmapist.setup_redis("stats", "127.0.0.1", port, redis_client=RedisClusterClient)
        bitmapist.mark_event("active", 5, system="stats", now=datetime(2026, 2, 1))
        bitmapist.mark_event("buy", 5, system="stats", now=datetime(2026, 2, 2))
        both = bitmapist.BitOpAnd(
            bitmapist.MonthEvents("active", 2026, 2, system="stats"),
            bitmapist.MonthEvents("buy", 2026, 2, system="stats"),
        )
        assert list(both) == [5]
        assert bitmapist.get_client("stats").store.kind == "cluster"
    finally:
        bitmapist.SYSTEMS.clear()
        bitmapist.SYSTEMS.update(saved)


def _move_slot(cluster, slot: int, source: int, target: int, *, keys_first: int | None = None):
    """Move one slot between masters the way redis-cli --cluster reshard does; with
    `keys_first`, stop after migrating that many keys (the slot is then mid-migration)."""
    src, dst = cluster.node_client(source), cluster.node_client(target)
    src_id, dst_id = src.cluster("myid"), dst.cluster("myid")
    dst.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", src_id)
    src.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", dst_id)
    if keys_first is not None:
        keys = src.execute_command("CLUSTER GETKEYSINSLOT", slot, keys_first)
        if keys:
            src.execute_command(
                "MIGRATE", "127.0.0.1", cluster.ports[target], "", 0, 5000, "KEYS", *keys
            )
        return
    while keys := src.execute_command("CLUSTER GETKEYSINSLOT", slot, 100):
        src.execute_command(
            "MIGRATE", "127.0.0.1", cluster.ports[target], "", 0, 5000, "KEYS", *keys
        )
    for i in cluster.master_indexes():
        cluster.node_client(i).execute_command("CLUSTER SETSLOT", slot, "NODE", dst_id)


def test_a_shard_moving_to_another_master_mid_workload_keeps_every_answer(cluster):
    store = RedisClusterStore(cluster.client(), shards=24)
    single_truth: set[int] = set()

    def write(first: int) -> None:
        ids = range(first, first + 4000)
        store.set_bits([BitChange("k", ids), BitChange("k2", ids[::2])])
        single_truth.update(ids)

    write(0)
    slot = store.layout.slot(0)
    source = next(
        i
        for i in cluster.master_indexes()
        if cluster.node_client(i).cluster("countkeysinslot", slot)
    )
    target = next(i for i in cluster.master_indexes() if i != source)
    _move_slot(cluster, slot, source, target, keys_first=1)  # one key moved, one not yet
    errors: list[BaseException] = []

    def during() -> None:  # hits ASK/TRYAGAIN until the move completes, then MOVED
        try:
            write(4000)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=during)
    worker.start()
    time.sleep(0.3)
    try:
        assert worker.is_alive() and errors == []  # waiting on the half-moved shard
        _move_slot(cluster, slot, source, target)
        worker.join(timeout=30)
        assert errors == [] and not worker.is_alive()
        assert set(store.ids(Key("k"))) == single_truth
        assert store.count(Op("AND", (Key("k"), Key("k2")), "k_and_k2")) == 4000
        shards = {m["node"]: m["shards"] for m in store.info()["masters"]}
        assert sorted(shards.values()) == [7, 8, 9]
    finally:
        _move_slot(cluster, slot, target, source)  # the session cluster stays even


def test_writes_wait_for_replicas_and_fail_unacknowledged_without_them(cluster):
    # the session cluster has no replicas: WAIT 1 can never be satisfied
    store = RedisClusterStore(
        cluster.client(), shards=3, wait_replicas=1, wait_timeout=0.05, retry_timeout=0.3
    )
    with pytest.raises(StoreError, match=r"got 0 of 1 replica acknowledgements within 50 ms"):
        store.set_bits([BitChange("k", [1, 2, 3])])
    # applied on the masters but not acknowledged: an error means "unknown", not "undone"
    assert store.count(Key("k")) == 3  # reads never wait
    with pytest.raises(StoreError, match=r"0 of 1 replica"):
        store.delete(["k"])
    with pytest.raises(InvalidInput, match="wait_replicas -1 must be an integer >= 0"):
        RedisClusterStore(cluster.client(), wait_replicas=-1)
