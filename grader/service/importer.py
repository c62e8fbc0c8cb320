"""Importing a results folder graded by ``grader grade`` into the service: each student's
result becomes an attempt (its graded code is the attempt's upload, so it can be regraded),
and the counting attempts are written to results/ as the service's own are."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from sqlalchemy import select

from grader.results.store import AssignmentResults, read_result
from grader.service import queue, uploads
from grader.service.models import AttemptResult, Job, User, utcnow
from grader.service.submissions import Service


def import_results(service: Service, results_dir: Path, assignment: str) -> tuple[int, list[str]]:
    """(attempts imported, problems). Students without an account get one (no password: a
    sign-in link gives them access)."""
    cfg = service.assignment(assignment)
    store = AssignmentResults.of(results_dir, assignment)
    imported, problems = 0, []
    for files in store.students():
        result = read_result(files.results)
        if result is None:
            problems.append(f"{files.results}: missing or not a result")
            continue
        code = files.graded_module.read_bytes() if files.graded_module.is_file() else b""
        sha, size = uploads.store(service.paths.uploads, io.BytesIO(code))
        with service.sessions() as db:
            user = db.scalar(select(User).where(User.login == result.student_id))
            if user is None:
                user = User(login=result.student_id, name=result.display_name or "",
                            role="student")
                db.add(user)
                db.flush()
            attempt = queue.enqueue(db, user, cfg.name, sha, size, cfg.module_file,
                                    bool(result.late))
            db.flush()
            # Already graded: the job is closed and the result recorded with it.
            job = db.scalar(select(Job).where(Job.attempt_id == attempt.id))
            job.status, job.finished_at = "done", utcnow()
            target = queue.attempt_files(service.paths, attempt, user.login)
            shutil.copytree(files.folder, target.folder, dirs_exist_ok=True)
            data = result.to_dict()
            db.add(AttemptResult(attempt_id=attempt.id, status=result.status,
                                 score=result.score, max_score=result.max_score,
                                 data=json.dumps(data)))
            db.flush()
            queue.publish_counting(db, service.paths, user, cfg.name,
                                   service.course.service.counts,
                                   service.course.service.late_policy)
            db.commit()
        imported += 1
    return imported, problems
