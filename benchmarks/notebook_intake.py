"""Notebook intake cost: what converting a notebook in its resource-limited child costs.

Prints, per assignment, the time to convert the release notebook filled with the solution
(child interpreter, median of --repeat runs) and in-process (the contract's own work), then
the time to refuse a notebook with an 8 MB cell and how much the trusted process grew while
doing it, and the peak memory of any conversion child.

Usage: python benchmarks/notebook_intake.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.intake.notebook import NotebookError, convert, derive, read_cells, sandbox_packages  # noqa: E402
from tests.conftest import MODULES  # noqa: E402
from tests.notebook_corpus import filled  # noqa: E402


def median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'assignment':<22}{'cells':>6}{'KiB':>7}{'child ms':>10}{'in-process ms':>15}")
    for name in sorted(MODULES):
        data = json.dumps(filled(name)).encode()
        packages = sandbox_packages(name == "a6_mnist")
        child = median_seconds(lambda d=data, p=packages: convert(d, "nb.ipynb", packages=p),
                               args.repeat)
        inline = median_seconds(lambda d=data, p=packages: derive(read_cells(d), packages=p),
                                args.repeat)
        cells = len(json.loads(data)["cells"])
        print(f"{name:<22}{cells:>6}{len(data) / 1024:>7.0f}{child * 1e3:>10.1f}"
              f"{inline * 1e3:>15.1f}")
    big = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "DATA = '" + "x" * (8 << 20) + "'"}]}).encode()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    try:
        convert(big, "big.ipynb")
    except NotebookError as exc:
        refused = str(exc)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"8 MB cell: refused in {(time.perf_counter() - t0) * 1e3:.0f} ms "
          f"({refused[:60]}...); trusted process peak grew {grown:.0f} MiB")
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory of a conversion child: {child_peak:.0f} MiB")


if __name__ == "__main__":
    main()
