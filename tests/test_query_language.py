"""The query language's shared rule (`event_spec`, `flag_spec`) and its error positions:
the CLI and the dashboard read a question's event text the same way."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import reduce
from operator import or_

import pytest

from bitmapist import Bitmapist, DateRange, InvalidInput, UniqueEvents
from bitmapist.events import EventsBase
from bitmapist.query_language import (
    MAX_NESTING,
    MAX_TEXT_DEPTH,
    event_spec,
    event_text,
    flag_spec,
    name_text,
    parse_expression,
)

NOW = datetime(2026, 11, 28, 15, tzinfo=UTC)


@pytest.fixture
def client() -> Bitmapist:
    return Bitmapist("memory://")


@pytest.mark.parametrize("text", ["active", "song:played", "signup_form:new", "a-b_c.d"])
def test_a_plain_name_stays_a_name(client: Bitmapist, text: str) -> None:
    assert event_spec(text, client, "week", NOW) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("premium:u", "UniqueEvents('premium')"),
        ("active:2026-11", "MonthEvents('active', 2026, 11)"),
        ('"active"', "WeekEvents('active', 2026, 48)"),  # quoted: an operand, not a name
        ("active & premium:u", "BitOpAnd(WeekEvents('active', 2026, 48), UniqueEvents('premium'))"),
        ("~a | b", "BitOpOr(BitOpNot(WeekEvents('a', 2026, 48)), WeekEvents('b', 2026, 48))"),
    ],
)
def test_anything_else_becomes_event_objects(client: Bitmapist, text: str, expected: str) -> None:
    spec = event_spec(text, client, "week", NOW)
    assert not isinstance(spec, str)
    assert repr(spec) == expected


def test_a_flag_is_the_unique_bitmap_of_a_plain_name(client: Bitmapist) -> None:
    assert repr(flag_spec("premium", client, "day", NOW)) == repr(UniqueEvents("premium"))
    assert repr(flag_spec("premium:u & ~churned:u", client, "day", NOW)) == (
        "BitOpAnd(UniqueEvents('premium'), BitOpNot(UniqueEvents('churned')))"
    )


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("active &", "position 9 (the end)", "it ends too early"),
        ("(active", "position 8 (the end)", "missing ')'"),
        ("(a  b)", "position 5", "missing ')'"),
        ("active)", "position 7", "unexpected ')'"),
        ("a | | b", "position 5", "expected an event name, got '|'"),
        ("  a & b:2026-02-30", "position 7", "day 30 is out of range"),
        ("~" * (MAX_NESTING + 1) + "a", f"position {MAX_NESTING + 1}", "more than 100 levels"),
    ],
)
def test_errors_name_the_text_and_the_position(
    client: Bitmapist, text: str, where: str, problem: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        event_spec(text, client, "day", NOW)
    message = str(caught.value)
    assert message.startswith(f"expression {text[:77]!r}"[:-1])
    assert f" at {where}: {problem}" in message


def test_nesting_up_to_the_limit_parses(client: Bitmapist) -> None:
    text = "(" * MAX_NESTING + "a" + ")" * MAX_NESTING
    assert repr(parse_expression(text, client, "day", NOW)) == "DayEvents('a', 2026, 11, 28)"


ODD_NAMES = ["active", "song:played", "a&b", "a b", "x:2026-11", "x:u", "(x)", "~a", "it's"]


@pytest.mark.parametrize("name", [*ODD_NAMES, 'say "hi"', "a:today", "b:2026-02-30"])
def test_name_text_reads_back_as_the_name(client: Bitmapist, name: str) -> None:
    """Links made from stored names (the dashboard's overview) must name those events."""
    text = name_text(name)
    spec = event_spec(text, client, "day", NOW)
    assert spec == name if text == name else spec.event_name == name
    flag = flag_spec(name_text(name, flag=True), client, "day", NOW)
    assert repr(flag) == repr(UniqueEvents(name))


def test_plain_names_are_written_as_they_are() -> None:
    assert [name_text(n) for n in ("active", "song:played", "it's")] == [
        "active",
        "song:played",
        "it's",
    ]
    assert name_text("a&b") == '"a&b":this-month'
    assert name_text("a&b", flag=True) == '"a&b":u'
    assert name_text('say "hi"', flag=True) == "'say \"hi\"':u"


# --- writing event objects back as text (how tables name them)

SOME_DAY = datetime(2026, 1, 5)


@pytest.mark.parametrize(
    ("build", "text"),
    [
        (
            lambda c: c.DayEvents("active", SOME_DAY) & c.UniqueEvents("premium"),
            "active & premium:u",
        ),
        (lambda c: c.DayEvents("a", SOME_DAY) & ~c.UniqueEvents("churned"), "a & ~churned:u"),
        (
            lambda c: (
                (c.DayEvents("a", SOME_DAY) | c.DayEvents("b", SOME_DAY)) & c.UniqueEvents("x")
            ),
            "(a | b) & x:u",
        ),
        (
            lambda c: (
                c.DayEvents("a", SOME_DAY) & c.DayEvents("b", SOME_DAY) | c.DayEvents("c", SOME_DAY)
            ),
            "a & b | c",
        ),
        (
            lambda c: (
                c.DayEvents("a", SOME_DAY)
                ^ (c.DayEvents("b", SOME_DAY) | c.DayEvents("c", SOME_DAY))
            ),
            "a ^ (b | c)",
        ),
        (lambda c: ~(c.DayEvents("a", SOME_DAY) & c.DayEvents("b", SOME_DAY)), "~(a & b)"),
        (lambda c: ~~c.DayEvents("a", SOME_DAY), "~~a"),
        (
            lambda c: (
                (c.DayEvents("a", SOME_DAY) | c.DayEvents("b", SOME_DAY))
                | c.DayEvents("c", SOME_DAY)
            ),
            "a | b | c",
        ),
        (
            lambda c: c.DayEvents("a&b", SOME_DAY) | c.UniqueEvents("web visit"),
            '"a&b" | "web visit":u',
        ),
        (lambda c: c.UniqueEvents('say "hi"'), "'say \"hi\"':u"),
        (lambda c: c.DayEvents("song:played", SOME_DAY), "song:played"),
    ],
)
def test_event_text_writes_an_object_in_the_language(client: Bitmapist, build, text: str) -> None:
    event = build(client)
    assert event_text(event) == text
    # read back in the period the objects were made in, it holds the same users
    names = ["a", "b", "c", "x", "active", "premium", "churned", "a&b", "web visit", 'say "hi"']
    for step, name in enumerate(names + ["song:played"], 2):
        client.mark_events([(name, uid, SOME_DAY) for uid in range(0, 60, step)])
        for uid in range(1, 60, step):
            client.mark_unique(name, uid)
    again = parse_expression(text, client, "day", SOME_DAY)
    assert list(again) == list(event) and len(event) > 0


def test_event_text_keeps_the_text_an_object_was_read_from(client: Bitmapist) -> None:
    typed = "(active)&premium:u"
    spec = event_spec(typed, client, "day", NOW)
    assert event_text(spec) == typed
    assert event_text(parse_expression(f"  {typed} ", client, "day", NOW)) == typed
    # inside a larger object, a typed part keeps its text, parenthesized as its operator needs
    segment = flag_spec("premium | trial", client, "day", NOW)
    assert event_text(spec & segment) == "(active)&premium:u & (premium | trial)"
    assert event_text(flag_spec("premium", client, "day", NOW)) == "premium"


def test_event_text_of_other_objects_has_no_memory_address(client: Bitmapist) -> None:
    class Cohort(EventsBase):
        event_name = "beta testers"

    class Nameless(EventsBase):
        pass

    assert event_text(Cohort()) == "Cohort('beta testers')"
    assert event_text(Nameless()) == "Nameless"
    span = DateRange("active", datetime(2026, 1, 5), datetime(2026, 1, 9), system=client)
    assert event_text(span) == repr(span) and "0x" not in repr(span)


def test_event_text_of_long_and_deep_objects_is_bounded(client: Bitmapist) -> None:
    days = [client.DayEvents(f"e{i}", SOME_DAY) for i in range(900)]
    assert event_text(reduce(or_, days)) == " | ".join(f"e{i}" for i in range(900))
    zigzag = days[0]
    for i in range(1, 300):  # alternating operators: each one a level of parentheses
        zigzag = (zigzag | days[i]) if i % 2 else (zigzag & days[i])
    text = event_text(zigzag)
    assert text.startswith("(" * (MAX_TEXT_DEPTH // 2)) and "(...)" in text
    assert text.endswith("| e299")
