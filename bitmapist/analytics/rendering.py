"""Jinja2 rendering for cohort and retention HTML, with autoescaping always on.

Event names and labels come from users; every value is escaped so that a name such as
`<script>alert(1)</script>` or `" onmouseover="` renders as text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The template environment (autoescape on for every template, whatever its name)."""
    env = Environment(
        loader=PackageLoader("bitmapist.analytics", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["heat"] = heat
    return env


def render(template: str, **context: Any) -> str:
    """Render a template of `bitmapist/analytics/templates` with `context`."""
    return environment().get_template(template).render(**context)


def heat(percent: float | None) -> str:
    """The CSS background of a heatmap cell: more opaque blue for higher percentages."""
    if percent is None:
        return "transparent"
    alpha = round(min(max(percent, 0.0), 100.0) / 100, 2)
    return f"hsla(200, 80%, 50%, {alpha})"
