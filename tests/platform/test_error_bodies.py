"""Error bodies never echo the database (issue 15, point 6): a value the database refuses,
a write conflict, contention and any unexpected exception answer a fixed reason; the
driver's message (tables, constraints, columns, values, hosts) goes to the log, under the
request id the body names.
"""

from __future__ import annotations

import logging

import psycopg.errors
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError

from sunlight.runtime.errors import NUL_IN_TEXT, VALUE_NOT_STORABLE, install_error_handlers

SQL = "INSERT INTO applications (receipt, applicant_name) VALUES (%(receipt)s, %(name)s)"
PARAMS = {"receipt": "320703-20261201-000001", "name": "王芳"}
DRIVER = {
    "value": psycopg.errors.StringDataRightTruncation(
        "value too long for type character varying(200)"),
    "unique": psycopg.errors.UniqueViolation(
        'duplicate key value violates unique constraint "applications_receipt_key"\n'
        "DETAIL:  Key (receipt)=(320703-20261201-000001) already exists."),
    "not_null": psycopg.errors.NotNullViolation(
        'null value in column "applicant_id" of relation "applications" violates not-null '
        "constraint"),
    "lock": psycopg.errors.LockNotAvailable(
        'canceling statement due to lock timeout\nCONTEXT:  while locking tuple (0,7) in '
        'relation "applications"'),
    "down": psycopg.errors.OperationalError(
        'connection to server at "10.1.0.7", port 5432 failed: FATAL:  password '
        'authentication failed for user "portal"'),
}
RAISED: dict[str, Exception] = {
    "value": DataError(SQL, PARAMS, DRIVER["value"]),
    "nul": StatementError("A string literal cannot contain NUL (0x00) characters.", SQL,
                          PARAMS, ValueError("A string literal cannot contain NUL (0x00) "
                                             "characters.")),
    "unique": IntegrityError(SQL, PARAMS, DRIVER["unique"]),
    "not_null": IntegrityError(SQL, PARAMS, DRIVER["not_null"]),
    "lock": OperationalError(SQL, PARAMS, DRIVER["lock"]),
    "down": OperationalError(SQL, PARAMS, DRIVER["down"]),
    "bug": KeyError("portal_secret_hash"),
}
#: Words of the database (or of the code) a body must never carry.
LEAKS = ("applications", "receipt_key", "character varying", "applicant_id", "relation",
         "10.1.0.7", "5432", "password", "portal_secret_hash", "INSERT", "王芳", "DETAIL",
         "Traceback")


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/raise/{kind}")
    def raising(kind: str) -> None:
        raise RAISED[kind]

    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(_app(), raise_server_exceptions=False)


@pytest.mark.parametrize(("kind", "status", "code"), [
    ("value", 422, "invalid_value"), ("nul", 422, "invalid_value"),
    ("unique", 409, "conflict"), ("not_null", 500, "internal_error"),
    ("lock", 503, "busy"), ("down", 500, "internal_error"), ("bug", 500, "internal_error"),
])
def test_the_body_has_a_fixed_reason_and_no_database_text(
        client: TestClient, kind: str, status: int, code: str) -> None:
    response = client.get(f"/raise/{kind}", headers={"X-Request-ID": "0123456789abcdef"})
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code
    leaked = [word for word in LEAKS if word in response.text]
    assert not leaked, f"{kind}: the body echoes {leaked}: {response.text}"
    assert body["request_id"] == "0123456789abcdef"
    if status == 503:
        assert response.headers["Retry-After"] == "1"


def test_a_value_problem_still_says_what_to_fix(client: TestClient) -> None:
    assert client.get("/raise/value").json()["detail"] == VALUE_NOT_STORABLE
    assert client.get("/raise/nul").json()["detail"] == NUL_IN_TEXT


def test_the_log_has_the_driver_message_under_the_request_id(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="sunlight.runtime.errors"):
        client.get("/raise/down", headers={"X-Request-ID": "fedcba9876543210"})
        unique = client.get("/raise/unique")
    [down, conflict] = [r for r in caplog.records if r.name == "sunlight.runtime.errors"]
    assert down.request_id == "fedcba9876543210"  # type: ignore[attr-defined]
    assert down.exc_info is not None and "10.1.0.7" in str(down.exc_info[1])
    assert conflict.request_id == unique.json()["request_id"]  # type: ignore[attr-defined]
    assert "applications_receipt_key" in conflict.getMessage()


def test_a_request_id_that_is_not_one_is_replaced(client: TestClient) -> None:
    body = client.get("/raise/bug", headers={"X-Request-ID": "x\n{\"forged\": 1}"}).json()
    assert body["request_id"] != "x\n{\"forged\": 1}" and len(body["request_id"]) == 32


def test_the_portal_with_its_database_down_names_no_host() -> None:
    from sunlight.runtime.portal.app import create_app
    from sunlight.runtime.settings import Settings

    settings = Settings(role="portal", site_code="320703",
                        database_url="postgresql+psycopg://portal:pw@127.0.0.1:1/portal")
    with TestClient(create_app(settings), raise_server_exceptions=False) as portal:
        response = portal.get("/api/v1/applications/320703-20261201-000001",
                              headers={"X-Tracking-Secret": "s" * 20})
    assert response.status_code == 500 and response.json()["error"] == "internal_error"
    assert "127.0.0.1" not in response.text and "portal" not in response.text
