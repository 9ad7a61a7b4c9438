"""copy_store: classic Redis data (written by upstream bitmapist 3.119 itself) moved onto
the cluster layout, and back, with every answer unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bitmapist import Bitmapist
from bitmapist.errors import InvalidInput
from bitmapist.expressions import Key
from bitmapist.stores.base import BitChange
from bitmapist.stores.cluster import RedisClusterStore
from bitmapist.stores.redis import RedisStore
from bitmapist.transfer import copy_store

from .upstream import run_upstream


@pytest.fixture
def cluster_store(redis_cluster):
    redis_cluster.flush()
    store = RedisClusterStore(redis_cluster.client(), shards=6)
    yield store
    store.close()


def _questions(b: Bitmapist) -> list[object]:
    month = b.MonthEvents("active", 2026, 1)
    bought = b.MonthEvents("buy", 2026, 1)
    return [
        sorted(b.get_event_names()),
        list(month),
        len(bought),
        list(b.UniqueEvents("premium")),
        len(~month),
        list(b.BitOpAnd(month, bought)),
        4000 in ~month,
        len(b.YearEvents("active", 2026)),
        list(b.WeekEvents("active", 2026, 2)),
    ]


def test_data_written_by_upstream_3x_moves_onto_the_cluster_unchanged(
    redis_server, redis_client, cluster_store
):
    run_upstream(
        f"""
import bitmapist
from datetime import datetime
bitmapist.setup_redis("default", "127.0.0.1", {redis_server.port})
for uid in range(0, 3000, 7):
    bitmapist.mark_event("active", uid, now=datetime(2026, 1, 1 + uid % 28))
for uid in range(0, 3000, 5):
    bitmapist.mark_event("buy", uid, now=datetime(2026, 1, 3))
bitmapist.unmark_event("active", 8191, now=datetime(2026, 1, 2))  # a longer, zero tail
bitmapist.mark_unique("premium", 12)
"""
    )
    source = RedisStore(redis_client)
    len(~Bitmapist(source).MonthEvents("buy", 2026, 1))  # a cached bitop result: not copied
    seen: list[tuple[int, str]] = []
    copied = copy_store(source, cluster_store, progress=lambda n, key: seen.append((n, key)))
    logical = sorted(k for k in source.scan_keys("trackist_*") if "bitop_" not in k)
    assert any("bitop_" in k for k in source.scan_keys())
    assert copied == len(logical) == len(seen)
    assert [n for n, _ in seen] == list(range(1, copied + 1))
    assert sorted(cluster_store.scan_keys()) == logical  # cached bitop results are not copied
    keys = [Key(k) for k in logical]
    assert cluster_store.strings(keys) == source.strings(keys)  # bits and byte lengths
    assert _questions(Bitmapist(cluster_store)) == _questions(Bitmapist(source))

    # and back from the cluster into an empty single Redis: a round trip changes nothing
    expected = _questions(Bitmapist(source))
    redis_client.flushall()
    assert copy_store(cluster_store, source) == copied
    assert _questions(Bitmapist(source)) == expected


def test_copy_merges_into_existing_keys_and_a_pattern_limits_it(redis_client, cluster_store):
    source = RedisStore(redis_client)
    source.set_bits([BitChange("trackist_a_2026-1", [1, 2]), BitChange("trackist_b_2026-1", [3])])
    cluster_store.set_bits([BitChange("trackist_a_2026-1", [500])])
    assert copy_store(source, cluster_store, pattern="trackist_a_*") == 1
    assert list(cluster_store.ids(Key("trackist_a_2026-1"))) == [1, 2, 500]
    assert list(cluster_store.scan_keys()) == ["trackist_a_2026-1"]
    assert copy_store(source, cluster_store, pattern="nothing*") == 0


def test_copy_with_another_prefix_and_with_bitop_results(redis_client, cluster_store):
    source = Bitmapist(RedisStore(redis_client), key_prefix="app_")
    source.mark_event("x", 9, now=datetime(2026, 5, 1, tzinfo=UTC))
    len(~source.MonthEvents("x", 2026, 5))  # leaves app_bitop_NOT_app_x_2026-5 behind
    assert copy_store(source.store, cluster_store, prefix="app_") == 3
    assert copy_store(source.store, cluster_store, prefix="app_", include_bitops=True) == 4


@pytest.mark.parametrize("batch_keys", [0, -1, "5", 1.5])
def test_bad_batch_sizes_are_refused(redis_client, cluster_store, batch_keys):
    with pytest.raises(InvalidInput, match=r"batch_keys .* expected an integer >= 1"):
        copy_store(RedisStore(redis_client), cluster_store, batch_keys=batch_keys)


def test_copying_a_store_onto_itself_is_refused(cluster_store):
    with pytest.raises(InvalidInput, match="the same store"):
        copy_store(cluster_store, cluster_store)
