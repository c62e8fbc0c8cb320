"""Cost of the write deadline: wire.write_frame through a pipe, with and without a deadline.

The trusted side writes every request with a deadline (non-blocking fd + poll), so a worker
that stops reading cannot hang it. Prints microseconds per frame for small, pipe-sized and
large frames, blocking vs with a deadline, while a reader thread drains the pipe.

Usage: python benchmarks/wire_write_deadline.py [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.sandbox import wire


def per_frame_us(size: int, with_deadline: bool, seconds: float) -> float:
    """Mean microseconds to write one frame of ``size`` bytes that a reader drains."""
    read_end, write_end = os.pipe()
    payload = b"x" * size
    count = 0

    def drain() -> None:
        while True:
            try:
                wire.read_frame(read_end)
            except wire.FrameEOF:
                return

    reader = threading.Thread(target=drain)
    reader.start()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        deadline = time.monotonic() + 10 if with_deadline else None
        wire.write_frame(write_end, payload, deadline)
        count += 1
    elapsed = time.perf_counter() - t0
    os.close(write_end)
    reader.join()
    os.close(read_end)
    return elapsed / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    args = parser.parse_args()
    print(f"{'frame':>10} {'blocking us':>12} {'deadline us':>12}")
    for size in (100, 64 << 10, 8 << 20):
        plain = per_frame_us(size, False, args.seconds)
        timed = per_frame_us(size, True, args.seconds)
        print(f"{size:>10} {plain:>12.1f} {timed:>12.1f}")


if __name__ == "__main__":
    main()
