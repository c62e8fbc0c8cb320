"""Building the student release of an assignment from its reference solution.

``solutions/<a>/<module>.py`` marks the answers with ``# BEGIN SOLUTION`` / ``# END SOLUTION``;
the release keeps everything else (docstrings, ``# TODO`` guidance, signatures) and puts
``raise NotImplementedError`` where each block was. The release folder gets the stub module, a
notebook made with nbformat, the public tests and the task README.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

from grader.course.config import AssignmentConfig

BEGIN = re.compile(r"^(\s*)# BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")

CONFTEST = '''"""Lets the public tests import your module from the folder above."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
'''


GRADCHECK = "gradcheck.py"  # shared by the public tests of every assignment
SUBMIT_CLIENT = Path(__file__).resolve().parent.parent / "service" / "submit.py"


class ReleaseError(ValueError):
    pass


def make_stub(source: str, filename: str = "solution") -> str:
    """The student version of a solution: each marked block becomes NotImplementedError.

    A ``return`` right after a block (``return out, cache``) could never run in the stub and
    reads names only the block bound, so it moves into a comment on the raise
    (``raise NotImplementedError  # then: return out, cache``). The stub raises rather than
    pre-setting ``out = None`` (CS231n): a function that returns without doing anything would
    pass the convention tests (in-place changes, overflow warnings) and the stub must score 0.
    """
    out, inside, indent = [], False, ""
    for number, line in enumerate(source.splitlines(), start=1):
        begin = BEGIN.match(line)
        if begin:
            if inside:
                raise ReleaseError(f"{filename}:{number}: BEGIN SOLUTION inside another block")
            inside, indent = True, begin.group(1)
            out.append(f"{indent}raise NotImplementedError")
        elif END.match(line):
            if not inside:
                raise ReleaseError(f"{filename}:{number}: END SOLUTION without BEGIN")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ReleaseError(f"{filename}: BEGIN SOLUTION is never closed")
    tree = _parse_checked("\n".join(out) + "\n", filename)
    for raise_line, ret in sorted(_returns_after_placeholders(tree), reverse=True):
        code = " ".join(line.strip() for line in out[ret.lineno - 1:ret.end_lineno])
        del out[ret.lineno - 1:ret.end_lineno]
        out[raise_line - 1] += f"  # then: {code}"
    stub = "\n".join(out) + "\n"
    _parse_checked(stub, filename)
    return stub


def _parse_checked(stub: str, filename: str) -> ast.Module:
    try:
        return ast.parse(stub, filename)  # the release must at least be valid Python
    except SyntaxError as exc:
        raise ReleaseError(f"{filename}: the stub is not valid Python (line {exc.lineno} of "
                           f"the stub: {exc.msg}); check the SOLUTION markers") from None


def _returns_after_placeholders(tree: ast.Module) -> list[tuple[int, ast.Return]]:
    """(line of a ``raise NotImplementedError``, the ``return`` that alone follows it in its
    suite) for every placeholder whose suite ends so."""
    found = []
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            suite = getattr(node, name, None)
            if not isinstance(suite, list) or len(suite) < 2:
                continue
            placeholder, last = suite[-2], suite[-1]
            if isinstance(placeholder, ast.Raise) and isinstance(placeholder.exc, ast.Name) \
                    and placeholder.exc.id == "NotImplementedError" \
                    and isinstance(last, ast.Return):
                found.append((placeholder.lineno, last))
    return found


def starter_text(cfg: AssignmentConfig) -> str | None:
    """The stub module students start from: made from the solution (the source of truth),
    else the released file; None when neither exists."""
    solution = cfg.solution_dir / cfg.module_file
    if solution.is_file():
        return make_stub(solution.read_text(), str(solution))
    released = cfg.release_dir / cfg.module_file
    return released.read_text() if released.is_file() else None


def strip_markers(source: str) -> str:
    """The solution without its marker lines (what a perfect student would hand in)."""
    return "\n".join(line for line in source.splitlines()
                     if not (BEGIN.match(line) or END.match(line))) + "\n"


def _split_definitions(stub: str) -> list[str]:
    """Notebook cells: one per definition, and one per run of other statements between them
    (imports, constants such as ``XOR_X = np.array(...)``), in module order."""
    tree = ast.parse(stub)
    lines = stub.splitlines()
    spans: list[list] = []  # [last line (1-based), is_definition]
    for node in tree.body:
        is_def = isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
        if spans and not is_def and not spans[-1][1]:
            spans[-1][0] = node.end_lineno  # extend the current run of plain statements
        else:
            spans.append([node.end_lineno, is_def])
    cells = []
    for i, (end, _) in enumerate(spans):
        # Everything after the previous cell (comments, blank lines) belongs to this one.
        first = spans[i - 1][0] + 1 if i else 1
        text = "\n".join(lines[first - 1:end]).strip()
        if text:
            cells.append(text)
    return cells


def _explore_cells(path: Path) -> list[tuple[str, str]]:
    """(kind, text) cells of a ``# %%`` script; ``# %% [markdown]`` cells are comment text."""
    if not path.is_file():
        return []
    parts = re.split(r"^# %%(.*)$", path.read_text(), flags=re.MULTILINE)
    cells = [("code", parts[0])] + [
        ("markdown" if "[markdown]" in marker else "code", body)
        for marker, body in zip(parts[1::2], parts[2::2], strict=True)]
    out = []
    for kind, body in cells:
        if kind == "markdown":
            body = "\n".join(re.sub(r"^# ?", "", line) for line in body.strip().splitlines())
        if body.strip():
            out.append((kind, body.strip()))
    return out


PUBLIC_TESTS_CELL = '''\
# Runs the public tests in tests/ on the functions defined in THIS notebook (run every cell
# above first). `grader check {name} {name}.ipynb` tests the notebook as the grader reads it.
import sys
import types

import pytest

module = sys.modules.setdefault("{module}", types.ModuleType("{module}"))
module.__dict__.update({{k: v for k, v in globals().items() if not k.startswith("_")}})
pytest.main(["-q", "-p", "no:cacheprovider", "tests"])'''


def build_notebook(cfg: AssignmentConfig, stub: str, readme: str) -> str:
    """The release notebook: task text, one tagged cell per stub definition, a test cell that
    tests the notebook's own functions, and the (tagged, never graded) exploration cells."""
    import nbformat
    from nbformat import v4

    from grader.intake.notebook import EXPLORE_TAG, GRADED_TAG, TESTS_TAG

    def code(text: str, tag: str) -> nbformat.NotebookNode:
        return v4.new_code_cell(text, metadata={"tags": [tag]})

    cells = [v4.new_markdown_cell(readme or f"# {cfg.title}")]
    cells.append(v4.new_markdown_cell(
        f"Fill in every function below (look for `# TODO`). When you are done, submit this "
        f"notebook (or a `{cfg.module}.py`). The grader keeps your imports, definitions and "
        "constants (and whatever they use); cells that train, plot or print are not run, and "
        "neither are the cells below *Explore*."))
    cells += [code(text, GRADED_TAG) for text in _split_definitions(stub)]
    cells.append(v4.new_markdown_cell("## Check your work\nRun the public tests (the hidden "
                                      "tests check more, with other inputs)."))
    cells.append(code(PUBLIC_TESTS_CELL.format(name=cfg.name, module=cfg.module),
                      TESTS_TAG))
    explore = _explore_cells(cfg.solution_dir / "explore.py")
    if explore:
        cells.append(v4.new_markdown_cell("## Explore"))
        cells += [v4.new_markdown_cell(text) if kind == "markdown" else code(text, EXPLORE_TAG)
                  for kind, text in explore]
    for index, cell in enumerate(cells):
        # nbformat draws random ids: derived ones make `grader release` twice change nothing.
        cell.id = f"{cfg.name}-{index}"[-64:]
    nb = v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "grader": {"assignment": cfg.name, "module": cfg.module}})
    nbformat.validate(nb)
    return nbformat.writes(nb)


def release(cfg: AssignmentConfig) -> list[Path]:
    """Write the student release of ``cfg`` into ``cfg.release_dir``; returns files written."""
    solution = cfg.solution_dir / cfg.module_file
    if not solution.is_file():
        raise ReleaseError(f"no reference solution at {solution}")
    stub = make_stub(solution.read_text(), str(solution))
    readme_path = cfg.solution_dir / "README.md"
    readme = readme_path.read_text() if readme_path.is_file() else ""
    out = cfg.release_dir
    if out.exists():
        shutil.rmtree(out)
    (out / "tests").mkdir(parents=True)
    written = [out / cfg.module_file, out / f"{cfg.name}.ipynb", out / "tests" / "conftest.py"]
    written[0].write_text(stub)
    written[1].write_text(build_notebook(cfg, stub, readme))
    written[2].write_text(CONFTEST)
    if readme:
        (out / "README.md").write_text(readme)
        written.append(out / "README.md")
    shutil.copyfile(SUBMIT_CLIENT, out / "submit.py")  # hands in to `grader serve` (stdlib only)
    written.append(out / "submit.py")
    for test in public_test_files(cfg):
        shutil.copyfile(test, out / "tests" / test.name)
        written.append(out / "tests" / test.name)
    return written


def public_test_files(cfg: AssignmentConfig) -> list[Path]:
    """The files of the released tests/ folder besides its conftest.py: the assignment's public
    tests and, when they import it, the course's one numerical-gradient helper
    (``solutions/gradcheck.py``, beside the solution folders)."""
    if not cfg.public_tests.is_dir():
        return []
    tests = [t for t in sorted(cfg.public_tests.glob("*.py")) if t.name != "conftest.py"]
    helper = cfg.solution_dir.parent / GRADCHECK
    if helper.is_file() and any(_imports(t, helper.stem) for t in tests):
        tests.append(helper)
    return tests


def _imports(path: Path, module: str) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == module:
            return True
        if isinstance(node, ast.Import) and any(a.name == module for a in node.names):
            return True
    return False
