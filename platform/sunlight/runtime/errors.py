"""Errors that reach a client: an HTTP status, a stable code and a reason a person can act on.

Example::

    >>> raise ApiError(409, "illegal_transition", "cannot grant a case awaiting acceptance")
    Traceback (most recent call last):
    ...
    sunlight.runtime.errors.ApiError: cannot grant a case awaiting acceptance
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError

log = logging.getLogger(__name__)

DESCRIPTIONS = {
    401: "not signed in", 403: "not allowed for your role", 404: "not found",
    409: "not allowed in the current state", 413: "too large", 415: "type not allowed",
    422: "invalid input",
}

#: SQLSTATEs of a write that lost a race with another (unique or exclusion constraint): 409.
CONFLICT_STATES = frozenset({"23505", "23P01"})
#: SQLSTATEs of a statement given up under contention or cut off by a time-out of the
#: role's connections (:mod:`sunlight.runtime.db`): 503 with Retry-After, the client may
#: simply retry; the reason says which.
BUSY_REASONS = {
    "55P03": "another change to the same record is in progress and did not finish in time; "
             "try again shortly",
    "57014": "the request took longer than the database allows; try again shortly",
    "25P03": "the request's database transaction stayed idle too long and was ended; "
             "try again",
    "40001": "the change conflicted with another made at the same time; try again",
    "40P01": "the change conflicted with another made at the same time; try again",
}
BUSY_STATES = frozenset(BUSY_REASONS)
#: What the client is told instead of the database's words (which name tables,
#: constraints, columns and values): never the driver's message.
NUL_IN_TEXT = "text may not contain NUL (0x00) characters"
VALUE_NOT_STORABLE = "a value cannot be stored (out of range, too long or malformed)"
_REQUEST_ID = re.compile(r"^[0-9A-Za-z_-]{8,64}$")


class ErrorBody(BaseModel):
    """Every error body: a stable code, a reason, and where the problem is when known; one
    from a database error or an unexpected exception names the request id the server logged
    the details under."""

    error: str
    detail: str
    field: str | None = None
    pointer: str | None = None
    request_id: str | None = None


def request_id(request: Request) -> str:
    """The id nginx gave the request (``X-Request-ID``) when it looks like one, else a new
    one: what a client quotes and the server's log line names."""
    given = request.headers.get("x-request-id", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the error statuses a route can answer."""
    return {code: {"description": DESCRIPTIONS[code], "model": ErrorBody} for code in codes}


class ApiError(Exception):
    """Raised by services; rendered as ``{"error", "detail", "field"?, "pointer"?}``."""

    def __init__(self, status: int, code: str, detail: str, *, field: str | None = None,
                 pointer: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.field, self.pointer = field, pointer

    def body(self) -> dict[str, str]:
        body = {"error": self.code, "detail": self.detail}
        if self.field is not None:
            body["field"] = self.field
        if self.pointer is not None:
            body["pointer"] = self.pointer
        return body


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def install_error_handlers(app: FastAPI) -> None:
    """Render ApiError and request validation errors in one shape; database errors and any
    unexpected exception as a fixed reason with a request id — the driver's message, the
    exception's text and the traceback go to the log, never to the client."""

    async def api_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(exc.body(), status_code=exc.status)

    async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse(
            {"error": "invalid_request", "detail": f"{field or 'request'}: {first['msg']}",
             "field": field},
            status_code=422,
        )

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        # The transaction was rolled back. A value that passed validation but not the
        # database (a NUL character, a number out of range) is the client's input: 422.
        assert isinstance(exc, StatementError)
        rid = request_id(request)
        state = getattr(exc.orig, "sqlstate", None)
        if _is_value_problem(exc):
            log.warning("value refused by the database: %s", _first_line(exc),
                        extra={"request_id": rid, "path": request.url.path})
            detail = NUL_IN_TEXT if _is_nul(exc) else VALUE_NOT_STORABLE
            return JSONResponse({"error": "invalid_value", "detail": detail, "request_id": rid},
                                status_code=422)
        if isinstance(exc, IntegrityError) and state in CONFLICT_STATES:
            log.warning("write conflict: %s", _first_line(exc),
                        extra={"request_id": rid, "path": request.url.path})
            return JSONResponse({"error": "conflict", "request_id": rid, "detail": (
                "the change conflicts with another saved at the same time; reload and try "
                "again")}, status_code=409)
        if isinstance(exc, OperationalError) and state in BUSY_STATES:
            log.warning("statement given up under contention: %s", _first_line(exc),
                        extra={"request_id": rid, "path": request.url.path})
            return JSONResponse({"error": "busy", "request_id": rid,
                                 "detail": BUSY_REASONS[str(state)]}, status_code=503,
                                headers={"Retry-After": "1"})
        return _internal(request, exc, rid)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette re-raises after sending this, so the server also logs the traceback.
        return _internal(request, exc, request_id(request))

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StatementError, database_error)  # DBAPIError and subclasses
    app.add_exception_handler(Exception, unexpected)


def _internal(request: Request, exc: Exception, rid: str) -> JSONResponse:
    log.error("unexpected error: %s", type(exc).__name__, exc_info=exc,
              extra={"request_id": rid, "path": request.url.path})
    return JSONResponse({"error": "internal_error", "request_id": rid, "detail": (
        f"an unexpected error; it was logged as request {rid}")}, status_code=500)


def _first_line(exc: StatementError) -> str:
    """The driver's message, for the log only."""
    return (str(exc.orig).splitlines() or [""])[0] if exc.orig else type(exc).__name__


def _is_nul(exc: StatementError) -> bool:
    return isinstance(exc.orig, ValueError) and "NUL" in str(exc.orig)


def _is_value_problem(exc: StatementError) -> bool:
    return isinstance(exc, DataError) or _is_nul(exc)
