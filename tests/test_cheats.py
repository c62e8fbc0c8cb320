"""Submissions that try to cheat gain nothing, and the batch grades the next one normally.

Each cheat is the released a1 stub (worth 0 points) plus an attack; if the attack worked it
would earn points (a forged score, the reference solution's code, a patched comparison). One
honest submission is graded in the same batch, after the cheats in name order.
"""

from __future__ import annotations

import os

import pytest

from grader.grading.options import sandbox_uid
from tests.conftest import ROOT, grade_folder, solution_text, stub_text
from tests.test_sandbox import survivors

pytestmark = pytest.mark.sandbox

SOLUTION = ROOT / "solutions" / "a1_backprop" / "backprop.py"

AT_IMPORT = {
    "forge_results": f'''
import json, os, sys
fake = {{"score": 40, "max_score": 40, "tests": []}}
for path in ["results.json", "../results.json", "/tmp/results.json",
             "{ROOT}/out/a1_backprop/forge_results/results.json"]:
    try:
        with open(path, "w") as fh:
            json.dump(fake, fh)
    except OSError:
        pass
print(json.dumps(fake))
''',
    "exit_at_import": "import os\nos._exit(0)\n",
    "loop_at_import": "while True:\n    pass\n",
    "memory_bomb_at_import": "hog = [bytearray(1 << 28) for _ in range(1000)]\n",
    "steal_solution_absolute": f'''
for _path in ["{SOLUTION}", "{ROOT}/autotests/a1_backprop/test_value.py"]:
    try:
        exec(open(_path).read())
    except OSError:
        pass
''',
    "steal_solution_relative": '''
for _path in ["../solutions/a1_backprop/backprop.py", "../../solutions/a1_backprop/backprop.py",
              "../../../solutions/a1_backprop/backprop.py"]:
    try:
        exec(open(_path).read())
    except OSError:
        pass
''',
    "patch_numpy_and_pytest": '''
import numpy as np
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
try:
    import pytest
    pytest.approx = lambda expected, **k: expected
except ImportError:
    pass
''',
    "network_at_import": '''
import socket
try:
    socket.create_connection(("1.1.1.1", 80), timeout=2).sendall(b"GET /answers")
except OSError:
    pass
''',
    "print_gigabytes": "import sys\nfor _ in range(200):\n    sys.stdout.write('x' * (1 << 20))\n",
}

# Replacements appended to the stub: they take over graded functions.
TAKEOVER = {
    "fork_bomb": '''
import os
def relu_forward(x):
    while True:
        try:
            os.fork()
        except OSError:
            pass
''',
    "infinite_loop_in_call": "def relu_forward(x):\n    while True:\n        pass\n",
    "exit_in_call": "import os\ndef relu_forward(x):\n    os._exit(0)\n",
    "object_array": '''
import numpy as np
def relu_forward(x):
    return np.array([object()] * x.size, dtype=object).reshape(x.shape), None
''',
    "ndarray_subclass": '''
import numpy as np
class AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)
    def __sub__(self, other):
        return np.zeros(np.shape(other))
    __rsub__ = __sub__
def relu_forward(x):
    return np.zeros_like(x).view(AlwaysEqual), None
''',
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("cheats")
    batch = tmp / "batch"
    batch.mkdir()
    stub = stub_text("a1_backprop")
    head, _, rest = stub.partition("\nimport numpy as np\n")
    for name, attack in AT_IMPORT.items():
        (batch / f"{name}.py").write_text(f"{head}\nimport numpy as np\n{attack}\n{rest}")
    for name, attack in TAKEOVER.items():
        (batch / f"{name}.py").write_text(stub + "\n" + attack)
    (batch / "zz_honest.py").write_text(solution_text("a1_backprop"))
    return grade_folder(tmp, "a1_backprop", batch, call_timeout_s=3,
                        submission_timeout_s=40, memory_mb=1024, max_file_mb=16)


@pytest.mark.parametrize("name", sorted(AT_IMPORT) + sorted(TAKEOVER))
def test_the_cheat_earns_nothing(results: dict[str, dict], name: str) -> None:
    result = results[name]
    assert result["score"] == 0, [t["test_id"] for t in result["tests"] if t["score"]]
    assert result["student_id"] == name and result["sandbox"] == "bwrap"


@pytest.mark.parametrize("name", ["exit_at_import", "loop_at_import", "memory_bomb_at_import"])
def test_a_module_that_cannot_import_is_a_submission_error(results: dict, name: str) -> None:
    assert results[name]["status"] == "submission_error"
    assert "importing backprop.py" in results[name]["error"]


def test_the_forged_score_is_not_what_the_grader_wrote(results: dict[str, dict]) -> None:
    forged = results["forge_results"]
    assert forged["score"] == 0 and forged["tests"] and forged["status"] == "ok"
    assert not (ROOT / "out" / "a1_backprop" / "forge_results").exists()


def test_an_infinite_loop_fails_with_a_timeout_message(results: dict[str, dict]) -> None:
    outputs = [t["output"] for t in results["infinite_loop_in_call"]["tests"]]
    assert any("relu_forward: did not return within 3 s" in o for o in outputs)


def test_an_object_array_is_refused_with_a_message(results: dict[str, dict]) -> None:
    outputs = " ".join(t["output"] for t in results["object_array"]["tests"])
    assert "dtype object cannot cross" in outputs


def test_the_honest_submission_after_the_cheats_gets_full_marks(results: dict) -> None:
    honest = results["zz_honest"]
    assert honest["status"] == "ok" and honest["score"] == honest["max_score"]


def test_no_sandboxed_process_survives_the_batch(results: dict[str, dict]) -> None:
    uids = ",".join(str(sandbox_uid(os.getpid(), slot)) for slot in range(2))
    assert survivors(uids) == []


def test_printed_output_is_bounded(results: dict[str, dict]) -> None:
    assert len(results["print_gigabytes"]["output"]) < 10_000
