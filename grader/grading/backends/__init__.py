"""Where a batch's submissions are graded: the seam between planning a batch
(grader.grading.batch) and running it.

A backend grades a list of planned entries and calls ``done`` once per entry, in the calling
process, after that entry's result is in the results store (grader.results.store). ``local``
(the default) is the fork pool over warm sandboxes on this machine; ``ray`` runs each
submission as a Ray task on a cluster (grader.grading.backends.ray_cluster). Both grade
through grader.grading.submission. ``get_backend`` picks one from the course and an override
(the CLI's ``--backend``/``--address``); the submission service uses the same call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from grader.course.config import AssignmentConfig, BackendConfig, CourseConfig
from grader.grading.options import GradeOptions
from grader.intake.identity import BatchEntry
from grader.results.record import Result

LOCAL_NODE = "local"


@dataclass(frozen=True)
class Graded:
    """One submission's result, already written, and where it was graded."""

    entry: BatchEntry
    result: Result
    node: str = LOCAL_NODE
    gpus: tuple[str, ...] = ()  # the GPUs the grading slot held (ids on its node)


Done = Callable[[Graded], None]


class Backend(Protocol):
    name: str

    def grade(self, cfg: AssignmentConfig, entries: list[BatchEntry], opts: GradeOptions,
              suite: str, done: Done) -> None:
        """Grade ``entries`` (planned, hashed, not up to date); ``done`` once per entry as its
        result is written. KeyboardInterrupt stops every grading process and propagates."""


def get_backend(course: CourseConfig, override: BackendConfig | None = None) -> Backend:
    """The backend of ``course`` (grader.yaml ``backend:``), or ``override`` when given.
    Raises GraderFault when the Ray backend is asked for and Ray is not installed."""
    choice = override or course.backend
    if choice.kind == "ray":
        from grader.grading.backends.ray_cluster import RayBackend

        return RayBackend(choice.address)
    from grader.grading.batch import LocalPool

    return LocalPool()
