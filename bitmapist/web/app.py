"""The dashboard's routes: the overview (home), retention, its CSV, a cell's users, and
DAU/WAU/MAU activity. Handlers are plain functions of the request:
Starlette runs them in a thread pool, so the synchronous library never blocks the loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..analytics.ranges import active_users
from ..analytics.retention import retention
from ..client import Bitmapist
from ..errors import BitmapistError, InvalidInput
from ..query_language import name_text
from . import charts
from .event_texts import EventTexts
from .overview import PERIODS as PERIODS_OVERVIEW
from .overview import Change, overview
from .params import MODES, PERIODS, ActivityQuery, RetentionQuery, page_number
from .questions import STATUSES, question_routes
from .responses import attachment

PAGE_SIZE = 100
#: The header's links after the overview: (path, label)
NAV = (
    ("trends", "Trends"),
    ("funnel", "Funnels"),
    ("lifecycle", "Lifecycle"),
    ("stickiness", "Stickiness"),
    ("retention", "Retention"),
    ("activity", "Active users"),
)
_TEMPLATES = Path(__file__).with_name("templates")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        shade=charts.shade,
        ink=charts.ink,
        sparkline=charts.sparkline,
        colour=charts.colour,
        change=Change.between,
        PERIODS=PERIODS,
        MODES=MODES,
        PERIODS_OVERVIEW=PERIODS_OVERVIEW,
        NAV=NAV,
        STATUSES=STATUSES,
        name_text=name_text,
    )
    return env


class Dashboard:
    """The dashboard over one client; `routes()` are mounted by `create_app`."""

    def __init__(
        self,
        client: Bitmapist,
        *,
        title: str = "bitmapist",
        now: Callable[[], datetime] | None = None,
        names_ttl: float = 10.0,
    ):
        self.client = client
        self.title = title
        self.now = now or (lambda: datetime.now(UTC))
        self.templates = _environment()
        self.names_ttl = names_ttl
        self._names: tuple[float, list[str]] | None = None

    def routes(self) -> list[Route]:
        return [
            Route("/", self.home, name="home"),
            Route("/retention", self.retention_view, name="retention"),
            Route("/retention.csv", self.retention_csv, name="retention_csv"),
            Route("/users", self.users, name="users"),
            Route("/users.csv", self.users_csv, name="users_csv"),
            Route("/activity", self.activity, name="activity"),
            *question_routes(self),
        ]

    # --- helpers

    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> Response:
        root = request.scope.get("root_path", "")
        html = self.templates.get_template(template).render(
            title=self.title, root=root, events=self.event_names(), **context
        )
        return HTMLResponse(html, status_code=status)

    def event_names(self) -> list[str]:
        """Sorted event names, listed at most every `names_ttl` seconds: every page shows
        them, and listing means a SCAN over the whole keyspace on Redis."""
        cached = self._names
        if cached is not None and time.monotonic() - cached[0] < self.names_ttl:
            return cached[1]
        names = sorted(self.client.get_event_names())
        self._names = (time.monotonic(), names)
        return names

    def error(self, request: Request, exc: BitmapistError, **context: Any) -> Response:
        return self.render(request, "error.html", status=400, message=str(exc), **context)

    def build_table(self, query: RetentionQuery) -> Any:
        """The retention table of `query` (cohort, returning and segment are names or
        expressions, read as `bitmapist retention` reads them)."""
        texts = EventTexts(self.client, query.period, self.now())
        cohort = texts.spec("cohort", query.cohort)
        if query.segment:
            # only cohort users in the segment: the period event AND the flag (or expression)
            if isinstance(cohort, str):
                period_class = getattr(self.client, f"{query.period.title()}Events")
                cohort = period_class.from_date(cohort, texts.now)
            cohort = cohort & texts.flag("segment", query.segment)
        return retention(
            cohort,
            texts.spec("returning", query.returning),
            period=query.period,
            start=query.start,
            cohorts=query.cohorts,
            periods=query.periods,
            mode=query.mode,
            system=self.client,
            now=texts.now,
        )

    # --- views

    def home(self, request: Request) -> Response:
        search = request.query_params.get("q", "").strip()
        names = self.event_names()
        shown = [n for n in names if search.lower() in n.lower()] if search else names
        rows, moment = overview(self.client, shown, self.now())
        return self.render(
            request,
            "home.html",
            search=search,
            shown=shown,
            active=[row for row in rows if row.active],
            quiet=[row for row in rows if not row.active],
            moment=moment,
            tz=getattr(self.client.timezone, "key", None) or str(self.client.timezone),
        )

    def retention_view(self, request: Request) -> Response:
        try:
            query = RetentionQuery.parse(request.query_params)
            if not query.ready:
                return self.render(request, "retention_form.html", query=query)
            table = self.build_table(query)
        except BitmapistError as exc:
            return self.error(request, exc, query=RetentionQuery.lenient(request.query_params))
        return self.render(
            request,
            "retention.html",
            query=query,
            table=table,
            curve=_retention_curve(table, table.title),
        )

    def retention_csv(self, request: Request) -> Response:
        try:
            query = RetentionQuery.parse(request.query_params)
            if not query.ready:
                raise_missing("cohort")
            table = self.build_table(query)
        except BitmapistError as exc:
            return Response(f"error: {exc}\n", status_code=400, media_type="text/plain")
        filename = f"retention-{query.cohort}-{query.returning}-{query.period}.csv"
        return Response(
            table.to_csv(query.values),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": attachment(filename)},
        )

    def cell(self, request: Request) -> tuple[RetentionQuery, Any, int, int | None, list[int]]:
        """The query, table, row, column (None: whole cohort) and ids a cell URL names."""
        query = RetentionQuery.parse(request.query_params)
        if not query.ready:
            raise_missing("cohort")
        table = self.build_table(query)
        row = _index(request, "row", len(table.rows))
        column_text = request.query_params.get("col", "")
        column = None if column_text == "" else _index(request, "col", len(table.columns))
        return query, table, row, column, table.ids(row, column)

    def users_csv(self, request: Request) -> Response:
        try:
            query, table, row, column, ids = self.cell(request)
        except BitmapistError as exc:
            return Response(f"error: {exc}\n", status_code=400, media_type="text/plain")
        where = table.rows[row].label + ("" if column is None else f"-{column}")
        filename = f"users-{query.cohort}-{where}.csv"
        body = "user_id\n" + "".join(f"{uid}\n" for uid in ids)
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": attachment(filename)},
        )

    def users(self, request: Request) -> Response:
        try:
            query, table, row, column, ids = self.cell(request)
            page = page_number(request.query_params)
        except BitmapistError as exc:
            return self.error(request, exc, query=RetentionQuery.lenient(request.query_params))
        pages = max(1, -(-len(ids) // PAGE_SIZE))
        page = min(page, pages)
        return self.render(
            request,
            "users.html",
            query=query,
            table=table,
            row=table.rows[row],
            row_index=row,
            column=None if column is None else table.columns[column],
            column_index=column,
            ids=ids[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
            total=len(ids),
            page=page,
            pages=pages,
        )

    def activity(self, request: Request) -> Response:
        """Rolling DAU / WAU / MAU of an event name or expression (read as the question
        pages read theirs: bare operands are days, moved to each day)."""
        try:
            query = ActivityQuery.parse(request.query_params)
            if not query.event:
                names = self.event_names()
                query = replace(query, event="active" if "active" in names else "")
            if not query.event:
                return self.render(request, "activity.html", query=query, days=[], chart=None)
            texts = EventTexts(self.client, "day", self.now())
            event = texts.spec("event", query.event)
            end = query.end or texts.now.astimezone(self.client.timezone).date()
            start = end - timedelta(days=query.days - 1)
            days = active_users(event, start=start, end=end, system=self.client)
        except BitmapistError as exc:
            return self.error(
                request,
                exc,
                query=ActivityQuery.lenient(request.query_params),
                page_name="activity",
                form_template="_activity_form.html",
            )
        chart = charts.line_chart(
            [
                charts.Series("DAU", [d.dau for d in days], charts.PALETTE[0]),
                charts.Series("WAU (7 days)", [d.wau for d in days], charts.PALETTE[1]),
                charts.Series("MAU (30 days)", [d.mau for d in days], charts.PALETTE[2]),
            ],
            [_short_date(d.day) for d in days],
            title=f"{query.event}: daily, weekly and monthly active users",
        )
        return self.render(
            request, "activity.html", query=query, days=list(reversed(days)), chart=chart
        )


def raise_missing(name: str) -> None:
    raise InvalidInput(f"{name} is missing: choose an event")


def _index(request: Request, name: str, size: int) -> int:
    text = request.query_params.get(name, "")
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(f"{name} {text!r} is not an integer: expected [0, {size - 1}]") from None
    if not 0 <= value < size:
        raise InvalidInput(f"{name} {value} is out of range: expected [0, {size - 1}]")
    return value


def _short_date(day: date) -> str:
    return f"{day:%b} {day.day}"


def _retention_curve(table: Any, title: str) -> Any:
    """The average curve (bold) over each cohort's curve (faint)."""
    series = [
        charts.Series(
            row.label,
            [cell.percent for cell in row.cells],
            charts.PALETTE[0],
            width=1.2,
            opacity=0.4,
        )
        for row in table.rows
    ]
    series.append(
        charts.Series(
            "average (weighted by cohort size)",
            [a.weighted for a in table.averages],
            charts.PALETTE[1],
            width=3,
        )
    )
    return charts.line_chart(
        series,
        [column.label for column in table.columns],
        title=f"Retention curve: {title}",
        percent=True,
    )
