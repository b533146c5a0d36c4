"""A request-body limit for every role: 413 with the limit named, before the body is read.

A declared ``Content-Length`` above the limit is refused at once; a body sent without one
(chunked) is counted as it is read and refused when it passes the limit. The limit comes
from the role's settings (:meth:`sunlight.runtime.settings.Settings.body_limit`).

Example::

    >>> from fastapi import FastAPI
    >>> app = FastAPI()
    >>> app.add_middleware(BodyLimit, limit=2**20)
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def reason(limit: int) -> str:
    return f"request body is larger than the limit of {limit} bytes"


class BodyTooLarge(HTTPException):
    """Raised while reading a body past the limit; an HTTPException, so that a framework
    reading the body (a form, JSON) passes it on as 413 instead of a parse error."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=reason(limit))


class BodyLimit:
    """ASGI middleware: refuse request bodies larger than ``limit`` bytes with 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.limit
            except ValueError:
                too_large = False  # the server refuses a malformed length itself
            if too_large:
                await _refuse(send, self.limit)
                return
        received = 0
        started = False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(send, self.limit)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"error": "too_large", "detail": reason(limit)}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
