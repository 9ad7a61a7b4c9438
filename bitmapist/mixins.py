"""The bitmapist 3.x mixins: queries on anything with a `redis_key` and a `system`.

3.x built its event classes from these (`class UniqueEvents(MixinIter, MixinCounts,
MixinContains, MixinEventsMisc, MixinBitOperations)`), and so does code written against it::

    class CountryEvents(MixinIter, MixinCounts, MixinContains, MixinEventsMisc):
        def __init__(self, country, system="default"):
            self.system = system
            self.redis_key = _prefix_key("country", country)

Such a class works here unchanged, on every store: its queries go to the client of its
`system` like the built-in events' do. The built-in classes inherit these mixins too,
through `EventsBase`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .expressions import Expr, Key
from .keys import DEFAULT_PREFIX

if TYPE_CHECKING:
    from .client import Bitmapist
    from .operations import BitOpAnd, BitOpNot, BitOpOr, BitOpXor


def _client_of(system: Any) -> Bitmapist:
    global _get_client
    if _get_client is None:  # systems imports the client, which imports the events
        from .systems import get_client as _get_client
    return _get_client(system)


_get_client: Any = None  # bound on first use: an import per query costs ~0.5 us


def _prefix_key(event_name: str, date: str) -> str:
    """The 3.x key of `event_name` for the period text `date`: `trackist_<event>_<date>`.

    Like 3.x's own, it uses the default prefix; a `Bitmapist(key_prefix=...)` client's
    keys come from `client.keys`.
    """
    return f"{DEFAULT_PREFIX}{event_name}_{date}"


class _Keyed:
    """What the mixins share: an object naming a stored bitmap (`redis_key`) on `system`."""

    system: Any = "default"
    redis_key: str

    @property
    def expression(self) -> Expr:
        """What a query evaluates: the bitmap stored at `redis_key`."""
        return Key(self.redis_key)

    def _client(self) -> Bitmapist:
        return _client_of(self.system)


class MixinIter(_Keyed):
    """`get_uuids()` and iteration: the marked ids, ascending."""

    def get_uuids(self) -> Iterator[int]:
        """The marked ids, ascending."""
        return self._client().ids(self.expression)

    def __iter__(self) -> Iterator[int]:
        return self.get_uuids()


class MixinCounts(_Keyed):
    """`get_count()` and `len()`: how many ids are marked."""

    def get_count(self) -> int:
        """How many ids are marked."""
        return self._client().count(self.expression)

    def __len__(self) -> int:
        return self.get_count()


class MixinContains(_Keyed):
    """`uuid in obj`: whether an id is marked."""

    def __contains__(self, uuid: Any) -> bool:
        return self._client().contains(self.expression, uuid)  # the client checks uuid


class MixinEventsMarked(_Keyed):
    """`has_events_marked()` (the name bitmapist 3.x used before `MixinEventsMisc`)."""

    def has_events_marked(self) -> bool:
        """True if at least one id is marked."""
        return self._client().any(self.expression)


class MixinEventsMisc(MixinEventsMarked):
    """`has_events_marked()`, `delete()`, and equality by key."""

    def delete(self) -> None:
        """Delete the stored bitmap (for bit operations: their stored result, if any)."""
        self._client().delete_keys([self.redis_key])

    def __eq__(self, other: object) -> bool:
        other_key = getattr(other, "redis_key", None)
        if other_key is None:
            return NotImplemented
        return self.redis_key == other_key

    def __hash__(self) -> int:
        return hash(self.redis_key)


class MixinBitOperations:
    """`~a`, `a | b`, `a & b`, `a ^ b`: bit operations over events."""

    def __invert__(self) -> BitOpNot:
        from .operations import BitOpNot

        return BitOpNot(self)

    def __or__(self, other: Any) -> BitOpOr:
        from .operations import BitOpOr

        return BitOpOr(self, other)

    def __and__(self, other: Any) -> BitOpAnd:
        from .operations import BitOpAnd

        return BitOpAnd(self, other)

    def __xor__(self, other: Any) -> BitOpXor:
        from .operations import BitOpXor

        return BitOpXor(self, other)


class EventsBase(MixinIter, MixinCounts, MixinContains, MixinEventsMisc, MixinBitOperations):
    """What every event and bit operation can answer. Subclasses provide `expression`.

    A subclass written for 3.x may instead set `self.redis_key` in its `__init__` (3.x's
    `GenericPeriodEvents` asked for that): it then reads the bitmap stored there.
    """

    #: Set on classes bound to a `Bitmapist` client (`client.MonthEvents`).
    _bound_system: Any = None
    system: Any

    @classmethod
    def _resolve_system(cls, system: Any) -> Any:
        if cls._bound_system is not None and isinstance(system, str) and system == "default":
            return cls._bound_system
        return system

    @property
    def client(self) -> Bitmapist:
        """The `Bitmapist` client of this object's system."""
        return _client_of(self.system)

    @property
    def expression(self) -> Expr:
        key = self.__dict__.get("_redis_key")
        if key is None:
            raise NotImplementedError(f"{type(self).__name__} sets no redis_key")
        return Key(key)

    @property
    def redis_key(self) -> str:
        """The key bitmapist 3.x stores (or, for bit operations, caches) this bitmap under."""
        return self.expression.name

    @redis_key.setter
    def redis_key(self, key: str) -> None:
        self.__dict__["_redis_key"] = key

    def _client(self) -> Bitmapist:
        return _client_of(self.system)

    def bitmap(self) -> Any:
        """The marked ids as a `pyroaring.BitMap`."""
        return self._client().bitmap(self.expression)
