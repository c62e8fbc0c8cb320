"""The similarity report: disguised copies rank above independent work, starter code and
forced-alike functions never count, and the page and JSON say what they found."""

from __future__ import annotations

import ast
import importlib
import json
import random
import re
from pathlib import Path

import pytest

from grader.authoring.release import make_stub, strip_markers
from grader.results.store import AssignmentResults
from grader.similarity.command import report_section, run_similarity
from grader.similarity.engine import THRESHOLD, CodeEntry, compare
from grader.similarity.page import DISCLAIMER, ranked_json, render
from tests.conftest import MODULES, ROOT
from tests.similarity_tools import disguise
from tests.variants.mutate import Replace, apply

CORPUS = ROOT / "tests" / "similarity_corpus"
ASSIGNMENTS = sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and any(p.glob("*.py")))


def _solution(assignment: str) -> Path:
    return ROOT / "solutions" / assignment / f"{MODULES[assignment]}.py"


def _contract(template: str) -> set[str]:
    return {n.name for n in ast.walk(ast.parse(template))
            if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def plagiarism_class(assignment: str, seed: int = 7) -> tuple[list[CodeEntry], str,
                                                               set[frozenset[str]]]:
    """Independent solutions (the reference and tests/similarity_corpus/<a>/*.py) and, for each,
    a copy with every disguise and one function rewritten by an alternative implementation.
    Each rewrite is used for one copy at most: two copies given the same rewrite would share
    that code, so they would not be independent of each other."""
    rng = random.Random(seed)
    template = make_stub(_solution(assignment).read_text())
    contract = _contract(template)
    sources = {"reference": strip_markers(_solution(assignment).read_text())}
    sources |= {p.stem: p.read_text() for p in sorted((CORPUS / assignment).glob("*.py"))}
    variants = importlib.import_module(f"tests.variants.{assignment}").CORRECT
    rewrites = [c for v in variants for c in v.changes if isinstance(c, Replace)]
    rng.shuffle(rewrites)
    entries, copies = [], set()
    for name, source in sources.items():
        entries.append(CodeEntry(name, source))
        changed = apply(source, [rewrites.pop()]) if rewrites else source
        entries.append(CodeEntry(f"{name}_copy", disguise(changed, rng, contract)))
        copies.add(frozenset((name, f"{name}_copy")))
    return entries, template, copies


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_disguised_copy_ranks_above_every_independent_pair(assignment: str) -> None:
    entries, template, copies = plagiarism_class(assignment)
    report = compare(assignment, entries, template)
    copied = [p.score for p in report.pairs if frozenset((p.a, p.b)) in copies]
    independent = [p.score for p in report.pairs if frozenset((p.a, p.b)) not in copies]
    assert len(copied) == len(copies)
    assert min(copied) > max(independent), (min(copied), max(independent))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_default_threshold_flags_the_copies_and_no_independent_pair(assignment: str) -> None:
    entries, template, copies = plagiarism_class(assignment)
    report = compare(assignment, entries, template)
    flagged = {frozenset((p.a, p.b)) for p in report.flagged}
    assert flagged == copies, (sorted(map(sorted, flagged - copies)),
                               sorted(map(sorted, copies - flagged)))


def test_two_unchanged_starter_files_share_nothing() -> None:
    template = make_stub(_solution("a2_softmax").read_text())
    report = compare("a2", [CodeEntry("a", template), CodeEntry("b", template)], template)
    assert report.pairs[0].score == 0.0
    assert report.pairs[0].module_similarity == 0.0


def test_forced_alike_functions_raise_no_flag() -> None:
    """Everyone writes relu the same way: a pair that shares only that is not flagged."""
    template = "import numpy as np\n\ndef relu(x):\n    pass\n\ndef norm(x):\n    pass\n"
    rng = random.Random(0)
    entries = []
    for i in range(12):
        pieces = ["x * x", "np.abs(x)", "x ** 2", "np.square(x)", "np.sqrt(x * x)"]
        norm = " + ".join(rng.sample(pieces, 3))
        entries.append(CodeEntry(f"s{i}", "import numpy as np\n\ndef relu(x):\n"
                                 "    out = np.maximum(0, x)\n    mask = x > 0\n"
                                 "    return out, mask\n\n"
                                 f"def norm(x):\n    total = {norm}\n"
                                 f"    return np.sum(total) / {i + 2}\n"))
    report = compare("toy", entries, template)
    relu = [u for p in report.pairs for u in p.units if u.unit == "relu"]
    assert relu and all(u.excess == 0.0 for u in relu)


def test_three_students_sharing_one_source_form_one_cluster() -> None:
    entries, template, _ = plagiarism_class("a2_softmax")
    contract = _contract(template)
    rng = random.Random(3)
    original = next(e for e in entries if e.student == "indep_1")
    entries.append(CodeEntry("third", disguise(original.source, rng, contract)))
    report = compare("a2_softmax", entries, template)
    assert ["indep_1", "indep_1_copy", "third"] in report.clusters


def test_the_index_finds_the_same_copies_as_all_pairs() -> None:
    entries, template, copies = plagiarism_class("a2_softmax")
    exact = compare("a2_softmax", entries, template)
    indexed = compare("a2_softmax", entries, template, exact_limit=2)
    assert not indexed.exact
    assert {frozenset((p.a, p.b)) for p in indexed.flagged} == \
        {frozenset((p.a, p.b)) for p in exact.flagged} == copies


def test_code_that_does_not_parse_is_still_compared() -> None:
    source = strip_markers(_solution("a2_softmax").read_text())
    broken = source + "\ndef oops(:\n"
    template = make_stub(_solution("a2_softmax").read_text())
    report = compare("a2", [CodeEntry("a", broken), CodeEntry("b", broken),
                            CodeEntry("c", template)], template)
    pair = next(p for p in report.pairs if {p.a, p.b} == {"a", "b"})
    assert pair.module_similarity == 1.0


def test_json_ranks_pairs_highest_first_with_scores_in_unit_range() -> None:
    entries, template, _ = plagiarism_class("a2_softmax")
    pairs = json.loads(ranked_json(compare("a2_softmax", entries, template)))
    scores = [p["score"] for p in pairs]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert set(pairs[0]) == {"a", "b", "score", "flagged", "copied_functions"}


def test_page_is_offline_escaped_and_says_it_is_not_a_verdict() -> None:
    entries, template, _ = plagiarism_class("a2_softmax")
    evil = "<script>alert(1)</script>"
    entries = [CodeEntry(evil if e.student == "indep_2" else e.student,
                         e.source + f"\n# {evil}\n") for e in entries]
    page = render(compare("a2_softmax", entries, template))
    assert evil not in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert DISCLAIMER in page
    assert f"threshold {THRESHOLD:.2f}" in page


def test_the_command_reads_kept_graded_code_and_writes_page_and_json(tmp_path: Path) -> None:
    entries, template, copies = plagiarism_class("a2_softmax")
    results = AssignmentResults.of(tmp_path, "a2_softmax")
    for entry in entries:
        files = results.student(entry.student)
        files.folder.mkdir(parents=True)
        files.graded_module.write_text(entry.source)
    results.student("no_code").folder.mkdir()  # a submission error keeps no code
    run = run_similarity("a2_softmax", results, template, json_path=tmp_path / "pairs.json")
    assert run.skipped == [("no_code", "no graded code kept (submission error?)")]
    assert run.page.is_file() and DISCLAIMER in run.page.read_text()
    pairs = json.loads((tmp_path / "pairs.json").read_text())
    assert {frozenset((p["a"], p["b"])) for p in pairs[:len(copies)]} == copies
    assert "similarity.html" in report_section(run)


def test_grader_similarity_writes_the_page_and_ranked_json(tmp_path: Path, capsys) -> None:
    from grader import cli

    entries, _, copies = plagiarism_class("a2_softmax")
    results = AssignmentResults.of(tmp_path / "out", "a2_softmax")
    for entry in entries:
        results.student(entry.student).folder.mkdir(parents=True)
        results.student(entry.student).graded_module.write_text(entry.source)
    code = cli.main(["--config", str(ROOT / "grader.yaml"), "similarity", "a2_softmax",
                     "--results", str(tmp_path / "out"), "--json", str(tmp_path / "p.json")])
    assert code == 0
    assert results.similarity_page.is_file()
    top = json.loads((tmp_path / "p.json").read_text())[:len(copies)]
    assert {frozenset((p["a"], p["b"])) for p in top} == copies
    assert f"{len(copies)} flagged" in capsys.readouterr().out


def test_the_page_of_a_small_class_warns_that_its_baselines_are_rough() -> None:
    entries, template, _ = plagiarism_class("a2_softmax")
    assert len(entries) < 20
    assert "learnt from few pairs" in render(compare("a2_softmax", entries, template))


def test_each_flagged_pair_links_to_its_side_by_side_view() -> None:
    entries, template, copies = plagiarism_class("a2_softmax")
    page = render(compare("a2_softmax", entries, template))
    anchors = re.findall(r"<h3 id='([^']+)'", page)
    assert len(anchors) == len(copies)
    assert all(f"href='#{anchor}'" in page for anchor in anchors)
