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

from grader.intake import staging as intake
from grader.intake.notebook import MAX_NOTEBOOK_BYTES, NotebookError
from grader.intake.staging import (
    IntakeError,
    choose_graded_file,
    discover,
    extract_zip,
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


STARTER = "import numpy as np\n\ndef relu(x):\n    # TODO\n    raise NotImplementedError\n"


def folder_with(tmp: Path, py: str, nb_cells: tuple[str, ...]) -> Path:
    folder = tmp / "kim"
    folder.mkdir()
    (folder / f"{MODULE}.py").write_text(py)
    (folder / "a1_backprop.ipynb").write_bytes(notebook(*nb_cells))
    return folder


def test_beside_the_unchanged_starter_module_the_filled_notebook_is_graded(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, STARTER, (CODE,))
    sub = stage(folder, MODULE, tmp_path / "w", starter=STARTER)
    assert "np.maximum" in staged_code(sub) and sub.graded_file == "a1_backprop.ipynb"
    assert sub.warnings == [f"your {MODULE}.py is the unchanged starter code; graded "
                            "a1_backprop.ipynb instead"]


def test_a_zip_of_the_module_and_notebook_grades_the_changed_one(tmp_path: Path) -> None:
    src = make_zip(tmp_path / "kim.zip", {f"kim/{MODULE}.py": STARTER.encode(),
                                          "kim/a1_backprop.ipynb": notebook(CODE)})
    sub = stage(src, MODULE, tmp_path / "w", starter=STARTER)
    assert "np.maximum" in staged_code(sub) and "unchanged starter code" in sub.warnings[0]


def test_beside_the_unchanged_notebook_the_filled_module_is_graded_saying_so(
        tmp_path: Path) -> None:
    folder = folder_with(tmp_path, CODE, (STARTER,))
    sub = stage(folder, MODULE, tmp_path / "w", starter=STARTER)
    assert staged_code(sub) == CODE
    assert sub.warnings == [f"graded {MODULE}.py; a1_backprop.ipynb is the unchanged starter "
                            "notebook"]


def test_when_module_and_notebook_both_changed_the_module_is_graded_with_a_warning(
        tmp_path: Path) -> None:
    folder = folder_with(tmp_path, CODE, ("def relu(x):\n    return x",))
    sub = stage(folder, MODULE, tmp_path / "w", starter=STARTER)
    assert staged_code(sub) == CODE
    assert sub.warnings == [f"graded {MODULE}.py; a1_backprop.ipynb was not graded (hand in "
                            "one of them)"]


def test_a_release_zip_with_a_filled_copy_of_the_notebook_grades_that_copy(
        tmp_path: Path) -> None:
    src = make_zip(tmp_path / "kim.zip", {
        f"a1_backprop/{MODULE}.py": STARTER.encode(),
        "a1_backprop/a1_backprop.ipynb": notebook(STARTER),        # as released
        "a1_backprop/Copy of a1_backprop.ipynb": notebook(CODE),   # what Colab saved
        "a1_backprop/README.md": b"# Task",
        "a1_backprop/tests/test_backprop.py": b"def test_x():\n    pass\n"})
    sub = stage(src, MODULE, tmp_path / "w", starter=STARTER)
    assert "np.maximum" in staged_code(sub) and sub.graded_file == "Copy of a1_backprop.ipynb"
    assert sub.warnings == [f"your {MODULE}.py is the unchanged starter code; graded Copy of "
                            "a1_backprop.ipynb instead"]


def test_of_two_notebooks_the_one_filled_in_is_graded_saying_so(tmp_path: Path) -> None:
    folder = tmp_path / "kim"
    folder.mkdir()
    (folder / "a1_backprop.ipynb").write_bytes(notebook(STARTER))
    (folder / "a1_backprop (1).ipynb").write_bytes(notebook(CODE))
    sub = stage(folder, MODULE, tmp_path / "w", starter=STARTER)
    assert "np.maximum" in staged_code(sub)
    assert sub.warnings == ["graded a1_backprop (1).ipynb; a1_backprop.ipynb is the unchanged "
                            "starter notebook"]


def test_two_filled_notebooks_beside_the_stub_are_an_error_naming_both(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, STARTER, (CODE,))
    (folder / "draft.ipynb").write_bytes(notebook(CODE.replace("0)", "1)")))
    sub = stage(folder, MODULE, tmp_path / "w", starter=STARTER)
    assert sub.error == ("found 2 filled-in notebooks (a1_backprop.ipynb, draft.ipynb); hand "
                         "in only the one to grade")


@pytest.mark.parametrize("edit", [
    pytest.param(lambda code: "\ufeff" + code, id="byte-order mark"),
    pytest.param(lambda code: code.replace("# TODO", '"""Rectified linear unit."""'),
                 id="docstring edited since release"),
])
def test_a_stub_that_normalizes_to_the_starter_is_the_starter(tmp_path: Path, edit) -> None:
    folder = folder_with(tmp_path, edit(STARTER), (CODE,))
    sub = stage(folder, MODULE, tmp_path / "w", starter=STARTER)
    assert sub.graded_file == "a1_backprop.ipynb" and "np.maximum" in staged_code(sub)


def test_grading_and_check_choose_the_same_file(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, STARTER, (CODE,))
    chosen = choose_graded_file(folder, MODULE, STARTER)
    sub = stage(folder, MODULE, tmp_path / "w", starter=STARTER)
    assert chosen.path.name == sub.graded_file == "a1_backprop.ipynb"
    assert chosen.warnings == sub.warnings


@pytest.mark.parametrize("name", [f"{MODULE}.py", "Copy of a1_backprop.ipynb"])
def test_the_unchanged_starter_code_is_refused_saying_so(tmp_path: Path, name: str) -> None:
    src = tmp_path / name
    src.write_bytes(notebook(STARTER) if name.endswith(".ipynb") else STARTER.encode())
    sub = stage(src, MODULE, tmp_path / "w", starter=STARTER)
    assert sub.error == (f"your {name} is the unchanged starter code: nothing in it was filled "
                         "in (did you hand in the file you worked on?)")


def test_a_reformatted_starter_with_crlf_line_endings_is_still_the_starter(tmp_path: Path) -> None:
    src = tmp_path / "x.py"
    src.write_bytes(("# my copy\r\n" + STARTER.replace("\n", "\r\n\r\n")).encode())
    assert "unchanged starter" in stage(src, MODULE, tmp_path / "w", starter=STARTER).error


@pytest.mark.parametrize("content", [b"", b"\n\n   \n", b"# nothing yet\n"])
def test_an_empty_file_is_refused_as_empty(tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "lee.py"
    src.write_bytes(content)
    sub = stage(src, MODULE, tmp_path / "w", starter=STARTER)
    assert sub.error.startswith("your file lee.py is empty")


def test_a_notebook_without_code_is_refused_as_empty(tmp_path: Path) -> None:
    src = tmp_path / "lee.ipynb"
    src.write_bytes(notebook("%matplotlib inline", "print('hi')"))
    assert stage(src, MODULE, tmp_path / "w").error.startswith("your file lee.ipynb is empty")


def test_a_large_module_is_never_parsed_by_the_trusted_process(tmp_path: Path,
                                                               monkeypatch) -> None:
    src = tmp_path / "max.py"
    src.write_text(CODE + "# padding\n" * 200_000)
    monkeypatch.setattr(intake.ast, "parse", lambda *a, **k: pytest.fail("parsed"))
    assert staged_code(stage(src, MODULE, tmp_path / "w", starter=STARTER)).startswith(CODE)


def test_a_notebook_whose_every_cell_is_left_out_points_at_the_notes(tmp_path: Path) -> None:
    src = tmp_path / "lou.ipynb"
    src.write_bytes(notebook("def relu(x:\n    return x"))
    sub = stage(src, MODULE, tmp_path / "w")
    assert sub.error == "your file lou.ipynb is empty (no code to grade); the notes below say " \
        "what was left out"
    assert "cell 1, line 1 (cell starting `def relu(x:`): syntax error" in sub.warnings[0]


def test_a_zip_with_a_damaged_deflate_stream_is_a_submission_error(tmp_path: Path) -> None:
    src = make_zip(tmp_path / "moe.zip", {f"{MODULE}.py": CODE.encode() * 50})
    data = bytearray(src.read_bytes())
    start = data.index(b"PK\x03\x04") + 30 + len(f"{MODULE}.py")
    data[start:start + 40] = b"\xff" * 40  # the compressed bytes, not the headers
    src.write_bytes(bytes(data))
    sub = stage(src, MODULE, tmp_path / "w")
    assert sub.staged is None and "is corrupt" in sub.error


def test_a_notebook_cell_with_an_unhashable_dict_key_is_no_crash(tmp_path: Path) -> None:
    src = tmp_path / "ned.ipynb"
    src.write_bytes(notebook("X = {[0, 1]: 'x'}", CODE))
    assert "def relu" in staged_code(stage(src, MODULE, tmp_path / "w"))


def test_a_bare_notebook_over_the_size_cap_is_refused_before_it_is_read(tmp_path: Path,
                                                                        monkeypatch) -> None:
    src = tmp_path / "olga.ipynb"
    with open(src, "wb") as f:
        f.truncate(MAX_NOTEBOOK_BYTES + 1)  # sparse: no memory spent making it
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read before the check"))
    sub = stage(src, MODULE, tmp_path / "w")
    assert "larger than 32 MiB" in sub.error and "clear its outputs" in sub.error


def test_a_notebook_over_the_conversion_limits_is_a_submission_error(tmp_path: Path,
                                                                     monkeypatch) -> None:
    def over(*args: object, **kwargs: object) -> None:
        raise NotebookError("converting pat.ipynb needed more than the allowed 512 MiB")

    monkeypatch.setattr(intake, "convert", over)
    src = tmp_path / "pat.ipynb"
    src.write_bytes(notebook(CODE))
    assert "more than the allowed 512 MiB" in stage(src, MODULE, tmp_path / "w").error


def test_any_failure_while_staging_is_that_submissions_error(tmp_path: Path,
                                                            monkeypatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("unexpected")

    monkeypatch.setattr(intake, "convert", broken)
    src = tmp_path / "quinn.ipynb"
    src.write_bytes(notebook(CODE))
    sub = stage(src, MODULE, tmp_path / "w")
    assert sub.staged is None and "could not read the submission (TypeError" in sub.error


def test_a_notebook_records_its_derived_module_and_warnings(tmp_path: Path) -> None:
    src = tmp_path / "rae.ipynb"
    src.write_bytes(notebook("from tqdm import tqdm", CODE))
    sub = stage(src, MODULE, tmp_path / "w")
    assert sub.derived is not None and sub.derived.code == staged_code(sub)
    assert sub.warnings and sub.warnings[0].startswith("rae.ipynb: cell 1, line 1:")
