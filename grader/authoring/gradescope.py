"""`grader export-gradescope`: an autograder zip for Gradescope (setup.sh + run_autograder).

The zip holds what grading needs and nothing a student could use: the grader package, the
assignment's hidden suite (its ``hidden_tests`` folder in grader.yaml), grader.yaml and
pyproject.toml. solutions/ and tests/ are never
packed (checked again on the final list of names, not only by construction).
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

from grader.course.config import CourseConfig

TORCH_PINS = "torch==2.14.1 torchvision==0.29.1"
OTHER_DEPS = "numpy pytest pyyaml nbformat"
FORBIDDEN_PREFIXES = ("solutions/", "tests/")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # same inputs -> byte-identical zip


class ExportError(ValueError):
    """The repository cannot be exported as asked (missing files, unknown assignment)."""


SETUP_SH = f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image.
# Pick an Ubuntu base image whose python3 satisfies pyproject.toml's requires-python.
set -euxo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends bubblewrap python3 python3-venv python3-pip
python3 -m venv /autograder/venv
PIP=/autograder/venv/bin/pip
"$PIP" install --upgrade pip
# CPU wheels: Gradescope machines have no GPU and the CUDA wheels are gigabytes.
"$PIP" install --index-url https://download.pytorch.org/whl/cpu {TORCH_PINS}
"$PIP" install {OTHER_DEPS}
# A regular (not editable) install puts the grader in the venv, away from autotests/,
# so the sandboxed worker can import it without any path that leads to the hidden suite.
"$PIP" install /autograder/source
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission (as root). It grades the submission with the
# hidden suite and always leaves results/results.json, even when the grader itself fails.
set -uo pipefail

ASSIGNMENT=@ASSIGNMENT@
MAX_SCORE=@MAX_SCORE@  # the assignment's points in grader.yaml when exported
ROOT="${AUTOGRADER_ROOT:-/autograder}"  # overridable so the script can be tested anywhere
RESULTS="$ROOT/results/results.json"
export PATH="$ROOT/venv/bin:$PATH"

work="$(mktemp -d)"
mkdir -p "$ROOT/results" "$work/submission"
# Grade a copy, so nothing the grading does can alter Gradescope's submission folder.
cp -R "$ROOT/submission/." "$work/submission/"

cd "$ROOT/source" || exit 1
grader grade "$ASSIGNMENT" "$work/submission" --out "$work/out"@EXTRA_ARGS@
status=$?

mapfile -t found < <(find "$work/out/$ASSIGNMENT" -name results.json -type f 2>/dev/null)
if [ "${#found[@]}" -eq 1 ] && cp "${found[0]}" "$RESULTS"; then
    exit 0
fi

# The grader's own traceback may quote hidden tests: it goes to stdout (staff only), and the
# student gets a fixed message.
echo "grader exited with status $status and left ${#found[@]} results.json file(s)"
python3 - "$RESULTS" "$ASSIGNMENT" "$status" "$MAX_SCORE" <<'PY'
import json
import sys

path, assignment, status, max_score = sys.argv[1:5]
error = (
    f"The autograder could not grade this submission (grader exit status {status}). "
    "This says nothing about your work: please tell the course staff."
)
result = {"score": 0.0, "max_score": float(max_score), "output": error, "tests": [],
          "status": "crashed", "error": error, "assignment": assignment}
with open(path, "w", encoding="utf-8") as f:
    json.dump(result, f, indent=2)
PY
"""


def render_run_autograder(assignment: str, max_score: float, *, insecure: bool = False) -> str:
    """The run_autograder script for ``assignment`` worth ``max_score`` points."""
    extra = " --insecure" if insecure else ""
    return (RUN_AUTOGRADER.replace("@ASSIGNMENT@", assignment)
            .replace("@MAX_SCORE@", repr(float(max_score))).replace("@EXTRA_ARGS@", extra))


def _tree_files(root: Path, folder: Path) -> list[tuple[str, Path]]:
    """(archive name, path) of every file under ``folder``, minus caches and dotfiles."""
    found = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(root)
        if any(part == "__pycache__" or part.startswith(".") for part in rel.parts):
            continue
        if path.is_symlink():
            # A link could pull in anything (solutions/ included): refuse rather than guess.
            raise ExportError(f"refusing to pack symbolic link {rel}")
        if path.is_file() and path.suffix != ".pyc":
            found.append((rel.as_posix(), path))
    return found


def _collect(course: CourseConfig, assignment: str) -> list[tuple[str, Path]]:
    cfg = course.assignment(assignment)
    root = course.root.resolve()
    suite = cfg.hidden_tests.resolve()
    for path in (root / "grader", suite, course.path, root / "pyproject.toml"):
        if not path.exists():
            raise ExportError(f"{path} is missing")
    if not suite.is_relative_to(root):
        # run_autograder grades from the unpacked course folder: the suite must be inside it.
        raise ExportError(f"assignments.{assignment}.hidden_tests {suite} is outside {root}")
    files = _tree_files(root, root / "grader") + _tree_files(root, suite)
    # Files directly in the suites' parent folder (a shared conftest.py) serve every suite;
    # other assignments' folders are left out.
    shared = suite.parent
    if shared != root:
        files += [(p.relative_to(root).as_posix(), p) for p in sorted(shared.iterdir())
                  if p.is_file() and not p.name.startswith(".") and not p.is_symlink()]
    files += [(course.path.relative_to(root).as_posix(), course.path),
              ("pyproject.toml", root / "pyproject.toml")]
    return files


def _add(zf: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.create_system = 3  # unix, so unzip honours the permission bits below
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def export_gradescope(
    course: CourseConfig, assignment: str, out_zip: Path, *, insecure: bool = False
) -> list[str]:
    """Build the Gradescope autograder zip for ``assignment``; returns the archive's names.

    ``insecure`` makes run_autograder pass --insecure (for Gradescope images where bubblewrap
    cannot create namespaces; each result then says it was graded without a sandbox).
    """
    files = _collect(course, assignment)
    script = render_run_autograder(assignment, course.assignment(assignment).points,
                                   insecure=insecure)
    entries: list[tuple[str, bytes, int]] = [
        ("setup.sh", SETUP_SH.encode(), 0o755),
        ("run_autograder", script.encode(), 0o755),
    ]
    entries += [(name, path.read_bytes(), 0o644) for name, path in files]
    names = [name for name, _, _ in entries]
    leaked = [n for n in names if n.startswith(FORBIDDEN_PREFIXES)]
    if leaked:
        raise ExportError(f"refusing to export {leaked[:3]}: solutions/ and tests/ stay private")

    out_zip = Path(out_zip)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_zip.name}.", suffix=".tmp", dir=out_zip.parent)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as zf:
            for name, data, mode in entries:
                _add(zf, name, data, mode)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out_zip)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return names
