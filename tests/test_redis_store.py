"""What is particular to Redis: temporary BITOP keys expire, pipelines, byte layout."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import redis
from pyroaring import BitMap

import bitmapist
from bitmapist import Bitmapist, StoreError, get_redis
from bitmapist.bitbytes import iter_offsets, to_redis_string
from bitmapist.expressions import Key
from bitmapist.stores.base import BitChange
from bitmapist.stores.redis import RedisStore

NOW = datetime(2026, 3, 14, tzinfo=UTC)


@pytest.fixture
def redis_default(redis_client):
    """System "default" on the plain Redis server, whatever store kinds other tests use."""
    saved = dict(bitmapist.SYSTEMS)
    bitmapist.SYSTEMS.clear()
    bitmapist.SYSTEMS["default"] = Bitmapist(redis_client)
    yield bitmapist.SYSTEMS["default"]
    bitmapist.SYSTEMS.clear()
    bitmapist.SYSTEMS.update(saved)


def test_temporary_bitop_keys_get_a_ttl(redis_client):
    client = Bitmapist(redis_client, bitop_ttl=30)
    client.mark_event("a", 1, now=NOW)
    op = client.MonthEvents("a", 2026, 3) & client.MonthEvents("a", 2026, 2)
    nested = ~op | client.MonthEvents("a", 2026, 3)
    assert len(nested) == 8
    for key in (op.redis_key, nested.redis_key):
        assert 0 < redis_client.pttl(key) <= 30_000
    # The 3.x cleanup functions still find them.
    client.delete_runtime_bitop_keys()
    assert not redis_client.exists(nested.redis_key)


def test_year_keys_expire_too(redis_client):
    client = Bitmapist(redis_client)
    client.mark_event("a", 1, now=NOW)
    year = client.YearEvents("a", 2026)
    assert len(year) == 1
    assert 0 < redis_client.pttl(year.redis_key) <= 60_000


def test_bitop_ttl_none_keeps_results(redis_client):
    client = Bitmapist(redis_client, bitop_ttl=None)
    client.mark_event("a", 1, now=NOW)
    op = client.DayEvents("a", 2026, 3, 14) | client.DayEvents("b", 2026, 3, 14)
    assert list(op) == [1]
    assert redis_client.pttl(op.redis_key) == -1
    bitmapist.delete_runtime_bitop_keys()
    assert not redis_client.exists(op.redis_key)


def test_pipeline_system_queues_writes(redis_client, redis_default):
    pipe = redis_client.pipeline()
    bitmapist.mark_event("active", 5, system=pipe, now=NOW, use_pipeline=False)
    assert redis_client.getbit("trackist_active_2026-3", 5) == 0  # queued, not sent
    pipe.execute()
    assert redis_client.getbit("trackist_active_2026-3", 5) == 1
    # reads through a pipeline system go to the server directly
    assert 5 in bitmapist.MonthEvents("active", 2026, 3, system=pipe)


def test_decode_responses_clients_still_read_bits(redis_server):
    text_client = redis_server.client(decode_responses=True)
    text_client.flushall()
    client = Bitmapist(text_client)
    client.mark_event("a", 200, now=NOW)
    assert list(client.DayEvents("a", 2026, 3, 14)) == [200]


def test_bulk_merge_keeps_existing_bits(redis_client):
    store = RedisStore(redis_client)
    redis_client.setbit("k", 3, 1)
    redis_client.setbit("k", 10_000, 1)
    dense = list(range(0, 4000, 2))
    sparse = [5, 10**7]  # far apart: written with SETBIT, not merged
    store.set_bits([BitChange("k", dense), BitChange("s", sparse)])
    assert list(store.ids(Key("k"))) == sorted({3, 10_000, *dense})
    assert list(store.ids(Key("s"))) == sparse
    assert not [k for k in redis_client.keys("*") if b"merge" in k]
    store.set_bits([BitChange("k", dense[:100], False)])
    assert store.count(Key("k")) == 2 + len(dense) - 100


def test_byte_layout_matches_redis(redis_client):
    offsets = [0, 7, 8, 9, 63, 1000]
    redis_client.set("raw", to_redis_string(offsets))
    for offset in range(1008):
        assert redis_client.getbit("raw", offset) == (offset in offsets)
    assert list(iter_offsets(redis_client.get("raw"))) == offsets


def test_wrong_type_is_a_store_error(redis_client):
    redis_client.lpush("trackist_a_2026-3", "x")
    client = Bitmapist(redis_client)
    with pytest.raises(StoreError, match="WRONGTYPE"):
        client.mark_event("a", 1, now=NOW)
    with pytest.raises(StoreError, match="WRONGTYPE"):
        len(client.MonthEvents("a", 2026, 3))


def test_get_redis_returns_the_client(redis_client, redis_default):
    assert isinstance(get_redis(), redis.Redis)
    assert get_redis(redis_client) is redis_client


def test_setup_redis_registers_a_system(redis_server, redis_client):
    bitmapist.setup_redis("stats", "127.0.0.1", redis_server.port, db=3)
    try:
        bitmapist.mark_event("active", 1, system="stats", now=NOW)
        assert redis_server.client(db=3).getbit("trackist_active_2026-3", 1) == 1
        assert get_redis("stats").connection_pool.connection_kwargs["db"] == 3
    finally:
        del bitmapist.SYSTEMS["stats"]


def test_store_urls(redis_server, tmp_path):
    from tests.servers import RedisServer

    socket_path = tmp_path / "redis.sock"
    server = RedisServer(tmp_path / "unix", "--unixsocket", str(socket_path))
    try:
        for url in (f"unix://{socket_path}?db=2", f"redis://127.0.0.1:{server.port}/2"):
            client = Bitmapist(url)
            client.mark_event("a", 3, now=NOW)
            assert list(client.MonthEvents("a", 2026, 3)) == [3]
            client.delete_all_events()
            client.close()
        assert server.client(db=2).dbsize() == 0
    finally:
        server.stop()


def test_unknown_url_scheme_is_rejected():
    with pytest.raises(bitmapist.InvalidInput, match="unknown scheme 'ftp'"):
        Bitmapist("ftp://example")


def test_bulk_reads_are_batched_by_bytes(redis_client):
    store = RedisStore(redis_client, read_batch_bytes=1000)
    offsets = {f"trackist_{i}": list(range(i, 8 * 3000, 7)) for i in range(5)}
    store.set_bits([BitChange(key, bits) for key, bits in offsets.items()])
    redis_client.config_resetstat()
    sized = store.sized_bitmaps([Key(key) for key in offsets])
    stats = redis_client.info("commandstats")
    for (bits, length), key in zip(sized, offsets):
        assert bits == BitMap(offsets[key]) and length == redis_client.strlen(key)
    total = sum(redis_client.strlen(key) for key in offsets)
    assert stats["cmdstat_getrange"]["calls"] == -(-total // 1000)  # 1000-byte pieces
    assert stats["cmdstat_strlen"]["calls"] == len(offsets)
    assert sorted(k.decode() for k in redis_client.keys("*")) == sorted(offsets)


@pytest.mark.parametrize("batch_bytes", [1, 7, 1000, 64 * 1024])
def test_read_plan_bounds_each_round_trip(batch_bytes):
    from bitmapist.stores.redis_common import plan_ranges

    lengths = [0, 1, 999, 1000, 1001, 5000, 3]
    data = [bytes(range(256)) * (n // 256 + 1) for n in lengths]
    data = [d[:n] for d, n in zip(data, lengths)]
    pieces: list[list[bytes]] = [[] for _ in lengths]
    for batch in plan_ranges(lengths, batch_bytes):
        sizes = [len(data[i][start : None if end == -1 else end + 1]) for i, start, end in batch]
        assert 0 < sum(sizes) <= batch_bytes
        for i, start, end in batch:
            pieces[i].append(data[i][start : None if end == -1 else end + 1])
    assert [b"".join(p) for p in pieces] == data
