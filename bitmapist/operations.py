"""Bit operations over events: `BitOpAnd/Or/Xor/Not` and `&`, `|`, `^`, `~`.

Lazy by default (an expression tree evaluated when queried); with snapshot bit operations
(`Bitmapist(snapshot_bitops=True)` or `bitmapist.SNAPSHOT_BITOPS = True`) each one is
computed when built and kept under its 3.x key, as 3.x did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import InvalidInput
from .expressions import OP_NAMES, Expr, Key, Op
from .mixins import EventsBase, _client_of

if TYPE_CHECKING:
    from .client import Bitmapist


def _expression_of(event: Any) -> Expr:
    expression = getattr(event, "expression", None)
    if expression is not None:
        return expression
    key = getattr(event, "redis_key", None)
    if not isinstance(key, str):
        raise InvalidInput(f"{event!r} is not an event: bit operations combine event objects")
    return Key(key)


def op_expression(client: Bitmapist, op_name: str, events: Any) -> Op:
    operands = tuple([_expression_of(event) for event in events])  # lists: cheaper than generators
    return Op(op_name, operands, client.keys.bitop(op_name, [o.name for o in operands]))


def snapshot_taken(client: Bitmapist, event: Any) -> bool:
    """In snapshot mode, compute `event._op()` now and store it under its key (3.x's
    semantics); returns whether it did. Otherwise nothing is computed yet."""
    if not client.takes_snapshots():
        return False
    client.store_snapshot(event._op())
    return True


class BitOperation(EventsBase):
    """A bit operation over events or other operations: `BitOperation("AND", a, b)`.

    As in 3.x, the first argument may be a system (name, client) instead of an event;
    otherwise the operation runs on the first event's system. Nothing is computed until
    the operation is queried; on Redis its result is cached under `redis_key` for
    `bitop_ttl` seconds. With snapshot bit operations (`Bitmapist(snapshot_bitops=True)` or
    `bitmapist.SNAPSHOT_BITOPS = True`) it is computed when built and kept under
    `redis_key`, as in 3.x: queries read that snapshot, `delete()` empties it.
    """

    def __init__(self, op_name: str, system_or_event: Any, *events: Any):
        if op_name not in OP_NAMES:
            raise InvalidInput(f"bit operation {op_name!r} is unknown: expected one of {OP_NAMES}")
        # isinstance first: hasattr() would compute an event's redis_key property
        if isinstance(system_or_event, EventsBase) or hasattr(system_or_event, "redis_key"):
            events = (system_or_event, *events)
            system = getattr(system_or_event, "system", "default")
            named = False
        else:
            # a system named first (3.x's BitOpAnd("stats", a, b)) says where to read every key
            system = system_or_event
            named = True
        if not events:
            raise InvalidInput(f"BitOp{op_name.title()} needs at least one event")
        if op_name == "NOT" and len(events) != 1:
            raise InvalidInput(f"BitOpNot takes exactly one event, got {len(events)}")
        system = self._resolve_system(system)
        if not named:
            _check_stores(op_name, system, events)
        self.op_name = op_name
        self.events = events
        self.system = system
        # resolved once, when built (as 3.x did): every query asks for it again
        self._system_client = _client_of(self.system)
        # Built now, from the operands' own (already built) expressions: a chain such as
        # reduce(or_, days) never walks its whole depth at once, so no recursion limit.
        # `Op` refuses to nest deeper than MAX_DEPTH.
        self._expression: Expr = op_expression(self._system_client, op_name, events)
        self._depth = self._expression.depth
        if snapshot_taken(self._system_client, self):
            self._expression = Key(self._expression.name)
            self._depth = 0  # a stored key, as an event's: 3.x's reduce(or_, days) stays flat

    def _client(self) -> Bitmapist:
        return self._system_client

    def _op(self) -> Op:
        return op_expression(self._client(), self.op_name, self.events)

    @property
    def expression(self) -> Expr:
        return self._expression

    def __repr__(self) -> str:
        if self._depth > _REPR_DEPTH:  # a deep chain's repr would be megabytes long
            return (
                f"BitOp{self.op_name.title()}(<{len(self.events)} operands, {self._depth} levels>)"
            )
        return f"BitOp{self.op_name.title()}({', '.join(repr(e) for e in self.events)})"


#: Operations nested deeper than this repr as a summary, not operand by operand.
_REPR_DEPTH = 8


def _check_stores(op_name: str, system: Any, events: tuple[Any, ...]) -> None:
    """Check that every operand lives in the store of `system` (the first event's): the
    operation reads them all from there, so an operand from another store would silently
    read that store's key of the same name."""
    store = None
    for event in events:
        other = getattr(event, "system", system)
        if other is system:  # the usual case: one system object, nothing to compare
            continue
        store = store or _client_of(system).store
        if not _same_data(store, _client_of(other).store):
            raise InvalidInput(
                f"BitOp{op_name.title()}: {event!r} is in another store than the first "
                "event, whose store the operation reads every operand from; combine events "
                "of one store, name the system to read from first (BitOpAnd(system, a, b)), "
                "or combine bitmaps in Python: a.bitmap() & b.bitmap()"
            )


def _same_data(store: Any, other: Any) -> bool:
    """Whether two stores hold the same keys: one object, or Redis clients of one database
    (two 3.x systems set up for the same server, which 3.x combined correctly)."""
    if store is other:
        return True
    clients = store.redis_client(), other.redis_client()
    if None in clients:
        return False
    pools = [getattr(client, "connection_pool", None) for client in clients]
    places = [getattr(pool, "connection_kwargs", None) for pool in pools]
    if None in places:
        return False
    first, second = ([place.get(f) for f in ("host", "port", "path", "db")] for place in places)
    return first == second


class BitOpAnd(BitOperation):
    """Ids marked in every operand."""

    def __init__(self, system_or_event: Any, *events: Any):
        super().__init__("AND", system_or_event, *events)


class BitOpOr(BitOperation):
    """Ids marked in at least one operand."""

    def __init__(self, system_or_event: Any, *events: Any):
        super().__init__("OR", system_or_event, *events)


class BitOpXor(BitOperation):
    """Ids marked in an odd number of operands."""

    def __init__(self, system_or_event: Any, *events: Any):
        super().__init__("XOR", system_or_event, *events)


class BitOpNot(BitOperation):
    """Ids not marked in the operand, up to its stored length in whole bytes (Redis BITOP NOT)."""

    def __init__(self, system_or_event: Any, *events: Any):
        super().__init__("NOT", system_or_event, *events)
