"""Dashboard pages on the demo data: how long each page takes to answer (goal: 300 ms).

Run from the repo root::

    python benchmarks/dashboard.py             # the demo data set (20,000 users, 90 days)
    python benchmarks/dashboard.py --quick     # 2,000 users, 30 days, 3 requests a page
    python benchmarks/dashboard.py --store redis --json

`record_demo` writes the demo data set into a fresh store (embedded file:// by default, or
a private redis-server); the dashboard app is then asked for each page in-process (Starlette's
TestClient: routing, the library call, Jinja2 and the SVG charts, no network). The first
request of each page is dropped (it lists event names and warms caches) and the median of
the others is reported, with the goal's margin as `budget / median` (higher is better).
Nothing is asserted: timings belong here, not in the tests.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import warnings
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from _common import REPO_ROOT, base_parser, redis_server

from bitmapist import Bitmapist
from bitmapist.demo import record_demo
from bitmapist.web import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BUDGET = 0.300  # seconds per page, the goal
NOW = datetime(2026, 11, 28, 15, 30, tzinfo=UTC)
PAGES = {
    "overview": "/",
    "trends (2 events, 30 days, compare)": "/trends?events=active&events=song:played",
    "trends (breakdown, 12 weeks)": (
        "/trends?events=active&period=week&breakdown=signup_form:new&breakdown=signup_form:classic"
    ),
    "funnel (4 steps, window 7, breakdown)": (
        "/funnel?steps=signup&steps=activate&steps=invite&steps=upgrade&window=7"
        "&breakdown=signup_form:new&breakdown=signup_form:classic"
    ),
    "lifecycle (12 weeks, first seen)": "/lifecycle?event=active&first_seen=signup",
    "lifecycle (30 days)": "/lifecycle?event=active&period=day",
    "stickiness (12 weeks x 7 days)": "/stickiness?event=active",
    "stickiness (12 months x 30 days)": "/stickiness?event=active&period=month",
    "trends users (drill-down)": "/trends/users?events=active&row=29&series=0",
    "retention (8 x 8 weeks)": "/retention?cohort=signup&returning=active",
    "activity (90 days)": "/activity?event=active",
    # expressions, read as the CLI reads them (docs/dashboard.md)
    "trends (2 expressions, 12 weeks, breakdown)": (
        "/trends?events=active+%26+premium%3Au&events=active+%26+~premium%3Au"
        "&breakdown=signup_form%3Anew&period=week"
    ),
    "funnel (expression steps, window 7)": (
        "/funnel?steps=signup&steps=activate+%26+~premium%3Au&steps=invite+%7C+upgrade&window=7"
    ),
    "lifecycle (expression, 12 weeks)": "/lifecycle?event=active+%26+premium%3Au&first_seen=signup",
    "stickiness (expression, 12 weeks)": "/stickiness?event=active+%7C+song%3Aplayed",
    "retention (expressions, 8 x 8 weeks)": (
        "/retention?cohort=signup+%26+premium%3Au&returning=active+%7C+song%3Aplayed"
    ),
    "activity (expression, 90 days)": "/activity?event=active+%26+premium%3Au",
}


def time_pages(http: TestClient, requests: int) -> list[dict]:
    """Each page's status and the median of `requests` timed requests after a warm-up."""
    results = []
    for name, path in PAGES.items():
        first = http.get(path)
        if first.status_code != 200:
            raise SystemExit(f"{name}: {path} answered {first.status_code}: {first.text[:300]}")
        seconds = []
        for _ in range(requests):
            start = time.perf_counter()
            response = http.get(path)
            seconds.append(time.perf_counter() - start)
            assert response.status_code == 200
        median = statistics.median(seconds)
        results.append(
            {
                "page": name,
                "path": path,
                "median_ms": round(median * 1000, 2),
                "max_ms": round(max(seconds) * 1000, 2),
                "bytes": len(first.content),
                "budget_ratio": round(BUDGET / median, 2),
            }
        )
    return results


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("file", "redis", "memory"), default="file")
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--days", type=int, default=None)
    args = parser.parse_args()
    users = args.users or (2_000 if args.quick else 20_000)
    days = args.days or (30 if args.quick else 90)
    requests = args.rounds or (3 if args.quick else 15)
    with ExitStack() as stack:
        if args.store == "redis":
            server = stack.enter_context(redis_server())
            server.client().flushall()
            url = server.url
        elif args.store == "file":
            url = f"file://{Path(stack.enter_context(tempfile.TemporaryDirectory()))}/demo.db"
        else:
            url = "memory://"
        client = Bitmapist(url)
        stack.callback(client.close)
        start = time.perf_counter()
        summary = record_demo(client, users=users, days=days, now=NOW)
        recorded = time.perf_counter() - start
        results = time_pages(TestClient(create_app(client, now=lambda: NOW)), requests)
    meta = {
        "store": args.store,
        "users": users,
        "days": days,
        "events": summary.events,
        "record_seconds": round(recorded, 2),
        "requests_per_page": requests,
        "budget_ms": BUDGET * 1000,
        "python": sys.version.split()[0],
    }
    if args.json:
        print(json.dumps({"meta": meta, "results": results}, indent=2))
        return
    print(
        f"Dashboard pages, {args.store} store, demo data: {users:,} users, {days} days, "
        f"{summary.events:,} events (recorded in {recorded:.1f} s); "
        f"median of {requests} requests after one warm-up"
    )
    width = max(len(r["page"]) for r in results)
    print(f"{'page':<{width}}  {'median':>9}  {'max':>9}  {'budget/median':>13}  {'bytes':>8}")
    for r in results:
        print(
            f"{r['page']:<{width}}  {r['median_ms']:>7.1f}ms  {r['max_ms']:>7.1f}ms  "
            f"{r['budget_ratio']:>12.1f}x  {r['bytes']:>8,}"
        )
    slowest = max(results, key=lambda r: r["median_ms"])
    verdict = "within" if slowest["median_ms"] <= BUDGET * 1000 else "OVER"
    print(
        f"slowest: {slowest['page']} {slowest['median_ms']:.1f} ms, "
        f"{verdict} the {BUDGET * 1000:.0f} ms goal ({REPO_ROOT.name})"
    )


if __name__ == "__main__":
    main()
