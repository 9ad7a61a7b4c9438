"""SLURP: copy every string key (with its expiry) of a running Redis into our engine.

Doist's bitmapist-server has the same command for migrations: `SLURP host:port [db]`
answers +OK at once and imports in the background; keys of other types are skipped.
"""

from __future__ import annotations

from collections.abc import Callable

import redis.asyncio as aioredis

_BATCH = 500


async def slurp(
    host: str,
    port: int,
    source_db: int,
    target_db: int,
    store: Callable[[list[tuple[int, bytes, bytes, int | None]]], None],
) -> tuple[int, int]:
    """Import in batches through `store([(db, key, value, expire_at_ms), ...])`.

    Returns (keys imported, keys skipped because they are not strings).
    """
    client = aioredis.Redis(host=host, port=port, db=source_db, protocol=2)
    imported = skipped = 0
    try:
        cursor = 0
        while True:
            cursor, keys = await client.scan(cursor, count=_BATCH)
            if keys:
                pipe = client.pipeline(transaction=False)
                for key in keys:
                    pipe.type(key)
                    pipe.get(key)
                    pipe.pexpiretime(key)
                replies = await pipe.execute(raise_on_error=False)
                now_items = []
                for index, key in enumerate(keys):
                    kind, value, at = replies[3 * index : 3 * index + 3]
                    if kind not in (b"string", "string") or not isinstance(value, bytes):
                        skipped += 1
                        continue
                    expire_at = at if isinstance(at, int) and at >= 0 else None
                    now_items.append((target_db, key, value, expire_at))
                if now_items:
                    store(now_items)
                    imported += len(now_items)
            if cursor == 0:
                break
    finally:
        await client.aclose()
    return imported, skipped
