"""Reading `(event, user id, timestamp)` lines from CSV or NDJSON, reporting bad ones.

A timestamp is ISO 8601 (`2026-11-28`, `2026-11-28T13:05:00`, with `Z` or an offset; naive
means UTC) or Unix seconds (`1795860300`, `1795860300.5`). CSV may start with a header
line (`event,user_id,timestamp`). NDJSON lines are objects
(`{"event": "active", "user_id": 1, "timestamp": "2026-11-28T13:05:00Z"}`; `uuid`/`id` and
`time`/`ts` are accepted too) or arrays (`["active", 1, "2026-11-28"]`).
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any, NamedTuple

MAX_UUID = 2**32
_HEADER_NAMES = {"event", "event_name", "name"}
_USER_KEYS = ("user_id", "uuid", "id", "user")
_TIME_KEYS = ("timestamp", "time", "ts", "at")


class BadLine(NamedTuple):
    """A line that could not be read: its 1-based number, why, and how many good events
    of its batch come before it."""

    line: int
    problem: str
    events_before: int = 0


class Batch(NamedTuple):
    """Good events of a run of lines, the bad lines among them, and the last line number."""

    events: list[tuple[str, int, datetime]]
    bad: list[BadLine]
    last_line: int


def parse_timestamp(value: Any) -> datetime:
    """An ISO 8601 string or Unix seconds (str or number) as a datetime; naive means UTC."""
    if isinstance(value, str):
        if "-" in value or "T" in value or ":" in value:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                moment.astimezone(UTC)  # OverflowError past 9999-12-31 or before year 1 in UTC
            return moment
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError
    try:
        return datetime.fromtimestamp(value, UTC)
    except ValueError as exc:  # "year 3170843 is out of range": a number, but not a date
        if "out of range" in str(exc):
            raise OverflowError(str(exc)) from None
        raise


def _check(name: Any, uid: Any, when: Any) -> tuple[str, int, datetime]:
    if not isinstance(name, str) or not name:
        raise _Bad(f"event name {name!r} must be a non-empty string")
    if not name.isascii() and undecodable(name):  # e.g. a JSON "\ud800" escape
        raise _Bad(f"event name {name!r} is not UTF-8 text (a lone surrogate)")
    try:
        number = int(uid) if isinstance(uid, str) else uid
    except ValueError:
        number = None
    if type(number) is not int or not 0 <= number < MAX_UUID:
        raise _Bad(f"user id {uid!r} is not an integer in [0, 2**32)")
    try:
        moment = parse_timestamp(when)
    except (OverflowError, OSError):
        raise _Bad(
            f"timestamp {when!r} is out of range: expected 0001-01-01 to 9999-12-31 in UTC"
        ) from None
    except (ValueError, TypeError):
        raise _Bad(
            f"timestamp {when!r} is not ISO 8601 (2026-11-28T13:05:00Z) or Unix seconds"
        ) from None
    return name, number, moment


class _Bad(Exception):
    pass


class _Unreadable(NamedTuple):
    """A CSV record the csv module refused (e.g. a field over its size limit), standing in
    the rows at its place; `last_line` is the physical line the reader stopped on."""

    last_line: int
    problem: str


#: The codec error handler to decode input with: surrogateescape (a bad byte becomes a lone
#: surrogate, so only its line is bad), counting each use, so that the CSV fast path looks
#: for bad bytes only once the input has had some.
DECODE_ERRORS = "bitmapist-import"
_bad_bytes = 0
_surrogateescape = codecs.lookup_error("surrogateescape")


def _escape_and_count(error: UnicodeError) -> tuple[str, int]:
    global _bad_bytes
    _bad_bytes += 1
    return _surrogateescape(error)


codecs.register_error(DECODE_ERRORS, _escape_and_count)


def undecodable(text: str) -> str | None:
    """Why `text` (decoded with surrogateescape) is not UTF-8, or None if it is."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        byte = ord(text[exc.start]) - 0xDC00
        return f"not UTF-8 text (byte 0x{byte:02x})"
    return None


def read_csv(lines: Iterable[str], batch_size: int) -> Iterator[Batch]:
    """Batches of `batch_size` CSV records (fewer for the last one). `lines` decoded with
    `errors=DECODE_ERRORS` have their bad bytes reported as bad lines."""
    reader = csv.reader(lines)
    line = 0  # physical lines before the batch
    first = True
    bad_bytes_before = _bad_bytes
    while rows := _next_rows(reader, batch_size):
        offset = 0
        if first and _is_header(rows[0]):
            rows, offset = rows[1:], 1
        first = False
        # decoding runs ahead of the rows: once it met a bad byte, check every later batch
        events = _fast_rows(rows, _bad_bytes != bad_bytes_before)
        bad: list[BadLine] = []
        if events is None:
            events, bad = _slow_rows(rows, line + offset)
        line = reader.line_num
        yield Batch(events, bad, line)


def _next_rows(reader: Any, count: int) -> list[Any]:
    """Up to `count` rows; a record the csv module refuses becomes an `_Unreadable` row
    (the reader goes on with the next line, so one bad record costs only itself)."""
    rows: list[Any] = []
    while len(rows) < count:
        try:
            rows.extend(islice(reader, count - len(rows)))  # keeps the rows before an error
            break
        except csv.Error as exc:
            rows.append(_Unreadable(reader.line_num, f"not CSV ({exc})"))
    return rows


def _is_header(row: list[str]) -> bool:
    return len(row) == 3 and row[0].strip().lower() in _HEADER_NAMES and not row[1].isdigit()


def _fast_rows(rows: list[list[str]], bad_bytes: bool) -> list[tuple[str, int, datetime]] | None:
    """All rows converted at C speed (map/zip), or None if any needs a closer look."""
    if not rows:
        return []
    if set(map(len, rows)) != {3}:
        return None
    names, uids, whens = zip(*rows)
    if "" in names or any(map(str.isdigit, whens)):  # Unix seconds take the slow path
        return None
    if max(whens) >= "9999-12-31" or min(whens) < "0001-01-02":  # an offset may overflow UTC
        return None
    if bad_bytes and undecodable("".join(names)):  # elsewhere they fail int() or fromisoformat()
        return None
    try:
        numbers = list(map(int, uids))
        moments = list(map(datetime.fromisoformat, whens))
    except ValueError:
        return None
    if min(numbers) < 0 or max(numbers) >= MAX_UUID:
        return None
    return list(zip(names, numbers, moments))


def _slow_rows(rows: list[Any], line: int) -> tuple[list[tuple[str, int, datetime]], list[BadLine]]:
    """Each row checked on its own; bad ones get the number of their first physical line."""
    events: list[tuple[str, int, datetime]] = []
    bad: list[BadLine] = []
    for row in rows:
        line += 1
        if isinstance(row, _Unreadable):
            through = f", through line {row.last_line}" if row.last_line > line else ""
            bad.append(BadLine(line, row.problem + through, len(events)))
            line = row.last_line
            continue
        problem = undecodable("".join(row))
        if problem:
            bad.append(BadLine(line, problem, len(events)))
        elif len(row) != 3:
            if row:  # blank lines are not errors
                problem = f"expected 3 fields (event, user id, timestamp), got {len(row)}"
                bad.append(BadLine(line, problem, len(events)))
        else:
            try:
                events.append(_check(*row))
            except _Bad as exc:
                bad.append(BadLine(line, str(exc), len(events)))
        line += sum(field.count("\n") for field in row)  # quoted fields may span lines
    return events, bad


def read_ndjson(lines: Iterable[str], batch_size: int) -> Iterator[Batch]:
    """Batches of `batch_size` NDJSON lines (fewer for the last one)."""
    events: list[tuple[str, int, datetime]] = []
    bad: list[BadLine] = []
    line = 0
    for line, text in enumerate(lines, 1):  # noqa: B007 - the last number is used below
        if not text.strip():
            continue
        try:
            problem = undecodable(text)
            if problem:
                raise _Bad(problem)
            events.append(_check(*_fields(json.loads(text))))
        except json.JSONDecodeError as exc:
            problem = f"not JSON: {exc.msg} at column {exc.colno}"
            bad.append(BadLine(line, problem, len(events)))
        except _Bad as exc:
            bad.append(BadLine(line, str(exc), len(events)))
        if len(events) + len(bad) >= batch_size:
            yield Batch(events, bad, line)
            events, bad = [], []
    if events or bad:
        yield Batch(events, bad, line)


def _fields(value: Any) -> tuple[Any, Any, Any]:
    if isinstance(value, list):
        if len(value) != 3:
            raise _Bad(f"expected [event, user_id, timestamp], got {len(value)} items")
        return value[0], value[1], value[2]
    if not isinstance(value, dict):
        raise _Bad(f"expected a JSON object or array, got {type(value).__name__}")
    name = value.get("event", value.get("event_name"))
    uid = next((value[k] for k in _USER_KEYS if k in value), None)
    when = next((value[k] for k in _TIME_KEYS if k in value), None)
    missing = [
        label
        for label, found in (("event", name), ("user_id", uid), ("timestamp", when))
        if found is None
    ]
    if missing:
        raise _Bad(f"missing {', '.join(missing)}")
    return name, uid, when


def detect_format(path: str, first_text: str) -> str:
    """`csv` or `ndjson`, from the file name, else from the first character."""
    lowered = path.lower()
    if lowered.endswith((".ndjson", ".jsonl", ".json")):
        return "ndjson"
    if lowered.endswith((".csv", ".tsv")):
        return "csv"
    return "ndjson" if first_text.lstrip()[:1] in ("{", "[") else "csv"
