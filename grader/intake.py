"""Turning what students hand in into a staged module directory, or a clear error.

Accepted: a ``.py`` file (it becomes the module whatever its name), a ``.ipynb`` notebook, a
``.zip`` of those, or a directory holding any of them. Zips are checked entry by entry before
anything is written (absolute paths, ``..``, links, entry count, declared and actual sizes,
compression ratio). Notebooks are read with nbformat; code cells become the module by the
names they define, not by position (see ``notebook_to_module``).
"""

from __future__ import annotations

import ast
import hashlib
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader import identity
from grader.identity import safe_id

MAX_FILES = 200
MAX_TOTAL_BYTES = 64 << 20
MAX_RATIO = 200  # uncompressed/compressed beyond this is treated as a zip bomb
IGNORED = re.compile(r"(^|/)(__MACOSX|\.DS_Store|__pycache__|\.ipynb_checkpoints)(/|$)")
SETUP_TAG = "graded-setup"


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


def student_id_for(path: Path, rule: str = "stem") -> str:
    """The folder-safe id of a lone submission: its file stem or folder name (``stem``), or
    its parent folder's name (``parent``). Batches name students with
    ``grader.identity.plan_batch``, which also keeps ids distinct."""
    name = path.parent.name if rule == "parent" else (path.stem if path.is_file() else path.name)
    return safe_id(name)


def is_single_submission(folder: Path, module: str, rule: str = "stem") -> bool:
    """Whether ``folder`` is one submission, not a batch (rule: grader.identity)."""
    return identity.is_single_submission(folder, module, rule)


def discover(target: Path, module: str, rule: str = "stem") -> list[Path]:
    """What is staged for each graded submission under ``target`` (a file, a single
    submission folder or a batch); ``grader.identity.plan_batch`` says what became of the
    other entries."""
    return [entry.source for entry in identity.plan_batch(target, module, rule).graded()]


def digest(path: Path) -> str:
    """sha256 over the submission's files (relative names and bytes), links not followed."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        h.update(str(f.relative_to(path) if f != path else f.name).encode() + b"\0")
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def stage(source: Path, module: str, workdir: Path, *, id_rule: str = "stem",
          max_bytes: int = MAX_TOTAL_BYTES) -> Submission:
    """Stage one submission under ``workdir``; errors are recorded, never raised."""
    sub = Submission(student_id_for(source, id_rule), source)
    try:
        if source.is_symlink():
            raise IntakeError("the submission is a symbolic link")
        sub.mtime = source.stat().st_mtime
        sub.sha256 = digest(source)
        target = workdir / "submission"
        target.mkdir(parents=True)
        _stage_any(source, module, target, sub, max_bytes, depth=0)
        sub.staged = target
    except IntakeError as exc:
        sub.error = str(exc)
    except (OSError, UnicodeDecodeError) as exc:
        sub.error = f"could not read the submission: {exc}"
    return sub


def _stage_any(source: Path, module: str, target: Path, sub: Submission, max_bytes: int,
               depth: int) -> None:
    if depth > 2:
        raise IntakeError("zips nested inside zips are not accepted")
    if source.is_dir():
        _stage_dir(source, module, target, sub, max_bytes, depth)
    elif source.suffix == ".py":
        if source.stat().st_size > max_bytes:
            raise IntakeError(f"{source.name} is larger than {max_bytes >> 20} MiB")
        shutil.copyfile(source, target / f"{module}.py")
    elif source.suffix == ".ipynb":
        code, warnings = notebook_to_module(source.read_bytes())
        sub.warnings += [f"{source.name}: {w}" for w in warnings]
        (target / f"{module}.py").write_text(code)
    elif source.suffix == ".zip":
        unpacked = target.parent / f"unzipped{depth}"
        unpacked.mkdir()
        extract_zip(source, unpacked, max_bytes)
        _stage_any(_single_top(unpacked), module, target, sub, max_bytes, depth + 1)
    else:
        raise IntakeError(f"{source.name}: expected a .py file, a .ipynb notebook, a .zip or "
                          "a folder")


def _single_top(folder: Path) -> Path:
    entries = [p for p in folder.iterdir() if not IGNORED.search(p.name)]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else folder


def _stage_dir(source: Path, module: str, target: Path, sub: Submission, max_bytes: int,
               depth: int) -> None:
    files = [p for p in source.rglob("*") if not IGNORED.search(p.relative_to(source).as_posix())]
    links = [p for p in files if p.is_symlink()]
    if links:
        raise IntakeError(f"the submission contains links ({links[0].relative_to(source)}); "
                          "submit plain files")
    plain = [p for p in files if p.is_file()]
    if len(plain) > MAX_FILES:
        raise IntakeError(f"the submission has {len(plain)} files; at most {MAX_FILES}")
    if sum(p.stat().st_size for p in plain) > max_bytes:
        raise IntakeError(f"the submission is larger than {max_bytes >> 20} MiB")
    if (source / f"{module}.py").is_file():
        for p in plain:
            dest = target / p.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dest)
        return
    inner = [p for p in source.iterdir() if p.suffix in (".ipynb", ".zip", ".py")
             and not IGNORED.search(p.name)]
    notebooks = [p for p in inner if p.suffix == ".ipynb"]
    if len(notebooks) == 1:
        _stage_any(notebooks[0], module, target, sub, max_bytes, depth)
        for p in plain:  # data files next to the notebook (e.g. checkpoints) come along
            if p.suffix not in (".ipynb", ".py", ".zip"):
                dest = target / p.relative_to(source)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(p, dest)
        return
    if len(inner) == 1:
        _stage_any(inner[0], module, target, sub, max_bytes, depth)
        return
    found = ", ".join(sorted(p.name for p in inner)) or "nothing"
    raise IntakeError(f"no {module}.py found (found: {found}); name your file {module}.py")


def extract_zip(path: Path, dest: Path, max_bytes: int = MAX_TOTAL_BYTES) -> None:
    """Extract ``path`` into ``dest`` after checking every entry; raises IntakeError."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IntakeError(f"{path.name} is not a valid zip file ({exc})") from None
    with archive:
        infos = [i for i in archive.infolist() if not IGNORED.search(i.filename)]
        if len(infos) > MAX_FILES:
            raise IntakeError(f"{path.name} holds {len(infos)} entries; at most {MAX_FILES}")
        total = 0
        for info in infos:
            name = info.filename
            parts = PurePosixPath(name.replace("\\", "/")).parts
            if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
                raise IntakeError(f"{path.name}: entry {name!r} points outside the archive")
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
            except (zipfile.BadZipFile, EOFError, ValueError, RuntimeError) as exc:
                raise IntakeError(f"{path.name}: entry {info.filename!r} is corrupt ({exc})") \
                    from None


def _keep_statement(node: ast.stmt) -> bool:
    """Top-level statements a notebook contributes at grading time."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                         ast.ClassDef)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if all(isinstance(t, ast.Name) and t.id[0].isupper() for t in targets):
            # Capitalized names are constants or type aliases by convention
            # (XOR_X = np.array(...), Config = dict[str, Any]).
            return True
        try:
            ast.literal_eval(node.value)
            return True
        except ValueError:
            return False
    return False


def notebook_to_module(data: bytes) -> tuple[str, list[str]]:
    """The module text of a notebook, and warnings about what was left out.

    Code cells contribute their imports, definitions and constant assignments (a literal
    value, or any value bound to a Capitalized name) in order (a later definition of a name
    replaces an earlier one, as in the notebook). IPython magics and
    shell escapes are dropped; other top-level statements (training runs, plots, prints) are
    not executed at grading time unless the cell is tagged ``graded-setup``.
    """
    import nbformat

    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError,
            nbformat.ValidationError) as exc:
        raise IntakeError(f"not a valid Jupyter notebook ({type(exc).__name__}: "
                          f"{str(exc)[:200]})") from None
    chunks, warnings = [], []
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        source = cell.source
        if source.lstrip().startswith("%%"):
            continue
        lines = [line for line in source.splitlines()
                 if not line.lstrip().startswith(("%", "!"))]
        text = "\n".join(lines)
        try:
            tree = ast.parse(text)
        except SyntaxError as exc:
            warnings.append(f"code cell {number} has a syntax error (line {exc.lineno}: "
                            f"{exc.msg}) and was left out")
            continue
        if SETUP_TAG in cell.metadata.get("tags", []):
            chunks.append(f"# --- cell {number} (graded-setup)\n{text}\n")
            continue
        kept = [_source_of(text, node) for node in tree.body if _keep_statement(node)]
        if kept:
            chunks.append(f"# --- cell {number}\n" + "\n\n".join(kept) + "\n")
    return "\n".join(chunks), warnings


def _source_of(text: str, node: ast.stmt) -> str:
    """Source of a statement including decorators (get_source_segment starts at `def`)."""
    lines = text.splitlines()
    start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
    return "\n".join(lines[start - 1:node.end_lineno])
