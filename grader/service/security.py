"""Request-level protections: security headers with a strict Content-Security-Policy (pages
run no script at all; styles are inline, charts are data: images), a body-size limit enforced
while the request streams in, and CSRF tokens compared in constant time."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the upload is larger than {limit >> 20} MiB")
        self.limit = limit


class SecurityMiddleware:
    """Adds HEADERS to every response; refuses request bodies over ``max_body`` bytes, by
    Content-Length before reading and by counting while reading (a chunked upload that lies
    is cut off at the limit, never written to disk beyond it)."""

    def __init__(self, app: ASGIApp, max_body: int, hsts: bool = False) -> None:
        self.app, self.max_body = app, max_body
        self.headers = [(k.encode(), v.encode()) for k, v in HEADERS.items()]
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            scope.setdefault("state", {})["too_large"] = True
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            if scope.get("state", {}).get("too_large"):
                raise BodyTooLarge(self.max_body)
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise BodyTooLarge(self.max_body)
            return message

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (k, v) for k, v in self.headers if k not in names]
            await send(message)

        await self.app(scope, counted, with_headers)


def same_token(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
