"""`bitmapist.demo`: the synthetic dataset and the answers to the README's questions."""

from __future__ import annotations

import os
import sysconfig
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bitmapist import Bitmapist, InvalidInput
from bitmapist.demo import DEMO_USER, demo_answers, next_commands, record_demo, shell_command
from bitmapist.expressions import Key

NOW = datetime(2026, 11, 28, 15, 30, tzinfo=UTC)


@pytest.fixture
def demo(client: Bitmapist) -> Bitmapist:
    record_demo(client, users=1500, days=45, now=NOW)
    return client


def test_summary_and_shape(client: Bitmapist) -> None:
    summary = record_demo(client, users=1500, days=45, now=NOW)
    assert (summary.users, summary.days) == (1500, 45)
    assert summary.first_day == (NOW - timedelta(days=44)).date()
    assert sorted(client.get_event_names()) == [
        "activate",
        "active",
        "invite",
        "premium",
        "signup",
        "signup_form:classic",
        "signup_form:new",
        "song:played",
        "task:complete",
        "upgrade",
    ]
    # every user signs up exactly once, in the window, and is flagged into one A/B arm
    first = NOW.date() - timedelta(days=44)
    signups = [client.DayEvents("signup", first + timedelta(days=d)) for d in range(45)]
    assert sum(len(day) for day in signups) == 1500
    classic = client.UniqueEvents("signup_form:classic")
    new = client.UniqueEvents("signup_form:new")
    assert len(classic) + len(new) == 1500 and len(classic & new) == 0
    # hours are tracked for today only, and never after "now"
    hours = [client.HourEvents("active", 2026, 11, 28, h) for h in range(24)]
    assert sum(len(h) for h in hours[:16]) > 0 and all(len(h) == 0 for h in hours[16:])
    assert len(client.HourEvents("active", 2026, 11, 27, 12)) == 0


def test_answers_match_direct_queries(demo: Bitmapist) -> None:
    answers = {a.question: a for a in demo_answers(demo, NOW)}
    c = demo
    today, week, month = (
        c.DayEvents("active", 2026, 11, 28),
        c.WeekEvents("active", 2026, 48),
        c.MonthEvents("active", 2026, 11),
    )
    online = answers[f"Has user {DEMO_USER} been online today? This week? This month?"]
    assert online.value == (True, True, True) and online.answer == "yes, yes, yes"
    counts = answers["How many users have been active this month? This hour?"]
    assert counts.value == (len(month), len(c.HourEvents("active", 2026, 11, 28, 15)))
    last_week = c.WeekEvents("active", 2026, 47)
    kept = answers["How many % of users that were active last week are still active?"]
    assert kept.value == (len(last_week & week), len(last_week))
    part, whole = kept.value
    assert kept.answer == f"{100 * part / whole:.1f}% ({part:,} of {whole:,})"
    tasks = answers['What users performed action "task:complete" (today)?']
    assert tasks.value == list(c.DayEvents("task:complete", 2026, 11, 28))
    premium = answers["How many premium users were active today?"]
    assert premium.value == len(c.UniqueEvents("premium") & today)
    assert len(answers) == 9


def test_same_seed_same_bits_other_seed_other_bits(tmp_path) -> None:
    def contents(seed: int, name: str) -> dict[str, list[int]]:
        client = Bitmapist(f"file://{tmp_path}/{name}.db")
        record_demo(client, users=500, days=20, seed=seed, now=NOW)
        keys = sorted(client.store.scan_keys("*"))
        return {key: list(client.store.bitmap(Key(key))) for key in keys}

    assert contents(1, "a") == contents(1, "b")
    assert contents(1, "a") != contents(2, "c")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"users": 0}, "users 0 is out of range: expected [1, 10000000]"),
        ({"days": 0}, "days 0 is out of range: expected [1, 3660]"),
    ],
)
def test_bad_sizes(client: Bitmapist, kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        record_demo(client, **kwargs)
    assert str(info.value) == message
    assert client.get_event_names() == []


def test_next_commands_run_as_printed_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`bitmapist demo`'s suggestions name this installation's `bitmapist` the way a shell
    runs it: bare when PATH finds it, else by path (scripts/demo.sh leaves .venv inactive)."""
    scripts = Path(sysconfig.get_path("scripts")).resolve()
    assert (scripts / "bitmapist").is_file(), "the package is not installed with its scripts"
    monkeypatch.setenv("PATH", f"{scripts}{os.pathsep}/usr/bin:/bin")
    assert next_commands() == [
        "bitmapist count 'active:this-week & premium:u'",
        "bitmapist retention signup active --period week",
        "bitmapist dashboard",
    ]
    assert next_commands("file:///tmp/a b.db?cache_mb=8")[2] == (
        "bitmapist dashboard --store 'file:///tmp/a b.db?cache_mb=8'"
    )
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.chdir(scripts.parent.parent)
    assert shell_command("bitmapist") == f"{scripts.parent.name}/bin/bitmapist"
    monkeypatch.chdir(scripts)
    assert shell_command("bitmapist") == "./bitmapist"
    monkeypatch.chdir(tmp_path)
    assert shell_command("bitmapist") == str(scripts / "bitmapist")
    # no such script with this Python (run from a source tree): the bare name
    assert shell_command("no-such-bitmapist-command") == "no-such-bitmapist-command"
