"""Charts for report.html as inline PNG data URIs (matplotlib Agg, no files, no network).

Figures are built with ``matplotlib.figure.Figure`` directly rather than pyplot, so no global
backend or figure registry is touched (safe next to other matplotlib users in the process).
"""

from __future__ import annotations

import base64
import io
import math

from matplotlib.figure import Figure

_BAR = "#3b6ea8"
_DPI = 100


def _data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def score_histogram(scores: list[float], max_score: float) -> str:
    """Histogram of total scores over [0, max_score]."""
    fig = Figure(figsize=(8, 3.2))
    ax = fig.add_subplot()
    top = max([max_score, *scores, 1.0])
    if float(top).is_integer():
        # Bins on whole points: width 1 up to 20 points, 2 up to 40, ...
        width = math.ceil(top / 20)
        edges = [float(x) for x in range(0, int(top) + width, width)]
        ax.hist(scores, bins=edges, color=_BAR, edgecolor="white")
    else:
        ax.hist(scores, bins=20, range=(0, top), color=_BAR, edgecolor="white")
    ax.set_xlabel("total score")
    ax.set_ylabel("submissions")
    ax.set_title(f"Score distribution (n = {len(scores)})")
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _data_uri(fig)


def pass_rate_chart(labels: list[str], rates: list[float]) -> str:
    """Horizontal bars: the share of submissions passing each test, in suite order."""
    height = max(1.6, 0.32 * len(labels) + 0.9)
    fig = Figure(figsize=(8, height))
    ax = fig.add_subplot()
    positions = list(range(len(labels)))
    ax.barh(positions, [100 * r for r in rates], color=_BAR)
    ax.set_yticks(positions, labels=[_shorten(lb) for lb in labels], fontsize=8)
    ax.invert_yaxis()  # suite order reads top to bottom
    ax.set_xlim(0, 100)
    ax.set_xlabel("passed (%)")
    ax.set_title("Per-test pass rate")
    return _data_uri(fig)


def runtime_histogram(seconds: list[float]) -> str:
    """Histogram of whole-submission grading times."""
    fig = Figure(figsize=(8, 3.2))
    ax = fig.add_subplot()
    ax.hist(seconds, bins=20, color="#6a8f3b", edgecolor="white")
    ax.set_xlabel("execution time (s)")
    ax.set_ylabel("submissions")
    ax.set_title("Grading time per submission")
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _data_uri(fig)


def _shorten(label: str, width: int = 48) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"
