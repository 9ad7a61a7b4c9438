"""Expressions that are too deep, or that mix stores, are clear `InvalidInput`s: never a
`RecursionError`, never an answer read from the wrong store (issue 17, items 4 and 11)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import reduce
from operator import and_, or_

import pytest
from click.testing import CliRunner

import bitmapist
from bitmapist import Bitmapist, BitOpAnd, BitOpNot, BitOpOr, InvalidInput
from bitmapist.analytics.reader import BitmapReader
from bitmapist.cli import cli
from bitmapist.expressions import MAX_DEPTH, Key, Op, leaf_keys, ops_bottom_up
from bitmapist.query_language import MAX_NESTING

NOW = datetime(2026, 11, 28, tzinfo=UTC)
TOO_DEEP = (
    f"bit operations nest {MAX_DEPTH + 1} levels deep: at most {MAX_DEPTH} are allowed; "
    "give one operation many operands instead, e.g. BitOpOr(*events) rather than a | b | c | ..."
)


def test_the_limits() -> None:
    # a year of days chained with | (364 levels) is ordinary 3.x code: it must fit
    assert MAX_DEPTH == 1000
    assert MAX_NESTING == 100  # the CLI's text: parentheses and ~ a person types


def test_a_year_of_days_chained_with_or_answers(client: Bitmapist) -> None:
    """3.x idiom: reduce(or_, days) over a date range (3.x ran one BITOP per step)."""
    days = [client.DayEvents("a", 2026, 1, 1).delta(n) for n in range(365)]
    client.mark_event("a", 7, now=datetime(2026, 12, 31, tzinfo=UTC))
    client.mark_event("a", 8, now=datetime(2026, 1, 1, tzinfo=UTC))
    year = reduce(or_, days)
    assert len(year) == 2 and list(year) == [7, 8] and 7 in year
    assert "364 levels" in repr(year)


def test_the_deepest_allowed_tree_answers_on_every_store(client: Bitmapist, request) -> None:
    for uid in (1, 2, 3):
        client.mark_event("a", uid, now=NOW)
    client.mark_event("b", 2, now=NOW)
    a, b = client.MonthEvents("a", 2026, 11), client.MonthEvents("b", 2026, 11)
    # Over RESP every level is one BITOP into a temporary key: the server and the cluster
    # take the year-deep tree (tens of seconds for the full depth); the rest the full depth.
    over_resp = request.node.callspec.params["store"] in ("server", "cluster")
    depth = 400 if over_resp else MAX_DEPTH
    deep = reduce(or_, [b] * (depth - 2), a)  # OR(OR(...OR(a, b)..., b), b)
    deep = BitOpNot(~deep)  # two NOTs within one byte give {1, 2, 3} back
    if not over_resp:
        with pytest.raises(InvalidInput) as caught:
            deep = deep & a
        assert str(caught.value) == TOO_DEEP
    assert deep.expression.depth == depth
    assert len(deep) == 3
    assert list(deep) == [1, 2, 3]
    assert 2 in deep
    assert list(deep.bitmap()) == [1, 2, 3]
    reader = BitmapReader(client.store)
    assert list(reader.bitmap(deep.expression)) == [1, 2, 3]


def test_thousands_of_nested_operations_stop_at_the_limit(client: Bitmapist) -> None:
    a = client.MonthEvents("a", 2026, 11)
    with pytest.raises(InvalidInput) as caught:
        reduce(and_, [a] * 5000)
    assert str(caught.value) == TOO_DEEP
    with pytest.raises(InvalidInput, match=f"nest {MAX_DEPTH + 1} levels deep"):
        reduce(lambda event, _: ~event, range(MAX_DEPTH + 1), a)
    # width is free: one operation over 5,000 operands is one level
    assert len(BitOpOr(*[a] * 5000)) == 0


def test_op_trees_built_directly_are_bounded_too() -> None:
    tree: Key | Op = Key("a")
    for _ in range(MAX_DEPTH):
        tree = Op("NOT", (tree,), "n")
    assert tree.depth == MAX_DEPTH
    assert list(leaf_keys(tree)) == ["a"]
    assert len(list(ops_bottom_up(tree))) == MAX_DEPTH
    with pytest.raises(InvalidInput, match=f"nest {MAX_DEPTH + 1} levels deep"):
        Op("AND", (tree, Key("b")), "x")


def test_walks_keep_their_order() -> None:
    a, b, c = Key("a"), Key("b"), Key("c")
    tree = Op("OR", (Op("AND", (a, b), "x"), Op("NOT", (c,), "n"), a), "top")
    assert list(leaf_keys(tree)) == ["a", "b", "c", "a"]
    assert [op.name for op in ops_bottom_up(tree)] == ["x", "n", "top"]
    assert tree.depth == 2
    assert tree == Op("OR", (Op("AND", (a, b), "x"), Op("NOT", (c,), "n"), a), "top")


@pytest.mark.parametrize(
    "expression", ["(" * 200 + "a" + ")" * 200, "~" * 1000 + "a", "~(" * 60 + "a" + ")" * 60]
)
def test_cli_deep_expressions_are_one_error_line(tmp_path, expression: str) -> None:
    url = f"file://{tmp_path}/store.db"
    Bitmapist(url).close()
    result = CliRunner().invoke(cli, ["count", expression, "--store", url])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: expression '")
    assert f"' at position {MAX_NESTING + 1}: more than {MAX_NESTING} levels" in result.stderr
    assert result.stderr.count("\n") == 1


def test_cli_takes_expressions_up_to_the_limit(tmp_path) -> None:
    url = f"file://{tmp_path}/store.db"
    client = Bitmapist(url)
    client.mark_event("a", 7, now=NOW)
    client.close()
    for expression in ("(" * MAX_NESTING + "a" + ")" * MAX_NESTING, "~" * MAX_NESTING + "a"):
        result = CliRunner().invoke(
            cli, ["count", expression, "--store", url, "--at", "2026-11-28"]
        )
        assert (result.exit_code, result.stdout) == (0, "1\n"), result.output


# --- item 11: operands from different stores


def test_operands_from_another_store_are_refused() -> None:
    first, second = Bitmapist("memory://"), Bitmapist("memory://")
    first.mark_event("a", 1, now=NOW)
    second.mark_event("b", 1, now=NOW)
    a, b = first.MonthEvents("a", 2026, 11), second.MonthEvents("b", 2026, 11)
    message = (
        "BitOpAnd: MonthEvents('b', 2026, 11) is in another store than the first event, "
        "whose store the operation reads every operand from; combine events of one store, "
        "name the system to read from first (BitOpAnd(system, a, b)), or combine bitmaps in "
        "Python: a.bitmap() & b.bitmap()"
    )
    builds = [("BitOpAnd", lambda: BitOpAnd(a, b)), ("BitOpAnd", lambda: a & b)]
    builds.append(("BitOpOr", lambda: BitOpOr(a, a, b)))
    for op, build in builds:
        with pytest.raises(InvalidInput) as caught:
            build()
        assert str(caught.value) == message.replace("BitOpAnd:", f"{op}:")
    with pytest.raises(InvalidInput, match=r"BitOpAnd: BitOpNot\(MonthEvents\('b'"):
        a | (a & ~b)  # nested: the innermost mixing operation is refused
    assert list(a.bitmap() & b.bitmap()) == [1]  # what the message suggests works
    # 3.x: a system named first reads every operand's key there, whatever its events' system
    assert list(BitOpAnd(second, a, b)) == []  # second has no "a"
    assert list(BitOpAnd(first, a, b)) == []  # first has no "b"
    second.mark_event("a", 1, now=NOW)
    assert list(BitOpAnd(second, a, b)) == [1]


def test_clients_sharing_one_store_combine(redis_server) -> None:
    # two clients (and a 3.x system name) over the same store: one store, so it works,
    # even with different key prefixes, as each operand names its own keys
    shared = bitmapist.Bitmapist(redis_server.url)
    shared.store.redis.flushall()
    other = Bitmapist(shared.store, key_prefix="other_")
    shared.mark_event("a", 1, now=NOW)
    shared.mark_event("a", 2, now=NOW)
    other.mark_event("b", 2, now=NOW)
    both = shared.MonthEvents("a", 2026, 11) & other.MonthEvents("b", 2026, 11)
    assert list(both) == [2]
    assert list(other.MonthEvents("b", 2026, 11) & shared.MonthEvents("a", 2026, 11)) == [2]
    shared.store.redis.flushall()


def test_systems_on_one_redis_database_combine_as_in_3x(redis_server) -> None:
    port = int(redis_server.url.rsplit(":", 1)[1].split("/")[0])
    saved = dict(bitmapist.SYSTEMS)
    try:
        bitmapist.setup_redis("one", "127.0.0.1", port)
        bitmapist.setup_redis("two", "127.0.0.1", port)
        bitmapist.setup_redis("other_db", "127.0.0.1", port, db=3)
        bitmapist.get_redis("one").flushall()
        bitmapist.mark_event("a", 1, now=NOW, system="one")
        bitmapist.mark_event("b", 1, now=NOW, system="two")
        a = bitmapist.MonthEvents("a", 2026, 11, system="one")
        assert list(a & bitmapist.MonthEvents("b", 2026, 11, system="two")) == [1]
        with pytest.raises(InvalidInput, match="is in another store"):
            a & bitmapist.MonthEvents("b", 2026, 11, system="other_db")
        bitmapist.get_redis("one").flushall()
    finally:
        bitmapist.SYSTEMS.clear()
        bitmapist.SYSTEMS.update(saved)
