"""Data compatibility with upstream bitmapist 3.119, both ways, on one real redis-server.

One scenario (`write_scenario`) and one set of questions (`read_scenario`) are written
against the 3.x module API only, so the very same source runs in upstream's venv and here:

- db 1: upstream writes, upstream answers, then this package answers on upstream's data;
- db 2: this package writes and answers, then upstream answers on our data.

Then: the keys and values written for the same marks are byte-identical, every answer
matches across the four runs, and the answers match a pure-Python model of the marks.
One upstream subprocess per direction keeps this fast.
"""

from __future__ import annotations

import inspect
import json
import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

import bitmapist

from .servers import RedisServer
from .upstream import VENV_DIR, UpstreamError, run_upstream

UPSTREAM_DB = 1
OURS_DB = 2

# Dates chosen for calendar edges: ISO week 53 (2020), a leap day, a December date in ISO
# week 1 of the next year, and the first/last hour of a day.
MARK_TIMES = [
    "2020-12-31T23:59",  # 2020-W53
    "2021-01-01T00:00",  # still 2020-W53, new month and year
    "2021-01-03T12:30",  # last day of 2020-W53
    "2024-02-29T07:15",
    "2025-12-29T05:00",  # 2026-W1
]
EVENTS = ["active", "song:played", "user_signed_up", "a_b:c_d"]
PROBE_UUIDS = [0, 1, 7, 8, 9, 255, 256, 1000, 4095, 65536, 99_999]


def make_marks() -> list[list[Any]]:
    """A deterministic mix of marks: [kind, event, uuid, when, track_hourly, track_unique]."""
    rng = random.Random(2)
    marks: list[list[Any]] = []
    for when in MARK_TIMES:
        for event in EVENTS:
            for _ in range(25):
                uuid = rng.choice([rng.randrange(0, 64), rng.randrange(0, 100_000)])
                marks.append(["mark", event, uuid, when, rng.random() < 0.3, rng.random() < 0.2])
    marks += [
        ["mark", "active", 0, "2020-12-31T23:59", True, True],
        ["mark", "active", 99_999, "2021-01-01T00:00", True, False],
        ["mark", "active", 4095, "2024-02-29", False, False],  # a plain date
        ["flags", "active", 77, "2024-02-29T23:00", True, True],  # via TRACK_HOURLY/UNIQUE
        ["pipe", "song:played", 31337, "2020-12-31T23:59", True, True],  # caller's pipeline
        ["pipe", "user_signed_up", 5, "2021-01-03T12:30", False, False],
        ["unique", "premium", 42, None, False, False],
        ["unique", "premium", 7, None, False, False],
        ["unique", "premium", 65536, None, False, False],
        ["ununique", "premium", 7, None, False, False],
        ["unmark", "active", 0, "2020-12-31T23:59", True, True],
        ["mark", "active", 8, "2020-12-31T23:59", False, False],
        ["unmark", "active", 8, "2020-12-31T23:59", False, False],  # leaves zeroed keys
    ]
    return marks


MARKS = make_marks()


# --- scenario code: runs unchanged under upstream bitmapist 3.119 and under this package


def write_scenario(bm: Any, marks: list[list[Any]]) -> None:
    """Apply `marks` through the 3.x module API of `bm` (system "default")."""
    from datetime import UTC, date, datetime

    def when_of(text):
        if text is None:
            return None
        if "T" in text:
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        return date.fromisoformat(text)

    pipe = bm.get_redis("default").pipeline()
    for kind, event, uuid, when, hourly, unique in marks:
        now = when_of(when)
        if kind == "mark":
            bm.mark_event(event, uuid, now=now, track_hourly=hourly, track_unique=unique)
        elif kind == "unmark":
            bm.unmark_event(event, uuid, now=now, track_hourly=hourly, track_unique=unique)
        elif kind == "flags":
            bm.TRACK_HOURLY, bm.TRACK_UNIQUE = hourly, unique
            bm.mark_event(event, uuid, now=now)
            bm.TRACK_HOURLY, bm.TRACK_UNIQUE = False, False
        elif kind == "pipe":
            bm.mark_event(
                event,
                uuid,
                system=pipe,
                now=now,
                track_hourly=hourly,
                track_unique=unique,
                use_pipeline=False,
            )
        elif kind == "unique":
            bm.mark_unique(event, uuid)
        elif kind == "ununique":
            bm.unmark_unique(event, uuid)
        else:
            raise ValueError(kind)
    pipe.execute()


def read_scenario(bm: Any, events: list[str], probes: list[int]) -> dict[str, Any]:
    """Ask `bm` everything the 3.x API can answer about the scenario's data."""
    from datetime import UTC, datetime

    answers = {}

    def describe(label, ev):
        ids = list(ev)
        answers[label] = {
            "key": ev.redis_key,
            "count": len(ev),
            "get_count": ev.get_count(),
            "ids": ids,
            "uuids": list(ev.get_uuids()),
            "in": [uuid for uuid in probes if uuid in ev],
            "any": bool(ev.has_events_marked()),
        }

    for event in events:
        periods = {
            "month 2020-12": bm.MonthEvents(event, 2020, 12),
            "month 2021-1": bm.MonthEvents(event, 2021, 1),
            "month 2025-12": bm.MonthEvents(event, 2025, 12),
            "week 2020-53": bm.WeekEvents(event, 2020, 53),
            "week 2024-9": bm.WeekEvents(event, 2024, 9),
            "week 2026-1": bm.WeekEvents(event, 2026, 1),
            "day 2020-12-31": bm.DayEvents(event, 2020, 12, 31),
            "day 2021-1-1": bm.DayEvents(event, 2021, 1, 1),
            "day 2024-2-29": bm.DayEvents(event, 2024, 2, 29),
            "hour 2020-12-31-23": bm.HourEvents(event, 2020, 12, 31, 23),
            "hour 2021-1-1-0": bm.HourEvents(event, 2021, 1, 1, 0),
            "hour 2024-2-29-23": bm.HourEvents(event, 2024, 2, 29, 23),
            "unique": bm.UniqueEvents(event),
            "year 2020": bm.YearEvents(event, 2020),
            "year 2021": bm.YearEvents(event, 2021),
            "from_date month": bm.MonthEvents.from_date(
                event, datetime(2024, 2, 29, 7, tzinfo=UTC)
            ),
            "from_date week": bm.WeekEvents.from_date(event, datetime(2021, 1, 1, tzinfo=UTC)),
            "from_date hour": bm.HourEvents.from_date(event, datetime(2025, 12, 29, 5, tzinfo=UTC)),
            "week 2020-53 next": bm.WeekEvents(event, 2020, 53).next(),
            "week 2021-1 prev": bm.WeekEvents(event, 2021, 1).prev(),
            "day 2021-1-1 prev": bm.DayEvents(event, 2021, 1, 1).prev(),
            "hour 2020-12-31-23 next": bm.HourEvents(event, 2020, 12, 31, 23).next(),
            "month 2021-2 delta -2": bm.MonthEvents(event, 2021, 2).delta(-2),
        }
        for label, ev in periods.items():
            describe(f"{event} {label}", ev)

    a_dec, s_dec = bm.MonthEvents("active", 2020, 12), bm.MonthEvents("song:played", 2020, 12)
    a_day = bm.DayEvents("active", 2020, 12, 31)
    u_day = bm.DayEvents("user_signed_up", 2020, 12, 31)
    ops = {
        "and": bm.BitOpAnd(a_dec, s_dec),
        "or": bm.BitOpOr(a_dec, s_dec, u_day),
        "xor": bm.BitOpXor(a_dec, s_dec),
        "not": bm.BitOpNot(a_day),
        "system first": bm.BitOpAnd("default", a_dec, s_dec),
        "nested": bm.BitOpAnd(bm.BitOpOr(a_day, u_day), a_dec),
        "operators": (a_dec & s_dec) | ~a_day ^ u_day,
        "day and day": bm.BitOpAnd(a_day, a_day),
        "with unique": bm.BitOpAnd(bm.UniqueEvents("active"), a_dec),
        "with year": bm.BitOpAnd(bm.YearEvents("active", 2021), bm.YearEvents("active", 2020)),
        "missing key": bm.BitOpOr(bm.DayEvents("never", 2020, 1, 1), a_day),
    }
    for label, op in ops.items():
        describe(f"bitop {label}", op)

    describe("premium unique", bm.UniqueEvents("premium"))
    answers["event names"] = sorted(bm.get_event_names())
    answers["event names a"] = sorted(bm.get_event_names(prefix="a"))
    answers["event names batch"] = sorted(bm.get_event_names(batch=3))
    return answers


def cleanup_scenario(bm: Any) -> dict[str, list[str]]:
    """Run the 3.x cleanup functions of `bm`; report the keys left after each."""
    redis = bm.get_redis("default")

    def keys():
        return sorted(k.decode() if isinstance(k, bytes) else k for k in redis.keys("*"))

    bm.delete_temporary_bitop_keys()
    after_bitop_cleanup = keys()
    bm.delete_all_events()
    return {"after_bitop_cleanup": after_bitop_cleanup, "after_delete_all": keys()}


# --- the two directions


def _scenario_source() -> str:
    functions = (write_scenario, read_scenario, cleanup_scenario)
    return "\n\n".join(inspect.getsource(f) for f in functions)


def _upstream_program(port: int, db: int, *, write: bool) -> str:
    """Source of a program for upstream's python: write, snapshot and read; or (on our data)
    read, then clean up."""
    return f"""
from __future__ import annotations
import json, os
import bitmapist
{_scenario_source()}
bitmapist.setup_redis("default", "127.0.0.1", {port}, db={db})
redis = bitmapist.get_redis("default")
marks = json.loads(os.environ["COMPAT_MARKS"])
if {write!r}:
    write_scenario(bitmapist, marks)
written = {{k.decode(): redis.get(k).hex() for k in redis.keys("*")}}
answers = read_scenario(bitmapist, json.loads(os.environ["COMPAT_EVENTS"]),
                        json.loads(os.environ["COMPAT_PROBES"]))
after = sorted(k.decode() for k in redis.keys("*"))
from importlib.metadata import version
origin = {{"file": bitmapist.__file__, "version": version("bitmapist")}}
cleanup = None if {write!r} else cleanup_scenario(bitmapist)
print(json.dumps({{"written": written, "answers": answers, "keys_after": after, "origin": origin,
                  "cleanup": cleanup}}))
"""


def _run_upstream_program(port: int, db: int, *, write: bool) -> dict[str, Any]:
    env = {
        "COMPAT_MARKS": json.dumps(MARKS),
        "COMPAT_EVENTS": json.dumps(EVENTS),
        "COMPAT_PROBES": json.dumps(PROBE_UUIDS),
    }
    return json.loads(run_upstream(_upstream_program(port, db, write=write), env=env))


def _snapshot(client: Any) -> dict[str, str]:
    return {key.decode(): client.get(key).hex() for key in client.keys("*")}


class _OurDefaultSystem:
    """Point this package's "default" system at one db of the server, restoring it after."""

    def __init__(self, server: RedisServer, db: int):
        self.server, self.db = server, db

    def __enter__(self) -> Any:
        self.saved = dict(bitmapist.SYSTEMS)
        self.saved_flags = bitmapist.TRACK_HOURLY, bitmapist.TRACK_UNIQUE
        bitmapist.setup_redis("default", "127.0.0.1", self.server.port, db=self.db)
        return bitmapist.get_redis("default")

    def __exit__(self, *exc: object) -> None:
        bitmapist.SYSTEMS.clear()
        bitmapist.SYSTEMS.update(self.saved)
        bitmapist.TRACK_HOURLY, bitmapist.TRACK_UNIQUE = self.saved_flags


def _ours_read() -> dict[str, Any]:
    return read_scenario(bitmapist, EVENTS, PROBE_UUIDS)


@pytest.fixture(scope="module")
def upstream_wrote(redis_server: RedisServer) -> Iterator[dict[str, Any]]:
    """db 1: upstream writes and answers; then this package answers on the same data."""
    client = redis_server.client(db=UPSTREAM_DB)
    client.flushdb()
    result = _run_upstream_program(redis_server.port, UPSTREAM_DB, write=True)
    with _OurDefaultSystem(redis_server, UPSTREAM_DB):
        result["ours_answers"] = _ours_read()
        result["ours_cleanup"] = cleanup_scenario(bitmapist)
    yield result
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def ours_wrote(redis_server: RedisServer) -> Iterator[dict[str, Any]]:
    """db 2: this package writes and answers; then upstream answers on our data."""
    client = redis_server.client(db=OURS_DB)
    client.flushdb()
    with _OurDefaultSystem(redis_server, OURS_DB) as redis:
        write_scenario(bitmapist, MARKS)
        written = _snapshot(redis)
        answers = _ours_read()
        keys_after = sorted(key.decode() for key in redis.keys("*"))
    result = {"written": written, "answers": answers, "keys_after": keys_after}
    upstream = _run_upstream_program(redis_server.port, OURS_DB, write=False)
    result["upstream_answers"] = upstream["answers"]
    result["upstream_cleanup"] = upstream["cleanup"]
    yield result
    client.flushdb()
    client.close()


def _assert_same_answers(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert sorted(ours) == sorted(theirs)
    differing = {k: (ours[k], theirs[k]) for k in ours if ours[k] != theirs[k]}
    assert not differing, f"{len(differing)} answers differ, e.g. {next(iter(differing.items()))}"


# --- tests


def test_the_other_side_really_is_upstream_3_119(upstream_wrote) -> None:
    assert upstream_wrote["origin"]["version"] == "3.119"
    assert upstream_wrote["origin"]["file"].startswith(str(VENV_DIR))
    assert not bitmapist.__version__.startswith("3.")


def test_upstream_failures_carry_their_stderr() -> None:
    with pytest.raises(UpstreamError, match="no such event"):
        run_upstream("import sys; sys.exit('no such event')")


def test_same_marks_write_byte_identical_keys_and_values(upstream_wrote, ours_wrote) -> None:
    ours, theirs = ours_wrote["written"], upstream_wrote["written"]
    assert sorted(ours) == sorted(theirs)
    assert ours == theirs
    # the scenario really covers hourly, unique, ISO-week-53 and custom-name keys
    for key in [
        "trackist_active_2020-12-31-23",
        "trackist_song:played_2020-12-31-23",  # written through the caller's pipeline
        "trackist_active_u",
        "trackist_premium_u",
        "trackist_active_W2020-53",
        "trackist_a_b:c_d_W2026-1",
        "trackist_user_signed_up_2024-2-29",
        "trackist_active_2024-2-29-23",  # written via bitmapist.TRACK_HOURLY
    ]:
        assert key in ours


def test_this_package_reads_upstream_data_identically(upstream_wrote) -> None:
    _assert_same_answers(upstream_wrote["ours_answers"], upstream_wrote["answers"])


def test_upstream_reads_our_data_identically(ours_wrote, upstream_wrote) -> None:
    _assert_same_answers(ours_wrote["upstream_answers"], ours_wrote["answers"])
    _assert_same_answers(ours_wrote["answers"], upstream_wrote["answers"])


def test_bit_operations_cache_under_the_same_keys(upstream_wrote, ours_wrote) -> None:
    ours = [key for key in ours_wrote["keys_after"] if key.startswith("trackist_bitop_")]
    theirs = [key for key in upstream_wrote["keys_after"] if key.startswith("trackist_bitop_")]
    assert ours and ours == theirs


def test_cleanup_functions_work_on_the_other_sides_data(upstream_wrote, ours_wrote) -> None:
    event_keys = sorted(upstream_wrote["written"])
    assert not any(key.startswith("trackist_bitop_") for key in event_keys)
    for cleanup in (upstream_wrote["ours_cleanup"], ours_wrote["upstream_cleanup"]):
        assert cleanup["after_bitop_cleanup"] == event_keys
        assert cleanup["after_delete_all"] == []


def _model() -> dict[str, set[int]]:
    """What each stored key should hold, computed from MARKS without any bitmapist."""
    bits: dict[str, set[int]] = defaultdict(set)
    for kind, event, uuid, when, hourly, unique in MARKS:
        if kind in ("unique", "ununique"):
            target = bits[f"trackist_{event}_u"]
            (target.add if kind == "unique" else target.discard)(uuid)
            continue
        if "T" in when:
            dt: date = datetime.fromisoformat(when).replace(tzinfo=UTC)
        else:
            dt = date.fromisoformat(when)
        iso_year, iso_week, _ = dt.isocalendar()
        keys = [
            f"trackist_{event}_{dt.year}-{dt.month}",
            f"trackist_{event}_W{iso_year}-{iso_week}",
            f"trackist_{event}_{dt.year}-{dt.month}-{dt.day}",
        ]
        if hourly:
            keys.append(f"trackist_{event}_{dt.year}-{dt.month}-{dt.day}-{dt.hour}")
        if unique:
            keys.append(f"trackist_{event}_u")
        for key in keys:
            (bits[key].discard if kind == "unmark" else bits[key].add)(uuid)
    return bits


def test_answers_match_a_model_of_the_marks(ours_wrote) -> None:
    model = _model()
    answers = ours_wrote["answers"]
    checked = 0
    for label, answer in answers.items():
        if not isinstance(answer, dict) or answer["key"].startswith("trackist_bitop_"):
            continue
        expected = sorted(model.get(answer["key"], ()))
        assert answer["ids"] == expected, label
        assert answer["count"] == len(expected), label
        assert answer["in"] == [u for u in PROBE_UUIDS if u in model.get(answer["key"], ())]
        checked += 1
    assert checked > 50
    december = model["trackist_active_2020-12"]
    song = model["trackist_song:played_2020-12"]
    assert answers["bitop and"]["ids"] == sorted(december & song)
    assert answers["bitop xor"]["ids"] == sorted(december ^ song)
    year_2020 = set().union(*(model.get(f"trackist_active_2020-{m}", set()) for m in range(1, 13)))
    assert answers["active year 2020"]["ids"] == sorted(year_2020)
    assert answers["premium unique"]["ids"] == [42, 65536]
    assert answers["event names"] == sorted([*EVENTS, "premium"])
