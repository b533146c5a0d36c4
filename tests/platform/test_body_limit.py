"""Every role refuses a request body above its limit with 413, naming the limit.

Before issue 15 no role had a body limit: ``sunlight.runtime.bodylimit`` and
``Settings.body_limit`` did not exist (ImportError / AttributeError), and a role read any
body it was sent (the portal spooled a multi-GB form before its own per-file check).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from sunlight.runtime.bodylimit import BodyLimit
from tests.platform.role_settings import role_settings

LIMIT = 4096


def _app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(BodyLimit, limit=LIMIT)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.post("/json")
    def json_route(body: dict[str, Any]) -> dict[str, int]:
        return {"keys": len(body)}

    return app


def test_a_body_within_the_limit_passes() -> None:
    response = TestClient(_app()).post("/echo", content=b"a" * LIMIT)
    assert response.status_code == 200 and response.json() == {"size": LIMIT}


def test_a_declared_length_above_the_limit_is_refused_at_once() -> None:
    response = TestClient(_app()).post("/echo", content=b"a" * (LIMIT + 1))
    assert response.status_code == 413
    assert response.json() == {"error": "too_large",
                               "detail": f"request body is larger than the limit of {LIMIT} "
                                         "bytes"}


def _chunks() -> Iterator[bytes]:
    for _ in range(10):
        yield b"a" * 1000


@pytest.mark.parametrize("path", ["/echo", "/json"])
def test_a_chunked_body_is_counted_and_refused_past_the_limit(path: str) -> None:
    response = TestClient(_app()).post(path, content=_chunks())
    assert response.status_code == 413
    assert str(LIMIT) in response.json()["detail"]



def test_each_role_has_a_limit_from_its_settings() -> None:
    assert role_settings("portal").body_limit() == 10 * 2**20 + 2**20
    assert role_settings("core").body_limit() == 10 * 2**20 + 2**20  # one material a request
    assert role_settings("gateway").body_limit() == 2**20
    assert role_settings("core", max_body_bytes=5000).body_limit() == 5000


@pytest.mark.parametrize(("role", "path"), [
    ("portal", "/api/v1/applications"),
    ("core", "/api/v1/exchange/records"),
    ("gateway", "/healthz"),
])
def test_every_role_app_refuses_a_body_above_its_limit(role: str, path: str) -> None:
    module = __import__(f"sunlight.runtime.{role}.app", fromlist=["create_app"])
    app = module.create_app(role_settings(role, max_body_bytes=2048))
    response = TestClient(app).post(path, content=b"{" + b" " * 4096 + b"}",
                                    headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text
    assert "2048 bytes" in response.json()["detail"]
