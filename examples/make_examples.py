"""Build the example submissions the demo grades, from the reference solutions.

For each assignment: ``alice.py`` (correct; for a6 a folder ``alice/`` with the reference
checkpoints), ``bob.py`` (one realistic bug), ``erin.ipynb``
(the release notebook with the answers filled in), ``frank.zip`` (a zipped folder), plus the
committed broken ones in examples/static/ (a syntax error, a corrupt zip, an invalid notebook).
Generated rather than committed so the examples never drift from the solutions.

Usage: python examples/make_examples.py OUT_DIR [ASSIGNMENT ...]
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the variants tooling lives with the tests

from grader.authoring.release import build_notebook, strip_markers  # noqa: E402
from grader.course.config import load_config  # noqa: E402
from tests.variants.mutate import Edit, apply  # noqa: E402

# One plausible mistake per assignment for the partly-wrong example.
BUGS = {
    "a1_backprop": [Edit("relu_backward", "dout * (x > 0)", "dout * (x >= 0)")],
    "a2_softmax": [Edit("softmax", "np.sum(e, axis=-1, keepdims=True)", "np.sum(e)")],
}


def build(out: Path, names: list[str]) -> None:
    course = load_config(ROOT / "grader.yaml")
    for name in names:
        cfg = course.assignment(name)
        folder = out / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        solution = strip_markers((cfg.solution_dir / cfg.module_file).read_text())
        (folder / "alice.py").write_text(solution)
        if name in BUGS:
            (folder / "bob.py").write_text(apply(solution, BUGS[name]))
        checkpoints = cfg.solution_dir / "checkpoints" / str(cfg.options.get("dataset", ""))
        if checkpoints.is_dir():  # a6: a folder submission with the trained weights
            alice = folder / "alice"
            alice.mkdir()
            (folder / "alice.py").rename(alice / cfg.module_file)
            for weights in sorted(checkpoints.glob("*.pt")):
                shutil.copyfile(weights, alice / weights.name)
        readme = cfg.solution_dir / "README.md"
        notebook = build_notebook(cfg, solution, readme.read_text() if readme.is_file() else "")
        (folder / "erin.ipynb").write_text(notebook)
        with zipfile.ZipFile(folder / "frank.zip", "w") as zf:
            zf.writestr(f"frank/{cfg.module_file}", solution)
        for static in sorted((ROOT / "examples" / "static").iterdir()):
            shutil.copyfile(static, folder / static.name)
        print(f"{name}: {len(list(folder.iterdir()))} example submissions in {folder}")


if __name__ == "__main__":
    build(Path(sys.argv[1]), sys.argv[2:] or ["a1_backprop", "a2_softmax"])
