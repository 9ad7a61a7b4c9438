"""Hand-rendered SVG charts: no JavaScript library, no CDN, works offline.

Every piece of text that reaches the SVG goes through `markupsafe.escape`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# 0% and 100% of the heatmap: pale to deep blue (as in the terminal heatmap)
_LOW = (239, 246, 255)
_HIGH = (30, 64, 175)
PALETTE = ("#1d4ed8", "#db2777", "#059669", "#d97706", "#7c3aed", "#0891b2")


def shade(percent: float) -> str:
    """The heatmap background of a percentage, as `rgb(r,g,b)`."""
    t = min(max(percent, 0.0), 100.0) / 100
    red, green, blue = (round(lo + (hi - lo) * t) for lo, hi in zip(_LOW, _HIGH))
    return f"rgb({red},{green},{blue})"


def ink(percent: float) -> str:
    """Text colour readable on `shade(percent)`."""
    return "#fff" if percent >= 45 else "#0f172a"


@dataclass(frozen=True)
class Series:
    """One line: a name for the legend, values (None: no point), a colour, a width."""

    name: str
    values: Sequence[float | None]
    colour: str = PALETTE[0]
    width: float = 2.5
    opacity: float = 1.0


def nice_ceiling(value: float) -> float:
    """A round number >= value for the top of an axis (1, 2, 2.5, 5 x 10^k)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def line_chart(
    series: Sequence[Series],
    labels: Sequence[str],
    *,
    title: str,
    percent: bool = False,
    width: int = 760,
    height: int = 280,
) -> Markup:
    """An SVG line chart of `series` over the x `labels`; y from 0 (to 100 for percents)."""
    left, right, top, bottom = 56, 44, 34, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for v in s.values if v is not None]
    y_max = 100.0 if percent else nice_ceiling(max(values, default=1.0))
    count = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="18" class="chart-title">{escape(title)}</text>',
    ]
    for k in range(5):  # horizontal grid lines and y labels
        v = y_max * k / 4
        text = f"{v:.0f}%" if percent else _short(v)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" class="ylabel">{escape(text)}</text>'
        )
    step = max(1, math.ceil(count / 12))  # at most ~12 x labels
    for i, label in enumerate(labels):
        if i % step == 0 or i == count - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 18}" class="xlabel">'
                f"{escape(label)}</text>"
            )
    for s in series:
        parts.append(_polyline(s, x, y, labels, percent))
    legend_x = left
    for s in series:
        if s.opacity < 1:
            continue  # faint lines (one per cohort) are not in the legend
        parts.append(
            f'<rect x="{legend_x}" y="{height - 16}" width="12" height="4" fill="{s.colour}"/>'
            f'<text x="{legend_x + 16}" y="{height - 11}" class="legend">{escape(s.name)}</text>'
        )
        legend_x += 24 + 7 * len(s.name)
    parts.append("</svg>")
    return Markup("".join(parts))


def _polyline(s: Series, x, y, labels: Sequence[str], percent: bool) -> str:  # noqa: ANN001
    runs: list[list[tuple[float, float, int]]] = [[]]
    for i, v in enumerate(s.values):
        if v is None:
            runs.append([])
        else:
            runs[-1].append((x(i), y(v), i))
    out = []
    for run in runs:
        if not run:
            continue
        points = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in run)
        out.append(
            f'<polyline points="{points}" fill="none" stroke="{s.colour}" '
            f'stroke-width="{s.width}" stroke-opacity="{s.opacity}" stroke-linejoin="round"/>'
        )
        if s.opacity == 1:
            for px, py, i in run:
                value = s.values[i]
                shown = f"{value:.1f}%" if percent else f"{value:,.0f}"
                tip = f"{s.name}, {labels[i]}: {shown}"
                out.append(
                    f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{s.colour}">'
                    f"<title>{escape(tip)}</title></circle>"
                )
    return "".join(out)


def _short(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"
