"""SVG bar charts: grouped or stacked bars (negative values below zero) and funnels.

Built on `charts.Frame`, so they share the title, the y axis, x labels that never overlap
and the wrapping legend. Every bar carries a `<title>` with its exact number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from .charts import Frame, nice_axis, nice_step, text_width


@dataclass(frozen=True)
class Bars:
    """One series of bars: a legend name, one value per category, a colour."""

    name: str
    values: Sequence[float | None]
    colour: str


def _range(series: Sequence[Bars], stacked: bool, percent: bool) -> tuple[float, float, int]:
    """The y range and its number of tick steps: 0 to a round top (4 steps), and down to a
    round bottom when values go negative (steps of one size on both sides of zero)."""
    if stacked:
        count = max((len(s.values) for s in series), default=0)
        highs = [sum(max(s.values[i] or 0, 0) for s in series) for i in range(count)]
        lows = [sum(min(s.values[i] or 0, 0) for s in series) for i in range(count)]
    else:
        values = [v for s in series for v in s.values if v is not None]
        highs, lows = [max(values, default=0)], [min(values, default=0)]
    high, low = max(highs, default=0), min(lows, default=0)
    if percent and high > 50 and low >= 0:
        return 0.0, 100.0, 4
    if low >= 0:
        return (0.0, *nice_axis(high))
    # one tick step for both sides, so that zero falls on a grid line
    step = nice_step(high - low, 6)
    below, above = math.ceil(-low / step), max(1, math.ceil(high / step))
    return -step * below, step * above, below + above


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Bars],
    *,
    title: str,
    stacked: bool = False,
    percent: bool = False,
    width: int = 760,
    height: int = 300,
) -> Markup:
    """Bars per category: side by side (`stacked=False`) or stacked, positive values
    upwards and negative ones downwards from the zero line (e.g. lifecycle's dormant)."""
    y_min, y_max, ticks = _range(series, stacked, percent)
    frame = Frame(title, width=width, height=height, y_min=y_min, y_max=y_max, percent=percent)
    frame.y_axis(ticks=ticks)
    slot = frame.plot_w / max(len(categories), 1)
    lanes = 1 if stacked else max(len(series), 1)
    bar_w = max(1.0, min(48.0, slot * 0.8 / lanes))

    def centre(i: int) -> float:
        return frame.left + slot * (i + 0.5)

    frame.x_labels(categories, centre, slot)
    for i, category in enumerate(categories):
        up = down = 0.0
        for lane, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else None
            if value is None:
                continue
            x = centre(i) - bar_w * lanes / 2 + (0 if stacked else lane * bar_w)
            base = 0.0
            if stacked:
                base = up if value >= 0 else down
                if value >= 0:
                    up += value
                else:
                    down += value
            frame.parts.append(_bar(frame, x, bar_w, base, base + value, s, category, percent))
    return frame.svg([(s.name, s.colour, "box") for s in series])


def _bar(
    frame: Frame, x: float, width: float, low: float, high: float, s: Bars, category: str, pct: bool
) -> str:
    top, bottom = sorted((frame.y(low), frame.y(high)))
    value = high - low
    shown = f"{value:.1f}%" if pct else f"{value:,.0f}"
    tip = escape(f"{s.name}, {category}: {shown}")
    return (
        f'<rect x="{x:.1f}" y="{top:.1f}" width="{width:.1f}" height="{bottom - top:.1f}" '
        f'fill="{s.colour}" class="bar"><title>{tip}</title></rect>'
    )


def funnel_chart(
    steps: Sequence[str],
    series: Sequence[Bars],
    *,
    title: str,
    width: int = 760,
    height: int = 300,
) -> Markup:
    """A funnel: one bar per step and series (users who reached the step), the drop-off
    since the step before drawn as a pale bar on top, and the conversion from the first
    step written above each bar."""
    firsts = [s.values[0] or 0 for s in series if s.values]
    y_max, ticks = nice_axis(max(firsts, default=1))
    frame = Frame(title, width=width, height=height, y_max=y_max)
    frame.top = 40  # room for the percentages above the first bars
    frame.y_axis(ticks)
    slot = frame.plot_w / max(len(steps), 1)
    lanes = max(len(series), 1)
    bar_w = max(1.0, min(64.0, slot * 0.7 / lanes))
    frame.x_labels(steps, lambda i: frame.left + slot * (i + 0.5), slot)
    show_percent = bar_w >= text_width("100%")
    for i, step in enumerate(steps):
        for lane, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else None
            if value is None:
                continue
            x = frame.left + slot * (i + 0.5) - bar_w * lanes / 2 + lane * bar_w
            before = (s.values[i - 1] or 0) if i else value
            if before > value:
                lost = before - value
                tip = escape(f"{s.name}, {step}: {lost:,.0f} dropped off")
                top, bottom = frame.y(before), frame.y(value)
                frame.parts.append(
                    f'<rect x="{x:.1f}" y="{top:.1f}" width="{bar_w:.1f}" '
                    f'height="{bottom - top:.1f}" fill="{s.colour}" fill-opacity="0.18" '
                    f'class="dropoff"><title>{tip}</title></rect>'
                )
            frame.parts.append(_bar(frame, x, bar_w, 0, value, s, step, False))
            first = s.values[0] or 0
            if show_percent and first:
                frame.parts.append(
                    f'<text x="{x + bar_w / 2:.1f}" y="{frame.y(before) - 4:.1f}" '
                    f'class="barlabel">{100 * value / first:.0f}%</text>'
                )
    legend = [(s.name, s.colour, "box") for s in series]
    legend.append(("dropped off since the step before", "#cbd5e1", "box"))
    return frame.svg(legend)


__all__ = ["Bars", "bar_chart", "funnel_chart"]
