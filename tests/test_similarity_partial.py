"""Partial copies: one substantial function copied, every other function written alone. The
pair's averaged score stays low, so the report flags the pair on the copied function itself
and names it as the evidence; independent solutions are still never flagged."""

from __future__ import annotations

import json
import random

import pytest

from grader.authoring.release import make_stub, strip_markers
from grader.similarity.engine import UNIT_MIN_TOKENS, CodeEntry, compare
from grader.similarity.normalize import normalize, template_names
from grader.similarity.page import ranked_json, render
from tests.similarity_tools import disguise, transplant_function
from tests.test_similarity import ASSIGNMENTS, CORPUS, _contract, _solution

DONOR, HOST = "reference", "indep_1"   # the copier's own work is HOST, never in the class
COPIED_PER_ASSIGNMENT = 2              # the largest functions of the donor are copied


def _sources(assignment: str) -> dict[str, str]:
    sources = {"reference": strip_markers(_solution(assignment).read_text())}
    return sources | {p.stem: p.read_text() for p in sorted((CORPUS / assignment).glob("*.py"))}


def _copied_functions(assignment: str) -> list[str]:
    """The donor's largest functions of the contract (methods too) that both sides define."""
    template = make_stub(_solution(assignment).read_text())
    sources = _sources(assignment)
    units = template_names(template)
    sizes = normalize(sources[DONOR], units).units
    movable = []
    for name in sorted(units):
        try:
            transplant_function(sources[DONOR], sources[HOST], name)
        except LookupError:
            continue
        if len(sizes.get(name, [])) >= UNIT_MIN_TOKENS + 10:
            movable.append(name)
    return sorted(movable, key=lambda n: -len(sizes[n]))[:COPIED_PER_ASSIGNMENT]


def partial_copy_class(assignment: str, function: str, seed: int = 3
                       ) -> tuple[list[CodeEntry], str]:
    """The independent solutions but HOST, and HOST's code with ``function`` taken from DONOR,
    disguised (renamed, reordered, restyled, dead code, helpers split out)."""
    template = make_stub(_solution(assignment).read_text())
    sources = _sources(assignment)
    partial = transplant_function(sources[DONOR], sources[HOST], function)
    partial = disguise(partial, random.Random(seed), _contract(template))
    entries = [CodeEntry(name, code) for name, code in sources.items() if name != HOST]
    return [*entries, CodeEntry("partial", partial)], template


CASES = [pytest.param(a, f, id=f"{a}-{f}") for a in ASSIGNMENTS for f in _copied_functions(a)]


def test_every_assignment_has_a_substantial_function_to_copy() -> None:
    assert {case.values[0] for case in CASES} == set(ASSIGNMENTS)


@pytest.mark.parametrize(("assignment", "function"), CASES)
def test_a_partial_copy_is_flagged_with_the_copied_function(assignment: str,
                                                            function: str) -> None:
    entries, template = partial_copy_class(assignment, function)
    report = compare(assignment, entries, template)
    flagged = {frozenset((p.a, p.b)): p for p in report.flagged}
    assert set(flagged) == {frozenset((DONOR, "partial"))}, sorted(map(sorted, flagged))
    assert function in flagged[frozenset((DONOR, "partial"))].copied_units


@pytest.mark.parametrize(("assignment", "function"), CASES[:1])
def test_the_page_and_json_name_the_copied_function(assignment: str, function: str) -> None:
    entries, template = partial_copy_class(assignment, function)
    report = compare(assignment, entries, template)
    page = render(report)
    assert f"Flagged for {function}" in page
    assert f"{function} (copied)" in page
    first = json.loads(ranked_json(report))[0]
    assert {first["a"], first["b"]} == {DONOR, "partial"}
    assert first["flagged"] and function in first["copied_functions"]


def test_flagged_pairs_rank_before_unflagged_ones_whatever_their_score() -> None:
    assignment, function = CASES[0].values
    entries, template = partial_copy_class(assignment, function)
    pairs = compare(assignment, entries, template).pairs
    flags = [p.flagged for p in pairs]
    assert flags == sorted(flags, reverse=True)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_independent_solutions_alone_raise_no_flag(assignment: str) -> None:
    template = make_stub(_solution(assignment).read_text())
    entries = [CodeEntry(n, s) for n, s in _sources(assignment).items()]
    report = compare(assignment, entries, template)
    assert report.flagged == [], [(p.a, p.b, p.copied_units, p.score) for p in report.flagged]
