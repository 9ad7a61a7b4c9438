"""A synthetic product to try bitmapist on: users signing up, coming back, playing songs.

`record_demo` writes ~20,000 users over 90 days into any client (deterministic for a seed
and a "now"); `demo_answers` answers every question at the top of the bitmapist README
with the ordinary API, each with the Python that answers it. `bitmapist demo` prints both.

Example::

    from bitmapist import Bitmapist
    from bitmapist.demo import record_demo, demo_answers

    client = Bitmapist("memory://")
    record_demo(client)
    for answer in demo_answers(client):
        print(answer.question, answer.answer)
"""

from __future__ import annotations

import math
import os
import random
import shlex
import shutil
import sysconfig
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from .client import Bitmapist
from .errors import InvalidInput

#: The user whose own questions ("has user 123 been online today?") the demo answers.
DEMO_USER = 123
DEMO_EVENTS = (
    "active",
    "signup",
    "song:played",
    "task:complete",
    "activate",
    "invite",
    "upgrade",
)
#: The product funnel after sign-up, one step per visit at most (`bitmapist funnel`).
DEMO_FUNNEL = ("activate", "invite", "upgrade")
DEMO_FLAGS = ("premium", "signup_form:classic", "signup_form:new")

# Kinds of users: (share, chance of coming back on a given day once settled)
_USER_KINDS = ((0.40, 0.01), (0.40, 0.08), (0.20, 0.45))


@dataclass(frozen=True)
class DemoSummary:
    """What `record_demo` wrote."""

    users: int
    days: int
    first_day: date
    now: datetime
    events: int


@dataclass(frozen=True)
class Answer:
    """One README question, its answer, and the Python that computes it."""

    question: str
    answer: str
    code: str
    value: Any


def record_demo(
    client: Bitmapist,
    *,
    users: int = 20_000,
    days: int = 90,
    seed: int = 2012,
    now: datetime | None = None,
) -> DemoSummary:
    """Record synthetic activity for `users` users over the `days` days ending at `now`.

    Events: `signup` (once), `active` (every visit), `song:played` and `task:complete`
    (on some visits), and a funnel with drop-off: `activate` (about half the users, in their
    first days), then `invite`, then `upgrade` (loyal users more often); a few daily users
    (stickiness power users). Flags (`mark_unique`): `premium` and an A/B test
    `signup_form:classic` / `signup_form:new`. Today's events also get hour bitmaps, up to
    the hour of `now`. The same seed and `now` always write the same bits, so running it
    twice changes nothing.
    """
    if not 1 <= users <= 10_000_000:
        raise InvalidInput(f"users {users} is out of range: expected [1, 10000000]")
    if not 1 <= days <= 3660:
        raise InvalidInput(f"days {days} is out of range: expected [1, 3660]")
    now = _utc(now)
    today = now.date()
    first_day = today - timedelta(days=days - 1)
    rng = random.Random(seed)
    # a second stream for the funnel, so the other events are the same as without it
    funnel_rng = random.Random(seed + 1)
    earlier: list[tuple[str, int, datetime]] = []
    today_events: list[tuple[str, int, datetime]] = []
    flags: dict[str, list[int]] = {flag: [] for flag in DEMO_FLAGS}
    day_starts = [
        datetime.combine(first_day + timedelta(days=i), datetime.min.time(), UTC)
        for i in range(days)
    ]
    for uid in range(1, users + 1):
        # more sign-ups lately: the product is growing
        signup = min(days - 1, int(days * rng.random() ** 0.7))
        loyalty = _pick_kind(rng)
        if uid == DEMO_USER:
            signup, loyalty = 0, 1.0  # an early, loyal user, so the answers say "yes"
        premium = rng.random() < 0.03 + 0.25 * loyalty
        flags["signup_form:classic" if rng.random() < 0.5 else "signup_form:new"].append(uid)
        if premium:
            flags["premium"].append(uid)
        stage = 0  # funnel steps done so far
        # a quarter of the loyal users make a daily habit of it (stickiness power users)
        habit = loyalty == _USER_KINDS[-1][1] and funnel_rng.random() < 0.25
        for day in range(signup, days):
            age = day - signup
            # new users come back often, then settle to their kind's habit
            chance = 1.0 if age == 0 else loyalty + (0.6 - loyalty) * math.exp(-age / 3)
            if rng.random() >= chance:
                if habit and funnel_rng.random() < 0.8:  # daily users: power users
                    when = day_starts[day] + timedelta(hours=int(funnel_rng.random() * 20))
                    if when <= now:
                        (today_events if day == days - 1 else earlier).append(("active", uid, when))
                continue
            is_today = day == days - 1
            hour = int(rng.random() * (now.hour + 1 if is_today else 24))
            when = day_starts[day] + timedelta(hours=hour, minutes=int(rng.random() * 60))
            out = today_events if is_today else earlier
            out.append(("active", uid, when))
            if age == 0:
                out.append(("signup", uid, when))
            if rng.random() < 0.55 + 0.3 * loyalty or uid == DEMO_USER:
                out.append(("song:played", uid, when))
            if rng.random() < 0.25:
                out.append(("task:complete", uid, when))
            if stage < len(DEMO_FUNNEL) and funnel_rng.random() < _step_chance(stage, age, loyalty):
                out.append((DEMO_FUNNEL[stage], uid, when))
                stage += 1
    with client.transaction():
        client.mark_events(earlier, track_hourly=False, track_unique=False)
        client.mark_events(today_events, track_hourly=True, track_unique=False)
        for flag, ids in flags.items():
            for uid in ids:
                client.mark_unique(flag, uid)
    return DemoSummary(users, days, first_day, now, len(earlier) + len(today_events))


def _step_chance(stage: int, age: int, loyalty: float) -> float:
    """The chance of taking the next funnel step on a visit: activation happens in the
    first days or never; invites and upgrades come with loyalty."""
    if stage == 0:
        return 0.5 if age <= 3 else 0.0
    if stage == 1:
        return 0.05 + 0.3 * loyalty
    return 0.04 + 0.2 * loyalty


def _pick_kind(rng: random.Random) -> float:
    draw = rng.random()
    for share, loyalty in _USER_KINDS:
        if draw < share:
            return loyalty
        draw -= share
    return _USER_KINDS[-1][1]


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _share(part: int, whole: int) -> str:
    if not whole:
        return "n/a (nobody in the earlier period)"
    return f"{100 * part / whole:.1f}% ({part:,} of {whole:,})"


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _yes_no(question: str, value: bool, code: str) -> Answer:
    return Answer(question, _yes(value), code, value)


def _number(question: str, value: int, code: str) -> Answer:
    return Answer(question, f"{value:,}", code, value)


def demo_answers(
    client: Bitmapist, now: datetime | None = None, user: int = DEMO_USER
) -> list[Answer]:
    """Every question at the top of the bitmapist README, answered for `now`."""
    now = _utc(now)
    c = client
    day = c.DayEvents.from_date("active", now)
    week = c.WeekEvents.from_date("active", now)
    month = c.MonthEvents.from_date("active", now)
    hour = c.HourEvents.from_date("active", now)
    songs_month = c.MonthEvents.from_date("song:played", now)
    songs_week = c.WeekEvents.from_date("song:played", now)
    tasks_today = c.DayEvents.from_date("task:complete", now)
    last_week, last_month = week.prev(), month.prev()
    still_week = len(last_week & week)
    still_month = len(last_month & month)
    premium_today = len(c.UniqueEvents("premium") & day)
    classic = len(day & c.UniqueEvents("signup_form:classic"))
    new = len(day & c.UniqueEvents("signup_form:new"))
    task_ids = list(tasks_today)
    shown = ", ".join(str(uid) for uid in task_ids[:8]) + (", ..." if len(task_ids) > 8 else "")
    return [
        Answer(
            f"Has user {user} been online today? This week? This month?",
            ", ".join(_yes(user in e) for e in (day, week, month)),
            f"{user} in DayEvents('active'), ... WeekEvents, MonthEvents",
            (user in day, user in week, user in month),
        ),
        _yes_no(
            f'Has user {user} performed action "song:played" (this month)?',
            user in songs_month,
            f"{user} in MonthEvents('song:played')",
        ),
        Answer(
            "How many users have been active this month? This hour?",
            f"{len(month):,} this month, {len(hour):,} this hour",
            "len(MonthEvents('active')), len(HourEvents('active'))",
            (len(month), len(hour)),
        ),
        _number(
            'How many unique users have performed action "song:played" this week?',
            len(songs_week),
            "len(WeekEvents('song:played'))",
        ),
        Answer(
            "How many % of users that were active last week are still active?",
            _share(still_week, len(last_week)),
            "len(last_week & this_week) / len(last_week)",
            (still_week, len(last_week)),
        ),
        Answer(
            "How many % of users that were active last month are still active this month?",
            _share(still_month, len(last_month)),
            "len(last_month & this_month) / len(last_month)",
            (still_month, len(last_month)),
        ),
        Answer(
            'What users performed action "task:complete" (today)?',
            f"{len(task_ids):,} users: {shown}" if task_ids else "nobody yet",
            "list(DayEvents('task:complete'))",
            task_ids,
        ),
        _number(
            "How many premium users were active today?",
            premium_today,
            "len(UniqueEvents('premium') & DayEvents('active'))",
        ),
        Answer(
            "Active today, by sign-up form (A/B test): classic / new?",
            f"{classic:,} / {new:,}",
            "len(DayEvents('active') & UniqueEvents('signup_form:new'))",
            (classic, new),
        ),
    ]


#: What `bitmapist demo` suggests next (arguments to the `bitmapist` command).
NEXT_COMMANDS = (
    "count 'active:this-week & premium:u'",
    "retention signup active --period week",
    "dashboard",
)


def next_commands(store_url: str | None = None) -> list[str]:
    """The commands `bitmapist demo` suggests next, each runnable as printed in the shell that
    ran the demo (see `shell_command`), on the same store (`store_url`, else the default)."""
    program = shell_command("bitmapist")
    store = f" --store {shlex.quote(store_url)}" if store_url else ""
    return [f"{program} {command}{store}" for command in NEXT_COMMANDS]


def shell_command(name: str) -> str:
    """How a shell in the working directory runs `name` as installed with this Python.

    The bare name when PATH finds this installation's script (an active virtual environment,
    a system-wide install); else the script's path, relative when under the working directory
    (`.venv/bin/bitmapist` after scripts/demo.sh), so it still runs without activating
    anything. The bare name when this Python has no such script (run from a source tree).
    """
    scripts = Path(sysconfig.get_path("scripts")).resolve()
    script = scripts / (f"{name}.exe" if os.name == "nt" else name)
    if not script.is_file():
        return name
    found = shutil.which(name)
    if found and os.path.samefile(found, script):
        return name
    try:
        path = str(script.relative_to(Path.cwd().resolve()))
    except ValueError:
        return shlex.quote(str(script))
    # "bitmapist" alone would be looked up on PATH again
    return shlex.quote(path if os.sep in path else os.path.join(".", path))
