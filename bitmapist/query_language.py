"""The little query language of the CLI (`bitmapist count`, `ids`, `trend`, ...) and of
the dashboard's question pages.

    active:2026-11 & signup:2026-10        active in November and signed up in October
    song:played:this-week | task:complete  either event (bare names take --period/--at)
    ~premium:u & active:today              ids NOT flagged premium, active today

An operand is `EVENT[:PERIOD]`. Event names may contain colons (`song:played`): only a
trailing part that reads as a period is taken as one. Periods: `2026` (year), `2026-11`
(month), `2026-W48` (ISO week), `2026-11-28` (day), `2026-11-28T13` (hour), `u` (the
unique bitmap), and relative ones: `this-hour`, `today`, `yesterday`, `this-week`,
`last-week`, `this-month`, `last-month`, `this-year`, `last-year`. Operators as in Python,
tightest first: `~`, `&`, `^`, `|`; parentheses group. Quote a name with spaces or
operator characters: `"a&b":2026-11`. Errors name the text and the (1-based) position.

`event_spec` is how a question's event text is read, the same in the CLI and the dashboard:
a plain name stays a name, anything else becomes event objects.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .client import Bitmapist
from .errors import InvalidInput
from .events import (
    BitOpAnd,
    BitOperation,
    BitOpNot,
    BitOpOr,
    BitOpXor,
    GenericPeriodEvents,
    UniqueEvents,
)
from .periods import check_period

PERIOD_NAMES = ("hour", "day", "week", "month", "year", "unique")
RELATIVE_PERIODS = {
    "this-hour": ("hour", 0),
    "today": ("day", 0),
    "yesterday": ("day", -1),
    "this-week": ("week", 0),
    "last-week": ("week", -1),
    "this-month": ("month", 0),
    "last-month": ("month", -1),
    "this-year": ("year", 0),
    "last-year": ("year", -1),
}

_ABSOLUTE = [
    ("year", re.compile(r"(\d{4})")),
    ("month", re.compile(r"(\d{4})-(\d{1,2})")),
    ("week", re.compile(r"(\d{4})-W(\d{1,2})")),
    ("day", re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")),
    ("hour", re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2})")),
]
_TOKEN = re.compile(
    r"""\s*(?:(?P<op>[&|^~()])|"(?P<dq>[^"]*)"(?P<dqs>\S*?)(?=[\s&|^~()]|$)"""
    r"""|'(?P<sq>[^']*)'(?P<sqs>\S*?)(?=[\s&|^~()]|$)|(?P<bare>[^\s&|^~()]+))"""
)

#: Parentheses and ~ an expression may nest: the parser recurses a few frames a level.
MAX_NESTING = 100

#: The attribute under which an event object read from text keeps that text, as typed:
#: tables name it by it (`bitmapist.analytics.tables.spec_name`, through `event_text`).
TEXT_ATTRIBUTE = "query_text"


def parse_when(text: str | None) -> datetime:
    """`--at`: an ISO date or datetime, `now`, `today` or `yesterday` (naive means UTC)."""
    now = datetime.now(UTC)
    if text is None or text == "now":
        return now
    if text == "today":
        return now
    if text == "yesterday":
        return now - timedelta(days=1)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"time {text!r} is not an ISO date or datetime (e.g. 2026-11-28 or "
            "2026-11-28T13:05:00Z), 'now', 'today' or 'yesterday'"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def event_for(client: Bitmapist, name: str, period: str, at: date | datetime) -> Any:
    """The event object of `name` over the `period` containing `at`."""
    if period == "unique":
        return client.UniqueEvents(name)
    classes = {
        "hour": client.HourEvents,
        "day": client.DayEvents,
        "week": client.WeekEvents,
        "month": client.MonthEvents,
        "year": client.YearEvents,
    }
    cls = classes.get(period)
    if cls is None:
        raise InvalidInput(f"period {period!r} is unknown: expected one of {PERIOD_NAMES}")
    return cls.from_date(name, at)


def operand(client: Bitmapist, text: str, default_period: str, at: datetime) -> Any:
    """`EVENT[:PERIOD]` as an event object (see the module docstring)."""
    name, sep, suffix = text.rpartition(":")
    if sep and name:
        event = _with_period(client, name, suffix, at)
        if event is not None:
            return event
    return event_for(client, text, default_period, at)


def _with_period(client: Bitmapist, name: str, suffix: str, at: datetime) -> Any:
    if suffix in ("u", "unique"):
        return client.UniqueEvents(name)
    relative = RELATIVE_PERIODS.get(suffix)
    if relative is not None:
        period, delta = relative
        return event_for(client, name, period, at).delta(delta)
    for period, pattern in _ABSOLUTE:
        match = pattern.fullmatch(suffix)
        if match is None:
            continue
        fields = [int(group) for group in match.groups()]
        check_period(period, fields)  # a typed period must exist (event objects read any)
        classes = {
            "year": client.YearEvents,
            "month": client.MonthEvents,
            "week": client.WeekEvents,
            "day": client.DayEvents,
            "hour": client.HourEvents,
        }
        return classes[period](name, *fields)
    return None


def tokenize(text: str) -> list[tuple[str, str]]:
    """`("op", "&")` and `("name", "song:played:2026-11")` tokens."""
    return [(kind, value) for kind, value, _ in _scan(text)]


def _scan(text: str) -> list[tuple[str, str, int]]:
    """The tokens with the (1-based) position of their first character in `text`."""
    tokens: list[tuple[str, str, int]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise InvalidInput(f"expression {text!r}: cannot read from position {position + 1}")
        position = match.end()
        where = len(text) - len(text[match.start() :].lstrip()) + 1  # after the spaces
        if match["op"]:
            tokens.append(("op", match["op"], where))
        elif match["dq"] is not None:
            tokens.append(("name", match["dq"] + match["dqs"], where))
        elif match["sq"] is not None:
            tokens.append(("name", match["sq"] + match["sqs"], where))
        else:
            tokens.append(("name", match["bare"], where))
    return tokens


class _Parser:
    def __init__(self, text: str, client: Bitmapist, default_period: str, at: datetime):
        self.text = text
        self.tokens = _scan(text)
        self.position = 0
        self.client = client
        self.default_period = default_period
        self.at = at
        self.nesting = 0  # open parentheses and ~ around the current token

    def parse(self) -> Any:
        if not self.tokens:
            raise InvalidInput("expression '' is empty: give an event name such as active:today")
        result = self._binary(0)
        if self.position != len(self.tokens):
            raise self._error(f"unexpected {self.tokens[self.position][1]!r}")
        return result

    # precedence levels, loosest first, as in Python
    _LEVELS = (("|", BitOpOr), ("^", BitOpXor), ("&", BitOpAnd))

    def _binary(self, level: int) -> Any:
        if level == len(self._LEVELS):
            return self._unary()
        symbol, op_class = self._LEVELS[level]
        operands = [self._binary(level + 1)]
        while self._peek() == ("op", symbol):
            self.position += 1
            operands.append(self._binary(level + 1))
        return operands[0] if len(operands) == 1 else op_class(*operands)

    def _unary(self) -> Any:
        token = self._next()
        if token in (("op", "~"), ("op", "(")):
            return self._nested(token[1])
        if token[0] == "name":
            try:
                return operand(self.client, token[1], self.default_period, self.at)
            except InvalidInput as exc:  # e.g. month 13: say which operand of the text
                self.position -= 1
                raise self._error(str(exc), expected=False) from None
        self.position -= 1
        raise self._error(f"expected an event name, got {token[1]!r}")

    def _nested(self, symbol: str) -> Any:
        # each level recurses through several methods: bound it well below Python's limit
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            self.position -= 1
            raise self._error(f"more than {MAX_NESTING} levels of parentheses and ~")
        if symbol == "~":
            result = BitOpNot(self._unary())
        else:
            result = self._binary(0)
            if self._peek() != ("op", ")"):
                raise self._error("missing ')'")
            self.position += 1
        self.nesting -= 1
        return result

    def _peek(self) -> tuple[str, str] | None:
        if self.position >= len(self.tokens):
            return None
        kind, value, _ = self.tokens[self.position]
        return kind, value

    def _next(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise self._error("it ends too early")
        self.position += 1
        return token

    def _error(self, problem: str, expected: bool = True) -> InvalidInput:
        """`problem` at the current token (or the end), naming the text and the position."""
        text = self.text if len(self.text) <= 80 else self.text[:77] + "..."
        if self.position < len(self.tokens):
            where = f"position {self.tokens[self.position][2]}"
        else:
            where = f"position {len(self.text.rstrip()) + 1} (the end)"
        hint = (
            "; expected EVENT[:PERIOD] operands joined by &, |, ^, ~ and parentheses"
            if expected
            else ""
        )
        return InvalidInput(f"expression {text!r} at {where}: {problem}{hint}")


def parse_expression(
    text: str, client: Bitmapist, default_period: str = "month", at: datetime | None = None
) -> Any:
    """An event or bit operation on `client` for a query such as `"active:2026-11 & signup"`.

    The object keeps `text` (stripped) as its `query_text`, so a table names it as typed.
    """
    event = _Parser(text, client, default_period, at or parse_when(None)).parse()
    return _typed(event, text)


def _typed(event: Any, text: str) -> Any:
    setattr(event, TEXT_ATTRIBUTE, text.strip())
    return event


def event_spec(text: str, client: Bitmapist, period: str, at: datetime) -> Any:
    """The event a question (trends, funnel, lifecycle, stickiness, retention) is asked of,
    from the text a person typed: the one rule the CLI and the dashboard share.

    A plain event name (`active`, `song:played`, `signup_form:new`) stays a name, so the
    question moves it to each of its periods and a custom handler of that name applies.
    Anything else (a period suffix such as `premium:u` or `active:2026-11`, a quoted name,
    operators) becomes event objects, read with `period` for bare operands and `at` for
    relative suffixes; the question moves their period events to each of its periods too,
    and unique bitmaps stay as they are. Bad text raises `InvalidInput` naming the text and
    the position.
    """
    spec = parse_expression(text, client, period, at)  # also checks a plain name
    return text if _is_plain(text) else spec


def flag_spec(text: str, client: Bitmapist, period: str, at: datetime) -> Any:
    """A segment that narrows one set of users (retention's): a plain name is that flag,
    `UniqueEvents(name)`; anything else is the expression, as `event_spec` reads it."""
    spec = event_spec(text, client, period, at)
    return _typed(client.UniqueEvents(spec), text) if isinstance(spec, str) else spec


def name_text(name: str, flag: bool = False) -> str:
    """Text that `event_spec` (`flag=True`: `flag_spec`) reads back as the event (or flag)
    `name`, for links and forms made from stored names: the name itself when it is plain,
    else quoted with a period suffix (`"a&b":this-month` stands for the name in every
    period of a question, `"a&b":u` for the flag). A name holding both kinds of quote
    cannot be written in the language; it is returned as it is."""
    if _is_plain(name):
        return name
    quote = '"' if '"' not in name else "'"
    if quote in name:
        return name
    return f"{quote}{name}{quote}:{'u' if flag else 'this-month'}"


def _is_plain(name: str) -> bool:
    """Whether `name` alone reads as that name: one token (no operator, quote or space)
    without a trailing part that `operand` takes as a period."""
    if not name or tokenize(name) != [("name", name)]:
        return False
    base, sep, suffix = name.rpartition(":")
    if not (sep and base):
        return True
    return (
        suffix not in ("u", "unique")
        and suffix not in RELATIVE_PERIODS
        and not any(pattern.fullmatch(suffix) for _, pattern in _ABSOLUTE)
    )


# --- writing event objects back as text

_SYMBOLS = {"OR": "|", "XOR": "^", "AND": "&"}
#: How tightly each operator binds, as in Python; an operand binds tightest of all.
_BINDING = {"OR": 1, "XOR": 2, "AND": 3, "NOT": 4}
_OPERAND = 5
#: Operator changes deeper than this are written as `(...)`: a label, not a dump.
MAX_TEXT_DEPTH = 50


def event_text(event: Any) -> str:
    """`event` (an event object) in this language, for people to read (a table's titles,
    series and segments).

    An object read from text (`parse_expression`, `event_spec`, `flag_spec`) is written as
    it was typed. Otherwise period events are written as their name alone (a question moves
    them to each of its periods), `UniqueEvents` as `NAME:u`, bit operations with `&`, `|`,
    `^`, `~` and the fewest parentheses: `DayEvents("active") & ~UniqueEvents("churned")`
    is `active & ~churned:u`. A name that is not one operand is quoted (`"a b"`). Other
    objects are written as their repr, or as their class and event name where the repr is
    Python's default (a memory address).
    """
    return _written(event, 0)[0]


def _written(event: Any, depth: int) -> tuple[str, int]:
    """The text of `event` and how tightly it binds (to parenthesize it in an operation)."""
    typed = getattr(event, TEXT_ATTRIBUTE, None)
    if not isinstance(event, BitOperation):
        return (typed if isinstance(typed, str) else _operand_text(event)), _OPERAND
    binding = _BINDING[event.op_name]
    if isinstance(typed, str):
        return typed, binding  # its top-level operator is this operation's
    if depth >= MAX_TEXT_DEPTH:
        return "(...)", _OPERAND
    if event.op_name == "NOT":
        inner, inner_binding = _written(event.events[0], depth + 1)
        return "~" + (inner if inner_binding >= binding else f"({inner})"), binding
    parts = []
    for operand in _chain(event):
        inner, inner_binding = _written(operand, depth + 1)
        parts.append(inner if inner_binding >= binding else f"({inner})")  # all associative
    return f" {_SYMBOLS[event.op_name]} ".join(parts), binding


def _chain(operation: BitOperation) -> list[Any]:
    """The operands of `operation`, with those of nested operations of the same operator
    (not typed ones) taken in: `(a | b) | c` is `a | b | c`, and `reduce(or_, days)` is
    written without one level per day."""
    operands, pending = [], list(reversed(operation.events))
    while pending:
        item = pending.pop()
        same = isinstance(item, BitOperation) and item.op_name == operation.op_name
        if same and not isinstance(getattr(item, TEXT_ATTRIBUTE, None), str):
            pending.extend(reversed(item.events))
        else:
            operands.append(item)
    return operands


def _operand_text(event: Any) -> str:
    if isinstance(event, GenericPeriodEvents):
        return _quoted(event.event_name)
    if isinstance(event, UniqueEvents):
        return _quoted(event.event_name) + ":u"
    if type(event).__repr__ is object.__repr__:
        name = getattr(event, "event_name", None)
        return type(event).__name__ + (f"({name!r})" if isinstance(name, str) else "")
    return repr(event)


def _quoted(name: str) -> str:
    """`name` as one operand: itself when it reads as one, else in quotes."""
    try:
        if tokenize(name) == [("name", name)]:
            return name
    except InvalidInput:
        pass
    quote = '"' if '"' not in name else "'"
    return f"{quote}{name}{quote}"
