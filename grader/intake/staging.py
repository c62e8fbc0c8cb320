"""Turning what students hand in into a staged module directory, or a clear error.

Accepted: a ``.py`` file (it becomes the module whatever its name), a ``.ipynb`` notebook, a
``.zip`` of those, or a directory holding any of them. Zips are checked entry by entry before
anything is written (absolute paths, ``..``, links, entry count, declared and actual sizes,
compression ratio). Notebooks become the module by the rules of ``grader.intake.notebook`` (in a
resource-limited child process); an empty file or the unchanged starter code is refused with
a message saying so.
"""

from __future__ import annotations

import ast
import re
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.intake import identity
from grader.intake.identity import safe_id
from grader.intake.notebook import (
    MAX_NOTEBOOK_BYTES,
    SANDBOX_PACKAGES,
    DerivedModule,
    NotebookError,
    convert,
)
from grader.intake.walk import MAX_DEPTH, WalkError, digest, walk

MAX_FILES = 200
MAX_TOTAL_BYTES = 64 << 20
MAX_PARSED_BYTES = 1 << 20  # the most of a submission the trusted process parses
MAX_RATIO = 200  # uncompressed/compressed beyond this is treated as a zip bomb
IGNORED = re.compile(r"(^|/)(__MACOSX|\.DS_Store|__pycache__|\.ipynb_checkpoints)(/|$)")


class IntakeError(ValueError):
    """The submission cannot be graded; the message is for the student."""


@dataclass
class Submission:
    student_id: str
    source: Path
    staged: Path | None = None        # directory holding <module>.py (and any data files)
    sha256: str = ""
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    mtime: float | None = None
    graded_file: str = ""                # the file whose code is graded (a .py or notebook)
    derived: DerivedModule | None = None  # set when that file is a notebook


def student_id_for(path: Path, rule: str = "stem") -> str:
    """The folder-safe id of a lone submission: its file stem or folder name (``stem``), or
    its parent folder's name (``parent``). Batches name students with
    ``grader.intake.identity.plan_batch``, which also keeps ids distinct."""
    name = path.parent.name if rule == "parent" else (path.stem if path.is_file() else path.name)
    return safe_id(name)


def is_single_submission(folder: Path, module: str, rule: str = "stem") -> bool:
    """Whether ``folder`` is one submission, not a batch (rule: grader.intake.identity)."""
    return identity.is_single_submission(folder, module, rule)


def discover(target: Path, module: str, rule: str = "stem") -> list[Path]:
    """What is staged for each graded submission under ``target`` (a file, a single
    submission folder or a batch); ``grader.intake.identity.plan_batch`` says what became of the
    other entries."""
    return [entry.source for entry in identity.plan_batch(target, module, rule).graded()]


def stage(source: Path, module: str, workdir: Path, *, id_rule: str = "stem",
          max_bytes: int = MAX_TOTAL_BYTES, starter: str | None = None,
          packages: frozenset[str] = SANDBOX_PACKAGES, student_id: str | None = None,
          sha256: str | None = None) -> Submission:
    """Stage one submission under ``workdir``; errors are recorded, never raised.

    ``starter`` is the released stub module: a submission that hands it in unchanged, or an
    empty file, is an error that says so. ``packages`` (besides the standard library) are
    importable in the sandbox: notebook imports of others that nothing graded uses are dropped.
    A batch passes the ``student_id`` and ``sha256`` it already computed for the entry.
    """
    sub = Submission(student_id or student_id_for(source, id_rule), source)
    try:
        if source.is_symlink():
            raise IntakeError("the submission is a symbolic link")
        sub.mtime = source.stat().st_mtime
        sub.sha256 = sha256 or digest(source)  # "": the batch could not read it: say why
        target = workdir / "submission"
        target.mkdir(parents=True)
        rules = _Rules(module, max_bytes, starter, packages)
        _stage_any(source, rules, target, sub, depth=0)
        _refuse_empty_or_starter((target / f"{module}.py").read_text(errors="replace"),
                                 sub.graded_file or source.name, starter,
                                 bool(sub.derived and sub.derived.warnings))
        sub.staged = target
    except (IntakeError, NotebookError, WalkError) as exc:
        sub.error = str(exc)
    except RecursionError:
        sub.error = "could not read the submission: it is nested too deeply to read"
    except MemoryError:
        sub.error = "could not read the submission: reading it needed too much memory"
    except (OSError, UnicodeDecodeError) as exc:
        sub.error = f"could not read the submission: {exc}"
    except Exception as exc:  # whatever a submission breaks is its own error, not a crash
        sub.error = f"could not read the submission ({type(exc).__name__}: {str(exc)[:300]})"
    return sub


@dataclass(frozen=True)
class _Rules:
    module: str
    max_bytes: int
    starter: str | None
    packages: frozenset[str]


def _statements(code: str) -> list[str] | None:
    """The module's statements as AST dumps, docstrings (module, class, function) left out;
    None if unparsable. Comments, blank lines, formatting, a byte-order mark and edited
    docstrings do not count: a reformatted stub, or one from an earlier release whose
    docstrings were corrected since, is still the stub. Code over MAX_PARSED_BYTES is not
    parsed here (an AST costs ~100x its text in memory): it is neither empty nor the starter,
    and only the sandbox reads it."""
    try:
        return _parsed_statements(code)
    except MemoryError:
        return None


def _parsed_statements(code: str) -> list[str] | None:
    """``_statements``, except that MemoryError passes: Python's parser raises it when its
    stack overflows (100,000 minus signs), and importing the code fails the same way."""
    if len(code) > MAX_PARSED_BYTES:
        return None
    try:  # ast.dump recurses as deep as the code nests: too deep is "not comparable" too
        tree = ast.parse(code.removeprefix("\ufeff"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                node.body = [n for n in node.body if not _is_docstring(n)] or [ast.Pass()]
        return [ast.dump(node) for node in tree.body if not _is_docstring(node)]
    except (SyntaxError, ValueError, RecursionError):
        return None


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
        and isinstance(node.value.value, str)


def is_starter(code: str, starter: str | None) -> bool:
    """``code`` is the released stub, unchanged but for comments, layout and cell splits."""
    if starter is None:
        return False
    mine = _statements(code)
    return mine is not None and mine == _statements(starter)


def _refuse_empty_or_starter(code: str, name: str, starter: str | None,
                             warned: bool) -> None:
    try:
        mine = _parsed_statements(code)
    except MemoryError:
        raise IntakeError(f"Python cannot parse {name}: an expression in it is nested too "
                          "deeply (the parser ran out of stack); split it into steps") from None
    if not code.strip() or mine == []:
        why = "the notes below say what was left out" if warned else \
            "did you save it before handing it in?"
        raise IntakeError(f"your file {name} is empty (no code to grade); {why}")
    if starter is not None and mine is not None and mine == _statements(starter):
        raise IntakeError(f"your {name} is the unchanged starter code: nothing in it was "
                          "filled in (did you hand in the file you worked on?)")


def _stage_any(source: Path, rules: _Rules, target: Path, sub: Submission,
               depth: int) -> None:
    if depth > 2:
        raise IntakeError("zips nested inside zips are not accepted")
    module_file = target / f"{rules.module}.py"
    if source.is_dir():
        _stage_dir(source, rules, target, sub, depth)
        return
    sub.graded_file = source.name
    if source.suffix == ".py":
        if source.stat().st_size > rules.max_bytes:
            raise IntakeError(f"{source.name} is larger than {rules.max_bytes >> 20} MiB")
        shutil.copyfile(source, module_file)
    elif source.suffix == ".ipynb":
        derived = _derive(source, rules)
        sub.derived = derived
        sub.warnings += [f"{source.name}: {w}" for w in derived.warnings]
        module_file.write_text(derived.code)
    elif source.suffix == ".zip":
        unpacked = target.parent / f"unzipped{depth}"
        unpacked.mkdir()
        extract_zip(source, unpacked, rules.max_bytes)
        _stage_any(_single_top(unpacked), rules, target, sub, depth + 1)
    else:
        raise IntakeError(f"{source.name}: expected a .py file, a .ipynb notebook, a .zip or "
                          "a folder")


def _derive(notebook: Path, rules: _Rules) -> DerivedModule:
    # The size is checked before anything is read or parsed.
    size = notebook.stat().st_size
    if size > min(MAX_NOTEBOOK_BYTES, rules.max_bytes):
        raise IntakeError(f"{notebook.name} is larger than "
                          f"{min(MAX_NOTEBOOK_BYTES, rules.max_bytes) >> 20} MiB; clear its "
                          "outputs (Edit > Clear all outputs) and save it again")
    return convert(notebook.read_bytes(), notebook.name, packages=rules.packages)


def _single_top(folder: Path) -> Path:
    entries = [p for p in folder.iterdir() if not IGNORED.search(p.name)]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else folder


def _stage_dir(source: Path, rules: _Rules, target: Path, sub: Submission,
               depth: int) -> None:
    files = walk(source, skip=lambda relative: bool(IGNORED.search(relative)))
    odd = [f for f in files if f.kind in ("link", "other")]
    if odd:
        what = "links" if odd[0].kind == "link" else "pipes, sockets or devices"
        raise IntakeError(f"the submission contains {what} ({odd[0].relative}); "
                          "submit plain files")
    plain = [f.path for f in files if f.kind == "file"]
    if len(plain) > MAX_FILES:
        raise IntakeError(f"the submission has {len(plain)} files; at most {MAX_FILES}")
    if sum(f.size for f in files if f.kind == "file") > rules.max_bytes:
        raise IntakeError(f"the submission is larger than {rules.max_bytes >> 20} MiB")
    chosen = choose_graded_file(source, rules.module, rules.starter, rules.packages,
                                max_bytes=rules.max_bytes)
    sub.warnings += chosen.warnings
    if chosen.path == source / f"{rules.module}.py":
        sub.graded_file = chosen.path.name
        for p in plain:
            dest = target / p.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dest)
        return
    _stage_any(chosen.path, rules, target, sub, depth)
    if chosen.path.suffix == ".ipynb":
        for p in plain:  # data files next to the notebook (e.g. checkpoints) come along
            if p.suffix not in (".ipynb", ".py", ".zip"):
                dest = target / p.relative_to(source)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(p, dest)


@dataclass(frozen=True)
class GradedFile:
    """The file of a submission folder whose code is graded, and what to tell the student."""

    path: Path
    warnings: list[str]


def choose_graded_file(folder: Path, module: str, starter: str | None,
                       packages: frozenset[str] = SANDBOX_PACKAGES, *,
                       max_bytes: int = MAX_TOTAL_BYTES) -> GradedFile:
    """The file a student worked on in ``folder`` (grading and ``grader check`` both ask here).

    ``<module>.py`` is graded, unless it is the unchanged ``starter`` (byte for byte, or but
    for layout, comments and docstrings) and a notebook beside it is not: then that notebook
    is (a zip of the whole release folder with the notebook filled in). Of several notebooks,
    the one that is not the unchanged starter. Without the module or a notebook, a lone
    ``.py`` or ``.zip``. Raises IntakeError when nothing, or more than one changed notebook,
    could be the submission.
    """
    inner = sorted(p for p in folder.iterdir() if p.suffix in (".ipynb", ".zip", ".py")
                   and not IGNORED.search(p.name))
    notebooks = [p for p in inner if p.suffix == ".ipynb"]
    module_py = folder / f"{module}.py"
    rules = _Rules(module, max_bytes, starter, packages)
    if module_py.is_file():
        if starter is None or not notebooks:
            return GradedFile(module_py, [])
        changed = [nb for nb in notebooks if not _starter_notebook(nb, rules)]
        if not changed:  # said anyway: the feedback names the file that was graded
            return GradedFile(module_py, [f"graded {module_py.name}; {_unchanged(notebooks)}"])
        if is_starter(module_py.read_text(errors="replace"), starter):
            chosen = _one_changed(changed)
            return GradedFile(chosen, [f"your {module_py.name} is the unchanged starter code; "
                                       f"graded {chosen.name} instead"])
        names = ", ".join(nb.name for nb in changed)
        return GradedFile(module_py, [f"graded {module_py.name}; {names} was not graded "
                                      "(hand in one of them)"])
    if len(notebooks) == 1 or (len(inner) == 1 and inner):
        return GradedFile((notebooks or inner)[0], [])
    if notebooks:
        changed = [nb for nb in notebooks if starter is None
                   or not _starter_notebook(nb, rules)]
        chosen = _one_changed(changed or notebooks[:1])
        left = [nb for nb in notebooks if nb != chosen]
        return GradedFile(chosen, [f"graded {chosen.name}; {_unchanged(left)}"]
                          if changed else [])
    found = ", ".join(p.name for p in inner) or "nothing"
    raise IntakeError(f"no {module}.py found (found: {found}); name your file {module}.py")


def _unchanged(notebooks: list[Path]) -> str:
    names = ", ".join(nb.name for nb in notebooks)
    return f"{names} {'is' if len(notebooks) == 1 else 'are'} the unchanged starter notebook"


def _starter_notebook(notebook: Path, rules: _Rules) -> bool:
    try:
        return is_starter(_derive(notebook, rules).code, rules.starter)
    except (IntakeError, NotebookError):
        return False  # a broken notebook is graded (and reported) if it is chosen


def _one_changed(notebooks: list[Path]) -> Path:
    if len(notebooks) > 1:
        names = ", ".join(nb.name for nb in notebooks)
        raise IntakeError(f"found {len(notebooks)} filled-in notebooks ({names}); hand in "
                          "only the one to grade")
    return notebooks[0]


def extract_zip(path: Path, dest: Path, max_bytes: int = MAX_TOTAL_BYTES,
                max_files: int = MAX_FILES) -> None:
    """Extract ``path`` into ``dest`` after checking every entry; raises IntakeError."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IntakeError(f"{path.name} is not a valid zip file ({exc})") from None
    with archive:
        infos = [i for i in archive.infolist() if not IGNORED.search(i.filename)]
        if len(infos) > max_files:
            raise IntakeError(f"{path.name} holds {len(infos)} entries; at most {max_files}")
        total = 0
        for info in infos:
            name = info.filename
            parts = PurePosixPath(name.replace("\\", "/")).parts
            if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
                raise IntakeError(f"{path.name}: entry {name!r} points outside the archive")
            if len(parts) > MAX_DEPTH + 1:  # a tree the walk would refuse, and rmtree recurse on
                raise IntakeError(f"{path.name}: entry {name[:80]!r}... nests more than "
                                  f"{MAX_DEPTH} folders deep; submit a flat folder")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise IntakeError(f"{path.name}: entry {name!r} is a link; links are refused")
            total += info.file_size
            if total > max_bytes:
                raise IntakeError(f"{path.name} unpacks to more than {max_bytes >> 20} MiB")
            if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise IntakeError(f"{path.name}: entry {name!r} compresses suspiciously well "
                                  "(zip bomb?)")
        written = 0
        for info in infos:
            target = dest.joinpath(*PurePosixPath(info.filename.replace("\\", "/")).parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as src, open(target, "wb") as out:
                    # Declared sizes can lie: count what actually comes out.
                    while chunk := src.read(1 << 16):
                        written += len(chunk)
                        if written > max_bytes:
                            raise IntakeError(f"{path.name} unpacks to more than "
                                              f"{max_bytes >> 20} MiB")
                        out.write(chunk)
            except (zipfile.BadZipFile, EOFError, ValueError, RuntimeError, zlib.error) as exc:
                raise IntakeError(f"{path.name}: entry {info.filename!r} is corrupt ({exc})") \
                    from None
