"""The `Store` contract: the one place that knows where bits live.

Everything above a store (events, the client, cohorts, the CLI) speaks in *logical keys*
(the classic 3.x layout from `bitmapist.keys`) and in user ids as bit offsets in
[0, 2**32). A store may lay data out differently underneath (the cluster store shards
keys), but it answers in those terms.

Primitives every backend implements:

- `set_bits(changes)`: apply a batch of bit changes, atomically (all or none), durably
  as far as the backend goes, before returning.
- `get_bit(expr, offset)`, `count(expr)`, `bitmap(expr)`: evaluate an expression
  (a stored `Key` or an `Op` tree). A missing key is an empty bitmap, never an error.
- `scan_keys(pattern)`: stored keys matching a Redis glob pattern, in no order.
- `delete(keys)`: remove keys; returns how many existed.

Derived operations have defaults built from the primitives; a backend overrides one only
when it can do it atomically or faster (one round trip, no copy):

- `ids`, `any`, `counts`, `bitmaps`: the obvious compositions.
- `sized_bitmaps(exprs)`: bits *and* byte length of each expression as a Redis string
  (what BITOP NOT complements within). The default gives the shortest string holding the
  bits; a backend that keeps trailing zero bytes (all of ours do, like Redis) overrides it.
- `strings(exprs)`: the raw Redis string of each expression, byte-exact, None where empty.
- `redis_client()`: the redis-py client for code that speaks Redis itself (3.x
  `get_redis`); None unless the store's keys are plain Redis keys on one server.

Nothing outside `bitmapist/stores/` imports a concrete store or checks a store's type:
a fast path a backend offers is one of these methods, never a probe for an attribute.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from pyroaring import BitMap

from ..bitbytes import redis_byte_length, to_bytes
from ..bitops import SizedBitmap
from ..expressions import Expr


class BitChange(NamedTuple):
    """Set (`value=True`) or clear the bits at `offsets` of the bitmap at `key`."""

    key: str
    offsets: Collection[int]
    value: bool = True


class Store(ABC):
    """A place bitmaps live. See the module docstring for the contract."""

    #: Short name for messages and `info()`: "redis", "embedded", ...
    kind: str = "store"
    #: Whether evaluating an `Op` leaves its result stored under `Op.name` (Redis caches
    #: BITOP results there with a TTL); False for stores that evaluate in memory.
    stores_bitop_results: bool = True

    @abstractmethod
    def set_bits(self, changes: Sequence[BitChange]) -> None:
        """Apply every change, atomically, before returning. Offsets are pre-validated."""

    @abstractmethod
    def get_bit(self, expr: Expr, offset: int) -> bool:
        """Whether bit `offset` is set in the bitmap `expr` evaluates to."""

    @abstractmethod
    def count(self, expr: Expr) -> int:
        """The number of set bits in `expr`."""

    @abstractmethod
    def bitmap(self, expr: Expr) -> BitMap:
        """The set bits of `expr` as a roaring bitmap (a copy the caller may modify)."""

    @abstractmethod
    def scan_keys(self, pattern: str = "*") -> Iterator[str]:
        """Stored keys matching a Redis glob pattern (`*`, `?`, `[...]`, `\\` escapes)."""

    @abstractmethod
    def delete(self, keys: Iterable[str]) -> int:
        """Delete `keys`; return how many of them existed."""

    # --- derived operations: override when a backend can do better

    def ids(self, expr: Expr) -> Iterator[int]:
        """The set bits of `expr`, ascending."""
        return iter(self.bitmap(expr))

    def any(self, expr: Expr) -> bool:
        """Whether `expr` has at least one bit set."""
        return self.count(expr) > 0

    def counts(self, exprs: Sequence[Expr]) -> list[int]:
        """`count` of each expression, in order."""
        return [self.count(expr) for expr in exprs]

    def bitmaps(self, exprs: Sequence[Expr]) -> list[BitMap]:
        """`bitmap` of each expression, in order."""
        return [self.bitmap(expr) for expr in exprs]

    def sized_bitmaps(self, exprs: Sequence[Expr]) -> list[SizedBitmap]:
        """Each expression's bits and its length in bytes as a Redis string, in order.

        A missing key is `(BitMap(), 0)`. Bitmaps are copies the caller may modify. Bulk
        readers (the analytics reader, `copy`) use this: a backend should make it its
        cheapest way to read many bitmaps, bounding what one round trip carries.
        """
        return [SizedBitmap(bits, redis_byte_length(bits)) for bits in self.bitmaps(exprs)]

    def strings(self, exprs: Sequence[Expr]) -> list[bytes | None]:
        """The Redis string each expression stands for, byte-exact; None where empty."""
        return [_string(bits, length) for bits, length in self.sized_bitmaps(exprs)]

    def redis_client(self) -> Any | None:
        """The redis-py client holding this store's keys as plain Redis strings, else None."""
        return None

    def info(self) -> dict[str, Any]:
        """Facts about the store for humans (kind, keys, memory); backends add their own."""
        return {"kind": self.kind}

    def close(self) -> None:
        """Release connections and files. The store must not be used afterwards."""
        return None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _string(bits: BitMap, length: int) -> bytes | None:
    return to_bytes(bits, length) if length else None
