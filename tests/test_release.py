"""Releases are generated from the solutions: stubs keep the guidance, lose the answers."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import nbformat
import pytest

from grader.authoring.release import ReleaseError, make_stub, release, strip_markers
from grader.course.config import load_config
from grader.intake.notebook import (
    EXPLORE_TAG,
    GRADED_TAG,
    TESTS_TAG,
    derive,
    read_cells,
    sandbox_packages,
)

ROOT = Path(__file__).resolve().parent.parent

SOLUTION = '''import numpy as np


def relu_forward(x):
    """out = max(0, x)."""
    # TODO: compute out and cache.
    # BEGIN SOLUTION
    out = np.maximum(x, 0.0)
    # END SOLUTION
    return out, x
'''


def test_a_stub_replaces_each_block_with_not_implemented_and_keeps_the_rest() -> None:
    stub = make_stub(SOLUTION)
    assert "np.maximum" not in stub and "        " not in stub
    assert "    # TODO: compute out and cache.\n    raise NotImplementedError" in stub
    assert '"""out = max(0, x)."""' in stub


def test_the_return_after_a_block_becomes_a_comment_on_the_raise() -> None:
    stub = make_stub(SOLUTION)
    assert stub.endswith("    raise NotImplementedError  # then: return out, x\n")


@pytest.mark.parametrize("name", ["a0_perceptron", "a1_backprop", "a2_softmax",
                                  "a3_activations_init", "a4_regularization", "a5_optim",
                                  "a6_mnist", "a7_conv", "a8_data"])
def test_no_stub_has_unreachable_lines_or_reads_an_unbound_name(name: str) -> None:
    cfg = load_config(ROOT / "grader.yaml").assignment(name)
    tree = ast.parse(make_stub((cfg.solution_dir / cfg.module_file).read_text()))
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        bound = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
        for node in ast.walk(function):
            for suite in (getattr(node, f, None) for f in ("body", "orelse", "finalbody")):
                if isinstance(suite, list):
                    ends = [i for i, s in enumerate(suite) if isinstance(s, ast.Raise)]
                    assert not ends or ends[0] == len(suite) - 1, \
                        f"{function.name}: lines after raise"
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                bound.add(node.id)
        for node in ast.walk(function):
            if isinstance(node, (ast.FunctionDef, ast.Lambda, ast.comprehension)):
                bound |= {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)}
        for node in ast.walk(function):
            if isinstance(node, ast.Return) and node.value is not None:
                read = {n.id for n in ast.walk(node.value)
                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
                unbound = {r for r in read if r not in bound and not hasattr(builtins, r)
                           and r not in module_names(tree)}
                assert not unbound, f"{name}.{function.name} returns unbound {unbound}"


def test_strip_markers_keeps_the_answer_without_marker_lines() -> None:
    clean = strip_markers(SOLUTION)
    assert "np.maximum" in clean and "SOLUTION" not in clean


@pytest.mark.parametrize("broken", [
    SOLUTION.replace("    # END SOLUTION\n", ""),
    SOLUTION.replace("    # BEGIN SOLUTION\n", ""),
    SOLUTION.replace("    # END SOLUTION\n", "    # BEGIN SOLUTION\n"),
])
def test_unbalanced_markers_are_refused(broken: str) -> None:
    with pytest.raises(ReleaseError):
        make_stub(broken)


@pytest.mark.parametrize("name", ["a0_perceptron", "a1_backprop", "a2_softmax",
                                  "a3_activations_init", "a4_regularization", "a5_optim",
                                  "a6_mnist", "a7_conv", "a8_data"])
def test_the_release_has_stub_notebook_public_tests_and_readme(tmp_path: Path,
                                                              name: str) -> None:
    course = load_config(ROOT / "grader.yaml")
    cfg = course.assignment(name)
    cfg = type(cfg)(**{**cfg.__dict__, "release_dir": tmp_path / name})
    release(cfg)
    out = tmp_path / name
    stub = (out / cfg.module_file).read_text()
    ast.parse(stub)
    assert "raise NotImplementedError" in stub and "BEGIN SOLUTION" not in stub
    assert (out / "README.md").read_text().strip()
    assert list((out / "tests").glob("test_*.py")) and (out / "tests" / "conftest.py").is_file()
    nb = nbformat.read(out / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    module = derive(read_cells((out / f"{name}.ipynb").read_bytes()),
                    packages=sandbox_packages(cfg.torch_in_sandbox))
    assert module.warnings == []
    assert top_level_names(stub) == top_level_names(module.code)  # explore cells add nothing


@pytest.mark.parametrize("name", ["a1_backprop", "a6_mnist"])
def test_release_notebook_cells_are_tagged_by_their_role(tmp_path: Path, name: str) -> None:
    cfg = load_config(ROOT / "grader.yaml").assignment(name)
    cfg = type(cfg)(**{**cfg.__dict__, "release_dir": tmp_path / name})
    release(cfg)
    nb = nbformat.read(tmp_path / name / f"{name}.ipynb", as_version=4)
    tags = [c.metadata.get("tags", [None])[0] for c in nb.cells if c.cell_type == "code"]
    graded = tags.count(GRADED_TAG)
    assert tags[:graded] == [GRADED_TAG] * graded and tags[graded] == TESTS_TAG
    assert set(tags[graded + 1:]) == {EXPLORE_TAG}
    assert nb.metadata["grader"] == {"assignment": name, "module": cfg.module}


def top_level_names(source: str) -> set[str]:
    """Names a module defines at top level: functions, classes and assigned constants."""
    names = set()
    for node in ast.parse(source).body:
        if hasattr(node, "name"):
            names.add(node.name)
        for target in getattr(node, "targets", [getattr(node, "target", None)]):
            if isinstance(target, ast.Name):
                names.add(target.id)
    return names


def test_the_committed_releases_match_the_solutions(tmp_path: Path) -> None:
    """assignments/ is generated: a solution edit without `grader release` is caught here."""
    course = load_config(ROOT / "grader.yaml")
    for cfg in course.assignments.values():
        committed = cfg.release_dir / cfg.module_file
        if committed.is_file():
            solution = (cfg.solution_dir / cfg.module_file).read_text()
            assert committed.read_text() == make_stub(solution), f"run: grader release {cfg.name}"


def released_files(cfg, folder: Path) -> dict[str, bytes]:
    release(type(cfg)(**{**cfg.__dict__, "release_dir": folder}))
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", ["a0_perceptron", "a6_mnist"])
def test_releasing_twice_writes_the_same_bytes(tmp_path: Path, name: str) -> None:
    cfg = load_config(ROOT / "grader.yaml").assignment(name)
    assert released_files(cfg, tmp_path / "one") == released_files(cfg, tmp_path / "two")


def test_the_committed_notebooks_match_a_fresh_release(tmp_path: Path) -> None:
    """Cell ids are derived, not random: a release changes a notebook only when its content
    changes."""
    for cfg in load_config(ROOT / "grader.yaml").assignments.values():
        committed = cfg.release_dir / f"{cfg.name}.ipynb"
        if committed.is_file():
            fresh = released_files(cfg, tmp_path / cfg.name)[f"{cfg.name}.ipynb"]
            assert committed.read_bytes() == fresh, f"run: grader release {cfg.name}"


def module_names(tree: ast.Module) -> set[str]:
    """Everything a module binds at top level (imports included)."""
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif hasattr(node, "name"):
            names.add(node.name)
        for target in getattr(node, "targets", [getattr(node, "target", None)]):
            if isinstance(target, ast.Name):
                names.add(target.id)
    return names
