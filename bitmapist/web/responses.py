"""Downloads: CSV responses with a filename that survives any event name."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response


def attachment(filename: str) -> str:
    """A Content-Disposition naming `filename` (ASCII fallback plus the UTF-8 name)."""
    ascii_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def csv_response(body: str, filename: str) -> Response:
    """`body` as a CSV download called `filename`."""
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": attachment(filename)},
    )
