"""The SVG charts: well-formed XML, every label escaped, bars and markers where the numbers say."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from report.svg import (
    Line,
    Marker,
    Series,
    bars,
    empty,
    esc,
    fit,
    fmt,
    histogram,
    lines,
    text_width,
)

NS = {"s": "http://www.w3.org/2000/svg"}
HOSTILE = '<script>alert("x")</script> & "quotes"'


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def test_fmt_is_short():
    assert [fmt(v) for v in (0, 950, 1234, 3.4e6, 0.031, 2.5e-5)] == \
        ["0", "950", "1.23k", "3.4M", "0.031", "2.5e-05"]


def test_histogram_draws_one_bar_per_nonempty_bin_scaled_to_the_tallest():
    bins = [(1.0, 2.0, 4), (2.0, 3.0, 0), (3.0, 4.0, 2)]
    root = _parse(histogram([Series("kept", bins)], title="t", log_x=False, width=300,
                            height=200))
    rects = root.findall("s:rect", NS)
    assert len(rects) == 2
    heights = sorted(float(r.get("height")) for r in rects)
    assert heights[1] == pytest.approx(2 * heights[0], rel=1e-2)


def test_a_marker_sits_at_its_value_on_a_log_axis():
    bins = [(10.0, 100.0, 1), (100.0, 1000.0, 1)]
    root = _parse(histogram([Series("kept", bins)], title="t", log_x=True,
                            markers=[Marker(100.0, "max 100")], width=400))
    bar_x = sorted(float(r.get("x")) for r in root.findall("s:rect", NS))
    marker = [ln for ln in root.findall("s:line", NS) if ln.get("stroke-dasharray")]
    assert len(marker) == 1
    # 100 is the edge between the two bars, halfway along the log axis
    assert float(marker[0].get("x1")) == pytest.approx(bar_x[1], abs=0.2)


def test_an_infinite_or_nan_threshold_draws_no_line():
    """``max_aspect_ratio=inf`` turns the aspect filter off; the chart is drawn without that line
    (it raised OverflowError), and no ``inf``/``nan`` coordinate reaches the SVG."""
    bins = [(1.0, 1.26, 3), (1.26, 1.58, 1)]
    for log_x in (True, False):
        svg = histogram([Series("kept", bins)], title="t", log_x=log_x, markers=[
            Marker(math.inf, "max inf"), Marker(math.nan, "nan"), Marker(1.3, "max 1.3")])
        marker = [ln for ln in _parse(svg).findall("s:line", NS) if ln.get("stroke-dasharray")]
        assert len(marker) == 1 and "max inf" not in svg
        assert not re.search(r'="[^"]*(inf|nan)', svg)


def test_every_label_title_and_tooltip_is_escaped():
    svg = histogram([Series(HOSTILE, [(1, 2, 3)]), Series("b", [(1, 2, 1)])], title=HOSTILE,
                    x_label=HOSTILE, markers=[Marker(1.5, HOSTILE)], log_x=False)
    svg += bars([(HOSTILE, 3, "#000", HOSTILE)], title=HOSTILE)
    svg += lines([Line(HOSTILE, [1, 2], [3, 4])], title=HOSTILE, y_label=HOSTILE)
    svg += empty(HOSTILE, HOSTILE)
    assert "<script" not in svg and "&lt;script&gt;" in svg
    for chart in re.findall(r"<svg.*?</svg>", svg, flags=re.S):
        texts = "".join(_parse(chart).itertext())
        assert "<script>" in texts  # shown as text, literally


def test_lines_skip_points_a_log_axis_cannot_show_and_an_empty_chart_says_so():
    root = _parse(lines([Line("a", [1, 2, 3], [1.0, 0.0, float("nan")])], title="t", log_y=True))
    assert len(root.findall("s:circle", NS)) == 1
    assert "no values" in "".join(_parse(lines([Line("a", [], [])], title="t")).itertext())
    assert "no values" in "".join(_parse(histogram([], title="t")).itertext())


def test_bars_are_proportional_to_their_values():
    root = _parse(bars([("a", 10, "#111", ""), ("b", 5, "#222", "")], title="t"))
    widths = [float(r.get("width")) for r in root.findall("s:rect", NS)]
    assert widths[0] == pytest.approx(2 * widths[1])


def test_bidirectional_overrides_are_shown_not_obeyed():
    disguised = "https://example.cn/\u202egpj.exe"
    out = esc(disguised)
    assert "\u202e" not in out and out == "https://example.cn/[U+202E]gpj.exe"
    assert esc("\u2066x\u2069") == "[U+2066]x[U+2069]"
    assert esc("中文 עברית") == "中文 עברית"  # plain right-to-left text is left alone


def test_labels_are_cut_by_width_so_chinese_ones_fit_too():
    assert fit("short", 100) == "short"
    latin, chinese = fit("a" * 100, 120), fit("拒" * 100, 120)
    assert latin.endswith("…") and chinese.endswith("…")
    assert text_width(latin) <= 120 and text_width(chinese) <= 120
    assert len(chinese) < len(latin)  # a Chinese character is about twice as wide
