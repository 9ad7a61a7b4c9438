"""The SVG chart renderers on their own: labels thinned so they cannot overlap, negative
bars below zero, funnel drop-off, and every text escaped."""

from __future__ import annotations

import math
import re

import pytest

from bitmapist.web.bar_charts import Bars, bar_chart, funnel_chart
from bitmapist.web.charts import LABEL_GAP, Series, line_chart, sparkline, text_width, thinned

EVIL = '<script>alert("x")</script>'


@pytest.mark.parametrize("count", [1, 2, 7, 12, 30, 31, 90, 168, 366])
@pytest.mark.parametrize("slot", [2.0, 7.5, 25.0, 80.0])
def test_thinned_labels_are_a_whole_label_apart(count: int, slot: float) -> None:
    labels = [f"2026-11-{i:02d}" for i in range(count)]
    shown = thinned(labels, slot)
    room = max(text_width(label) for label in labels) + LABEL_GAP
    assert shown[-1] == count - 1  # the latest period is always labelled
    if (count - 1) * slot >= room:
        assert shown[0] == 0
    else:
        assert shown == [count - 1]  # room for one label only
    for a, b in zip(shown, shown[1:]):
        assert (b - a) * slot >= room, (a, b)
    # and not thinner than needed: the regular step is the smallest that fits
    if len(shown) > 2:
        assert shown[1] - shown[0] == max(1, math.ceil(room / slot))


def test_every_text_is_escaped() -> None:
    svgs = [
        line_chart([Series(EVIL, [1, 2, None, 3])], [EVIL] * 4, title=EVIL),
        bar_chart([EVIL, "b"], [Bars(EVIL, [1, -2], "#000")], title=EVIL, stacked=True),
        funnel_chart([EVIL, "b"], [Bars(EVIL, [4, 1], "#000")], title=EVIL),
        sparkline([1, 2], [EVIL, EVIL], name=EVIL),
    ]
    for svg in svgs:
        assert "<script" not in svg
        assert "&lt;script&gt;" in svg


def _zero_y(svg: str) -> float:
    match = re.search(r'y1="([\d.]+)" y2="[\d.]+" class="zero"', svg)
    assert match, svg
    return float(match.group(1))


def test_stacked_bars_put_negative_values_below_zero() -> None:
    svg = bar_chart(
        ["W1", "W2"],
        [Bars("new", [5, 3], "#0a0"), Bars("dormant", [0, -4], "#a00")],
        title="lifecycle",
        stacked=True,
    )
    zero = _zero_y(svg)
    bars = re.findall(r'<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"', svg)
    tops = [(float(y), float(h)) for y, h in bars]
    assert any(y >= zero - 0.1 and h > 0 for y, h in tops)  # dormant hangs below zero
    assert any(y + h <= zero + 0.1 and h > 0 for y, h in tops)  # new stands on it
    assert 'class="ylabel">-' in svg  # the axis goes negative


def test_funnel_chart_shows_the_drop_off_and_conversion() -> None:
    svg = funnel_chart(["signup", "play", "pay"], [Bars("all", [100, 60, 15], "#00f")], title="f")
    assert svg.count('class="dropoff"') == 2
    assert ">60%</text>" in svg and ">15%</text>" in svg
    assert "play: 40 dropped off" in svg


def test_legend_wraps_instead_of_running_off() -> None:
    series = [Series(f"a rather long series name number {i}", [i, i + 1]) for i in range(8)]
    svg = line_chart(series, ["x", "y"], title="t")
    xs = [float(x) for x in re.findall(r'<text x="([\d.]+)" y="[\d.]+" class="legend">', svg)]
    assert len(xs) == 8
    assert max(xs) < 760
    height = float(re.search(r'viewBox="0 0 760 ([\d.]+)"', svg).group(1))
    assert height > 280  # more legend rows made the chart taller


@pytest.mark.parametrize(("low", "high"), [(-736, 2027), (-3, 1), (-50, 50), (-1, 1000)])
def test_y_ticks_are_round_and_zero_is_one_of_them(low: int, high: int) -> None:
    svg = bar_chart(["a", "b"], [Bars("s", [high, low], "#000")], title="t")
    ticks = re.findall(r'class="ylabel">([^<]+)</text>', svg)
    values = [float(t.replace("k", "e3")) for t in ticks]
    assert 0 in values and values[0] <= low and values[-1] >= high
    steps = {round(b - a, 6) for a, b in zip(values, values[1:])}
    assert len(steps) == 1  # one step size all the way
    assert float(f"{steps.pop():.2g}") in (
        0.1,
        0.2,
        0.25,
        0.5,
        1,
        2,
        2.5,
        5,
        10,
        20,
        25,
        50,
        100,
        200,
        250,
        500,
        1000,
    )


@pytest.mark.parametrize("high", [1, 7, 90, 2027, 2500, 14_818])
def test_line_chart_ticks_are_round(high: int) -> None:
    svg = line_chart([Series("s", [0, high])], ["a", "b"], title="t")
    ticks = re.findall(r'class="ylabel">([^<]+)</text>', svg)
    values = [float(t.replace("k", "e3")) for t in ticks]
    steps = {round(b - a, 6) for a, b in zip(values, values[1:])}
    assert len(steps) == 1 and values[-1] >= high and len(values) <= 5
    step = steps.pop()
    assert step / 10 ** math.floor(math.log10(step)) in (1, 2, 2.5, 5)
