"""A corpus of notebooks as students hand them in, built from the released notebooks.

Every case starts from the committed release notebook of an assignment (assignments/<a>/) with
its graded cells filled in from the reference solution, then applies one habit seen in real
submissions: Colab's way of saving (``Copy of ...`` names, ``colab`` metadata, outputs, no cell
tags), nbformat 4.4 without cell ids, Windows line endings, an imports cell above the released
cells, a lambda helper, constants computed in exploration cells, the whole release folder zipped
with the untouched stub next to the notebook; and the submissions that must be refused with a
clear message (the untouched notebook, an empty file). Each ``Case`` says what must come out.

Everything is derived from the course (grader.yaml, the solution, the release), so an
assignment added as docs/AUTHORING.md says gets the whole corpus without a table entry here.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader.authoring.release import _split_definitions, strip_markers
from grader.course.config import AssignmentConfig, CourseConfig
from grader.intake.notebook import GRADED_TAG
from tests.conftest import COURSE

# (text in the solution, helper name, helper cell): a graded function calls a lambda helper.
# Assignments not listed get one derived from the first numpy/torch call of their solution.
LAMBDA_HELPERS = {
    "a0_perceptron": ("np.zeros(", "zeros", "zeros = lambda n: np.zeros(n)"),
    "a1_backprop": ("np.maximum(", "safe_max", "safe_max = lambda a, b: np.maximum(a, b)"),
    "a2_softmax": ("np.exp(", "safe_exp", "safe_exp = lambda z: np.exp(z)"),
    "a3_activations_init": ("np.maximum(", "safe_max", "safe_max = lambda a, b: np.maximum(a, b)"),
    "a4_regularization": ("np.maximum(", "safe_max", "safe_max = lambda a, b: np.maximum(a, b)"),
    "a5_optim": ("np.sqrt(", "root", "root = lambda v: np.sqrt(v)"),
    "a6_mnist": ("torch.manual_seed(", "seed_all", "seed_all = lambda s: torch.manual_seed(s)"),
    "a7_conv": ("np.zeros(", "zeros", "zeros = lambda shape: np.zeros(shape)"),
    "a8_data": ("np.sqrt(", "root", "root = lambda v: np.sqrt(v)"),
}
IMPORTS_ABOVE = ("import numpy as np\nimport matplotlib.pyplot as plt\nfrom tqdm import tqdm\n"
                 "%matplotlib inline\n")
COLAB_SETUP = "from google.colab import drive\ndrive.mount('/content/drive')\n!pip install -q tqdm"
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJ"
       "RU5ErkJggg==")  # a 1x1 plot


@dataclass(frozen=True)
class Case:
    """One submission of the corpus and the outcome it must have."""

    assignment: str
    habit: str
    path: Path                        # a .ipynb, a .py, a folder or a .zip
    error: str = ""                   # expected submission error (substring); "" = graded
    warnings: tuple[str, ...] = ()    # substrings that must appear among the warnings
    module: str = ""                  # the assignment's module (set by ``build``)


def _cfg(assignment: str, course: CourseConfig | None) -> AssignmentConfig:
    return (course or COURSE).assignment(assignment)


def solution(assignment: str, course: CourseConfig | None = None) -> str:
    """What a perfect student hands in: the reference solution without its markers."""
    cfg = _cfg(assignment, course)
    return strip_markers((cfg.solution_dir / cfg.module_file).read_text())


def release_notebook(assignment: str, course: CourseConfig | None = None) -> dict:
    cfg = _cfg(assignment, course)
    return json.loads((cfg.release_dir / f"{assignment}.ipynb").read_text())


def filled(assignment: str, solution_code: str | None = None,
           course: CourseConfig | None = None) -> dict:
    """The release notebook with every graded cell replaced by the solution's cell."""
    nb = release_notebook(assignment, course)
    answers = _split_definitions(solution_code or solution(assignment, course))
    graded = [c for c in nb["cells"] if GRADED_TAG in c["metadata"].get("tags", [])]
    assert len(graded) == len(answers), "release notebook and solution cells do not line up"
    for cell, text in zip(graded, answers, strict=True):
        cell["source"] = text
    return nb


def code_cell(source: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
            "source": source}


def _first_graded(nb: dict) -> int:
    return next(i for i, c in enumerate(nb["cells"])
                if GRADED_TAG in c["metadata"].get("tags", []))


def _lines(source: str | list[str]) -> list[str]:
    text = "".join(source) if isinstance(source, list) else source
    return text.splitlines(keepends=True)


def colab(nb: dict, assignment: str) -> dict:
    """As Colab saves a notebook: no tags, ids in cell metadata, outputs and counts, colab
    metadata, nbformat_minor 0, sources as lists of lines, a Drive-mount cell on top."""
    nb = copy.deepcopy(nb)
    nb["cells"].insert(0, code_cell(COLAB_SETUP))
    for i, cell in enumerate(nb["cells"]):
        cell.pop("id", None)
        cell["metadata"] = {"id": f"c{i:04x}Xq"}
        cell["source"] = _lines(cell["source"])
        if cell["cell_type"] == "code":
            cell["metadata"]["colab"] = {"base_uri": "https://localhost:8080/", "height": 35}
            cell["metadata"]["outputId"] = f"{i:08x}-ab12-4c3d-9e8f-0123456789ab"
            cell["execution_count"] = i
            cell["outputs"] = [
                {"output_type": "stream", "name": "stdout", "text": [f"step {i}\n"]},
                {"output_type": "display_data", "metadata": {},
                 "data": {"image/png": PNG, "text/plain": ["<Figure size 640x480 with 1 Axes>"]}},
            ]
    nb["metadata"] = {"colab": {"provenance": [], "collapsed_sections": [],
                                "name": f"Copy of {assignment}.ipynb"},
                      "kernelspec": {"name": "python3", "display_name": "Python 3"},
                      "language_info": {"name": "python"}, "accelerator": "GPU"}
    nb["nbformat_minor"] = 0
    return nb


def nbformat44(nb: dict) -> dict:
    """As Jupyter saved notebooks before cell ids (nbformat 4.4)."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        cell.pop("id", None)
        cell["source"] = _lines(cell["source"])
    nb["nbformat_minor"] = 4
    return nb


def windows(nb: dict) -> bytes:
    """CRLF everywhere: in the cell sources and between the file's lines."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        cell["source"] = "".join(_lines(cell["source"])).replace("\n", "\r\n")
    return json.dumps(nb, indent=1, ensure_ascii=False).replace("\n", "\r\n").encode()


def imports_above(nb: dict) -> dict:
    nb = copy.deepcopy(nb)
    nb["cells"].insert(_first_graded(nb), code_cell(IMPORTS_ABOVE))
    return nb


def exploration_constants(nb: dict, assignment: str) -> dict:
    """A Capitalized constant computed from exploration data, in a cell after the graded ones."""
    scores = "torch.randn(5, 3)" if assignment == "a6_mnist" else \
        "np.random.default_rng(0).standard_normal((5, 3))"
    nb = copy.deepcopy(nb)
    nb["cells"].append(code_cell(f"scores = {scores}\nN_CLASSES = scores.shape[1]\n"
                                  "print(N_CLASSES)"))
    return nb


def untagged(nb: dict) -> dict:
    """The tags lost (an editor that drops them): exploration cells are read like the rest."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        cell["metadata"].pop("tags", None)
    return nb


def _write(path: Path, nb: dict | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(nb if isinstance(nb, bytes) else json.dumps(nb, indent=1).encode())
    return path


def _release_folder(dest: Path, cfg: AssignmentConfig, nb: dict) -> Path:
    """The whole release folder as a student has it: the stub untouched, the notebook filled."""
    shutil.copytree(cfg.release_dir, dest)
    assignment = cfg.name
    _write(dest / f"{assignment}.ipynb", nb)
    return dest


def _zip(folder: Path, path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(folder.parent).as_posix())
    return path


def lambda_helper(assignment: str, code: str) -> tuple[str, str, str] | None:
    """(call to replace, helper name, helper cell) for the lambda-helper case: the table's
    entry, else one wrapping the first ``np.``/``torch.`` call of the solution ``code``; None
    when it calls neither (that case is then left out)."""
    if assignment in LAMBDA_HELPERS:
        return LAMBDA_HELPERS[assignment]
    found = re.search(r"\b(np|torch)\.([a-z_][a-z0-9_]*)\(", code)
    if found is None:
        return None
    call, helper = found.group(0), f"helper_{found.group(2)}"
    return call, helper, f"{helper} = lambda *args, **kwargs: {call}*args, **kwargs)"


def build(root: Path, assignment: str, course: CourseConfig | None = None) -> list[Case]:
    """Write the corpus of ``assignment`` under ``root``, a batch folder: one entry per case,
    named as a student would (the entry's stem or name is the student id)."""
    cfg = _cfg(assignment, course)
    a, module = assignment, cfg.module
    nb = filled(a, course=course)
    folder = _release_folder(root / f"{a}_folder", cfg, nb)
    cases = [
        Case(a, "jupyter", _write(root / f"{a}.ipynb", nb)),
        Case(a, "colab", _write(root / f"Copy of {a}.ipynb", colab(nb, a)),
             warnings=("google.colab",)),
        Case(a, "nbformat 4.4", _write(root / f"{a}_v44.ipynb", nbformat44(nb))),
        Case(a, "windows line endings", _write(root / f"{a}_crlf.ipynb", windows(nb))),
        Case(a, "imports cell above", _write(root / f"{a}_imports.ipynb", imports_above(nb)),
             warnings=("tqdm",)),
        Case(a, "exploration constant", _write(root / f"{a}_explore.ipynb",
                                               exploration_constants(nb, a)),
             warnings=("N_CLASSES", "scores")),
        Case(a, "tags lost", _write(root / f"{a}_untagged.ipynb", untagged(nb))),
        Case(a, "folder with the unchanged stub", folder,
             warnings=(f"{module}.py is the unchanged starter code",)),
        Case(a, "zip of the release folder",
             _zip(folder, root / f"Copy of {a}.zip"),
             warnings=(f"{module}.py is the unchanged starter code",)),
        Case(a, "untouched notebook",
             _write(root / f"{a}_untouched.ipynb", release_notebook(a, course)),
             error="unchanged starter code"),
        Case(a, "empty module", _write(root / "empty" / f"{module}.py", b"").parent,
             error="is empty"),
    ]
    if a == "a6_mnist":  # the explore cells bind CLASSES = train_set.classes (issue 8)
        cases[6] = Case(a, "tags lost", cases[6].path, warnings=("CLASSES",))
    helper = lambda_helper(a, solution(a, course))
    if helper is not None:
        find, name, cell = helper
        with_helper = filled(a, solution(a, course).replace(find, f"{name}(", 1), course)
        with_helper["cells"].insert(_first_graded(with_helper) + 1, code_cell(cell))
        cases.append(Case(a, "lambda helper", _write(root / f"{a}_lambda.ipynb", with_helper)))
    return [dataclasses.replace(case, module=module) for case in cases]
