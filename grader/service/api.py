"""The JSON API (docs/API.md): submit with ``Authorization: Bearer TOKEN``, poll the status,
read the feedback with the same visibility rules as the pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from grader.service.app import require, service_of
from grader.service.pages import read_upload
from grader.service.submissions import (
    attempt_view,
    history,
    standing,
    visible_attempt,
)

router = APIRouter(prefix="/api")


@router.get("/assignments")
def assignments(request: Request) -> JSONResponse:
    who = require(request, api=True)
    service = service_of(request)
    out = []
    with service.sessions() as db:
        for cfg in service.course.assignments.values():
            mine = standing(db, service, who.user, cfg)
            out.append({"assignment": cfg.name, "title": cfg.title,
                        "due": cfg.due.isoformat() if cfg.due else None,
                        "attempts_used": mine.used, "attempts_left": mine.left,
                        "submissions": [a.id for a in history(db, who.user, cfg.name)]})
    return JSONResponse(out)


@router.post("/assignments/{name}/submissions")
async def submit(request: Request, name: str) -> JSONResponse:
    who = require(request, api=True)
    attempt = await read_upload(request, who, name)
    return JSONResponse({"id": attempt.id, "status": "queued"}, status_code=202,
                        headers={"location": f"/api/submissions/{attempt.id}"})


@router.get("/submissions/{attempt_id}")
def submission(request: Request, attempt_id: int) -> JSONResponse:
    who = require(request, api=True)
    service = service_of(request)
    with service.sessions() as db:
        view = attempt_view(db, service, visible_attempt(db, who.user, attempt_id))
    return JSONResponse(view.api())


@router.get("/submissions/{attempt_id}/feedback")
def feedback(request: Request, attempt_id: int) -> JSONResponse:
    who = require(request, api=True)
    service = service_of(request)
    with service.sessions() as db:
        view = attempt_view(db, service, visible_attempt(db, who.user, attempt_id))
    return JSONResponse({**view.api(), "feedback": view.view})
