"""Read many expressions' bitmaps: every stored key fetched once, operations done locally.

Cohort tables, retention tables and date ranges touch the same few dozen stored bitmaps
hundreds of times. `BitmapReader` fetches each distinct stored key once, in bulk, through
the Store contract (`Store.sized_bitmaps`: bits and byte length, which each backend reads
its cheapest way, in bounded round trips on Redis), evaluates `Op` trees on roaring bitmaps
in this process (`bitmapist.bitops`, Redis BITOP semantics) and caches every result. The
store never runs a BITOP for it, so no temporary keys are written and server memory stays
flat.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyroaring import BitMap

from .. import bitops
from ..bitops import SizedBitmap
from ..expressions import Expr, Key, leaf_keys
from ..stores.base import Store


class BitmapReader:
    """Cached, batched evaluation of expressions against one store.

    Bitmaps returned by `bitmap` are shared with the cache: treat them as read-only
    (`BitMap.copy()` before modifying).
    """

    def __init__(self, store: Store):
        self.store = store
        # Stored keys and operation results apart: a stored key may carry an op's name.
        self._stored: dict[str, SizedBitmap] = {}
        self._results: dict[str, SizedBitmap] = {}
        #: Stored keys fetched so far (each exactly once).
        self.fetched_keys = 0

    def prefetch(self, exprs: Iterable[Expr]) -> None:
        """Fetch every stored key the expressions read that is not cached yet, in bulk."""
        missing: dict[str, None] = {}
        for expr in exprs:
            for key in leaf_keys(expr):
                if key not in self._stored:
                    missing[key] = None
        if not missing:
            return
        keys = list(missing)
        self._stored.update(zip(keys, self.store.sized_bitmaps([Key(key) for key in keys])))
        self.fetched_keys += len(keys)

    def bitmap(self, expr: Expr) -> BitMap:
        """The bitmap `expr` evaluates to (Redis BITOP semantics), cached and shared."""
        if isinstance(expr, Key):
            stored = self._stored.get(expr.name)
            if stored is None:
                self.prefetch([expr])
                stored = self._stored[expr.name]
            return stored.bits
        cached = self._results.get(expr.name)
        if cached is not None:
            return cached.bits
        self.prefetch([expr])
        return bitops.evaluate(expr, self._stored.__getitem__, self._results)[0]

    def count(self, expr: Expr) -> int:
        """How many bits `expr` has."""
        return len(self.bitmap(expr))
