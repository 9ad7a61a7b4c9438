"""`bitmapist import` / `export`: formats, bad lines, --strict, re-runs, round trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from bitmapist import Bitmapist
from bitmapist.cli import cli
from bitmapist.expressions import Key

from . import test_cli
from .test_cli import Run, ok

# the CLI fixtures: a store URL per store kind, and `run` to invoke the command on it
store_url = test_cli.store_url
run = test_cli.run

CSV = """event,user_id,timestamp
active,1,2026-11-28T13:05:00Z
active,2,2026-11-28T23:59:59+00:00
song:played,1,1795871100
active,3,2026-10-31
"""


def test_import_csv_with_header(run: Run, tmp_path, store_url: str) -> None:
    path = tmp_path / "events.csv"
    path.write_text(CSV)
    result = run("import", str(path))
    assert ok(result) == "Imported 4 events.\n"
    assert result.stderr == ""
    client = Bitmapist(store_url)
    assert list(client.MonthEvents("active", 2026, 11)) == [1, 2]
    assert list(client.DayEvents("active", 2026, 10, 31)) == [3]
    when = datetime.fromtimestamp(1795871100, UTC)
    assert list(client.DayEvents.from_date("song:played", when)) == [1]


def test_bad_lines_are_reported_with_numbers_and_skipped(run: Run, tmp_path, store_url) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "active,1,2026-11-28\n"
        "active,x,2026-11-28\n"
        "active,2\n"
        ",3,2026-11-28\n"
        "active,4,yesterday-ish\n"
        "active,4294967296,2026-11-28\n"
        "\n"
        "active,5,2026-11-28\n"
    )
    result = run("import", str(path))
    assert result.exit_code == 0
    assert result.stdout == "Imported 2 events; skipped 5 bad lines.\n"
    assert result.stderr == (
        "line 2: user id 'x' is not an integer in [0, 2**32)\n"
        "line 3: expected 3 fields (event, user id, timestamp), got 2\n"
        "line 4: event name '' must be a non-empty string\n"
        "line 5: timestamp 'yesterday-ish' is not ISO 8601 (2026-11-28T13:05:00Z) or Unix seconds\n"
        "line 6: user id '4294967296' is not an integer in [0, 2**32)\n"
    )
    assert list(Bitmapist(store_url).DayEvents("active", 2026, 11, 28)) == [1, 5]


def test_strict_stops_at_the_first_bad_line(run: Run, tmp_path, store_url: str) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "active,1,2026-11-28\nactive,2,2026-11-28\nactive,-1,2026-11-28\nactive,3,2026-11-28\n"
    )
    result = run("import", str(path), "--strict", "--batch-size", "2")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: line 3: user id '-1' is not an integer in [0, 2**32) "
        "(--strict: stopped; 2 events before it were imported)\n"
    )
    assert list(Bitmapist(store_url).DayEvents("active", 2026, 11, 28)) == [1, 2]


def test_strict_imports_nothing_past_a_bad_line_in_the_same_batch(
    run: Run, tmp_path, store_url: str
) -> None:
    path = tmp_path / "events.csv"
    path.write_text("active,1,2026-11-28\nactive,x,2026-11-28\nactive,3,2026-11-28\n")
    result = run("import", str(path), "--strict")
    assert result.exit_code == 1
    assert "1 events before it were imported" in result.stderr
    assert list(Bitmapist(store_url).DayEvents("active", 2026, 11, 28)) == [1]


def test_rerunning_an_import_is_harmless(run: Run, tmp_path, store_url: str) -> None:
    path = tmp_path / "events.csv"
    path.write_text(CSV)
    ok(run("import", str(path)))
    client = Bitmapist(store_url)

    def contents() -> dict[str, list[int]]:
        keys = sorted(client.store.scan_keys("*"))
        return {key: list(client.store.bitmap(Key(key))) for key in keys}

    before = contents()
    assert len(before) == 9  # day, week and month of 3 (event, day) pairs
    assert ok(run("import", str(path))) == "Imported 4 events.\n"
    assert contents() == before


def test_import_ndjson_objects_and_arrays(run: Run, tmp_path, store_url: str) -> None:
    path = tmp_path / "events.ndjson"
    path.write_text(
        json.dumps({"event": "active", "user_id": 1, "timestamp": "2026-11-28T10:00:00Z"})
        + "\n"
        + json.dumps({"event": "active", "uuid": 2, "ts": 1795860000})
        + "\n"
        + json.dumps(["signup", 2, "2026-11-28"])
        + "\n"
        + "{not json\n"
        + json.dumps({"event": "active"})
        + "\n"
    )
    result = run("import", str(path))
    assert result.stdout == "Imported 3 events; skipped 2 bad lines.\n"
    assert result.stderr == (
        "line 4: not JSON: Expecting property name enclosed in double quotes at column 2\n"
        "line 5: missing user_id, timestamp\n"
    )
    client = Bitmapist(store_url)
    assert list(client.MonthEvents("active", 2026, 11)) == [1, 2]
    assert list(client.DayEvents("signup", 2026, 11, 28)) == [2]


def test_import_from_stdin_and_hourly(run: Run, store_url: str) -> None:
    result = run("import", "-", "--hourly", input="active,7,2026-11-28T13:05:00Z\n")
    assert ok(result) == "Imported 1 event.\n"
    assert list(Bitmapist(store_url).HourEvents("active", 2026, 11, 28, 13)) == [7]


def test_export_then_import_round_trips_days(run: Run, tmp_path, store_url: str) -> None:
    ok(run("mark", "active", "1", "--at", "2026-11-27"))
    ok(run("mark", "active", "2", "--at", "2026-11-28"))
    ok(run("mark", "song:played", "2", "--at", "2026-11-28"))
    exported = ok(run("export"))
    assert exported == ("active,1,2026-11-27\nactive,2,2026-11-28\nsong:played,2,2026-11-28\n")
    since = ok(run("export", "--event", "active", "--since", "2026-11-28"))
    assert since == "active,2,2026-11-28\n"
    assert ok(run("export", "--format", "ndjson", "--event", "song:played")) == (
        '{"event": "song:played", "user_id": 2, "timestamp": "2026-11-28"}\n'
    )
    # into a second store: same day, week and month bitmaps
    other = f"file://{tmp_path}/copy.db" if store_url.startswith("file") else store_url[:-1] + "1"
    CliRunner().invoke(cli, ["import", "-", "--store", other], input=exported)
    source, copy = Bitmapist(store_url), Bitmapist(other)
    try:
        for make in (
            lambda c: c.DayEvents("active", 2026, 11, 27),
            lambda c: c.WeekEvents("active", 2026, 48),
            lambda c: c.MonthEvents("active", 2026, 11),
            lambda c: c.MonthEvents("song:played", 2026, 11),
        ):
            assert list(make(copy)) == list(make(source))
    finally:
        copy.delete_all_events()


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_export_hours(run: Run, fmt: str) -> None:
    ok(run("mark", "active", "3", "--at", "2026-11-28T09:15:00Z", "--hourly"))
    out = ok(run("export", "--granularity", "hour", "--format", fmt))
    expected = {
        "csv": "active,3,2026-11-28T09:00:00Z\n",
        "ndjson": '{"event": "active", "user_id": 3, "timestamp": "2026-11-28T09:00:00Z"}\n',
    }
    assert out == expected[fmt]


def test_line_numbers_count_quoted_newlines(run: Run, tmp_path, store_url: str) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        'active,1,2026-11-28\n"two\nlines",x,2026-11-28\n\nactive,2,bogus\nactive,3,1795871100\n'
    )
    result = run("import", str(path))
    assert result.stdout == "Imported 2 events; skipped 2 bad lines.\n"
    assert result.stderr == (
        "line 2: user id 'x' is not an integer in [0, 2**32)\n"
        "line 5: timestamp 'bogus' is not ISO 8601 (2026-11-28T13:05:00Z) or Unix seconds\n"
    )
    assert list(Bitmapist(store_url).MonthEvents("active", 2026, 11)) == [1, 3]


def test_large_clean_batches_and_unix_seconds(run: Run, tmp_path, store_url: str) -> None:
    path = tmp_path / "events.csv"
    rows = [f"active,{uid},2026-11-{1 + uid % 28:02d}T10:00:00Z" for uid in range(5000)]
    rows += [f"signup,{uid},{1795860000 + uid}" for uid in range(5000, 5100)]
    path.write_text("\n".join(rows) + "\n")
    assert ok(run("import", str(path), "--batch-size", "1000")) == "Imported 5,100 events.\n"
    client = Bitmapist(store_url)
    assert len(client.MonthEvents("active", 2026, 11)) == 5000
    assert list(client.DayEvents("active", 2026, 11, 2)) == list(range(1, 5000, 28))
    assert len(client.MonthEvents("signup", 2026, 11)) == 100


def test_a_missing_input_file_is_a_usage_error(run: Run, tmp_path) -> None:
    missing = run("import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2
    assert "does not exist" in missing.stderr


HUGE = "x" * 200_000


@pytest.mark.parametrize("batch_size", ["100000", "1"])
def test_undecodable_and_oversized_lines_are_skipped_like_any_bad_line(
    run: Run, tmp_path, store_url: str, batch_size: str
) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(
        b"event,user_id,timestamp\n"
        b"active,1,2026-11-28\n"
        b"caf\xe9,2,2026-11-28\n"  # Latin-1, not UTF-8
        b"active,3,2026-11-28\n" + HUGE.encode() + b",4,2026-11-28\n"
        b"active,5,2026-11-28\n"
        b'"unclosed,6,2026-11-28\n' + (HUGE + "\n").encode() + b"active,8,bogus\n"
    )
    result = run("import", str(path), "--batch-size", batch_size)
    assert result.exit_code == 0, result.output
    assert result.stdout == "Imported 3 events; skipped 4 bad lines.\n"
    assert result.stderr == (
        "line 3: not UTF-8 text (byte 0xe9)\n"
        "line 5: not CSV (field larger than field limit (131072))\n"
        "line 7: not CSV (field larger than field limit (131072)), through line 8\n"
        "line 9: timestamp 'bogus' is not ISO 8601 (2026-11-28T13:05:00Z) or Unix seconds\n"
    )
    assert list(Bitmapist(store_url).DayEvents("active", 2026, 11, 28)) == [1, 3, 5]
    assert Bitmapist(store_url).get_event_names() == ["active"]


@pytest.mark.parametrize("bad", [b"caf\xe9,2,2026-11-28\n", HUGE.encode() + b",2,2026-11-28\n"])
def test_strict_stops_at_an_unreadable_line_after_the_lines_before_it(
    run: Run, tmp_path, store_url: str, bad: bytes
) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(b"active,1,2026-11-28\n" + bad + b"active,3,2026-11-28\n")
    result = run("import", str(path), "--strict")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: line 2: not ")
    assert result.stderr.endswith("(--strict: stopped; 1 events before it were imported)\n")
    assert list(Bitmapist(store_url).DayEvents("active", 2026, 11, 28)) == [1]


def test_undecodable_ndjson_lines_are_skipped(run: Run, tmp_path, store_url: str) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(
        b'{"event": "active", "user_id": 1, "timestamp": "2026-11-28"}\n'
        b'{"event": "caf\xe9", "user_id": 2, "timestamp": "2026-11-28"}\n'
        b'{"event": "active", "user_id": 3, "timestamp": "2026-11-28"}\n'
    )
    result = run("import", str(path))
    assert result.stdout == "Imported 2 events; skipped 1 bad line.\n"
    assert result.stderr == "line 2: not UTF-8 text (byte 0xe9)\n"
    assert list(Bitmapist(store_url).DayEvents("active", 2026, 11, 28)) == [1, 3]
    # a JSON escape can spell a lone surrogate too, which no store can write as UTF-8
    path.write_text(
        '{"event": "active", "user_id": 4, "timestamp": "2026-11-28"}\n'
        '{"event": "b\\ud800", "user_id": 5, "timestamp": "2026-11-28"}\n'
    )
    result = run("import", str(path))
    assert result.stdout == "Imported 1 event; skipped 1 bad line.\n"
    assert result.stderr == "line 2: event name 'b\\ud800' is not UTF-8 text (a lone surrogate)\n"
    assert list(Bitmapist(store_url).DayEvents("active", 2026, 11, 28)) == [1, 3, 4]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("events.csv", "event,user_id,timestamp\nactive,1,2026-11-28\n"),
        ("events.ndjson", '{"event": "active", "user_id": 1, "timestamp": "2026-11-28"}\n'),
        ("-", '{"event": "active", "user_id": 1, "timestamp": "2026-11-28"}\n'),
    ],
)
def test_a_utf8_byte_order_mark_is_skipped(run: Run, tmp_path, store_url, name, text) -> None:
    data = "\ufeff" + text
    if name == "-":
        result = run("import", "-", input=data.encode())
    else:
        (tmp_path / name).write_text(data, encoding="utf-8")
        result = run("import", str(tmp_path / name))
    assert (result.stdout, result.stderr) == ("Imported 1 event.\n", "")
    assert list(Bitmapist(store_url).DayEvents("active", 2026, 11, 28)) == [1]


def test_ndjson_from_stdin_is_detected(run: Run, store_url: str) -> None:
    line = json.dumps({"event": "active", "user_id": 4, "timestamp": "2026-11-28"})
    assert ok(run("import", "-", input=line + "\n")) == "Imported 1 event.\n"
    assert list(Bitmapist(store_url).DayEvents("active", 2026, 11, 28)) == [4]


NAMES = ["a\rb", "a\nb", "c\r\nd", 'say "hi"', "x,y", " padded ", "=1+2", "-x", "+x", "@x"]


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_export_then_import_keeps_every_name(run: Run, tmp_path, store_url: str, fmt) -> None:
    client = Bitmapist(store_url)
    for uid, name in enumerate(NAMES):
        client.mark_event(name, uid, now=datetime(2026, 11, 28, tzinfo=UTC))
    path = tmp_path / f"events.{fmt}"  # a file: CliRunner's stdout turns \r\n into \n
    ok(run("export", "--format", fmt, "-o", str(path)))
    if fmt == "csv":  # formula-like names stay as they are: the file is data for `import`
        assert "\n=1+2,6,2026-11-28\n" in path.read_bytes().decode()
    other = f"file://{tmp_path}/copy.db" if store_url.startswith("file") else store_url[:-1] + "1"
    result = CliRunner().invoke(cli, ["import", str(path), "--store", other])
    assert result.stdout == f"Imported {len(NAMES)} events.\n", result.stderr
    copy = Bitmapist(other)
    try:
        assert sorted(copy.get_event_names()) == sorted(NAMES)
        for uid, name in enumerate(NAMES):
            assert list(copy.DayEvents(name, 2026, 11, 28)) == [uid]
    finally:
        copy.delete_all_events()


def test_timestamps_past_the_calendar_in_utc_are_bad_lines(run: Run, tmp_path, store_url) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "active,1,9999-12-31T23:59:59-05:00\n"  # 10000-01-01 in UTC
        "active,2,0001-01-01T00:00:00+05:00\n"  # year 0 in UTC
        "active,3,9999-12-31T23:00:00Z\n"
        "active,4,99999999999999\n"
        "active,5,0001-01-01\n"
    )
    result = run("import", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == "Imported 2 events; skipped 3 bad lines.\n"
    expected = "is out of range: expected 0001-01-01 to 9999-12-31 in UTC\n"
    assert result.stderr == (
        f"line 1: timestamp '9999-12-31T23:59:59-05:00' {expected}"
        f"line 2: timestamp '0001-01-01T00:00:00+05:00' {expected}"
        f"line 4: timestamp '99999999999999' {expected}"
    )
    client = Bitmapist(store_url)
    assert list(client.DayEvents("active", 9999, 12, 31)) == [3]
    assert list(client.DayEvents("active", 1, 1, 1)) == [5]
