"""The notebook contract (grader/intake/notebook.py): what of a notebook is graded, and where each
line of the graded module came from."""

from __future__ import annotations

import json
import resource

import nbformat
import pytest
from nbformat import v4

from grader.intake.notebook import (
    MAX_CODE_BYTES,
    DerivedModule,
    Limits,
    NotebookError,
    convert,
    derive,
    read_cells,
    sandbox_packages,
)
from tests import notebook_corpus


def notebook(*cells: str, tags: dict[int, list[str]] | None = None) -> bytes:
    nb = v4.new_notebook(cells=[v4.new_code_cell(c) for c in cells])
    for i, t in (tags or {}).items():
        nb.cells[i].metadata["tags"] = t
    return nbformat.writes(nb).encode()


def derived(*cells: str, tags: dict[int, list[str]] | None = None,
            packages: frozenset[str] = sandbox_packages(False)) -> DerivedModule:
    return derive(read_cells(notebook(*cells, tags=tags)), "hw.ipynb", packages=packages)


def run(module: DerivedModule) -> dict:
    namespace: dict = {"__name__": "hw"}
    exec(compile(module.code, "hw.py", "exec"), namespace)
    return namespace


def test_definitions_imports_and_constants_are_kept_and_top_level_runs_are_not() -> None:
    module = derived("%matplotlib inline\nimport numpy as np", "!pip install foo",
                     "def relu(x):\n    return np.maximum(x, 0)\nrelu(np.ones(3))",
                     "%%time\nwhile True: pass", "LR = 0.1\nmodel = train()")
    namespace = run(module)
    assert "relu" in namespace and namespace["LR"] == 0.1
    assert "pip" not in module.code and "while True" not in module.code
    assert "train()" not in module.code


def test_capitalized_constants_and_aliases_are_kept_whatever_their_value() -> None:
    module = derived("import numpy as np\nXOR_X = np.eye(2)\nConfig = dict[str, float]\n"
                     "data = np.ones(10**9)")
    assert "XOR_X = np.eye(2)" in module.code and "Config = dict" in module.code
    assert "np.ones" not in module.code


def test_an_imports_cell_above_the_released_cells_keeps_future_imports_first() -> None:
    module = derived("import numpy as np\nimport math",
                     '"""Docstring."""\nfrom __future__ import annotations\n\n'
                     "def f(x: np.ndarray) -> float:\n    return math.pi")
    first = next(line for line in module.code.splitlines() if not line.startswith("#"))
    assert first == "from __future__ import annotations"
    assert run(module)["f"].__annotations__["x"] == "np.ndarray"


def test_a_lambda_helper_used_by_a_graded_function_is_kept() -> None:
    module = derived("import numpy as np", "safe_exp = lambda z: np.exp(np.minimum(z, 700))",
                     "def softmax(z):\n    e = safe_exp(z - z.max())\n    return e / e.sum()")
    assert run(module)["softmax"](__import__("numpy").zeros(2)).tolist() == [0.5, 0.5]


def test_a_lowercase_binding_a_graded_function_uses_is_pulled_in() -> None:
    module = derived("import numpy as np", "eps = np.finfo(float).eps",
                     "def safe_log(x):\n    return np.log(x + eps)", "scores = np.ones(3)")
    assert "eps = np.finfo" in module.code and "scores" not in module.code
    assert run(module)["safe_log"](1.0) == pytest.approx(0.0)


def test_a_constant_computed_from_exploration_data_is_left_out_with_a_warning() -> None:
    module = derived("import numpy as np", "def f(x):\n    return x",
                     "scores = np.random.default_rng(0).standard_normal((4, 3))\n"
                     "N_CLASSES = scores.shape[1]")
    assert "N_CLASSES" not in module.code and "scores" not in module.code
    assert any("cell 3, line 2" in w and "N_CLASSES" in w and "scores" in w
               for w in module.warnings)
    assert "f" in run(module)


def test_a_graded_function_using_a_left_out_constant_is_warned_about() -> None:
    module = derived("def f(x):\n    return x * SCALE", "SCALE = data.std()")
    assert any(w.startswith("cell 1, line 1: `def f(x):` uses `SCALE`, but only code the "
                            "grader does not run sets it (cell 2, line 1") for w in module.warnings)


@pytest.mark.parametrize("line", ["from tqdm import tqdm", "from google.colab import drive",
                                  "import matplotlib.pyplot as plt", "import torch"])
def test_an_unused_import_the_sandbox_lacks_is_left_out_with_a_warning(line: str) -> None:
    module = derived(f"import numpy as np\n{line}", "def f(x):\n    return np.abs(x)")
    assert line not in module.code and "import numpy as np" in module.code
    assert any(line in w and "not installed" in w for w in module.warnings)


def test_an_import_a_graded_function_uses_is_kept_even_if_the_sandbox_lacks_it() -> None:
    module = derived("import pandas as pd", "def f(path):\n    return pd.read_csv(path)")
    assert "import pandas as pd" in module.code  # its error at import names the cell


def test_torch_is_available_only_where_the_assignment_allows_it() -> None:
    cells = ("import torch", "def f():\n    return 1")
    assert "import torch" not in derived(*cells).code
    assert "import torch" in derived(*cells, packages=sandbox_packages(True)).code


def test_a_constant_that_calls_the_notebooks_own_functions_is_not_run() -> None:
    module = derived("def train():\n    raise SystemExit", "MODEL = train()")
    assert "MODEL" not in module.code
    assert any("MODEL = train()" in w and "not run" in w for w in module.warnings)


def test_graded_code_never_pulls_in_a_binding_that_runs_the_notebooks_functions() -> None:
    module = derived("def train():\n    raise SystemExit", "def predict(x):\n    return model(x)",
                     "model = train()")
    assert "model = train()" not in module.code and "def predict" in module.code
    assert any("uses `model`" in w and "model = train()" in w for w in module.warnings)


def test_exploration_and_test_cells_of_the_release_are_never_graded() -> None:
    module = derived("def f():\n    return 1", "def plot():\n    pass", "import pytest",
                     tags={1: ["explore"], 2: ["public-tests"]})
    assert "plot" not in module.code and "pytest" not in module.code
    assert module.warnings == []


def test_graded_setup_cells_run_in_full() -> None:
    module = derived("import math\nTABLE = [math.sqrt(i) for i in range(3)]",
                     tags={0: ["graded-setup"]})
    assert run(module)["TABLE"][2] == pytest.approx(2 ** 0.5)


def test_a_later_definition_replaces_an_earlier_one() -> None:
    assert run(derived("def f():\n    return 1", "def f():\n    return 2"))["f"]() == 2


def test_decorated_definitions_keep_their_decorators() -> None:
    module = derived("import functools\n@functools.lru_cache\ndef f(x):\n    return x")
    assert "@functools.lru_cache" in module.code


def test_a_cell_with_a_syntax_error_is_left_out_with_a_warning_naming_cell_and_line() -> None:
    module = derived("def ok():\n    return 1", "x = 1\ndef broken(:\n")
    assert "def ok" in module.code and "broken" not in module.code
    assert module.warnings == ["cell 2, line 2 (cell starting `x = 1`): syntax error (invalid "
                               "syntax); this cell was left out"]


def test_a_dict_with_an_unhashable_literal_key_is_no_crash() -> None:
    module = derived("BAD = {[0, 1]: 'x'}", "def f():\n    return 1")
    assert "def f" in module.code  # it is kept and fails at import, in its own cell


def test_windows_line_endings_are_read() -> None:
    module = derived("import numpy as np\r\n\r\ndef f(x):\r\n    return np.abs(x)\r\n")
    assert "\r" not in module.code and run(module)["f"](-2) == 2


def test_every_line_maps_back_to_its_cell_and_line() -> None:
    module = derived("import numpy as np", "x = 1\n\n\ndef f(x):\n    y = x\n    return 1 / 0")
    line = module.code.splitlines().index("    return 1 / 0") + 1
    assert module.where(line) == "cell 2, line 6 (cell starting `x = 1`)"


def test_tracebacks_and_syntax_errors_are_rewritten_to_cells() -> None:
    module = derived("import numpy as np", "def f(x):\n    return 1 / 0")
    line = module.code.splitlines().index("    return 1 / 0") + 1
    text = (f'  File "softmax.py", line {line}, in f\n    return 1 / 0\n'
            f"invalid syntax (softmax.py, line {line})\n  line {line}: return 1 / 0\n"
            "importing softmax.py raised ZeroDivisionError")
    assert module.relocate(text, "softmax.py") == (
        '  File "hw.ipynb", cell 2, line 2 (cell starting `def f(x):`), in f\n'
        "    return 1 / 0\n"
        "invalid syntax (hw.ipynb, cell 2, line 2 (cell starting `def f(x):`))\n"
        "  cell 2, line 2 (cell starting `def f(x):`): return 1 / 0\n"
        "running the graded cells of hw.ipynb raised ZeroDivisionError")


@pytest.mark.parametrize("data", [b"{not json", b'{"cells": 3}', b'{"cells": [], "nbformat": 3}',
                                  "ünïcode".encode("latin-1"), b"[1, 2]",
                                  b'{"nbformat": 4, "cells": [{"source": 5}]}'])
def test_an_invalid_notebook_is_a_notebook_error(data: bytes) -> None:
    with pytest.raises(NotebookError, match="not a valid Jupyter notebook"):
        read_cells(data)


def test_too_much_code_is_refused_before_it_is_parsed() -> None:
    big = "X = [" + "1, " * (MAX_CODE_BYTES // 3) + "]"
    with pytest.raises(NotebookError, match="MB of text"):
        read_cells(notebook(big))


def test_an_8_mb_cell_is_refused_without_growing_the_trusted_process() -> None:
    data = notebook("DATA = '" + "x" * (8 << 20) + "'")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(NotebookError, match="MB of text"):
        convert(data, "big.ipynb")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100


def test_conversion_over_its_memory_limit_is_a_clear_error() -> None:
    # ~0.9 MB of nested list literals: fine for the code cap, far over 64 MiB as an AST.
    code = "X = [" + "[1, 2, 3], " * 90_000 + "]"
    with pytest.raises(NotebookError, match="more than the allowed 64 MiB"):
        convert(notebook(code), "deep.ipynb", limits=Limits(memory_mb=64))


def test_conversion_over_its_cpu_limit_is_a_clear_error() -> None:
    # 30,000 statements chained through bindings (under the code cap): seconds of analysis.
    chain = "\n".join(f"v{i} = np.abs(v{i + 1})" for i in range(30_000))
    cells = ("import numpy as np", "def f():\n    return v0", chain)
    with pytest.raises(NotebookError, match="1 s of CPU time"):
        convert(notebook(*cells), "slow.ipynb", limits=Limits(cpu_s=1))


def test_conversion_over_its_wall_clock_limit_is_a_clear_error() -> None:
    with pytest.raises(NotebookError, match=r"\(0.001 s in all\)"):
        convert(notebook("def f():\n    return 1"), "hw.ipynb", limits=Limits(wall_s=0.001))


def test_the_converted_module_is_the_same_in_the_child_process() -> None:
    data = notebook("import numpy as np", "def f(x):\n    return np.abs(x)")
    assert convert(data, "hw.ipynb") == derive(read_cells(data), "hw.ipynb")


def test_the_filled_a6_notebook_without_tags_grades_without_its_exploration() -> None:
    """Issue 8: CLASSES = train_set.classes used to be kept without train_set (NameError)."""
    nb = notebook_corpus.untagged(notebook_corpus.filled("a6_mnist"))
    module = derive(read_cells(json.dumps(nb).encode()), "a6_mnist.ipynb",
                    packages=sandbox_packages(True))
    assert "\nCLASSES =" not in module.code and "torchvision" not in module.code
    assert any("CLASSES = train_set.classes" in w for w in module.warnings)
    assert "build_cnn" in run(module)


# --- values changed in place by code that is not run -------------------------------------

EXPLORATION_LOOP = ("import numpy as np\ndef train(lr):\n    return 1 / lr",
                    "results = []\nfor lr in [0.1, 0.01]:\n    results.append((train(lr), lr))\n"
                    "BEST = min(results)\nBEST_LR = BEST[1]")


def test_a_constant_from_a_list_an_exploration_loop_fills_is_left_out_with_a_warning() -> None:
    module = derived(*EXPLORATION_LOOP)
    namespace = run(module)  # min([]) would raise at import
    assert "train" in namespace and "BEST" not in namespace and "BEST_LR" not in namespace
    assert any("`BEST = min(results)` was left out: `results` is changed by cell 2, line 2"
               in w and "not run when grading" in w for w in module.warnings), module.warnings


def test_a_loop_that_fills_a_kept_list_without_running_own_code_is_kept_with_it() -> None:
    module = derived("SIZES = []\nfor k in range(3):\n    SIZES.append(2 * k)\n"
                     "LARGEST = SIZES[-1]")
    assert run(module)["LARGEST"] == 4 and module.warnings == []


def test_a_kept_list_changed_only_by_indexing_and_augmented_assignment_is_kept_whole() -> None:
    module = derived("WEIGHTS = [0, 0]\nWEIGHTS[0] = 5\nWEIGHTS += [7]\nTOTAL = sum(WEIGHTS)")
    assert run(module)["TOTAL"] == 12


# --- magics, shell lines and Colab --------------------------------------------------------

def test_magics_and_shell_lines_are_left_out_with_a_warning_naming_the_cell() -> None:
    module = derived("import numpy as np", "%matplotlib inline\n!pip install tqdm\nX = 1")
    assert run(module)["X"] == 1
    assert module.warnings == ["cell 2 (`%matplotlib inline`): `%matplotlib inline`, "
                               "`!pip install tqdm` left out: IPython magics and shell "
                               "commands are not run when grading"]


def test_an_indented_magic_leaves_its_block_valid() -> None:
    module = derived("def f(x):\n    %time y = x\n    return x")
    assert run(module)["f"](3) == 3 and "%time" in module.warnings[0]


def test_a_cell_magic_cell_is_left_out_with_a_warning() -> None:
    module = derived("%%time\ndef relu(x):\n    return x", "def g():\n    return 1")
    assert "relu" not in module.code
    assert module.warnings == ["cell 1 (`%%time`) was left out: a cell that starts with a cell "
                               "magic (%%time) is not run when grading; remove that line if "
                               "the cell holds code to grade"]


def test_colab_drive_mount_is_left_out_with_a_warning() -> None:
    module = derived("from google.colab import drive\ndrive.mount('/content/drive')",
                     "def f():\n    return 1")
    assert "mount" not in module.code
    assert any("`drive.mount('/content/drive')` is not run when grading: it needs Google "
               "Colab" in w for w in module.warnings), module.warnings


# --- naming cells ---------------------------------------------------------------------------

def test_a_cell_named_by_number_also_shows_its_first_line() -> None:
    module = convert(notebook("import numpy as np", "# Task 2: softmax\ndef f(x):\n"
                              "    return 1 / 0"), "hw.ipynb")
    line = module.code.splitlines().index("    return 1 / 0") + 1
    assert module.where(line) == "cell 2, line 3 (cell starting `# Task 2: softmax`)"
    assert "# cell 2 (# Task 2: softmax)\ndef f(x):" in module.code


def test_a_long_first_line_is_shortened_in_a_cell_name() -> None:
    module = derived("def f(x):  # " + "a very long comment " * 5 + "\n    return 1 / 0")
    line = module.code.splitlines().index("    return 1 / 0") + 1
    assert module.where(line).endswith("…`)") and len(module.where(line)) < 90


def test_drawing_from_a_kept_random_generator_does_not_leave_out_what_follows() -> None:
    module = derived("import numpy as np\nrng = np.random.default_rng(0)\n"
                     "def relu(x):\n    return np.maximum(x, rng.standard_normal())",
                     "print(relu(rng.standard_normal(5)))\nW = rng.standard_normal((2, 2))")
    assert run(module)["W"].shape == (2, 2)
    assert not any(line.startswith("print") for line in module.code.splitlines())
