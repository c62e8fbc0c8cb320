"""Intake: every accepted format, and every bad input refused with a message."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

from grader.intake import (
    IntakeError,
    discover,
    extract_zip,
    notebook_to_module,
    stage,
    student_id_for,
)

MODULE = "backprop"
CODE = "import numpy as np\n\ndef relu(x):\n    return np.maximum(x, 0)\n"


def staged_code(sub) -> str:
    assert sub.error is None, sub.error
    return (sub.staged / f"{MODULE}.py").read_text()


def make_zip(path: Path, entries: dict[str, bytes], *, link: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def notebook(*cells, tags: dict[int, list[str]] | None = None) -> bytes:
    nb = v4.new_notebook(cells=[v4.new_code_cell(c) for c in cells])
    for i, t in (tags or {}).items():
        nb.cells[i].metadata["tags"] = t
    return nbformat.writes(nb).encode()


def test_a_py_file_becomes_the_module_whatever_its_name(tmp_path: Path) -> None:
    src = tmp_path / "alice_a1.py"
    src.write_text(CODE)
    sub = stage(src, MODULE, tmp_path / "w")
    assert staged_code(sub) == CODE and sub.student_id == "alice_a1" and len(sub.sha256) == 64


def test_a_directory_with_the_module_is_copied_with_its_data_files(tmp_path: Path) -> None:
    folder = tmp_path / "bob"
    folder.mkdir()
    (folder / f"{MODULE}.py").write_text(CODE)
    (folder / "mlp.pt").write_bytes(b"weights")
    sub = stage(folder, MODULE, tmp_path / "w")
    assert staged_code(sub) == CODE and (sub.staged / "mlp.pt").read_bytes() == b"weights"
    assert sub.student_id == "bob"


def test_a_zip_with_a_top_folder_is_unpacked(tmp_path: Path) -> None:
    src = make_zip(tmp_path / "carol.zip", {f"carol/{MODULE}.py": CODE.encode()})
    sub = stage(src, MODULE, tmp_path / "w")
    assert staged_code(sub) == CODE and sub.student_id == "carol"


def test_a_zip_holding_a_notebook_is_converted(tmp_path: Path) -> None:
    src = make_zip(tmp_path / "dan.zip", {"work.ipynb": notebook(CODE)})
    assert "def relu" in staged_code(stage(src, MODULE, tmp_path / "w"))


def test_a_notebook_keeps_definitions_and_drops_magics_and_top_level_runs(tmp_path: Path) -> None:
    src = tmp_path / "erin.ipynb"
    src.write_bytes(notebook("%matplotlib inline\nimport numpy as np", "!pip install foo",
                             "def relu(x):\n    return np.maximum(x, 0)\nrelu(np.ones(3))",
                             "%%time\nwhile True: pass", "LR = 0.1\nmodel = train()"))
    code = staged_code(stage(src, MODULE, tmp_path / "w"))
    namespace: dict = {}
    exec(compile(code, "nb", "exec"), namespace)
    assert "relu" in namespace and namespace["LR"] == 0.1
    assert "pip" not in code and "while True" not in code and "train()" not in code


def test_capitalized_constants_and_aliases_are_kept_whatever_their_value() -> None:
    code, _ = notebook_to_module(notebook("import numpy as np\nXOR_X = np.eye(2)\n"
                                          "Config = dict[str, float]\n"
                                          "data = np.ones(10**9)"))
    assert "XOR_X = np.eye(2)" in code and "Config = dict" in code and "np.ones" not in code


def test_a_later_notebook_definition_replaces_an_earlier_one(tmp_path: Path) -> None:
    code, _ = notebook_to_module(notebook("def f():\n    return 1", "def f():\n    return 2"))
    namespace: dict = {}
    exec(code, namespace)
    assert namespace["f"]() == 2


def test_graded_setup_cells_run_in_full(tmp_path: Path) -> None:
    code, _ = notebook_to_module(notebook("import math\nTABLE = [math.sqrt(i) for i in range(3)]",
                                          tags={0: ["graded-setup"]}))
    namespace: dict = {}
    exec(code, namespace)
    assert namespace["TABLE"][2] == pytest.approx(2 ** 0.5)


def test_a_notebook_cell_with_a_syntax_error_is_left_out_with_a_warning() -> None:
    code, warnings = notebook_to_module(notebook("def ok():\n    return 1", "def broken(:\n"))
    assert "def ok" in code and "broken" not in code
    assert warnings and "cell 2" in warnings[0] and "syntax error" in warnings[0]


def test_decorated_definitions_keep_their_decorators() -> None:
    code, _ = notebook_to_module(notebook("import functools\n@functools.lru_cache\n"
                                          "def f(x):\n    return x"))
    assert "@functools.lru_cache" in code


@pytest.mark.parametrize("data", [b"{not json", b'{"cells": 3}', "ünïcode".encode("latin-1")])
def test_an_invalid_notebook_is_a_submission_error(tmp_path: Path, data: bytes) -> None:
    src = tmp_path / "frank.ipynb"
    src.write_bytes(data)
    sub = stage(src, MODULE, tmp_path / "w")
    assert sub.staged is None and "not a valid Jupyter notebook" in sub.error


def test_a_broken_zip_is_a_submission_error(tmp_path: Path) -> None:
    src = tmp_path / "gina.zip"
    src.write_bytes(b"PK\x03\x04 this is not really a zip")
    sub = stage(src, MODULE, tmp_path / "w")
    assert "not a valid zip file" in sub.error


@pytest.mark.parametrize("name", ["../evil.py", "a/../../evil.py", "/etc/evil.py",
                                  "C:/evil.py", "..\\evil.py"])
def test_zip_slip_entries_are_refused(tmp_path: Path, name: str) -> None:
    src = make_zip(tmp_path / "h.zip", {f"{MODULE}.py": CODE.encode(), name: b"x"})
    dest = tmp_path / "x"
    dest.mkdir()
    with pytest.raises(IntakeError, match="outside the archive"):
        extract_zip(src, dest)
    assert not (tmp_path / "evil.py").exists() and not list(dest.iterdir())


def test_links_in_a_zip_are_refused(tmp_path: Path) -> None:
    src = make_zip(tmp_path / "i.zip", {f"{MODULE}.py": CODE.encode()}, link="data.txt")
    sub = stage(src, MODULE, tmp_path / "w")
    assert "link" in sub.error


def test_links_in_a_directory_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "jo"
    folder.mkdir()
    (folder / f"{MODULE}.py").write_text(CODE)
    os.symlink("/etc/passwd", folder / "passwd")
    assert "links" in stage(folder, MODULE, tmp_path / "w").error


def test_a_zip_bomb_is_refused_before_extraction(tmp_path: Path) -> None:
    src = make_zip(tmp_path / "k.zip", {f"{MODULE}.py": CODE.encode(),
                                        "zeros.bin": b"\0" * (50 << 20)})
    sub = stage(src, MODULE, tmp_path / "w")
    assert "zip bomb" in sub.error or "MiB" in sub.error
    assert not list((tmp_path / "w").rglob("zeros.bin"))


def test_an_oversized_submission_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "big.py"
    src.write_text("# " + "x" * 2048)
    assert "larger than" in stage(src, MODULE, tmp_path / "w", max_bytes=1024).error


def test_too_many_files_are_refused(tmp_path: Path) -> None:
    buf = {f"f{i}.txt": b"" for i in range(300)}
    src = make_zip(tmp_path / "many.zip", {f"{MODULE}.py": CODE.encode(), **buf})
    assert "entries" in stage(src, MODULE, tmp_path / "w").error


def test_a_zip_without_the_module_names_what_it_found(tmp_path: Path) -> None:
    src = make_zip(tmp_path / "l.zip", {"notes.txt": b"hi", "a.py": b"", "b.py": b""})
    error = stage(src, MODULE, tmp_path / "w").error
    assert f"no {MODULE}.py found" in error and "a.py" in error


def test_a_batch_folder_lists_one_submission_per_entry(tmp_path: Path) -> None:
    for name in ("a.py", "b.ipynb", "c.zip"):
        (tmp_path / name).write_text("")
    (tmp_path / "d").mkdir()
    (tmp_path / ".hidden").write_text("")
    assert [p.name for p in discover(tmp_path, MODULE)] == ["a.py", "b.ipynb", "c.zip", "d"]


def test_a_folder_holding_the_module_is_one_submission(tmp_path: Path) -> None:
    (tmp_path / f"{MODULE}.py").write_text(CODE)
    (tmp_path / "helper.py").write_text("")
    assert discover(tmp_path, MODULE) == [tmp_path]


def test_student_ids_are_reduced_to_safe_characters(tmp_path: Path) -> None:
    src = tmp_path / "Zoë O'Neil (late).py"
    src.write_text("")
    assert student_id_for(src) == "Zoë_O_Neil_late_"
    assert student_id_for(tmp_path / "course" / "sam" / "work.py", "parent") == "sam"


def test_zip_entries_are_read_with_a_size_limit_even_if_headers_lie(tmp_path: Path) -> None:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{MODULE}.py", b"x" * 4096)
    src = tmp_path / "liar.zip"
    src.write_bytes(data.getvalue())
    dest = tmp_path / "d"
    dest.mkdir()
    with pytest.raises(IntakeError, match="MiB"):
        extract_zip(src, dest, max_bytes=1024)
