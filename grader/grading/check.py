"""`grader check`: the public tests on a student's own work, chosen and read as grading reads it.

Grading and `check` must agree, so `check` stages the work with grading's intake
(grader.intake.staging: a .py, a notebook, a zip or a folder; beside the unchanged stub, the
filled notebook; the unchanged starter or an empty file refused) and runs the public tests in a
child interpreter where the packages the sandbox hides (torch in the numpy-only assignments)
import the sandbox's own blocked module, so they fail exactly as they do when graded. The code
is the student's, on their machine: no sandbox, no limits.

Without the course's grader.yaml (a released folder alone) the starter is not known: beside
one notebook, the folder's module counts as the untouched stub when it still has at least as
many ``raise NotImplementedError`` placeholders as the notebook; torch is allowed when the
released public tests import it.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader.course.config import CourseConfig
from grader.intake.notebook import NotebookError, convert, sandbox_packages
from grader.intake.staging import stage
from grader.sandbox.bwrap import BLOCKED_WITHOUT_TORCH, BLOCKER

# The child that runs the public tests: a blocked package imports the sandbox's blocked module.
_CHILD = """\
import importlib.abc, importlib.util, sys
blocked, blocker = set(filter(None, sys.argv[1].split(","))), sys.argv[2]
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            return importlib.util.spec_from_file_location(name, blocker)
sys.meta_path.insert(0, Blocked())
import pytest
sys.exit(int(pytest.main(sys.argv[3:])))
"""


class CheckError(ValueError):
    """What was asked cannot be checked; the message says what to do (exit 2)."""


@dataclass(frozen=True)
class CheckTarget:
    assignment: str
    module: str
    source: Path          # what is staged: the file or folder named, as grading would get it
    tests: Path           # the released public tests
    starter: str | None   # the stub (an unchanged copy is refused, as in grading)
    torch: bool           # whether torch can be imported, as in the sandbox


def find_target(assignment: str, path: Path | None, course: CourseConfig | None) -> CheckTarget:
    """What ``grader check ASSIGNMENT [PATH]`` checks; CheckError when it cannot or when
    PATH belongs to another assignment."""
    cfg = course.assignment(assignment) if course is not None else None
    if path is not None and not path.exists():
        raise CheckError(f"{path} does not exist")
    source = path or (cfg.release_dir if cfg is not None else Path.cwd())
    folder = source if source.is_dir() else source.parent
    _refuse_other_assignment(assignment, source, folder, course)
    tests = folder / "tests"
    if not tests.is_dir() and cfg is not None:
        tests = cfg.release_dir / "tests"  # a notebook saved elsewhere: the released tests
    notebook = source if source.suffix == ".ipynb" else None
    module = cfg.module if cfg is not None else _module_of(folder, notebook)
    if module is None or not tests.is_dir():
        raise CheckError(f"expected your module (or notebook) and tests/ in {folder}")
    if cfg is not None:
        from grader.authoring.release import starter_text

        return CheckTarget(assignment, module, source, tests, starter_text(cfg),
                           cfg.torch_in_sandbox)
    torch = _tests_import_torch(tests)
    return CheckTarget(assignment, module, source, tests,
                       _released_starter(folder, module, torch), torch)


def run_check(target: CheckTarget) -> int:
    """Stage the work as grading does, say which file that is, and run the public tests on it:
    0 when they all pass and grading would take the file, else 1 (a module that does not
    import, as with a blocked package, is a failure like any other)."""
    with tempfile.TemporaryDirectory(prefix="grader-check-") as tmp:
        sub = stage(target.source, target.module, Path(tmp) / "stage",
                    starter=target.starter, packages=sandbox_packages(target.torch))
        for warning in sub.warnings:
            print(warning)
        module_file = Path(tmp) / "stage" / "submission" / f"{target.module}.py"
        graded = sub.graded_file or target.source.name
        if sub.error is not None:
            print(f"grading would refuse this: {sub.error}")
            if not module_file.is_file():
                return 1
        print(f"checked {graded} ({_where(target.source)}) with the public tests of "
              f"{target.assignment}")
        if graded.endswith(".ipynb"):
            print(f"testing {target.module}.py as the grader builds it from {graded} "
                  "(its '# cell N' comments name the notebook cells)")
        work = Path(tmp) / "work"
        shutil.copytree(module_file.parent, work)
        shutil.copytree(target.tests, work / "tests", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
        sys.stdout.flush()
        passed = _run_tests(work, () if target.torch else BLOCKED_WITHOUT_TORCH) == 0
        return 0 if passed and sub.error is None else 1


def _run_tests(work: Path, blocked: tuple[str, ...]) -> int:
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # a plugin may import torch
    args = [sys.executable, "-c", _CHILD, ",".join(blocked), str(BLOCKER),
            str(work / "tests"), "-q", "-p", "no:cacheprovider", "--rootdir", str(work)]
    return subprocess.run(args, cwd=work, env=env).returncode


def _where(source: Path) -> str:
    return str(source.resolve().parent if source.is_file() else source.resolve())


def _notebook_assignment(notebook: Path) -> str | None:
    """The assignment a released notebook belongs to (its ``grader`` metadata)."""
    try:
        meta = json.loads(notebook.read_text(encoding="utf-8"))["metadata"]["grader"]
        return str(meta["assignment"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _refuse_other_assignment(assignment: str, source: Path, folder: Path,
                             course: CourseConfig | None) -> None:
    """A notebook (or a released folder) of another assignment, or a file named for another
    assignment or its module, would be tested against the wrong tests: refused."""
    notebooks = [source] if source.suffix == ".ipynb" else \
        sorted(folder.glob("*.ipynb")) if source.is_dir() else []
    owners = {nb: owner for nb in notebooks if (owner := _notebook_assignment(nb)) is not None}
    if owners and assignment not in owners.values():  # a folder may hold other notebooks too
        notebook, owner = next(iter(owners.items()))
        raise CheckError(f"{notebook.name} is the notebook of {owner}, not {assignment}: "
                         f"run `grader check {owner} {notebook.name}`, or name the file of "
                         f"{assignment}")
    if course is None or source.is_dir():
        return
    mine = course.assignment(assignment)
    for other in course.assignments.values():
        if other.name == assignment or other.module == mine.module:
            continue
        if source.stem == other.module or other.name in source.name:
            raise CheckError(f"{source.name} looks like your work for {other.name}, not "
                             f"{assignment}: run `grader check {other.name} {source.name}`, or "
                             f"name the file of {assignment} ({mine.module}.py or a notebook)")


def _module_of(folder: Path, notebook: Path | None) -> str | None:
    """The module name of a released assignment: the notebook's ``grader`` metadata, else
    the folder's only .py file."""
    for candidate in [*([notebook] if notebook else []), *sorted(folder.glob("*.ipynb"))]:
        try:
            meta = json.loads(candidate.read_text(encoding="utf-8"))["metadata"]["grader"]
            return str(meta["module"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    modules = [p.stem for p in folder.glob("*.py")]
    return modules[0] if len(modules) == 1 else None


def _tests_import_torch(tests: Path) -> bool:
    for path in tests.glob("*.py"):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(name.split(".")[0] == "torch" for name in names):
                return True
    return False


def _placeholders(code: str) -> int:
    """How many ``raise NotImplementedError`` the code still has (0 if unparsable)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return 0
    return sum(1 for node in ast.walk(tree) if isinstance(node, ast.Raise)
               and "NotImplementedError" in ast.unparse(node.exc or node))


def _released_starter(folder: Path, module: str, torch: bool) -> str | None:
    """Without the course: the folder's module when it is still the stub beside one notebook
    (at least as many placeholders as the notebook's code), else None."""
    py, notebooks = folder / f"{module}.py", sorted(folder.glob("*.ipynb"))
    if not py.is_file() or len(notebooks) != 1:
        return None
    code = py.read_text(errors="replace")
    try:
        derived = convert(notebooks[0].read_bytes(), notebooks[0].name,
                          packages=sandbox_packages(torch)).code
    except (OSError, NotebookError):
        return None
    count = _placeholders(code)
    return code if count and count >= _placeholders(derived) else None

