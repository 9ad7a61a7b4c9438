"""What `RedisStore` and `RedisClusterStore` share: write merging, reading in bounded
pieces, clients that never decode, and the one mapping of Redis error replies.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import redis
from redis.cluster import ClusterNode, RedisCluster

from ..bitbytes import to_bitmap
from ..bitops import SizedBitmap
from ..errors import InvalidInput, StoreError

#: Keys deleted (or compacted) per command batch.
DELETE_CHUNK = 1000

# A batch sets bits of one key by merging a prebuilt string (SET + BITOP OR) instead of
# one SETBIT per bit, when that string is small compared to the number of bits it carries.
_MERGE_MIN_BITS = 16
_MERGE_SUFFIX = ":bitmapist-merge"  # lives only inside one MULTI/EXEC


def refused(reply: Exception) -> StoreError:
    """The `StoreError` for an error reply of the server."""
    return StoreError(f"redis refused the operation: {reply}")


@contextmanager
def redis_errors() -> Iterator[None]:
    """Turn redis-py's server errors into `StoreError` (connection errors pass through)."""
    try:
        yield
    except redis.exceptions.ResponseError as exc:
        raise refused(exc) from exc


def worth_merging(offsets: Any, max_bytes_per_bit: int) -> bool:
    """Whether setting `offsets` by merging a prebuilt string beats one SETBIT per bit:
    enough bits, and a string at most `max_bytes_per_bit` bytes per bit it carries."""
    count = len(offsets)
    if count < _MERGE_MIN_BITS:
        return False
    return max(offsets) // 8 + 1 <= count * max_bytes_per_bit


def merge_commands(key: str, data: bytes) -> list[tuple[Any, ...]]:
    """OR the string `data` into `key`; run inside one MULTI/EXEC (the helper key is
    written and deleted within it)."""
    merge_key = key + _MERGE_SUFFIX
    return [("SET", merge_key, data), ("BITOP", "OR", key, key, merge_key), ("DEL", merge_key)]


def sized(strings: Sequence[bytes | None]) -> list[SizedBitmap]:
    """Redis strings as `SizedBitmap`s (None reads as a missing key)."""
    return [SizedBitmap(to_bitmap(data), len(data) if data else 0) for data in strings]


def plan_ranges(lengths: Sequence[int], batch_bytes: int) -> Iterator[list[tuple[int, int, int]]]:
    """GETRANGE pieces `(index, start, end)` reading strings of `lengths`, grouped so that
    one group (one round trip) carries at most `batch_bytes` bytes.

    Each string's last piece reads to the end (-1), so bits set after its length was
    taken are kept.
    """
    batch: list[tuple[int, int, int]] = []
    batch_size = 0
    for index, length in enumerate(lengths):
        for start in range(0, length, batch_bytes):
            size = min(batch_bytes, length - start)
            if batch and batch_size + size > batch_bytes:
                yield batch
                batch, batch_size = [], 0
            end = -1 if start + size >= length else start + size - 1
            batch.append((index, start, end))
            batch_size += size
    if batch:
        yield batch


def binary_client(client: redis.Redis) -> redis.Redis:
    """`client` itself, or a twin on the same server when it decodes replies to str."""
    pool = client.connection_pool
    kwargs = dict(pool.connection_kwargs)
    if not kwargs.get("decode_responses"):
        return client
    kwargs["decode_responses"] = False
    return redis.Redis(
        connection_pool=pool.__class__(connection_class=pool.connection_class, **kwargs)
    )


def binary_cluster(client: RedisCluster) -> RedisCluster:
    """`client` itself, or a twin on the same cluster when it decodes replies to str."""
    if not isinstance(client, RedisCluster):
        raise InvalidInput(f"client {client!r} is not a redis.cluster.RedisCluster")
    if not client.get_encoder().decode_responses:
        return client
    kwargs = dict(client.nodes_manager.connection_kwargs)
    for internal in ("redis_connect_func", "oss_cluster_maint_notifications_handler"):
        kwargs.pop(internal, None)
    kwargs["decode_responses"] = False
    nodes = [ClusterNode(node.host, node.port) for node in client.get_nodes()]
    return RedisCluster(startup_nodes=nodes, **kwargs)
