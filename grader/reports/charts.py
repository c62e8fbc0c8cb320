"""Charts for report.html and the staff dashboard: small SVG drawings written directly, as
data URIs for ``<img>`` (no files, no network, no script: an SVG shown as an image never runs
one). Drawing them takes a millisecond where a plotting library took most of a second, so a
class of 1,000 is reported as fast as a class of 10. Bins follow numpy's histogram rule (each
bin half-open, the last one closed)."""

from __future__ import annotations

import base64
import math
from html import escape

import numpy as np

_BAR = "#3b6ea8"
_RUNTIME_BAR = "#6a8f3b"
_INK = "#222"
_GRID = "#ddd"
_WIDTH = 800
_FONT = "font-family='DejaVu Sans, Arial, sans-serif'"
_CHAR_PX = 6.2  # average advance of an 11 px label, for the pass-rate chart's left margin


def score_histogram(scores: list[float], max_score: float) -> str:
    """Histogram of total scores over [0, max_score]."""
    top = max([max_score, *scores, 1.0])
    if float(top).is_integer():
        # Bins on whole points: width 1 up to 20 points, 2 up to 40, ...
        width = math.ceil(top / 20)
        edges = np.arange(0, int(top) + width, width, dtype=float)
    else:
        edges = np.linspace(0, top, 21)
    counts, _ = np.histogram(scores, bins=edges)
    return _histogram(edges, counts, _BAR, "total score",
                      f"Score distribution (n = {len(scores)})")


def runtime_histogram(seconds: list[float]) -> str:
    """Histogram of whole-submission grading times."""
    counts, edges = np.histogram(seconds, bins=20)
    return _histogram(edges, counts, _RUNTIME_BAR, "execution time (s)",
                      "Grading time per submission")


def pass_rate_chart(labels: list[str], rates: list[float]) -> str:
    """Horizontal bars: the share of submissions passing each test, in suite order."""
    row = 26
    left = min(320, 14 + _CHAR_PX * max((len(_shorten(lb)) for lb in labels), default=4))
    top, bottom, right = 34, 46, 24
    height = top + bottom + row * max(len(labels), 1)
    plot_w = _WIDTH - left - right
    parts = [_text(_WIDTH / 2, 20, "Per-test pass rate", size=14, anchor="middle")]
    for tick in range(0, 101, 20):
        x = left + plot_w * tick / 100
        parts.append(_line(x, top, x, height - bottom, _GRID))
        parts.append(_text(x, height - bottom + 16, str(tick), anchor="middle"))
    for i, (label, rate) in enumerate(zip(labels, rates, strict=True)):
        y = top + i * row
        parts.append(_rect(left, y + 4, plot_w * rate, row - 8, _BAR,
                           f"{label}: {100 * rate:.0f}% passed"))
        parts.append(_text(left - 6, y + row / 2 + 4, _shorten(label), anchor="end"))
    parts.append(_line(left, top, left, height - bottom, _INK))
    parts.append(_line(left, height - bottom, left + plot_w, height - bottom, _INK))
    parts.append(_text(left + plot_w / 2, height - 8, "passed (%)", anchor="middle"))
    return _svg(height, parts)


def _histogram(edges: np.ndarray, counts: np.ndarray, color: str, xlabel: str,
               title: str) -> str:
    height, left, right, top, bottom = 320, 64, 24, 34, 48
    plot_w, plot_h = _WIDTH - left - right, height - top - bottom
    lo, hi = float(edges[0]), float(edges[-1])
    span = hi - lo or 1.0
    peak = max(int(counts.max(initial=0)), 1)
    yticks = _ticks(0, peak, integer=True)
    ymax = max(yticks[-1], peak)

    def x_of(value: float) -> float:
        return left + plot_w * (value - lo) / span

    def y_of(count: float) -> float:
        return top + plot_h * (1 - count / ymax)

    parts = [_text(_WIDTH / 2, 20, title, size=14, anchor="middle")]
    for tick in yticks:
        parts.append(_line(left, y_of(tick), left + plot_w, y_of(tick), _GRID))
        parts.append(_text(left - 6, y_of(tick) + 4, _number(tick), anchor="end"))
    for a, b, count in zip(edges[:-1], edges[1:], counts, strict=True):
        if count:
            parts.append(_rect(x_of(a), y_of(count), x_of(b) - x_of(a), y_of(0) - y_of(count),
                               color, f"{_number(a)} to {_number(b)}: {count}", stroke=True))
    for tick in _ticks(lo, hi):
        if lo <= tick <= hi:
            parts.append(_line(x_of(tick), y_of(0), x_of(tick), y_of(0) + 4, _INK))
            parts.append(_text(x_of(tick), y_of(0) + 17, _number(tick), anchor="middle"))
    parts.append(_line(left, top, left, y_of(0), _INK))
    parts.append(_line(left, y_of(0), left + plot_w, y_of(0), _INK))
    parts.append(_text(left + plot_w / 2, height - 8, xlabel, anchor="middle"))
    parts.append(f"<text x='16' y='{top + plot_h / 2:.1f}' font-size='11' fill='{_INK}' "
                 f"text-anchor='middle' transform='rotate(-90 16 {top + plot_h / 2:.1f})'>"
                 "submissions</text>")
    return _svg(height, parts)


def _ticks(lo: float, hi: float, most: int = 8, integer: bool = False) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering [lo, hi]."""
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if integer:
        step = max(1, math.ceil(step))
    first = math.floor(lo / step) * step
    count = math.ceil((hi - first) / step - 1e-9)
    return [round(first + i * step, 10) for i in range(count + 1)]


def _number(value: float) -> str:
    return f"{value:.4g}"


def _svg(height: float, parts: list[str]) -> str:
    svg = (f"<svg xmlns='http://www.w3.org/2000/svg' width='{_WIDTH}' height='{height:.0f}' "
           f"viewBox='0 0 {_WIDTH} {height:.0f}' {_FONT}>"
           f"<rect width='100%' height='100%' fill='white'/>{''.join(parts)}</svg>")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def _text(x: float, y: float, text: str, size: int = 11, anchor: str = "start") -> str:
    return (f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' fill='{_INK}' "
            f"text-anchor='{anchor}'>{escape(text)}</text>")


def _line(x1: float, y1: float, x2: float, y2: float, color: str) -> str:
    return (f"<line x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}' "
            f"stroke='{color}'/>")


def _rect(x: float, y: float, w: float, h: float, color: str, title: str,
          stroke: bool = False) -> str:
    edge = " stroke='white'" if stroke else ""
    return (f"<rect x='{x:.1f}' y='{y:.1f}' width='{max(w, 0):.1f}' height='{max(h, 0):.1f}' "
            f"fill='{color}'{edge}><title>{escape(title)}</title></rect>")


def _shorten(label: str, width: int = 48) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"
