"""The event texts of a dashboard page (events, steps, segments), read as the CLI reads them.

Each text goes through `bitmapist.query_language.event_spec`, the rule the CLI's `trend`,
`funnel`, `lifecycle`, `stickiness` and `retention` use: a plain event name stays a name,
anything else (`premium:u`, `active & ~churned:u`, `"a&b"`) becomes event objects. Bad text
is an `InvalidInput` naming the field, the text and the position.

The library names an event object by its repr (`BitOpAnd(DayEvents('active', 2026, 12, 3),
UniqueEvents('premium'))`, with a period that is only a template: the question moves it to
each of its periods). `EventTexts.named` puts back the text the person typed wherever the
page, its chart, CSV or JSON would show that repr.

A page reads every operand in every period (and the range before): `MAX_PAGE_OPERANDS`
bounds the operands of all its fields together, as `MAX_PAGE_PERIODS` bounds the periods.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..analytics.tables import spec_name
from ..client import Bitmapist
from ..errors import InvalidInput
from ..events import BitOperation
from ..query_language import event_spec, flag_spec

#: Most event operands (names, `NAME:u`, ... in all the fields of a page together): each is
#: read in every period of the page, so this bounds a request's work (10 events and 8
#: segments that are plain names are 18).
MAX_PAGE_OPERANDS = 64


class EventTexts:
    """Reads one page's texts into library specs and remembers how each one was typed."""

    def __init__(self, client: Bitmapist, period: str, now: datetime):
        self.client = client
        self.period = period
        #: The moment relative suffixes (`active:today`) and the page's question use.
        self.now = now
        self._typed: dict[str, str] = {}  # the library's name of a spec -> the text
        self.operands = 0

    def spec(self, field: str, text: str, period: str | None = None) -> Any:
        """`text` as a question's event: a name, or event objects (bare operands of
        `period`, default the page's)."""
        try:
            spec = event_spec(text, self.client, period or self.period, self.now)
        except InvalidInput as exc:
            raise InvalidInput(f"{field}: {exc}") from None
        return self._remember(field, spec, text)

    def specs(self, field: str, texts: Iterable[str], period: str | None = None) -> list[Any]:
        """Each of `texts` as `spec` reads it."""
        return [self.spec(field, text, period) for text in texts]

    def flag(self, field: str, text: str) -> Any:
        """`text` as a segment that narrows a set: a plain name is that flag's unique
        bitmap, anything else the expression."""
        try:
            spec = flag_spec(text, self.client, self.period, self.now)
        except InvalidInput as exc:
            raise InvalidInput(f"{field}: {exc}") from None
        return self._remember(field, spec, text)

    def _remember(self, field: str, spec: Any, text: str) -> Any:
        self.operands += _operands(spec)
        if self.operands > MAX_PAGE_OPERANDS:
            raise InvalidInput(
                f"{field}: expression {text!r} brings the page to {self.operands} event "
                f"operands: at most {MAX_PAGE_OPERANDS} fit a page (each is read in every "
                "period); ask fewer or shorter expressions"
            )
        if not isinstance(spec, str):
            self._typed.setdefault(spec_name(spec), text)
        return spec

    def named(self, text: str | None) -> str | None:
        """`text` (a title, series or segment name) with every expression's library name
        replaced by the text typed for it."""
        if not text or not self._typed:
            return text
        # longest first: one expression's repr may contain another's
        for library_name in sorted(self._typed, key=len, reverse=True):
            text = text.replace(library_name, self._typed[library_name])
        return text

    def csv(self, body: str) -> str:
        """A table's CSV with `named` applied to every cell."""
        if not self._typed:
            return body
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for record in csv.reader(io.StringIO(body)):
            writer.writerow([self.named(cell) for cell in record])
        return out.getvalue()

    def json(self, body: str) -> str:
        """A table's JSON with `named` applied to every string in it."""
        if not self._typed:
            return body
        return json.dumps(self._named_json(json.loads(body)))

    def _named_json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.named(value)
        if isinstance(value, list):
            return [self._named_json(item) for item in value]
        if isinstance(value, dict):
            return {self.named(key): self._named_json(item) for key, item in value.items()}
        return value


def _operands(spec: Any) -> int:
    """How many events and flags `spec` combines (a name is one)."""
    count, pending = 0, [spec]
    while pending:
        item = pending.pop()
        if isinstance(item, BitOperation):
            pending.extend(item.events)
        else:
            count += 1
    return count
