"""`grader export-gradescope`: an autograder zip for Gradescope (setup.sh + run_autograder).

The zip is self-contained and holds nothing a student could use: the grader package, the
assignment's hidden suite (its ``hidden_tests`` folder), pyproject.toml, a ``grader.yaml``
written for that one assignment (no roster, one submission named ``stem``, CPU), the released
stub module (so an unchanged stub is refused as on the course machine) and the data the suite reads
(a6: the MNIST-family split files, MD5-checked here and again on Gradescope). solutions/ and
tests/ are never packed (checked again on the final list of names, not only by construction).
Before the zip replaces ``out_zip`` it is unpacked and loaded as run_autograder will load it;
a zip that could not grade is never written.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import yaml

from grader.course.config import AssignmentConfig, ConfigError, CourseConfig, load_config

TORCH_PINS = "torch==2.14.1 torchvision==0.29.1"
OTHER_DEPS = "numpy pytest pyyaml nbformat"
FORBIDDEN_PREFIXES = ("solutions/", "tests/")
CONFIG_NAME = "grader.yaml"  # what run_autograder's `grader grade` reads, from the zip's root
STARTER_DIR = "starter"  # the released stub module (public), for the unchanged-starter check
PRIVATE_TEST_SET = "private_test_set.npz"  # an a6 private test set, under the zip's data/
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
@DATA_STEP@"""

# Decompresses and MD5-checks the packed data files (a no-op when nothing changed); run by
# setup.sh at build time and by run_autograder before each grading.
DATA_COMMAND = 'grader data fetch {name} --root "{root}/source/data" --from "{root}/source/data"'


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
@DATA_STEP@grader grade "$ASSIGNMENT" "$work/submission" --out "$work/out"@EXTRA_ARGS@
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


def render_run_autograder(assignment: str, max_score: float, *, insecure: bool = False,
                          datasets: tuple[str, ...] = ()) -> str:
    """The run_autograder script for ``assignment`` worth ``max_score`` points."""
    extra = " --insecure" if insecure else ""
    # A data set that fails its check leaves the grading to report it (a crashed result).
    step = "".join(DATA_COMMAND.format(name=n, root="$ROOT") + " || true\n" for n in datasets)
    return (RUN_AUTOGRADER.replace("@ASSIGNMENT@", assignment)
            .replace("@MAX_SCORE@", repr(float(max_score))).replace("@EXTRA_ARGS@", extra)
            .replace("@DATA_STEP@", step))


def render_setup(datasets: tuple[str, ...] = ()) -> str:
    """setup.sh; it also checks the packed data sets."""
    step = "".join(DATA_COMMAND.format(name=n, root="/autograder").replace(
        "grader data", "/autograder/venv/bin/grader data") + "\n" for n in datasets)
    if step:
        step = ("# The data set files packed in the zip are checked (MD5) and decompressed now, "
                "so a bad\n# image fails here instead of on every submission.\n" + step)
    return SETUP_SH.replace("@DATA_STEP@", step)


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
    for path in (root / "grader", suite, root / "pyproject.toml"):
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
    files.append(("pyproject.toml", root / "pyproject.toml"))
    return files


def _data_files(cfg: AssignmentConfig) -> tuple[tuple[str, ...], list[tuple[str, Path]]]:
    """The data sets the hidden suite reads and their files, each checked here: (data set
    names for ``grader data fetch``, [(archive name, path)]). Only a6-style assignments (their
    options resolved by grader.mnist.scoring) read data."""
    from grader.mnist.scoring import MnistOptions, private_test_set_path

    settings = cfg.settings
    if not isinstance(settings, MnistOptions):
        return (), []
    files: list[tuple[str, Path]] = []
    private = private_test_set_path(settings, cfg.data_root)
    if private is not None:
        if not private.is_file():
            raise ExportError(f"assignments.{cfg.name}.options.private_test_set: {private} "
                              "does not exist")
        files.append((f"data/{PRIVATE_TEST_SET}", private))
    splits = (["test"] if private is None else []) + \
        (["train"] if settings.mode == "retrain" else [])
    if not splits:
        return (), files
    from grader.mnist import data

    report = data.inspect(settings.dataset, cfg.data_root)
    for split in splits:
        if not report.split_ok(split):
            raise ExportError(
                f"the {split} split of {report.name} that assignments.{cfg.name} needs is not "
                f"in {report.raw_folder} with torchvision's MD5 (run `grader data fetch "
                f"{report.name}` first):\n{data.describe(report)}")
    prefixes = tuple(data.SPLITS[s] for s in splits)
    files += [(f"data/{report.class_name}/raw/{f.filename}", report.raw_folder / f.filename)
              for f in report.files if f.filename.startswith(prefixes)]
    return (report.name,), files


def minimal_config(course: CourseConfig, cfg: AssignmentConfig) -> str:
    """grader.yaml for the zip: the course's defaults and this one assignment's entry as
    written, minus what does not hold on Gradescope (a roster, LMS naming, a GPU, other
    assignments); data under data/ and the starter under starter/."""
    try:
        raw = yaml.safe_load(course.path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ExportError(f"cannot read {course.path}: {exc}") from None
    defaults = {k: v for k, v in (raw.get("defaults") or {}).items() if k != "roster"}
    # Gradescope hands in one submission folder, on a machine without a GPU.
    defaults.update(student_id="stem", device="cpu", workers=1, data_root="data")
    entry = {k: v for k, v in raw["assignments"][cfg.name].items()
             if k not in ("public_tests", "solution", "release", "device")}
    entry["hidden_tests"] = cfg.hidden_tests.resolve().relative_to(
        course.root.resolve()).as_posix()
    entry["release"] = STARTER_DIR
    if getattr(cfg.settings, "private_test_set", None):
        entry["options"] = {**entry["options"], "private_test_set": PRIVATE_TEST_SET}
    text = yaml.safe_dump({"course": raw.get("course", ""), "defaults": defaults,
                           "assignments": {cfg.name: entry}}, sort_keys=False,
                          allow_unicode=True)
    return (f"# Written by `grader export-gradescope {cfg.name}` from {course.path.name}: "
            "this one assignment, as Gradescope grades it.\n" + text)


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
    Raises ExportError (``out_zip`` untouched) when the zip could not grade.
    """
    cfg = course.assignment(assignment)
    files = _collect(course, assignment)
    datasets, data_files = _data_files(cfg)
    script = render_run_autograder(assignment, cfg.points, insecure=insecure,
                                   datasets=datasets)
    entries: list[tuple[str, bytes, int]] = [
        ("setup.sh", render_setup(datasets).encode(), 0o755),
        ("run_autograder", script.encode(), 0o755),
        (CONFIG_NAME, minimal_config(course, cfg).encode(), 0o644),
    ]
    # The released stub, which students already have (never one made here from solutions/).
    starter = cfg.release_dir / cfg.module_file
    if starter.is_file():
        entries.append((f"{STARTER_DIR}/{cfg.module_file}", starter.read_bytes(), 0o644))
    entries += [(name, path.read_bytes(), 0o644) for name, path in files + data_files]
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
        _check_unpacked(Path(tmp), assignment, datasets)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out_zip)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return names


def _check_unpacked(zip_path: Path, assignment: str, datasets: tuple[str, ...]) -> None:
    """Unpack the zip and load it as run_autograder does: its grader.yaml, the suite, the
    starter and the data; ExportError naming what would make every submission crash."""
    from grader.mnist import data

    with tempfile.TemporaryDirectory(prefix="gradescope-check-") as tmp:
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(tmp)
        try:
            cfg = load_config(Path(tmp) / CONFIG_NAME).assignment(assignment)
        except ConfigError as exc:
            raise ExportError(f"the exported {CONFIG_NAME} does not load: {exc}") from None
        if not cfg.hidden_tests.is_dir():
            raise ExportError(f"the zip lacks the hidden suite of {assignment}")
        for name in datasets:
            report = data.fetch(name, cfg.data_root, source=cfg.data_root)
            if report.corrupt or not report.present:
                raise ExportError(f"the zip's copy of {name} does not check:\n"
                                  f"{data.describe(report)}")
