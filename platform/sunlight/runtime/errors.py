"""Errors that reach a client: an HTTP status, a stable code and a reason a person can act on.

Example::

    >>> raise ApiError(409, "illegal_transition", "cannot grant a case awaiting acceptance")
    Traceback (most recent call last):
    ...
    sunlight.runtime.errors.ApiError: cannot grant a case awaiting acceptance
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, StatementError

DESCRIPTIONS = {
    401: "not signed in", 403: "not allowed for your role", 404: "not found",
    409: "not allowed in the current state", 413: "too large", 415: "type not allowed",
    422: "invalid input",
}


class ErrorBody(BaseModel):
    """Every 4xx body: a stable code, a reason, and where the problem is when known."""

    error: str
    detail: str
    field: str | None = None
    pointer: str | None = None


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
    """Render ApiError and request validation errors in one shape."""

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

    async def unstorable(_request: Request, exc: Exception) -> JSONResponse:
        # The database refused a value that passed validation (a NUL character, a number
        # out of range): the client's input, so 422 — the transaction was rolled back.
        assert isinstance(exc, StatementError)
        if not _is_value_problem(exc):
            raise exc
        reason = str(exc.orig).splitlines()[0] if exc.orig else "value cannot be stored"
        return JSONResponse({"error": "invalid_value", "detail": reason}, status_code=422)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StatementError, unstorable)


def _is_value_problem(exc: StatementError) -> bool:
    if isinstance(exc, DataError):
        return True
    return isinstance(exc.orig, ValueError) and "NUL" in str(exc.orig)
