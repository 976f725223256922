"""Charts as inline SVG strings: histograms with threshold markers, horizontal bars, line plots.

The report must open with no network and run no script, so its charts are plain SVG written
here rather than a plotting library's JavaScript (Vega, Plotly) or PNGs from matplotlib (a heavy
dependency for five chart kinds, and text in a PNG cannot be searched or copied). Every string
that reaches the SVG (titles, labels, tooltips) goes through ``esc``; numbers are formatted here.
Each chart is an ``<svg class="chart">`` with a ``<title>`` per bar or point, which browsers
show on hover.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

# Colour-blind-safe palette (Okabe & Ito), then greys.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000", "#999999", "#666666")
REJECTED_COLOUR = "#D55E00"
MARKER_COLOUR = "#B00020"


_SURROGATE = re.compile("[\ud800-\udfff]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def esc(text: object) -> str:
    """``text`` safe inside SVG/HTML text and attribute values, and encodable as UTF-8: a lone
    surrogate (a non-UTF-8 byte of a file name, as Python decodes ``argv``; a ``\\udcff``
    escape in a JSON key) becomes U+FFFD instead of failing the page's encoding; a bidirectional
    control character (U+202A-U+202E, U+2066-U+2069) is written out as ``[U+202E]``."""
    text = _SURROGATE.sub("\ufffd", str(text))
    # Bidirectional overrides and isolates are shown, not obeyed: an RLO in a crawled URL or
    # caption would otherwise reverse what follows it and could disguise a URL.
    text = _BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)
    return html.escape(text, quote=True)


def fmt(v: float) -> str:
    """A short human number: 950, 1.2k, 3.4M, 0.031, 2.5e-05."""
    if v == 0:
        return "0"
    a = abs(v)
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:.3g}{suffix}"
    if a >= 0.01:
        return f"{v:.3g}"
    return f"{v:.2g}"


@dataclass(frozen=True)
class Series:
    label: str
    bins: Sequence[tuple[float, float, int]]  # (lo, hi, count), for histograms
    colour: str = PALETTE[0]
    note: str = ""  # shown after the label in the legend (which it makes appear)


@dataclass(frozen=True)
class Marker:
    """A vertical line at ``value`` (a filter threshold), labelled."""

    value: float
    label: str
    colour: str = MARKER_COLOUR


@dataclass(frozen=True)
class Line:
    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    colour: str = PALETTE[0]


class _Axis:
    """A linear or log10 mapping of ``[lo, hi]`` onto pixels ``[p0, p1]``."""

    def __init__(self, lo: float, hi: float, p0: float, p1: float, log: bool):
        self.log = log
        if log:
            lo, hi = math.log10(lo), math.log10(hi)
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        self.lo, self.hi, self.p0, self.p1 = lo, hi, p0, p1

    def __call__(self, v: float) -> float:
        t = math.log10(v) if self.log else v
        return self.p0 + (t - self.lo) / (self.hi - self.lo) * (self.p1 - self.p0)

    def ticks(self, n: int = 5) -> list[float]:
        if self.log:
            first, last = math.floor(self.lo), math.ceil(self.hi)
            mults = (1, 2, 5) if last - first <= 3 else (1,)
            out = [m * 10.0 ** e for e in range(first, last + 1) for m in mults]
            return [t for t in out if self.lo - 1e-9 <= math.log10(t) <= self.hi + 1e-9]
        span = self.hi - self.lo
        raw = span / max(n, 1)
        mag = 10 ** math.floor(math.log10(raw))
        step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
        start = math.ceil(self.lo / step - 1e-9) * step
        out, t = [], start
        while t <= self.hi + 1e-9 * step:
            out.append(round(t, 12))
            t += step
        return out


def _frame(width: int, height: int, title: str, body: list[str], label: str) -> str:
    return (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{esc(label or title)}">'
            f'<text x="8" y="15" class="ct">{esc(title)}</text>' + "".join(body) + "</svg>")


def _x_axis(ax: _Axis, y: float, x_label: str, width: int, height: int) -> list[str]:
    out = [f'<line x1="{ax.p0:.1f}" y1="{y:.1f}" x2="{ax.p1:.1f}" y2="{y:.1f}" class="ax"/>']
    for t in ax.ticks():
        x = ax(t)
        out.append(f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x:.1f}" y2="{y + 4:.1f}" class="ax"/>'
                   f'<text x="{x:.1f}" y="{y + 14:.1f}" class="tk" text-anchor="middle">'
                   f'{esc(fmt(t))}</text>')
    if x_label:
        out.append(f'<text x="{(ax.p0 + ax.p1) / 2:.1f}" y="{height - 3}" class="al" '
                   f'text-anchor="middle">{esc(x_label)}</text>')
    return out


def _y_axis(ay: _Axis, x: float, y_label: str) -> list[str]:
    out = [f'<line x1="{x:.1f}" y1="{ay.p0:.1f}" x2="{x:.1f}" y2="{ay.p1:.1f}" class="ax"/>']
    for t in ay.ticks(4):
        y = ay(t)
        out.append(f'<line x1="{x - 4:.1f}" y1="{y:.1f}" x2="{x:.1f}" y2="{y:.1f}" class="ax"/>'
                   f'<text x="{x - 6:.1f}" y="{y + 3:.1f}" class="tk" text-anchor="end">'
                   f'{esc(fmt(t))}</text>')
    if y_label:
        out.append(f'<text x="10" y="{(ay.p0 + ay.p1) / 2:.1f}" class="al" text-anchor="middle" '
                   f'transform="rotate(-90 10 {(ay.p0 + ay.p1) / 2:.1f})">{esc(y_label)}</text>')
    return out


def text_width(text: str, size: float = 11.0) -> float:
    """Roughly how many pixels ``text`` takes at ``size`` px: wide (CJK) characters count as a
    full em, the rest as 0.56 em (SVG text cannot be measured without a browser)."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else 0.56 * size for c in text)


def fit(text: str, pixels: float) -> str:
    """``text`` cut (with ``…``) to fit ``pixels`` at the labels' size."""
    if text_width(text) <= pixels:
        return text
    out = []
    budget = pixels - text_width("…")
    for c in text:
        budget -= text_width(c)
        if budget < 0:
            break
        out.append(c)
    return "".join(out) + "…"


def _legend(items: Sequence[tuple[str, str]], x0: float, y: float,
            x_max: float) -> tuple[list[str], int]:
    """Legend entries from ``(x0, y)``, wrapped before ``x_max``; returns the rows used."""
    out, x, rows = [], x0, 1
    for label, colour in items:
        w = 20 + text_width(label)
        if x > x0 and x + w > x_max:
            x, y, rows = x0, y + 13, rows + 1
        out.append(f'<rect x="{x:.1f}" y="{y - 8:.1f}" width="10" height="10" fill="{esc(colour)}"/>'
                   f'<text x="{x + 14:.1f}" y="{y + 1:.1f}" class="lg">{esc(label)}</text>')
        x += w + 10
    return out, rows


def empty(title: str, message: str, width: int = 380, height: int = 80) -> str:
    """A chart-sized box saying why there is no chart (no data, no threshold, ...)."""
    return _frame(width, height, title,
                  [f'<text x="{width / 2:.1f}" y="{height / 2 + 8:.1f}" class="nd" '
                   f'text-anchor="middle">{esc(message)}</text>'], title)


def histogram(series: Sequence[Series], *, title: str, x_label: str = "", log_x: bool = True,
              markers: Sequence[Marker] = (), width: int = 380, height: int = 210) -> str:
    """Overlaid histograms (one colour per series) with vertical threshold markers."""
    series = [s for s in series if s.bins]
    if not series:
        return empty(title, "no values", width)
    # inf is how a run turns a maximum off (--set images.filters.max_aspect_ratio=inf): no line
    shown = [m for m in markers if math.isfinite(m.value) and (m.value > 0 or not log_x)]
    left, right, bottom = 46, 12, 32
    legend, rows = _legend([(f"{s.label} {s.note}".strip(), s.colour) for s in series], left,
                           31, width - right) \
        if len(series) > 1 or any(s.note for s in series) else ([], 0)
    # Room above the plot: the title, the legend rows, then one row per marker label.
    top = 24 + 13 * rows + 11 * len(shown)
    height += 11 * max(len(shown) - 1, 0) + 13 * max(rows - 1, 0)
    xs = [b[0] for s in series for b in s.bins] + [b[1] for s in series for b in s.bins]
    xs += [m.value for m in shown]
    ax = _Axis(min(xs), max(xs), left, width - right, log_x)
    ymax = max(b[2] for s in series for b in s.bins)
    ay = _Axis(0, ymax * 1.05, height - bottom, top, False)
    body = _y_axis(ay, left, "")
    for s in series:
        op = "0.85" if len(series) == 1 else "0.6"
        for lo, hi, n in s.bins:
            if not n:
                continue
            x0, x1 = ax(lo), ax(hi)
            y = ay(n)
            body.append(f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0 - 0.5, 0.8):.1f}" '
                        f'height="{ay.p0 - y:.1f}" fill="{esc(s.colour)}" fill-opacity="{op}">'
                        f'<title>{esc(s.label)}: {esc(fmt(lo))}-{esc(fmt(hi))}: {n:,}</title>'
                        f'</rect>')
    body += _x_axis(ax, height - bottom, x_label, width, height)
    label_y = top - 11 * len(shown) + 6
    for i, m in enumerate(sorted(shown, key=lambda m: m.value)):
        x = ax(m.value)
        y = label_y + 11 * i
        # Labels right of their line, or left of it near the right edge.
        anchor, dx = ("end", -3) if x > width - right - text_width(m.label) - 4 else ("start", 3)
        body.append(f'<line x1="{x:.1f}" y1="{y - 8:.1f}" x2="{x:.1f}" y2="{height - bottom}" '
                    f'stroke="{esc(m.colour)}" stroke-width="1.5" stroke-dasharray="4 3">'
                    f'<title>{esc(m.label)}: {esc(fmt(m.value))}</title></line>'
                    f'<text x="{x + dx:.1f}" y="{y:.1f}" class="mk" text-anchor="{anchor}" '
                    f'fill="{esc(m.colour)}">{esc(m.label)}</text>')
    body += legend
    return _frame(width, height, title, body, title)


def bars(items: Sequence[tuple[str, float, str, str]], *, title: str, width: int = 760,
         label_width: int = 300, row: int = 18) -> str:
    """Horizontal bars, one per ``(label, value, colour, tooltip)``, longest scale first."""
    if not items:
        return empty(title, "nothing", width)
    top = 26
    height = top + row * len(items) + 8
    vmax = max(v for _, v, _, _ in items) or 1
    x0, x1 = label_width, width - 70
    body = []
    for i, (label, v, colour, tip) in enumerate(items):
        y = top + i * row
        w = max((x1 - x0) * v / vmax, 1.0)
        shown = fit(label, label_width - 10)
        body.append(f'<text x="{x0 - 6}" y="{y + row * 0.68:.1f}" class="bl" text-anchor="end">'
                    f'{esc(shown)}<title>{esc(label)}</title></text>'
                    f'<rect x="{x0}" y="{y + 2}" width="{w:.1f}" height="{row - 5}" '
                    f'fill="{esc(colour)}"><title>{esc(tip or label)}: {v:,g}</title></rect>'
                    f'<text x="{x0 + w + 5:.1f}" y="{y + row * 0.68:.1f}" class="tk">'
                    f'{esc(f"{v:,g}")}</text>')
    return _frame(width, height, title, body, title)


def lines(series: Sequence[Line], *, title: str, x_label: str = "step", y_label: str = "",
          log_y: bool = False, width: int = 380, height: int = 210) -> str:
    """Line plots sharing axes; points with a non-finite (or, on a log axis, non-positive) y are
    left out."""
    pts = [[(x, y) for x, y in zip(s.xs, s.ys)
            if y is not None and math.isfinite(y) and (y > 0 or not log_y)] for s in series]
    if not any(pts):
        return empty(title, "no values", width)
    left, right, bottom = 52, 12, 32
    legend, rows = _legend([(s.label, s.colour) for s in series], left, 31, width - right) \
        if len(series) > 1 else ([], 0)
    top = 30 + 13 * rows
    height += 13 * max(rows - 1, 0)
    all_x = [x for p in pts for x, _ in p]
    all_y = [y for p in pts for _, y in p]
    ax = _Axis(min(all_x), max(all_x), left, width - right, False)
    ylo, yhi = min(all_y), max(all_y)
    if not log_y:
        pad = (yhi - ylo) * 0.05 or abs(yhi) * 0.05 or 1.0
        ylo, yhi = (0.0 if ylo >= 0 and ylo < pad * 4 else ylo - pad), yhi + pad
    ay = _Axis(ylo, yhi, height - bottom, top, log_y)
    body = _y_axis(ay, left, y_label)
    for s, p in zip(series, pts):
        if not p:
            continue
        d = " ".join(f"{'M' if i == 0 else 'L'}{ax(x):.1f},{ay(y):.1f}" for i, (x, y) in enumerate(p))
        body.append(f'<path d="{d}" fill="none" stroke="{esc(s.colour)}" stroke-width="1.6">'
                    f'<title>{esc(s.label)}</title></path>')
        if len(p) <= 60:
            body += [f'<circle cx="{ax(x):.1f}" cy="{ay(y):.1f}" r="2" fill="{esc(s.colour)}">'
                     f'<title>{esc(s.label)} at {esc(fmt(x))}: {esc(fmt(y))}</title></circle>'
                     for x, y in p]
    body += _x_axis(ax, height - bottom, x_label, width, height)
    body += legend
    return _frame(width, height, title, body, title)
