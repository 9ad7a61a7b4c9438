"""The question pages (trends, funnel, lifecycle, stickiness): one route set per question.

Each question is a `Question`: how to parse its query, compute its table with the library,
draw its chart and resolve a drill-down (which users are behind one number). Events, steps
and segments are names or expressions, read as the CLI reads them (`event_texts`). The routes
are the same for all: the page (`/trends?...`), its CSV (`/trends.csv?...`), the users
behind a number (`/trends/users?...&row=2&series=0`, paginated) and those as CSV; the
table is also served as JSON (`/trends.json?...`, the library's `to_json()`). The library's
tables name an expression as it was typed, so the page, chart, CSV and JSON all show that text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..analytics.funnels import funnel
from ..analytics.lifecycle import lifecycle
from ..analytics.stickiness import stickiness
from ..analytics.trends import trends
from ..errors import BitmapistError, InvalidInput
from . import question_charts
from .event_texts import EventTexts
from .params import page_number
from .question_params import FunnelQuery, LifecycleQuery, StickinessQuery, TrendsQuery
from .responses import csv_response

if TYPE_CHECKING:
    from .app import Dashboard

PAGE_SIZE = 100


@dataclass(frozen=True)
class Question:
    """What differs between the question pages."""

    name: str
    heading: str
    query_type: Any
    #: (the page's event texts, query) -> the library's table
    compute: Callable[[EventTexts, Any], Any]
    #: (table, query) -> the chart's SVG
    chart: Callable[[Any, Any], Markup]
    #: (table, params) -> (user ids, what they are, the drill-down parameters)
    drill: Callable[[Any, Mapping[str, str]], tuple[list[int], str, dict[str, object]]]


def _int_param(params: Mapping[str, str], name: str, size: int) -> int:
    text = params.get(name, "").strip()
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(f"{name} {text!r} is not an integer: expected [0, {size - 1}]") from None
    if not 0 <= value < size:
        raise InvalidInput(f"{name} {value} is out of range: expected [0, {size - 1}]")
    return value


def _flag(params: Mapping[str, str], name: str) -> bool:
    text = params.get(name, "").strip() or "0"
    if text not in ("0", "1"):
        raise InvalidInput(f"{name} {text!r} is unknown: expected 0 or 1")
    return text == "1"


# --- trends


def _end(period: str, end: date | None) -> date | datetime | None:
    """An end date names its whole day: for hours, its last hour (the library reads an end
    date as its midnight, the first hour)."""
    if end is None or period != "hour":
        return end
    return datetime.combine(end, time(23))


def _breakdown(texts: EventTexts, breakdown: tuple[str, ...]) -> list[Any] | None:
    """Segments as the CLI's --breakdown reads them (a plain name is a flag)."""
    return texts.specs("breakdown", breakdown) or None


def _trends(texts: EventTexts, q: TrendsQuery) -> Any:
    return trends(
        texts.specs("events", q.events),
        period=q.period,
        start=q.start,
        end=_end(q.period, q.end),
        compare=q.compare == "on",
        breakdown=_breakdown(texts, q.breakdown),
        system=texts.client,
        now=texts.now,
    )


def _trends_drill(table: Any, params: Mapping[str, str]) -> tuple[list[int], str, dict]:
    row = _int_param(params, "row", len(table.rows))
    series = _int_param(params, "series", len(table.series))
    previous = _flag(params, "previous")
    if previous and not table.compare:
        raise InvalidInput("previous 1 needs the comparison: compare is off")
    ids = table.ids(row, series, previous=previous)
    r = table.rows[row]
    when = r.previous_label if previous else r.label
    what = f"{table.series[series].name} in {when}"
    return ids, what, {"row": row, "series": series, "previous": 1 if previous else None}


def _segment(params: Mapping[str, str], table: Any) -> int:
    if not params.get("segment", "").strip():
        return 0
    return _int_param(params, "segment", len(table.segments))


def _in_segment(table: Any, segment: int) -> str:
    name = table.segments[segment]
    return "" if name is None else f" ({name})"


# --- funnel


def _funnel(texts: EventTexts, q: FunnelQuery) -> Any:
    return funnel(
        texts.specs("steps", q.steps),
        period=q.period,
        start=q.start,
        end=_end(q.period, q.end),
        window=q.window,
        rule=q.rule,
        breakdown=_breakdown(texts, q.breakdown),
        system=texts.client,
        now=texts.now,
    )


def _funnel_drill(table: Any, params: Mapping[str, str]) -> tuple[list[int], str, dict]:
    step = _int_param(params, "step", len(table.steps))
    segment = _segment(params, table)
    dropped = _flag(params, "dropped")
    if dropped and step == 0:
        raise InvalidInput("dropped 1 needs a step after the first: step 0 has no step before")
    ids = table.ids(step, segment, dropped=dropped)
    name = table.steps[step]
    if dropped:
        what = f"did {table.steps[step - 1]} (step {step}) but not {name}"
    else:
        what = f"reached step {step + 1}, {name}"
    where = {"step": step, "segment": segment or None, "dropped": 1 if dropped else None}
    return ids, what + _in_segment(table, segment), where


# --- lifecycle

STATUSES = ("new", "returning", "resurrecting", "dormant", "active")


def _lifecycle(texts: EventTexts, q: LifecycleQuery) -> Any:
    return lifecycle(
        texts.spec("event", q.event),
        period=q.period,
        start=q.start,
        end=_end(q.period, q.end),
        first_seen=texts.spec("first_seen", q.first_seen) if q.first_seen else None,
        breakdown=_breakdown(texts, q.breakdown),
        system=texts.client,
        now=texts.now,
    )


def _lifecycle_drill(table: Any, params: Mapping[str, str]) -> tuple[list[int], str, dict]:
    row = _int_param(params, "row", len(table.labels))
    segment = _segment(params, table)
    status = params.get("status", "").strip()
    if status not in STATUSES:
        raise InvalidInput(f"status {status!r} is unknown: expected one of {', '.join(STATUSES)}")
    ids = table.ids(row, status, segment)
    what = f"{status} in {table.labels[row]}" + _in_segment(table, segment)
    return ids, what, {"row": row, "status": status, "segment": segment or None}


# --- stickiness


def _stickiness(texts: EventTexts, q: StickinessQuery) -> Any:
    return stickiness(
        texts.spec("event", q.event, q.unit),  # as the CLI: bare operands are of the unit
        period=q.period,
        unit=q.unit,
        start=q.start,
        end=_end(q.period, q.end),
        power_threshold=q.power_threshold,
        breakdown=_breakdown(texts, q.breakdown),
        system=texts.client,
        now=texts.now,
    )


def _stickiness_drill(table: Any, params: Mapping[str, str]) -> tuple[list[int], str, dict]:
    row = _int_param(params, "row", len(table.labels))
    segment = _segment(params, table)
    text = params.get("units", "").strip()
    if text in ("active", "power"):
        units: int | str = text
    else:
        try:
            units = int(text)
        except ValueError:
            raise InvalidInput(
                f"units {text!r} is unknown: expected 1 to {table.max_units}, active or power"
            ) from None
        if not 1 <= units <= table.max_units:
            raise InvalidInput(f"units {units} is out of range: expected [1, {table.max_units}]")
    ids = table.ids(row, units, segment)
    when = table.labels[row]
    if units == "active":
        what = f"active in {when}"
    elif units == "power":
        what = f"power users in {when} (active on {table.power_threshold}+ {table.unit}s)"
    else:
        what = f"active on exactly {units} {table.unit}{'' if units == 1 else 's'} of {when}"
    return (
        ids,
        what + _in_segment(table, segment),
        {"row": row, "units": units, "segment": segment or None},
    )


QUESTIONS = (
    Question("trends", "Trends", TrendsQuery, _trends, question_charts.trends_chart, _trends_drill),
    Question(
        "funnel", "Funnel", FunnelQuery, _funnel, question_charts.funnel_charts, _funnel_drill
    ),
    Question(
        "lifecycle",
        "Lifecycle",
        LifecycleQuery,
        _lifecycle,
        question_charts.lifecycle_charts,
        _lifecycle_drill,
    ),
    Question(
        "stickiness",
        "Stickiness",
        StickinessQuery,
        _stickiness,
        question_charts.stickiness_charts,
        _stickiness_drill,
    ),
)


# --- routes


def question_routes(dashboard: Dashboard, questions: tuple[Question, ...] = QUESTIONS) -> list:
    """The page, CSV, users and users CSV routes of every question."""
    routes = []
    for question in questions:
        views = _Views(dashboard, question)
        name = question.name
        routes += [
            Route(f"/{name}", views.page, name=name),
            Route(f"/{name}.csv", views.csv, name=f"{name}_csv"),
            Route(f"/{name}.json", views.json, name=f"{name}_json"),
            Route(f"/{name}/users", views.users, name=f"{name}_users"),
            Route(f"/{name}/users.csv", views.users_csv, name=f"{name}_users_csv"),
        ]
    return routes


class _Views:
    def __init__(self, dashboard: Dashboard, question: Question):
        self.dashboard = dashboard
        self.question = question
        self.template = f"{question.name}.html"

    def _render(self, request: Request, status: int = 200, **context: Any) -> Response:
        return self.dashboard.render(
            request,
            self.template if status == 200 else "error.html",
            status=status,
            page_name=self.question.name,
            heading=self.question.heading,
            form_template=f"_{self.question.name}_form.html",
            **context,
        )

    def _texts(self, query: Any) -> EventTexts:
        return EventTexts(self.dashboard.client, query.period, self.dashboard.now())

    def _table(self, request: Request) -> tuple[Any, Any]:
        query = self.question.query_type.parse(request.query_params)
        if not query.ready:
            raise InvalidInput(f"{self.question.name}: choose the event(s) first")
        return query, self.question.compute(self._texts(query), query)

    def page(self, request: Request) -> Response:
        try:
            query = self.question.query_type.parse(request.query_params)
            if not query.ready:
                return self._render(request, query=query, table=None, chart=None)
            texts = self._texts(query)
            table = self.question.compute(texts, query)
            chart = self.question.chart(table, query)
        except BitmapistError as exc:
            query = self.question.query_type.lenient(request.query_params)
            return self._render(request, status=400, message=str(exc), query=query)
        return self._render(request, query=query, table=table, chart=chart)

    def csv(self, request: Request) -> Response:
        try:
            query, table = self._table(request)
        except BitmapistError as exc:
            return Response(f"error: {exc}\n", status_code=400, media_type="text/plain")
        return csv_response(table.to_csv(), f"{self.question.name}-{query.period}.csv")

    def json(self, request: Request) -> Response:
        try:
            _, table = self._table(request)
        except BitmapistError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return Response(table.to_json(), media_type="application/json")

    def _drill(self, request: Request) -> tuple[Any, Any, list[int], str, dict]:
        query, table = self._table(request)
        ids, what, where = self.question.drill(table, request.query_params)
        return query, table, ids, what, where

    def users(self, request: Request) -> Response:
        try:
            query, table, ids, what, where = self._drill(request)
            page = page_number(request.query_params)
        except BitmapistError as exc:
            query = self.question.query_type.lenient(request.query_params)
            return self._render(request, status=400, message=str(exc), query=query)
        pages = max(1, -(-len(ids) // PAGE_SIZE))
        page = min(page, pages)
        return self.dashboard.render(
            request,
            "question_users.html",
            page_name=self.question.name,
            heading=self.question.heading,
            query=query,
            table=table,
            what=what,
            where=where,
            ids=ids[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
            total=len(ids),
            page=page,
            pages=pages,
            page_size=PAGE_SIZE,
        )

    def users_csv(self, request: Request) -> Response:
        try:
            _, _, ids, what, _ = self._drill(request)
        except BitmapistError as exc:
            return Response(f"error: {exc}\n", status_code=400, media_type="text/plain")
        body = "user_id\n" + "".join(f"{uid}\n" for uid in ids)
        return csv_response(body, f"users-{self.question.name}-{what}.csv")
