"""Size caps on results: a result that quotes huge student text is shortened, never re-scored."""

from __future__ import annotations

import json

from grader.grading import output_caps


def _result(n_tests: int, output_chars: int) -> dict:
    tests = [{"name": f"t{i}", "test_id": f"test_{i}", "score": float(i % 2), "max_score": 1.0,
              "status": "passed" if i % 2 else "failed", "output": "x" * output_chars,
              "visibility": "visible", "duration": 0.1} for i in range(n_tests)]
    return {"score": float(sum(t["score"] for t in tests)), "max_score": float(n_tests),
            "output": "printed " * 5000, "error": None, "status": "ok", "tests": tests}


def _size(result: dict) -> int:
    return len(json.dumps(result).encode())


def test_a_test_output_is_cut_with_a_marker() -> None:
    text = output_caps.cap_test_output("y" * (output_caps.MAX_TEST_OUTPUT_CHARS + 5))
    assert text == "y" * output_caps.MAX_TEST_OUTPUT_CHARS + "...[truncated 5 chars]"


def test_a_result_under_the_cap_is_left_alone() -> None:
    result = _result(10, 100)
    assert output_caps.cap_result(result) is result


def test_a_result_over_the_cap_is_shortened_to_fit_and_says_so() -> None:
    result = _result(400, output_caps.MAX_TEST_OUTPUT_CHARS)
    assert _size(result) > output_caps.MAX_RESULTS_BYTES
    capped = output_caps.cap_result(result)
    assert _size(capped) <= output_caps.MAX_RESULTS_BYTES
    assert capped["output"].endswith(output_caps.SHORTENED_NOTE)


def test_the_cap_never_changes_scores_or_test_records_other_than_outputs() -> None:
    result = _result(400, output_caps.MAX_TEST_OUTPUT_CHARS)
    capped = output_caps.cap_result(result)
    assert capped["score"] == result["score"] and capped["status"] == result["status"]
    strip = [{k: v for k, v in t.items() if k != "output"} for t in result["tests"]]
    assert [{k: v for k, v in t.items() if k != "output"} for t in capped["tests"]] == strip


def test_a_result_with_thousands_of_tests_keeps_only_cut_markers_if_it_must() -> None:
    capped = output_caps.cap_result(_result(5000, 2000))
    assert _size(capped) <= output_caps.MAX_RESULTS_BYTES
    assert all(t["output"].startswith("...[truncated") for t in capped["tests"])
