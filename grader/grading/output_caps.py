"""Size caps on what the grader writes about a submission (results.json, and so feedback).

Test outputs quote text the student controls (exception messages, tracebacks, printed
output): each is capped, and when a whole result is still too large its outputs are shortened
further, with a note saying so. Scores, names and statuses are never touched.
"""

from __future__ import annotations

import json
from typing import Any

from grader.sandbox.wire import truncate

MAX_TEST_OUTPUT_CHARS = 8_000
MAX_RESULTS_BYTES = 1 << 20
# Shorter and shorter outputs until the result fits; the last step drops them entirely.
_SHRINK_STEPS = ((1_000, 8_000), (200, 2_000), (0, 500))
SHORTENED_NOTE = ("Note: this result was too large to store in full, so the test outputs "
                  "above were shortened.")


def cap_test_output(text: str) -> str:
    return truncate(text, MAX_TEST_OUTPUT_CHARS)


def cap_result(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` if its JSON fits ``MAX_RESULTS_BYTES``, else a copy with shorter outputs."""
    if _size(result) <= MAX_RESULTS_BYTES:
        return result
    capped = result
    for per_test, overall in _SHRINK_STEPS:
        capped = {**result,
                  "output": truncate(result.get("output") or "", overall) + "\n\n"
                  + SHORTENED_NOTE,
                  "error": None if result.get("error") is None
                  else truncate(result["error"], overall),
                  "tests": [{**t, "output": truncate(t.get("output", ""), per_test)}
                            for t in result.get("tests", [])]}
        if _size(capped) <= MAX_RESULTS_BYTES:
            break
    return capped


def _size(result: dict[str, Any]) -> int:
    return len(json.dumps(result).encode())
