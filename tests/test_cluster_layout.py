"""The sharded key layout's arithmetic: no cluster needed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.crc import key_slot

from bitmapist.bitbytes import iter_offsets, to_redis_string
from bitmapist.errors import InvalidInput
from bitmapist.stores.shards import MAX_SHARDS, SLOTS, ShardLayout

offsets = st.lists(st.integers(0, 5000), min_size=1, max_size=60)


@pytest.mark.parametrize("shards", [1, 3, 24, 100])
def test_shard_tags_fall_in_their_own_slot_range(shards):
    layout = ShardLayout.create(shards)
    for shard in range(shards):
        assert shard * SLOTS / shards <= layout.slot(shard) < (shard + 1) * SLOTS / shards
        assert key_slot(layout.physical(shard, "a{b}c").encode()) == layout.slot(shard)


def test_three_masters_get_eight_shards_each_with_the_default_slot_split():
    layout = ShardLayout.create(24)
    ranges = [(0, 5460), (5461, 10922), (10923, 16383)]  # what redis-cli --cluster create does
    per_master = [sum(lo <= layout.slot(s) <= hi for s in range(24)) for lo, hi in ranges]
    assert per_master == [8, 8, 8]


def test_sequential_ids_spread_evenly_over_shards():
    layout = ShardLayout.create(24)
    by_shard = layout.split(range(24 * 8 * 100))
    assert sorted(len(local) for local in by_shard.values()) == [800] * 24


@settings(max_examples=200, deadline=None)
@given(offsets, st.integers(1, 40))
def test_split_then_join_gives_back_the_single_redis_string(bits, shards):
    layout = ShardLayout.create(shards)
    parts: list[bytes | None] = [None] * shards
    for shard, local in layout.split(bits).items():
        parts[shard] = to_redis_string(local)
    assert layout.join(parts) == to_redis_string(bits)
    assert list(iter_offsets(layout.join(parts))) == sorted(set(bits))
    for bit in bits:
        assert layout.local(bit) in layout.split([bit])[layout.shard_of(bit)]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 40))
def test_shard_lengths_of_a_logical_length_add_up_and_give_it_back(length, shards):
    layout = ShardLayout.create(shards)
    spans = [layout.shard_length(s, length) for s in range(shards)]
    assert sum(spans) == length
    assert layout.global_length(spans) == length


def test_logical_key_of_foreign_keys_is_none():
    layout = ShardLayout.create(3)
    assert layout.logical(layout.physical(2, "trackist_a_2026-1")) == "trackist_a_2026-1"
    assert layout.logical("trackist_a_2026-1") is None
    assert layout.logical("{other}trackist_a") is None
    assert layout.logical("{bm0.0") is None


def test_layout_round_trips_through_json_and_rejects_other_versions():
    layout = ShardLayout.create(12)
    assert ShardLayout.from_json(layout.to_json()) == layout
    with pytest.raises(InvalidInput, match="version 99"):
        ShardLayout.from_json('{"version": 99, "shards": 1, "tags": ["x"]}')


@pytest.mark.parametrize("shards", [0, -1, MAX_SHARDS + 1, 2.0, True, "3"])
def test_shard_counts_outside_the_range_are_refused(shards):
    with pytest.raises(InvalidInput, match=r"shards .* expected an integer in \[1, 1024\]"):
        ShardLayout.create(shards)
