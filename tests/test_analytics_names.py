"""How the analytics tables name what they were asked about (`tables.spec_name`): a name as
it is, an expression read from text as it was typed, any other event object in the query
language (never a Python repr, never a memory address), in every table's title, series,
steps, segments, CSV, JSON and chart data."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from bitmapist import Bitmapist, funnel, lifecycle, retention, stickiness, trends
from bitmapist.events import EventsBase
from bitmapist.query_language import event_spec, flag_spec

NOW = datetime(2026, 11, 28, 15, tzinfo=UTC)
SOME_DAY = datetime(2026, 1, 5)
#: What must never show in a table: a repr of the library's classes, or an address.
REPR = re.compile(r"\b(BitOp\w+|\w+Events)\(|0x[0-9a-f]{6,}")


class BetaTesters(EventsBase):
    """An application's own event class, with Python's default repr."""

    event_name = "beta"

    def __init__(self, client: Bitmapist):
        self.system = client

    @property
    def expression(self):
        return self.system.UniqueEvents("beta").expression


@pytest.fixture
def client() -> Bitmapist:
    client = Bitmapist("memory://")
    for day in range(2, 28):
        moment = datetime(2026, 11, day, 12)
        client.mark_events([("active", uid, moment) for uid in range(day % 5, 30, 3)])
        client.mark_events([("signup", uid, moment) for uid in range(day, 30, 9)])
    for uid in range(0, 30, 2):
        client.mark_unique("premium", uid)
        client.mark_unique("beta", uid + 1)
    return client


def _shown(table) -> str:
    """Everything a table gives to people and tools, as one text."""
    chart = table.chart_series() if hasattr(table, "chart_series") else {}  # not retention
    return "\n".join([table.title, table.to_csv(), table.to_json(), json.dumps(chart)])


def _asked(table, events: dict, client: Bitmapist):
    """Every question's table of `events` (keys: event, other, segment)."""
    common = {"system": client, "now": NOW}
    return [
        trends([events["event"], events["other"]], "week", breakdown=[events["segment"]], **common),
        funnel([events["other"], events["event"]], "week", breakdown=[events["segment"]], **common),
        lifecycle(
            events["event"], first_seen=events["other"], breakdown=events["segment"], **common
        ),
        stickiness(events["event"], breakdown=[events["segment"]], **common),
        retention(events["other"], events["event"], "week", cohorts=3, periods=2, **common),
    ][table]


@pytest.mark.parametrize(
    "table", range(5), ids=["trends", "funnel", "lifecycle", "stickiness", "retention"]
)
def test_event_objects_are_named_in_the_query_language(client: Bitmapist, table: int) -> None:
    events = {
        "event": client.DayEvents("active", SOME_DAY) & ~client.UniqueEvents("premium"),
        "other": client.WeekEvents("signup", SOME_DAY) | BetaTesters(client),
        "segment": client.UniqueEvents("premium"),
    }
    shown = _shown(_asked(table, events, client))
    assert not REPR.search(shown), REPR.search(shown)
    assert "active & ~premium:u" in shown
    if table != 3:  # stickiness has one event
        assert "signup | BetaTesters('beta')" in shown
    if table != 4:  # retention has no breakdown
        assert "premium:u" in shown.replace("~premium:u", "")


@pytest.mark.parametrize(
    "table", range(5), ids=["trends", "funnel", "lifecycle", "stickiness", "retention"]
)
def test_expressions_read_from_text_are_named_as_typed(client: Bitmapist, table: int) -> None:
    def read(text: str):
        return event_spec(text, client, "day", NOW)

    events = {
        "event": read("active&~premium:u"),
        "other": read("( signup )"),
        "segment": flag_spec("premium", client, "day", NOW),
    }
    shown = _shown(_asked(table, events, client))
    assert not REPR.search(shown), REPR.search(shown)
    assert "active&~premium:u" in shown
    assert "( signup )" in shown or table == 3  # stickiness has one event
    assert "active & ~premium:u" not in shown


def test_names_stay_names(client: Bitmapist) -> None:
    table = trends(["active", "signup"], "week", breakdown=["premium"], system=client, now=NOW)
    assert [s.name for s in table.series] == ["active · premium", "signup · premium"]
    assert table.title == "active, signup per week"
    assert table.to_csv().splitlines()[0].startswith("period,active · premium,signup · premium,")
