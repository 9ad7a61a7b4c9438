"""Pin the public surface: everything 3.x offered is still there, and nothing leaks."""

from __future__ import annotations

import inspect
import subprocess
import sys

import bitmapist

UPSTREAM_3X_NAMES = {
    "SYSTEMS",
    "TRACK_HOURLY",
    "TRACK_UNIQUE",
    "setup_redis",
    "get_redis",
    "mark_event",
    "unmark_event",
    "mark_unique",
    "unmark_unique",
    "get_event_names",
    "delete_all_events",
    "delete_temporary_bitop_keys",
    "delete_runtime_bitop_keys",
    "YearEvents",
    "MonthEvents",
    "WeekEvents",
    "DayEvents",
    "HourEvents",
    "UniqueEvents",
    "GenericPeriodEvents",
    "BitOperation",
    "BitOpAnd",
    "BitOpOr",
    "BitOpXor",
    "BitOpNot",
    "add_month",
    "iso_year_start",
    "iso_to_gregorian",
    "not_none",
    "MixinIter",
    "MixinCounts",
    "MixinContains",
    "MixinEventsMisc",
    "MixinBitOperations",
}


def test_all_is_pinned():
    assert set(bitmapist.__all__) >= UPSTREAM_3X_NAMES
    for name in bitmapist.__all__:
        assert hasattr(bitmapist, name), name


def test_3x_signatures_are_kept():
    params = inspect.signature(bitmapist.mark_event).parameters
    assert list(params) == [
        "event_name",
        "uuid",
        "system",
        "now",
        "track_hourly",
        "track_unique",
        "use_pipeline",
    ]
    assert params["system"].default == "default" and params["use_pipeline"].default is True
    assert list(inspect.signature(bitmapist.get_event_names).parameters) == [
        "system",
        "prefix",
        "batch",
    ]
    assert list(inspect.signature(bitmapist.MonthEvents).parameters) == [
        "event_name",
        "year",
        "month",
        "system",
    ]
    assert list(inspect.signature(bitmapist.HourEvents).parameters) == [
        "event_name",
        "year",
        "month",
        "day",
        "hour",
        "system",
    ]
    assert bitmapist.TRACK_HOURLY is False and bitmapist.TRACK_UNIQUE is False


def test_public_functions_have_docstrings():
    for name in bitmapist.__all__:
        obj = getattr(bitmapist, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"


def test_retention_is_the_function_whatever_was_imported_first():
    """`bitmapist.retention` is the public function: the module that defines it lives in
    `bitmapist.analytics`, so importing it never rebinds the name. `import *` gives every
    public name."""
    code = (
        "from bitmapist.analytics.retention import RetentionTable\n"
        "import bitmapist\n"
        "from bitmapist import retention\n"
        "assert callable(retention) and bitmapist.retention is retention, retention\n"
        "assert bitmapist.RetentionTable is RetentionTable\n"
        "namespace = {}\n"
        "exec('from bitmapist import *', namespace)\n"
        "assert set(bitmapist.__all__) <= set(namespace)\n"
        "assert namespace['DailyEvents'] is bitmapist.DayEvents\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
