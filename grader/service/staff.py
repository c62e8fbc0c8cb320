"""Staff pages (TA and instructor roles): the live report of an assignment (the same page as
report.html), each student's attempts, regrades, the similarity page, publishing, and the
gradebook and LMS downloads, all read from the service's results/ folder (the CLI layout)."""

from __future__ import annotations

import csv
import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from grader.intake.identity import Roster, RosterStudent
from grader.reports.gradebook import gradebook_rows, with_roster_and_entries
from grader.reports.html import render_html_report
from grader.reports.lms_export import FORMATS, lms_rows
from grader.results.store import AssignmentResults, scan_results
from grader.service import queue
from grader.service.app import checked_form, page, require, service_of
from grader.service.models import AssignmentState, Attempt, AttemptResult, User
from grader.service.pages import split_page
from grader.service.submissions import AST_LOCK, Refused, Service, attempt_view, published

router = APIRouter(prefix="/staff")


def roster(service: Service, assignment: str) -> Roster:
    """The course roster when grader.yaml names one, else the service's student accounts."""
    cfg = service.assignment(assignment)
    if cfg.roster is not None:
        return cfg.roster
    with service.sessions() as db:
        users = db.scalars(select(User).where(User.role == "student").order_by(User.login))
        return Roster(Path("accounts"), tuple(RosterStudent(u.login, u.name, u.email)
                                              for u in users))


def _rows(service: Service, assignment: str) -> list[dict]:
    loaded = scan_results(service.paths.results, assignment)
    return with_roster_and_entries(loaded.results, roster(service, assignment), [])


@router.get("/", response_class=HTMLResponse)
def staff_home(request: Request) -> Response:
    who = require(request, staff=True)
    service = service_of(request)
    with service.sessions() as db:
        counts = dict(db.execute(select(Attempt.assignment, func.count())
                                 .group_by(Attempt.assignment)).all())
        states = {name: published(db, name) for name in service.course.assignments}
    return page(request, "staff/home.html", who, counts=counts, states=states)


@dataclass(frozen=True)
class _Rendered:
    key: tuple
    style: str
    body: str


_reports: dict[str, _Rendered] = {}  # the last report page per assignment
_reports_lock = threading.Lock()


def _results_key(folder: Path) -> tuple:
    """Changes whenever a result is written (atomic renames change mtime and inode)."""
    if not folder.is_dir():
        return ()
    found = []
    for student in os.scandir(folder):
        if student.is_dir() and not student.name.startswith("."):
            try:
                st = os.stat(os.path.join(student.path, "results.json"))
            except OSError:
                continue
            found.append((student.name, st.st_ino, st.st_mtime_ns, st.st_size))
    return tuple(sorted(found))


def live_report(service: Service, cfg) -> _Rendered:
    """report.html's page for the service's results, rendered again only when a result or
    the roster changed (its charts take most of a second for a large class)."""
    roster_ids = tuple(s.student_id for s in roster(service, cfg.name).students)
    key = (_results_key(service.paths.results / cfg.name), roster_ids, cfg.title)
    where = str(service.paths.results / cfg.name)
    cached = _reports.get(where)
    if cached is not None and cached.key == key:
        return cached
    with _reports_lock:
        loaded = scan_results(service.paths.results, cfg.name)
        present = {str(r.get("student_id")) for r in loaded.results}
        missing = sorted(s for s in roster_ids if s not in present)
        problems = [p for p in loaded.problems
                    if p[1] != "no results folder for this assignment"]
        style, body = split_page(render_html_report(
            loaded.results, assignment=cfg.name, title=cfg.title, unreadable=problems,
            missing=missing))
        _reports[where] = _Rendered(key, style, body)
        return _reports[where]


@router.get("/{name}", response_class=HTMLResponse)
def dashboard(request: Request, name: str) -> Response:
    who = require(request, staff=True)
    service = service_of(request)
    cfg = service.assignment(name)
    rendered = live_report(service, cfg)
    with service.sessions() as db:
        is_published = published(db, name)
    return page(request, "staff/dashboard.html", who, cfg=cfg, report=rendered.body,
                report_style=rendered.style, published=is_published, formats=FORMATS)


@router.get("/{name}/students", response_class=HTMLResponse)
def students(request: Request, name: str) -> Response:
    who = require(request, staff=True)
    service = service_of(request)
    cfg = service.assignment(name)
    with service.sessions() as db:
        rows = db.execute(select(User, Attempt, AttemptResult)
                          .join(Attempt, Attempt.user_id == User.id)
                          .outerjoin(AttemptResult, AttemptResult.attempt_id == Attempt.id)
                          .where(Attempt.assignment == name)
                          .order_by(User.login, Attempt.number.desc())).all()
        views = [(u, attempt_view(db, service, a)) for u, a, _ in rows]
    return page(request, "staff/students.html", who, cfg=cfg, views=views)


@router.post("/{name}/regrade")
async def regrade_all(request: Request, name: str) -> Response:
    who = require(request, staff=True)
    await checked_form(request, who)
    service = service_of(request)
    service.assignment(name)
    with service.sessions() as db:
        ids = list(db.scalars(select(Attempt.id).where(Attempt.assignment == name)))
        count = queue.regrade(db, ids)
        db.commit()
    return RedirectResponse(f"/staff/{name}/students?queued={count}", status_code=303)


@router.post("/attempts/{attempt_id}/regrade")
async def regrade_one(request: Request, attempt_id: int) -> Response:
    who = require(request, staff=True)
    await checked_form(request, who)
    with service_of(request).sessions() as db:
        if db.get(Attempt, attempt_id) is None:
            raise Refused(404, "no such submission")
        queue.regrade(db, [attempt_id])
        db.commit()
    return RedirectResponse(f"/attempts/{attempt_id}", status_code=303)


@router.post("/{name}/publish")
async def publish(request: Request, name: str) -> Response:
    who = require(request, staff=True)
    form = await checked_form(request, who)
    service = service_of(request)
    service.assignment(name)
    with service.sessions() as db:
        state = db.get(AssignmentState, name) or AssignmentState(name=name)
        state.published = form.get("published") == "1"
        db.add(state)
        db.commit()
    return RedirectResponse(f"/staff/{name}", status_code=303)


@router.get("/{name}/similarity", response_class=HTMLResponse)
def similarity(request: Request, name: str) -> Response:
    from grader.similarity.command import graded_sources
    from grader.similarity.engine import compare
    from grader.similarity.page import render

    who = require(request, staff=True)
    service = service_of(request)
    cfg = service.assignment(name)
    entries, _ = graded_sources(AssignmentResults.of(service.paths.results, name))
    with AST_LOCK:  # the comparison parses code: not beside an intake (see AST_LOCK)
        style, body = split_page(render(compare(name, entries, service.starter(cfg) or "")))
    return page(request, "staff/report.html", who, cfg=cfg, title="Similarity",
                report=body, report_style=style)


def _csv(table: list[list[str]], filename: str) -> Response:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(table)
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="{filename}"'})


@router.get("/{name}/gradebook.csv")
def gradebook(request: Request, name: str) -> Response:
    require(request, staff=True)
    service = service_of(request)
    cfg = service.assignment(name)
    header, rows = gradebook_rows(_rows(service, name), cfg.due)
    return _csv([header, *rows], f"{name}_gradebook.csv")


@router.get("/{name}/{fmt}_grades.csv")
def lms_file(request: Request, name: str, fmt: str) -> Response:
    require(request, staff=True)
    service = service_of(request)
    cfg = service.assignment(name)
    if fmt not in FORMATS:
        raise Refused(404, f"no {fmt} export (known: {', '.join(FORMATS)})")
    table = lms_rows(fmt, _rows(service, name), cfg.title, roster(service, name))
    return _csv(table, f"{name}_{fmt}_grades.csv")
