"""`retention()` and `RetentionTable`, checked against sets computed by brute force."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitmapist import Bitmapist, DayEvents, InvalidInput, UniqueEvents, WeekEvents
from bitmapist.analytics.retention import MODES, MissingDependency, RetentionTable, retention
from bitmapist.analytics.specs import CUSTOM_HANDLERS
from bitmapist.cohort import set_custom_handler

START = date(2026, 10, 1)
DAYS = 20
NOW = datetime(2026, 10, 15, 12, 30, tzinfo=UTC)  # mid-table: later periods are incomplete


def _marks(seed: int = 5) -> dict[str, dict[date, set[int]]]:
    rng = random.Random(seed)
    data: dict[str, dict[date, set[int]]] = {"signup": {}, "active": {}}
    for d in range(DAYS):
        day = START + timedelta(days=d)
        data["signup"][day] = set(rng.sample(range(300), 25))
        data["active"][day] = set(rng.sample(range(300), 90)) if day <= NOW.date() else set()
    return data


@pytest.fixture
def marked(client: Bitmapist) -> dict[str, dict[date, set[int]]]:
    data = _marks()
    client.mark_events(
        (event, uid, datetime(day.year, day.month, day.day, 10, tzinfo=UTC))
        for event, days in data.items()
        for day, uids in days.items()
        for uid in uids
    )
    return data


def _expected_on(data, row: int, first: int, last: int) -> tuple[int, int]:
    members = data["signup"][START + timedelta(days=row)]
    returners: set[int] = set()
    for k in range(first, last + 1):
        returners |= data["active"].get(START + timedelta(days=row + k), set())
    return len(members), len(members & returners)


def test_daily_table_matches_brute_force(client, marked):
    table = retention(
        "signup", "active", start=START, cohorts=10, periods=5, system=client, now=NOW
    )
    assert [c.label for c in table.columns] == [f"Day {k}" for k in range(6)]
    assert len(table.rows) == 10
    for r, row in enumerate(table.rows):
        assert row.label == (START + timedelta(days=r)).isoformat()
        assert row.start == datetime(2026, 10, 1 + r, tzinfo=UTC)
        for k, cell in enumerate(row.cells):
            day = START + timedelta(days=r + k)
            size, count = _expected_on(marked, r, k, k)
            assert row.size == size
            if day > NOW.date():
                assert cell.future and cell.count is None and cell.percent is None
                continue
            assert cell.count == count
            assert cell.percent == pytest.approx(count / size * 100)
            assert cell.complete == (day < NOW.date())


def test_on_or_after_counts_any_later_return(client, marked):
    table = retention(
        "signup",
        "active",
        start=START,
        cohorts=6,
        periods=4,
        mode="on_or_after",
        system=client,
        now=NOW,
    )
    last_started = (NOW.date() - START).days
    for r, row in enumerate(table.rows):
        for k, cell in enumerate(row.cells):
            _, count = _expected_on(marked, r, k, last_started - r)
            assert cell.count == count
        counts = [cell.count for cell in row.cells]
        assert counts == sorted(counts, reverse=True)  # unbounded retention never grows


def test_brackets_union_their_periods(client, marked):
    table = retention(
        "signup",
        "active",
        start=START,
        cohorts=10,
        brackets=[0, (1, 3), (4, 7)],
        system=client,
        now=NOW,
    )
    assert [c.label for c in table.columns] == ["Day 0", "Days 1\u20133", "Days 4\u20137"]
    for r, row in enumerate(table.rows):
        for cell, (first, last) in zip(row.cells, [(0, 0), (1, 3), (4, 7)]):
            assert cell.count == _expected_on(marked, r, first, last)[1]
    # a bracket reaching past now is counted so far and marked incomplete
    assert not table.rows[9].cells[2].complete  # Oct 14-17
    assert table.rows[0].cells[2].complete


def test_previous_reference_divides_by_the_column_before(client, marked):
    table = retention(
        "signup",
        "active",
        start=START,
        cohorts=4,
        periods=3,
        reference="previous",
        system=client,
        now=NOW,
    )
    for row in table.rows:
        base = row.size
        for cell in row.cells:
            assert cell.percent == (pytest.approx(cell.count / base * 100) if base else None)
            base = cell.count


def test_averages_are_simple_and_weighted_over_complete_cells(client, marked):
    table = retention(
        "signup", "active", start=START, cohorts=14, periods=3, system=client, now=NOW
    )
    for c, average in enumerate(table.averages):
        cells = [(row.size, row.cells[c]) for row in table.rows if row.cells[c].complete]
        assert average.cohorts == len(cells)
        assert average.simple == pytest.approx(sum(cell.percent for _, cell in cells) / len(cells))
        assert average.weighted == pytest.approx(
            sum(cell.count for _, cell in cells) / sum(size for size, _ in cells) * 100
        )


def test_ids_drill_down_to_the_users_of_a_cell(client, marked):
    table = retention("signup", "active", start=START, cohorts=3, periods=2, system=client, now=NOW)
    members = marked["signup"][START + timedelta(days=1)]
    assert table.ids(1) == sorted(members)
    assert table.ids(1, 2) == sorted(members & marked["active"][START + timedelta(days=3)])
    with pytest.raises(InvalidInput, match=r"row 3 is out of range: expected \[0, 2\]"):
        table.ids(3, 0)
    with pytest.raises(InvalidInput, match="column 9"):
        table.ids(0, 9)


def test_segments_and_custom_handlers_select_cohorts(client, marked):
    premium = set(range(0, 300, 3))
    for uid in premium:
        client.mark_unique("premium", uid)
    segment = DayEvents("active", system=client) & UniqueEvents("premium", system=client)
    table = retention(segment, "active", start=START, cohorts=3, periods=1, system=client, now=NOW)
    for r, row in enumerate(table.rows):
        members = marked["active"][START + timedelta(days=r)] & premium
        assert row.size == len(members)
        nxt = marked["active"][START + timedelta(days=r + 1)]
        assert row.cells[1].count == len(members & nxt)

    def signup_premium(key, cls, cls_args):
        return cls("signup", *cls_args) & UniqueEvents("premium", cls_args[-1])

    set_custom_handler("signup_premium", signup_premium)
    try:
        table = retention(
            "signup_premium", "active", start=START, cohorts=2, periods=0, system=client, now=NOW
        )
    finally:
        CUSTOM_HANDLERS.pop("signup_premium")
    assert table.rows[0].size == len(marked["signup"][START] & premium)


def test_weekly_months_hours_and_years_read_their_own_keys(client):
    monday = datetime(2026, 11, 2, 9, tzinfo=UTC)  # ISO week 45
    client.mark_event("signup", 1, now=monday, track_hourly=True)
    client.mark_event("signup", 2, now=monday + timedelta(hours=1), track_hourly=True)
    client.mark_event("active", 1, now=monday + timedelta(days=8), track_hourly=True)
    client.mark_event("active", 2, now=monday + timedelta(hours=2), track_hourly=True)
    later = datetime(2027, 3, 1, tzinfo=UTC)
    week = retention(
        "signup",
        "active",
        period="week",
        start=monday,
        cohorts=1,
        periods=1,
        system=client,
        now=later,
    )
    assert week.rows[0].label == "2026-W45"
    assert [c.count for c in week.rows[0].cells] == [1, 1]
    hour = retention(
        "signup",
        "active",
        period="hour",
        start=monday,
        cohorts=2,
        periods=2,
        system=client,
        now=later,
    )
    assert [r.label for r in hour.rows] == ["2026-11-02 09:00", "2026-11-02 10:00"]
    assert [r.size for r in hour.rows] == [1, 1]
    assert [c.count for c in hour.rows[1].cells] == [0, 1, 0]
    month = retention(
        "signup",
        "active",
        period="month",
        start=monday,
        cohorts=1,
        periods=1,
        system=client,
        now=later,
    )
    assert [c.count for c in month.rows[0].cells] == [2, 0]
    year = retention(
        "signup",
        "active",
        period="year",
        start=monday,
        cohorts=1,
        periods=1,
        system=client,
        now=later,
    )
    assert year.rows[0].label == "2026"
    assert [c.count for c in year.rows[0].cells] == [2, 0]


def test_default_start_puts_the_current_period_last(client):
    now = datetime(2026, 11, 28, 13, tzinfo=UTC)
    table = retention(
        "signup", "active", period="week", cohorts=3, periods=1, system=client, now=now
    )
    assert [r.label for r in table.rows] == ["2026-W46", "2026-W47", "2026-W48"]
    assert not table.rows[-1].complete and table.rows[0].complete
    assert table.rows[-1].cells[1].future


def test_exports_carry_the_same_numbers(client, marked):
    table = retention("signup", "active", start=START, cohorts=3, periods=2, system=client, now=NOW)
    data = json.loads(table.to_json())
    assert data == table.to_dict()
    assert data["rows"][1]["size"] == table.rows[1].size
    assert data["rows"][1]["cells"][2]["count"] == table.rows[1].cells[2].count
    assert data["rows"][0]["start"] == "2026-10-01T00:00:00+00:00"
    lines = list(csv.reader(io.StringIO(table.to_csv())))
    assert lines[0] == ["cohort", "size", "Day 0", "Day 1", "Day 2"]
    assert lines[1][:2] == ["2026-10-01", str(table.rows[0].size)]
    assert lines[1][3] == f"{table.rows[0].cells[1].percent:.2f}"
    counts = list(csv.reader(io.StringIO(table.to_csv(values="count"))))
    assert counts[2][4] == str(table.rows[1].cells[2].count)


def test_html_heatmap_escapes_names_and_marks_incomplete_cells(client):
    evil = '<script>alert(1)</script>" onmouseover="x'
    client.mark_event(evil, 1, now=NOW)
    client.mark_event("active", 1, now=NOW)
    table = retention(
        evil, "active", start=NOW - timedelta(days=1), cohorts=2, periods=1, system=client, now=NOW
    )
    html = table.to_html()
    assert "<script>" not in html and '" onmouseover="' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34; onmouseover=&#34;x" in html
    assert "100.0%*" in html  # today's cell: counted so far, marked incomplete
    assert 'class="future"' in html
    assert "<style>" in html and "<style>" not in table.to_html(include_assets=False)


def test_to_pandas_builds_a_frame_or_says_how_to_install_pandas(client, marked):
    table = retention("signup", "active", start=START, cohorts=2, periods=1, system=client, now=NOW)
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependency, match=r"pip install 'bitmapist\[pandas\]'"):
            table.to_pandas()
        return
    frame = table.to_pandas(values="count")
    assert list(frame.columns) == ["size", "Day 0", "Day 1"]
    assert frame.loc["2026-10-02", "Day 1"] == table.rows[1].cells[1].count


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"period": "fortnight"}, "period 'fortnight' is unknown"),
        ({"cohorts": 0}, r"cohorts 0 is out of range: expected \[1, 10000\]"),
        ({"periods": -1}, r"periods -1 is out of range"),
        ({"mode": "after"}, "mode 'after' is unknown"),
        ({"reference": "first"}, "reference 'first' is unknown"),
        ({"brackets": []}, "brackets"),
        ({"brackets": [(3, 1)]}, r"end of bracket \(3, 1\) 1 is out of range: expected \[3, "),
        ({"brackets": ["x"]}, "bracket 'x' must be"),
        ({"start": "2026-01-01"}, "expected a datetime or date"),
        ({"cohorts": 2000, "periods": 999}, "2000 cohorts x 1000 columns is too big"),
    ],
)
def test_bad_arguments_are_rejected_with_the_allowed_range(client, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        retention("signup", "active", system=client, **kwargs)


def test_bad_event_specs_are_rejected(client):
    with pytest.raises(InvalidInput, match="cohort 42 is not an event name"):
        retention(42, "active", system=client)
    with pytest.raises(InvalidInput, match="returning '' is not an event name"):
        retention("signup", "", system=client)


def test_the_table_reads_each_key_once_and_leaves_no_keys_behind(client, marked):
    before = set(client.store.scan_keys("*"))
    table = retention(
        WeekEvents("signup", system=client) | WeekEvents("active", system=client),
        "active",
        period="week",
        start=START,
        cohorts=3,
        periods=2,
        system=client,
        now=NOW,
    )
    assert isinstance(table, RetentionTable)
    assert set(client.store.scan_keys("*")) == before


def test_future_cohorts_have_no_data(client, marked):
    table = retention(
        "signup",
        "active",
        start=date(2027, 1, 1),
        cohorts=2,
        periods=1,
        mode="on_or_after",
        system=client,
        now=NOW,
    )
    assert [row.size for row in table.rows] == [None, None]
    assert all(cell.future for row in table.rows for cell in row.cells)
    assert table.averages[0].cohorts == 0 and table.averages[0].simple is None
    assert table.ids(0) == [] and table.ids(1, 1) == []


def test_templates_made_without_a_system_follow_the_table_system(store):
    prefixed = Bitmapist(store, key_prefix="app_")
    prefixed.mark_event("signup", 5, now=NOW)
    prefixed.mark_unique("premium", 5)
    # no system given (explicit dates: building it reads no clock and opens no store)
    segment = DayEvents("signup", 2026, 1, 1) & UniqueEvents("premium")
    table = retention(
        segment,
        "signup",
        start=NOW,
        cohorts=1,
        periods=0,
        system=prefixed,
        now=NOW + timedelta(days=1),
    )
    assert table.rows[0].size == 1 and table.ids(0, 0) == [5]


def test_redis_sees_only_strlen_and_getrange(redis_client):
    client = Bitmapist(redis_client)
    client.mark_events(
        ("signup" if uid % 3 else "active", uid, NOW - timedelta(days=uid % 9))
        for uid in range(300)
    )
    client.mark_unique("premium", 3)
    redis_client.config_resetstat()
    segment = DayEvents("signup", 2026, 1, 1) & UniqueEvents("premium")
    for mode in MODES:
        retention(
            segment,
            "active",
            cohorts=9,
            periods=4,
            mode=mode,
            brackets=None,
            system=client,
            now=NOW,
        )
        retention(
            "signup", "active", cohorts=9, brackets=[0, (1, 3)], mode=mode, system=client, now=NOW
        )
    commands = {name.split("|")[0] for name in redis_client.info("commandstats")}
    assert commands <= {"cmdstat_strlen", "cmdstat_getrange", "cmdstat_config"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 11), st.booleans()), max_size=80),
    cohorts=st.integers(1, 8),
    periods=st.integers(0, 5),
    mode=st.sampled_from(MODES),
    reference=st.sampled_from(["cohort", "previous"]),
    brackets=st.none()
    | st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=3),
    now_day=st.integers(0, 13),
)
def test_any_table_matches_a_model(data, cohorts, periods, mode, reference, brackets, now_day):
    client = Bitmapist("memory://")
    first = date(2026, 3, 1)
    marks = {("signup", d): set() for d in range(12)} | {("active", d): set() for d in range(12)}
    for uid, day, is_signup in data:
        marks[("signup" if is_signup else "active", day)].add(uid)
    client.mark_events(
        (event, uid, datetime(2026, 3, 1 + day, 9, tzinfo=UTC))
        for (event, day), uids in marks.items()
        for uid in uids
    )
    brackets = None if brackets is None else [(min(b), max(b)) for b in brackets]
    now = datetime(2026, 3, 1 + now_day, 12, tzinfo=UTC)
    table = retention(
        "signup",
        "active",
        start=first,
        cohorts=cohorts,
        periods=periods,
        mode=mode,
        brackets=brackets,
        reference=reference,
        system=client,
        now=now,
    )
    spans = brackets or [(k, k) for k in range(periods + 1)]
    for r, row in enumerate(table.rows):
        if r > now_day:
            assert row.size is None and all(cell.future for cell in row.cells)
            continue
        members = marks.get(("signup", r), set())
        assert row.size == len(members)
        base = len(members)
        for cell, (low, high) in zip(row.cells, spans):
            if r + low > now_day:
                assert cell.future
                base = None
                continue
            last = now_day if mode == "on_or_after" else min(r + high, now_day)
            returners = set().union(
                *(marks.get(("active", d), set()) for d in range(r + low, last + 1))
            )
            count = len(members & returners)
            assert cell.count == count
            assert cell.complete == (r + high < now_day)
            expected = count / base * 100 if base else None
            assert cell.percent == (None if expected is None else pytest.approx(expected))
            if reference == "previous":
                base = count
    client.close()


def test_a_date_range_is_a_fixed_segment(client, marked):
    from bitmapist import DateRange

    window = DateRange("active", date(2026, 10, 1), date(2026, 10, 3), system=client)
    segment = DayEvents("signup", 2026, 1, 1, system=client) & window
    table = retention(segment, "active", start=START, cohorts=4, periods=1, system=client, now=NOW)
    early = set().union(*(marked["active"][START + timedelta(days=d)] for d in range(3)))
    for r, row in enumerate(table.rows):
        assert row.size == len(marked["signup"][START + timedelta(days=r)] & early)
