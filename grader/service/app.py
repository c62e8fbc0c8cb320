"""The ASGI application: middleware, authentication, error pages, and the routers of
grader.service.pages (students), grader.service.staff and grader.service.api."""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from grader.intake.staging import MAX_TOTAL_BYTES
from grader.service import accounts
from grader.service.models import User, WebSession
from grader.service.security import BodyTooLarge, SecurityMiddleware, same_token
from grader.service.submissions import Refused, Service, open_jobs

log = logging.getLogger("grader.service.http")
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
SESSION_COOKIE = "grader_session"
LOGIN_CSRF_COOKIE = "grader_login_csrf"
MULTIPART_SLACK = 64 << 10  # form fields and part headers around the file


@dataclass(frozen=True)
class Viewer:
    """The signed-in user of a request (session or API token)."""

    user: User
    session: WebSession | None  # None for API tokens (no cookies: no CSRF to check)

    @property
    def csrf(self) -> str:
        return self.session.csrf if self.session is not None else ""


def service_of(request: Request) -> Service:
    return request.app.state.service


def viewer(request: Request, api: bool = False) -> Viewer | None:
    """The user signed in by cookie (pages) or by ``Authorization: Bearer`` (API)."""
    service = service_of(request)
    with service.sessions() as db:
        if api:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            user = accounts.user_for_token(db, token.strip()) \
                if scheme.lower() == "bearer" and token.strip() else None
            return Viewer(user, None) if user is not None else None
        cookie = request.cookies.get(SESSION_COOKIE)
        found = accounts.session_for(db, cookie) if cookie else None
        user = db.get(User, found.user_id) if found is not None else None
        return Viewer(user, found) if user is not None and found is not None else None


def require(request: Request, *, staff: bool = False, api: bool = False) -> Viewer:
    who = viewer(request, api)
    if who is None:
        raise Refused(401, "sign in first" if not api else
                      "send your API token as 'Authorization: Bearer TOKEN'")
    if staff and not who.user.is_staff:
        raise Refused(403, "this page is for course staff")
    return who


async def checked_form(request: Request, who: Viewer | None) -> dict:
    """The submitted form, after its CSRF token matched the session's (or, before sign-in,
    the login cookie's)."""
    form = await request.form()
    expected = who.csrf if who is not None else request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not same_token(str(form.get("csrf", "")), expected):
        raise Refused(403, "the form expired or did not come from this site; reload the page "
                      "and try again")
    return form


def page(request: Request, name: str, who: Viewer | None, status: int = 200,
         **context: object) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, name, {
        "who": who, "csrf": who.csrf if who else "", "course": service_of(request).course,
        "status": status,
        **context}, status_code=status)


def create_app(service: Service) -> FastAPI:
    from grader.service import api, pages, staff

    app = FastAPI(title="grader", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service = service
    app.add_middleware(SecurityMiddleware, max_body=MAX_TOTAL_BYTES + MULTIPART_SLACK,
                       hsts=service.secure_cookies)

    @app.middleware("http")
    async def access_log(request: Request, call_next):
        started = time.monotonic()
        response = await call_next(request)
        log.info("request", extra={"fields": {
            "method": request.method, "path": request.url.path,
            "status": response.status_code,
            "ms": round((time.monotonic() - started) * 1000, 1)}})
        return response

    def error(request: Request, status: int, message: str,
              headers: dict[str, str] | None = None) -> Response:
        if request.url.path.startswith("/api/") or request.url.path == "/health":
            return JSONResponse({"error": message}, status_code=status, headers=headers)
        if status == 401:
            return Response(status_code=303, headers={"location": "/login"})
        try:
            who = viewer(request)
        except Exception:  # the database is what failed: the page still says what happened
            who = None
        return page(request, "error.html", who, status=status,
                    message=message)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        headers = {"retry-after": str(exc.retry_after)} if exc.retry_after else None
        return error(request, exc.status, exc.message, headers)

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge) -> Response:
        return error(request, 413, f"{exc}; hand in only your code (clear notebook outputs)",
                     {"connection": "close"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = "no such page" if exc.status_code == 404 else str(exc.detail)
        return error(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return error(request, 422, "the request is missing a field or has a wrong value")

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", extra={"fields": {
            "path": request.url.path, "error": repr(exc),
            "traceback": traceback.format_exc()}})
        return error(request, 500, "something went wrong on the server; it was logged. Try "
                     "again, and tell your course staff if it happens again")

    @app.get("/health")
    def health() -> JSONResponse:
        try:
            with service.sessions() as db:
                db.execute(text("SELECT 1"))
                jobs = open_jobs(db)
        except Exception as exc:  # the database is down: say so, do not crash
            log.error("health check failed", extra={"fields": {"error": repr(exc)}})
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return JSONResponse({"status": "ok", **jobs})

    app.include_router(pages.router)
    app.include_router(staff.router)
    app.include_router(api.router)
    return app
