"""Copy bitmaps between any two stores, e.g. a classic Redis onto a Redis Cluster.

Store-agnostic: keys are listed with `scan_keys`, read with `sized_bitmaps`, written with
`set_bits`, so every backend pair works (Redis -> cluster, cluster -> embedded, ...).
The destination's own layout applies: copying `redis://` into `redis+cluster://` turns
the classic 3.x keys into the sharded cluster layout.

Copying merges: bits are OR-ed into existing destination keys, so a copy can be resumed
or repeated. Each bitmap's byte length (trailing zero bytes included) is kept too, because
`BitOpNot` complements within that length. Expiry times are not copied; cached
bit-operation results are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import islice

from .errors import InvalidInput
from .expressions import Key
from .keys import DEFAULT_PREFIX, KeyScheme
from .stores.base import BitChange, Store

#: Called after each copied key with (keys copied so far, key).
Progress = Callable[[int, str], None]

DEFAULT_BATCH_KEYS = 64


def copy_store(
    src: Store,
    dst: Store,
    *,
    pattern: str | None = None,
    prefix: str = DEFAULT_PREFIX,
    include_bitops: bool = False,
    batch_keys: int = DEFAULT_BATCH_KEYS,
    progress: Progress | None = None,
) -> int:
    """Copy every bitmap of `src` matching `pattern` into `dst`; return how many keys.

    `pattern` is a Redis glob over key names; None means every key of `prefix` (the
    default `trackist_`). Keys of cached bit operations (`<prefix>bitop_...`) are skipped
    unless `include_bitops`. `batch_keys` keys are read in one call and written in one
    `set_bits` batch (atomic where the destination is).

    Example::

        from bitmapist.stores import open_store
        copy_store(open_store("redis://old:6379"), open_store("redis+cluster://new:7000"))
    """
    if src is dst:
        raise InvalidInput("copy_store: the source and the destination are the same store")
    if type(batch_keys) is not int or batch_keys < 1:
        raise InvalidInput(f"batch_keys {batch_keys!r} is out of range: expected an integer >= 1")
    scheme = KeyScheme(prefix)
    if pattern is None:
        pattern = scheme.all_pattern
    bitop_prefix = scheme.prefix + "bitop_"
    keys = (
        key for key in src.scan_keys(pattern) if include_bitops or not key.startswith(bitop_prefix)
    )
    copied = 0
    for batch in _batches(keys, batch_keys):
        changes: list[BitChange] = []
        for key, (bits, length) in zip(batch, src.sized_bitmaps([Key(key) for key in batch])):
            if bits:
                changes.append(BitChange(key, bits, True))
            top = length * 8 - 1  # keep the byte length: write the last bit as it is (clear)
            if length and top not in bits:
                changes.append(BitChange(key, (top,), False))
        if changes:
            dst.set_bits(changes)
        for key in batch:
            copied += 1
            if progress is not None:
                progress(copied, key)
    return copied


def _batches(items: Iterator[str], size: int) -> Iterator[list[str]]:
    while batch := list(islice(items, size)):
        yield batch
