"""Small generators of LMS bulk-download layouts (docs/LMS.md), for the identity tests."""

from __future__ import annotations

import os
from pathlib import Path

CODE = "import numpy as np\n\ndef relu(x):\n    return np.maximum(x, 0)\n"


def touch(path: Path, text: str = CODE, mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def canvas(folder: Path, name: str, user_id: int, submission_id: int, filename: str, *,
           late: bool = False, text: str = CODE) -> Path:
    """``<name>_<LATE_>?<userid>_<submissionid>_<file>``."""
    marker = "LATE_" if late else ""
    return touch(folder / f"{name}_{marker}{user_id}_{submission_id}_{filename}", text)


def moodle(folder: Path, full_name: str, participant: int, files: dict[str, str], *,
           plugin: str = "file", suffix: str = "_") -> Path:
    """A ``<Full Name>_<participantid>_assignsubmission_<plugin>`` folder holding ``files``
    (``suffix`` "_" as older exports name it, "" as Moodle 3.1+ does)."""
    root = folder / f"{full_name}_{participant}_assignsubmission_{plugin}{suffix}"
    for rel, text in files.items():
        touch(root / rel, text)
    return root


def blackboard(folder: Path, assignment: str, username: str, when: str, filename: str, *,
               full_name: str = "", text: str = CODE) -> Path:
    """``<Assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>`` and its receipt."""
    stem = f"{assignment}_{username}_attempt_{when}"
    touch(folder / f"{stem}.txt", f"Name: {full_name or username} ({username})\n"
          f"Assignment: {assignment}\nDate Submitted: {when}\n")
    return touch(folder / f"{stem}_{filename}", text)


def gradescope(folder: Path, submissions: dict[int, list[tuple[str, str, str]]]) -> Path:
    """``submission_<id>/`` folders and ``submission_metadata.yml`` naming the submitters
    (name, sid, email) of each, in the export's Ruby-symbol key style."""
    lines = []
    for sub_id, people in submissions.items():
        touch(folder / f"submission_{sub_id}" / "backprop.py")
        lines += [f"submission_{sub_id}:", "  :submitters:"]
        for name, sid, email in people:
            lines += [f"  - :name: {name}", f"    :sid: '{sid}'", f"    :email: {email}"]
        lines += [f"  :created_at: 2026-11-2{sub_id % 10} 10:00:00.000000000 -08:00",
                  "  :score: 0.0"]
    (folder / "submission_metadata.yml").write_text("\n".join(lines) + "\n")
    return folder


def roster(path: Path, rows: list[tuple[str, ...]],
           header: str = "student_id,name,email,lms_id,sis_login_id,section") -> Path:
    path.write_text(header + "\n" + "".join(",".join(r) + "\n" for r in rows),
                    encoding="utf-8")
    return path
