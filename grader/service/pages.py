"""The student's pages: sign in, assignments, upload, an attempt's live status and feedback,
the account (password, API tokens)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from grader.reports.feedback import render_feedback_html
from grader.service import accounts
from grader.service.app import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Viewer,
    checked_form,
    page,
    require,
    service_of,
    viewer,
)
from grader.service.models import User, utcnow
from grader.service.submissions import (
    Refused,
    accept_upload,
    attempt_view,
    history,
    published,
    standing,
    visible_attempt,
)

router = APIRouter()
_PAGE = re.compile(r"<style>(?P<style>.*?)</style>.*?<body>(?P<body>.*)</body>", re.S)


def split_page(html: str) -> tuple[str, str]:
    """The style and body of a page rendered by grader.reports (already escaped there), to
    show it inside the service's own layout."""
    found = _PAGE.search(html)
    return (found["style"], found["body"]) if found else ("", html)


def _set_cookie(request: Request, response: Response, name: str, value: str,
                max_age: int) -> None:
    secure = service_of(request).secure_cookies or request.url.scheme == "https"
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                        secure=secure, path="/")


def _signed_in(request: Request, user: User, to: str) -> Response:
    with service_of(request).sessions() as db:
        token = accounts.new_session(db, user)
        db.commit()
    response = RedirectResponse(to, status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, token,
                int(accounts.SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, message: str = "") -> Response:
    if viewer(request) is not None:
        return RedirectResponse("/", status_code=303)
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or accounts.new_secret()
    response = page(request, "login.html", None, login_csrf=token, message=message)
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, 3600)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await checked_form(request, None)
    login_name, password = str(form.get("login", "")).strip(), str(form.get("password", ""))
    service = service_of(request)

    def check() -> User | None:
        with service.sessions() as db:
            if accounts.throttled(db, login_name):
                raise Refused(429, "too many failed sign-ins for this account; wait 15 "
                              "minutes and try again", retry_after=900)
            user = accounts.check_password(db, login_name, password)
            db.commit()
            return user

    user = await run_in_threadpool(check)
    if user is None:
        return page(request, "login.html", None, status=401,
                    login_csrf=request.cookies.get(LOGIN_CSRF_COOKIE, ""),
                    message="wrong account or password")
    return _signed_in(request, user, "/")


@router.get("/signin/{token}")
def sign_in_link(request: Request, token: str) -> Response:
    with service_of(request).sessions() as db:
        user = accounts.use_sign_in_link(db, token)
        db.commit()
    if user is None:
        raise Refused(404, "this sign-in link was already used or has expired; ask your "
                      "course staff for a new one")
    return _signed_in(request, user, "/account?message=choose+a+password")


@router.post("/logout")
async def logout(request: Request) -> Response:
    who = require(request)
    await checked_form(request, who)
    with service_of(request).sessions() as db:
        accounts.end_session(db, request.cookies.get(SESSION_COOKIE, ""))
        db.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    who = require(request)
    service = service_of(request)
    with service.sessions() as db:
        rows = [(cfg, standing(db, service, who.user, cfg))
                for cfg in service.course.assignments.values()]
    return page(request, "home.html", who, rows=rows, now=utcnow())


@router.get("/assignments/{name}", response_class=HTMLResponse)
def assignment_page(request: Request, name: str, message: str = "") -> Response:
    who = require(request)
    service = service_of(request)
    cfg = service.assignment(name)
    with service.sessions() as db:
        views = [attempt_view(db, service, a) for a in history(db, who.user, cfg.name)]
        mine = standing(db, service, who.user, cfg)
    return page(request, "assignment.html", who, cfg=cfg, views=views, standing=mine,
                rules=service.course.service, message=message)


async def read_upload(request: Request, who: Viewer, name: str, form: dict | None = None):
    """The uploaded ``file`` of the request, checked and queued (pages and API share it)."""
    service = service_of(request)
    cfg = service.assignment(name)
    form = form if form is not None else await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise Refused(400, "choose a file to upload (.py, .ipynb or .zip) as the field 'file'")
    return await run_in_threadpool(accept_upload, service, who.user.id, cfg, upload.filename,
                                   upload.file)


@router.post("/assignments/{name}/submissions")
async def upload_page(request: Request, name: str) -> Response:
    who = require(request)
    form = await checked_form(request, who)
    try:
        attempt = await read_upload(request, who, name, form)
    except Refused as exc:
        if exc.status == 404:
            raise
        service = service_of(request)
        cfg = service.assignment(name)
        with service.sessions() as db:
            views = [attempt_view(db, service, a) for a in history(db, who.user, cfg.name)]
            mine = standing(db, service, who.user, cfg)
        return page(request, "assignment.html", who, status=exc.status, cfg=cfg, views=views,
                    standing=mine, rules=service.course.service, refused=exc.message)
    return RedirectResponse(f"/attempts/{attempt.id}", status_code=303)


@router.get("/attempts/{attempt_id}", response_class=HTMLResponse)
def attempt_page(request: Request, attempt_id: int) -> Response:
    who = require(request)
    service = service_of(request)
    with service.sessions() as db:
        attempt = visible_attempt(db, who.user, attempt_id)
        view = attempt_view(db, service, attempt)
        owner = db.get(User, attempt.user_id)
        cfg = service.course.assignments.get(attempt.assignment)
        style = body = ""
        if view.result is not None:
            style, body = split_page(render_feedback_html(
                view.result, now=utcnow(), due=cfg.due if cfg else None,
                published=published(db, attempt.assignment)))
    return page(request, "attempt.html", who, view=view, owner=owner, feedback=body,
                feedback_style=style, waiting=view.status in ("queued", "running"),
                refresh=2 if view.status in ("queued", "running") else None)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, message: str = "") -> Response:
    who = require(request)
    return page(request, "account.html", who, message=message, token=None)


@router.post("/account/token", response_class=HTMLResponse)
async def account_token(request: Request) -> Response:
    who = require(request)
    await checked_form(request, who)
    with service_of(request).sessions() as db:
        token = accounts.new_api_token(db, who.user)
        db.commit()
    return page(request, "account.html", who, message="", token=token)


@router.post("/account/password")
async def account_password(request: Request) -> Response:
    who = require(request)
    form = await checked_form(request, who)
    with service_of(request).sessions() as db:
        user = db.get(User, who.user.id)
        try:
            accounts.set_password(user, str(form.get("password", "")))
        except accounts.AccountError as exc:
            raise Refused(400, str(exc)) from None
        db.commit()
    return RedirectResponse("/account?message=password+changed", status_code=303)
