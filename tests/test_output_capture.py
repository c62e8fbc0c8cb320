"""What a worker prints reaches the grader through a drained pipe, bounded in memory."""

from __future__ import annotations

import os
import subprocess
import sys

from grader.sandbox.output_capture import OutputCapture


def test_short_output_is_kept_whole() -> None:
    capture = OutputCapture(head_bytes=10, tail_bytes=10)
    os.write(capture.write_fd, b"hello\n")
    capture.close()
    assert capture.text() == "hello\n"


def test_long_output_keeps_head_and_tail_and_says_how_much_was_dropped() -> None:
    capture = OutputCapture(head_bytes=4, tail_bytes=3)
    os.write(capture.write_fd, b"HEAD" + b"m" * 100 + b"END")
    capture.close()
    assert capture.text() == "HEAD\n[... 100 bytes dropped ...]\nEND"


def test_a_child_printing_megabytes_is_never_blocked_and_costs_only_the_cap() -> None:
    capture = OutputCapture()
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfor _ in range(64): sys.stdout.write('x' * (1 << 20))"
         "\nsys.stdout.write('done')"], stdout=capture.write_fd)
    assert child.wait(timeout=60) == 0
    capture.close()
    text = capture.text()
    assert text.endswith("done") and f"{(64 << 20) - 2996} bytes dropped" in text
    assert len(text) < 4000
