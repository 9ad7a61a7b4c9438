"""The event texts of a dashboard page (events, steps, segments), read as the CLI reads them.

Each text goes through `bitmapist.query_language.event_spec`, the rule the CLI's `trend`,
`funnel`, `lifecycle`, `stickiness` and `retention` use: a plain event name stays a name,
anything else (`premium:u`, `active & ~churned:u`, `"a&b"`) becomes event objects. Bad text
is an `InvalidInput` naming the field, the text and the position.

An expression keeps the text as typed (`query_text`), so the library's tables name it by
that text in the page, its chart, CSV and JSON (`bitmapist.analytics.tables.spec_name`).

A page reads every operand in every period (and the range before): `MAX_PAGE_OPERANDS`
bounds the operands of all its fields together, as `MAX_PAGE_PERIODS` bounds the periods.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..client import Bitmapist
from ..errors import InvalidInput
from ..events import BitOperation
from ..query_language import event_spec, flag_spec

#: Most event operands (names, `NAME:u`, ... in all the fields of a page together): each is
#: read in every period of the page, so this bounds a request's work (10 events and 8
#: segments that are plain names are 18).
MAX_PAGE_OPERANDS = 64


class EventTexts:
    """Reads one page's texts into library specs, counting their operands."""

    def __init__(self, client: Bitmapist, period: str, now: datetime):
        self.client = client
        self.period = period
        #: The moment relative suffixes (`active:today`) and the page's question use.
        self.now = now
        self.operands = 0

    def spec(self, field: str, text: str, period: str | None = None) -> Any:
        """`text` as a question's event: a name, or event objects (bare operands of
        `period`, default the page's)."""
        try:
            spec = event_spec(text, self.client, period or self.period, self.now)
        except InvalidInput as exc:
            raise InvalidInput(f"{field}: {exc}") from None
        return self._count(field, spec, text)

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
        return self._count(field, spec, text)

    def _count(self, field: str, spec: Any, text: str) -> Any:
        self.operands += _operands(spec)
        if self.operands > MAX_PAGE_OPERANDS:
            raise InvalidInput(
                f"{field}: expression {text!r} brings the page to {self.operands} event "
                f"operands: at most {MAX_PAGE_OPERANDS} fit a page (each is read in every "
                "period); ask fewer or shorter expressions"
            )
        return spec


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
