"""The query language's shared rule (`event_spec`, `flag_spec`) and its error positions:
the CLI and the dashboard read a question's event text the same way."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bitmapist import Bitmapist, InvalidInput, UniqueEvents
from bitmapist.query_language import (
    MAX_NESTING,
    event_spec,
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
