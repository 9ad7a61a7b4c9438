"""What "the users who did X" means in a given period, for tables that walk periods.

A spec is an event name, a name registered with `set_custom_handler`, or an event object
(period events, `UniqueEvents`, bit operations over them such as
`DayEvents("active") & UniqueEvents("premium")`). For each period of a table, period events
in the spec are moved to that period (and period kind); `UniqueEvents` stay as they are.
The spec is rebuilt on the table's system, so `DayEvents("active")` made without a system
works for a table on any client.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from ..errors import InvalidInput
from ..events import BitOperation, EventsBase, GenericPeriodEvents, UniqueEvents
from ..expressions import Expr, Key, Op
from ..keys import KeyScheme
from ..validation import check_event_name
from .timeline import PeriodKind, event_args

#: name -> callback(name, cls, cls_args) returning an event object (bitmapist 3.x).
CUSTOM_HANDLERS: dict[str, Callable[..., Any]] = {}

EventSpec = str | EventsBase


def set_custom_handler(event_name: str, callback: Callable[..., Any]) -> None:
    """Make `event_name` stand for what `callback(event_name, cls, cls_args)` returns.

    `cls` is `DayEvents`, `WeekEvents`, `MonthEvents`, `YearEvents` (or `HourEvents` in
    retention tables) and `cls_args` the arguments after the event name, system last.
    Example (active on web or iOS)::

        def active_web_ios(key, cls, cls_args):
            return cls("active", *cls_args) & (cls("web", *cls_args) | cls("ios", *cls_args))

        set_custom_handler("active_web_ios", active_web_ios)
    """
    if not isinstance(event_name, str) or not event_name:
        raise InvalidInput(f"custom handler name {event_name!r} must be a non-empty string")
    if not callable(callback):
        raise InvalidInput(f"custom handler {callback!r} for {event_name!r} is not callable")
    CUSTOM_HANDLERS[event_name] = callback


def check_spec(spec: Any, what: str) -> EventSpec:
    """`spec` if it can name users per period, else `InvalidInput` saying what can."""
    if isinstance(spec, EventsBase) or (isinstance(spec, str) and spec):
        return spec
    raise InvalidInput(
        f"{what} {spec!r} is not an event name or an event object "
        "(e.g. 'active' or DayEvents('active') & UniqueEvents('premium'))"
    )


def period_expression(
    spec: EventSpec,
    kind: PeriodKind,
    moment: date | datetime,
    system: Any,
    keys: KeyScheme | None = None,
) -> Expr:
    """The expression of `spec` in the period of `kind` that contains `moment`.

    `keys`, the key scheme of `system`'s client, lets plain event names skip building
    event objects (a table builds hundreds of these).
    """
    cls, cls_args = event_args(kind, moment, system)
    if isinstance(spec, str):
        handler = CUSTOM_HANDLERS.get(spec)
        if handler is None and keys is not None:
            return _name_expression(keys, spec, kind, moment)
        event = handler(spec, cls, cls_args) if handler is not None else cls(spec, *cls_args)
    else:
        event = _retarget(spec, cls, cls_args)
    return expression_of(event)


def expression_of(event: Any) -> Expr:
    """The expression tree behind an event object (what custom handlers return)."""
    expression = getattr(event, "expression", None)
    if expression is None:
        raise InvalidInput(f"{event!r} is not an event object: it has no expression")
    return expression


def _name_expression(keys: KeyScheme, name: str, kind: str, moment: date | datetime) -> Expr:
    """What `cls(name, ...).expression` gives, straight from the key scheme."""
    check_event_name(name)
    if kind == "day":
        return Key(keys.day(name, moment.year, moment.month, moment.day))
    if kind == "week":
        iso_year, iso_week, _ = moment.isocalendar()
        return Key(keys.week(name, iso_year, iso_week))
    if kind == "month":
        return Key(keys.month(name, moment.year, moment.month))
    if kind == "hour":
        hour = getattr(moment, "hour", 0)
        return Key(keys.hour(name, moment.year, moment.month, moment.day, hour))
    months = tuple(Key(keys.month(name, moment.year, month)) for month in range(1, 13))
    return Op("OR", months, keys.bitop("OR", (month.name for month in months)))


def _retarget(event: EventsBase, cls: type, cls_args: tuple) -> EventsBase:
    # Rebuilt on the table's system (last of cls_args): its store is the one read, so key
    # names must follow its client's key prefix, whatever system the template was made on.
    system = cls_args[-1]
    if isinstance(event, GenericPeriodEvents):
        return cls(event.event_name, *cls_args)
    if isinstance(event, UniqueEvents):
        return UniqueEvents(event.event_name, system)
    if isinstance(event, BitOperation):
        children = [_retarget(child, cls, cls_args) for child in event.events]
        return BitOperation(event.op_name, system, *children)
    return event  # other period-free sets (a DateRange) keep their own definition
