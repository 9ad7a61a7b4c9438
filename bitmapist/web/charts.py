"""Hand-rendered SVG charts: no JavaScript library, no CDN, works offline.

Every piece of text that reaches the SVG goes through `markupsafe.escape`. Charts share one
frame (`Frame`): a title that says what is shown, a y axis with round ticks, x labels
thinned so that they never overlap, and a legend that wraps onto more rows rather than
running off the edge. Line charts and sparklines live here; bar charts in `bar_charts`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

# 0% and 100% of the heatmap: pale to deep blue (as in the terminal heatmap)
_LOW = (239, 246, 255)
_HIGH = (30, 64, 175)
PALETTE = ("#1d4ed8", "#db2777", "#059669", "#d97706", "#7c3aed", "#0891b2", "#65a30d", "#dc2626")
#: Width of one character at the 11-12px chart font, generous so that estimates err wide.
CHAR_PX = 7.0
LABEL_GAP = 10.0


def shade(percent: float) -> str:
    """The heatmap background of a percentage, as `rgb(r,g,b)`."""
    t = min(max(percent, 0.0), 100.0) / 100
    red, green, blue = (round(lo + (hi - lo) * t) for lo, hi in zip(_LOW, _HIGH))
    return f"rgb({red},{green},{blue})"


def ink(percent: float) -> str:
    """Text colour readable on `shade(percent)`."""
    return "#fff" if percent >= 45 else "#0f172a"


def colour(index: int) -> str:
    """The palette colour of the `index`-th series (cycling)."""
    return PALETTE[index % len(PALETTE)]


@dataclass(frozen=True)
class Series:
    """One line: a name for the legend, values (None: no point), a colour, a width.

    `dashed` draws a comparison line (e.g. the previous range); `opacity` below 1 keeps a
    line out of the legend (one faint line per cohort)."""

    name: str
    values: Sequence[float | None]
    colour: str = PALETTE[0]
    width: float = 2.5
    opacity: float = 1.0
    dashed: bool = False


def nice_step(span: float, ticks: int = 4) -> float:
    """A round tick step (1, 2, 2.5, 5 x 10^k) giving at most about `ticks` steps."""
    return nice_ceiling(span / ticks)


def nice_axis(high: float, ticks: int = 4) -> tuple[float, int]:
    """The top of an axis from 0 covering `high`, and its number of round tick steps
    (at most `ticks`)."""
    step = nice_step(high if high > 0 else 1.0, ticks)
    count = max(1, math.ceil(high / step - 1e-9))
    return step * count, count


def nice_ceiling(value: float) -> float:
    """A round number >= value for the top of an axis (1, 2, 2.5, 5 x 10^k)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def short_number(value: float) -> str:
    """1.5k, 2M, 40: an axis label."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1_000_000:
        return f"{sign}{value / 1_000_000:g}M"
    if value >= 1_000:
        return f"{sign}{value / 1_000:g}k"
    return f"{sign}{value:g}"


def text_width(text: str) -> float:
    """An upper estimate of `text`'s width in pixels at the chart font."""
    return CHAR_PX * len(text)


def thinned(labels: Sequence[str], slot: float) -> list[int]:
    """Indexes of the x labels to draw, `slot` pixels apart, so that none overlap.

    Every `step`-th label is kept, where `step` makes room for the widest label; the last
    label replaces the one before it when both would not fit."""
    if not labels:
        return []
    widest = max(text_width(text) for text in labels) + LABEL_GAP
    step = max(1, math.ceil(widest / max(slot, 1e-9)))
    shown = list(range(0, len(labels), step))
    last = len(labels) - 1
    if shown[-1] != last:
        if (last - shown[-1]) * slot < widest:
            shown.pop()
        shown.append(last)
    return shown


@dataclass
class Frame:
    """The plot area of a chart: size, margins, title, y range and the SVG parts so far."""

    title: str
    width: int = 760
    height: int = 280
    left: int = 60
    right: int = 24
    top: int = 34
    bottom: int = 46
    y_min: float = 0.0
    y_max: float = 1.0
    percent: bool = False
    parts: list[str] = field(default_factory=list)

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom

    def y(self, value: float) -> float:
        span = (self.y_max - self.y_min) or 1.0
        return self.top + self.plot_h * (1 - (value - self.y_min) / span)

    def y_text(self, value: float) -> str:
        return f"{value:g}%" if self.percent else short_number(value)

    def y_axis(self, ticks: int = 4) -> None:
        """Horizontal grid lines with their labels, and a darker line at zero."""
        for k in range(ticks + 1):
            value = self.y_min + (self.y_max - self.y_min) * k / ticks
            y = self.y(value)
            self.parts.append(
                f'<line x1="{self.left}" x2="{self.width - self.right}" y1="{y:.1f}" '
                f'y2="{y:.1f}" class="{"zero" if value == 0 else "grid"}"/>'
                f'<text x="{self.left - 6}" y="{y + 4:.1f}" class="ylabel">'
                f"{escape(self.y_text(value))}</text>"
            )

    def x_labels(self, labels: Sequence[str], x: Callable[[int], float], slot: float) -> None:
        """The x labels that fit without overlapping (see `thinned`)."""
        for i in thinned(labels, slot):
            self.parts.append(
                f'<text x="{x(i):.1f}" y="{self.top + self.plot_h + 18:.1f}" class="xlabel">'
                f"{escape(labels[i])}</text>"
            )

    def svg(self, legend: Sequence[tuple[str, str, str]]) -> Markup:
        """The whole SVG: title, the parts drawn so far, and the legend below the plot.

        `legend` holds (name, colour, swatch kind: "line", "dash" or "box") entries; they
        wrap onto further rows, which make the SVG taller."""
        rows = _legend_rows(legend, self.left, self.plot_w)
        height = self.height + 18 * max(len(rows) - 1, 0)
        title = escape(self.title)
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {height}" '
            f'role="img" aria-label="{title}" class="chart">',
            f"<title>{title}</title>",
            f'<text x="{self.left}" y="18" class="chart-title">{title}</text>',
            *self.parts,
            '<g class="legend">',
        ]
        for r, row in enumerate(rows):
            y = self.height - 14 + 18 * r
            for x, (name, hue, kind) in row:
                out.append(f'<g class="legend-item">{_swatch(kind, x, y, hue)}')
                out.append(
                    f'<text x="{x + 20}" y="{y + 4}" class="legend">{escape(name)}</text></g>'
                )
        out.append("</g></svg>")
        return Markup("".join(out))


def _legend_rows(
    legend: Sequence[tuple[str, str, str]], left: float, width: float
) -> list[list[tuple[float, tuple[str, str, str]]]]:
    rows: list[list[tuple[float, tuple[str, str, str]]]] = [[]]
    x = 0.0
    for entry in legend:
        size = 20 + text_width(entry[0]) + 18
        if rows[-1] and x + size > width:
            rows.append([])
            x = 0.0
        rows[-1].append((left + x, entry))
        x += size
    return rows if rows[0] else []


def _swatch(kind: str, x: float, y: float, hue: str) -> str:
    if kind == "box":
        return f'<rect x="{x}" y="{y - 5}" width="14" height="10" rx="2" fill="{hue}"/>'
    dash = ' stroke-dasharray="4 3"' if kind == "dash" else ""
    return f'<line x1="{x}" x2="{x + 14}" y1="{y}" y2="{y}" stroke="{hue}" stroke-width="3"{dash}/>'


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
    values = [v for s in series for v in s.values if v is not None]
    top = max(values, default=1.0)
    y_max, ticks = (100.0, 4) if percent and top > 50 else nice_axis(top)
    frame = Frame(title, width=width, height=height, right=44, y_max=y_max, percent=percent)
    count = max(len(labels), 1)
    slot = frame.plot_w / (count - 1) if count > 1 else frame.plot_w

    def x(i: int) -> float:
        return frame.left + (slot * i if count > 1 else frame.plot_w / 2)

    frame.y_axis(ticks)
    frame.x_labels(labels, x, slot)
    dot = 3.0 if count <= 40 else 1.5  # dots still carry their tooltips, without clutter
    for s in series:
        frame.parts.append(_polyline(s, x, frame.y, labels, percent, dot))
    legend = [(s.name, s.colour, "dash" if s.dashed else "line") for s in series if s.opacity == 1]
    return frame.svg(legend)


def _polyline(
    s: Series,
    x: Callable[[int], float],
    y: Callable[[float], float],
    labels: Sequence[str],
    percent: bool,
    dot: float = 3.0,
) -> str:
    runs: list[list[tuple[float, float, int]]] = [[]]
    for i, v in enumerate(s.values):
        if v is None:
            runs.append([])
        else:
            runs[-1].append((x(i), y(v), i))
    dash = ' stroke-dasharray="6 4"' if s.dashed else ""
    out = []
    for run in runs:
        if not run:
            continue
        points = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in run)
        out.append(
            f'<polyline points="{points}" fill="none" stroke="{s.colour}" '
            f'stroke-width="{s.width}" stroke-opacity="{s.opacity}" stroke-linejoin="round"'
            f"{dash}/>"
        )
        if s.opacity == 1:
            for px, py, i in run:
                value = s.values[i]
                shown = f"{value:.1f}%" if percent else f"{value:,.0f}"
                tip = f"{s.name}, {labels[i]}: {shown}"
                out.append(
                    f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{dot * (0.7 if s.dashed else 1):g}" '
                    f'fill="{s.colour}"><title>{escape(tip)}</title></circle>'
                )
    return "".join(out)


def sparkline(
    values: Sequence[int],
    labels: Sequence[str],
    *,
    name: str,
    width: int = 120,
    height: int = 28,
) -> Markup:
    """A tiny line of `values` (e.g. 30 days of users), no axes: its title names the
    range, the lowest and the highest value; the last point is marked."""
    top = max(values, default=0) or 1
    count = len(values)

    def x(i: int) -> float:
        return 1 + (width - 4) * i / (count - 1) if count > 1 else width / 2

    def y(v: float) -> float:
        return 2 + (height - 4) * (1 - v / top)

    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    tip = name
    if values:
        tip += (
            f": {labels[0]} to {labels[-1]}, lowest {min(values):,}, highest {max(values):,}, "
            f"last {values[-1]:,}"
        )
    last = (
        f'<circle cx="{x(count - 1):.1f}" cy="{y(values[-1]):.1f}" r="2" fill="{PALETTE[0]}"/>'
        if values
        else ""
    )
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" class="sparkline" role="img" '
        f'aria-label="{escape(tip)}"><title>{escape(tip)}</title>'
        f'<polyline points="{points}" fill="none" stroke="{PALETTE[0]}" stroke-width="1.5" '
        f'stroke-linejoin="round"/>{last}</svg>'
    )
