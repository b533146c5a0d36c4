"""Unknown URLs on the portal (issue 17): the citizens' pages sit at the site root beside
the JSON API, so a URL nothing answers — or a method its URL does not take — gets the page
framework's Chinese 404 / 405 page when a browser asks for a page (a GET or HEAD outside
``/api``, or a request accepting ``text/html``), and JSON naming the path under ``/api``.
Before this, every one of these answered FastAPI's ``{"detail": "Not Found"}``.

The portal app as it is built for a host; none of these requests reaches the database.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from sunlight.runtime.pages.security import PAGE_HEADERS
from sunlight.runtime.portal.app import create_app
from tests.platform.role_settings import role_settings


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(role_settings("portal")), base_url="https://testserver")


def _is_error_page(response: httpx.Response, status: int, title: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    for name, value in PAGE_HEADERS.items():
        assert response.headers[name] == value, name
    html = response.text
    assert '<html lang="zh-CN">' in html and f'<h1 id="error-title">{title}</h1>' in html
    assert f"错误代码：{status}" in html and 'id="error-home"' in html
    assert "Not Found" not in html and "Traceback" not in html


@pytest.mark.parametrize("path", ["/no-such-page", "/items/320703-SCJGJ-XK-001/nothing",
                                  "/applications", "/static/pages/no-such.css",
                                  "/%E4%B8%8D%E5%AD%98%E5%9C%A8"])
def test_an_unknown_page_is_the_chinese_404_page(client: TestClient, path: str) -> None:
    _is_error_page(client.get(path), 404, "页面不存在")
    head = client.head(path)
    assert head.status_code == 404 and head.headers["content-type"].startswith("text/html")


def test_a_form_posted_to_an_unknown_page_gets_the_page_and_a_script_json(
        client: TestClient) -> None:
    _is_error_page(client.post("/no-such-page", headers={"Accept": "text/html,*/*;q=0.8"}),
                   404, "页面不存在")
    scripted = client.post("/no-such-page", json={})
    assert scripted.status_code == 404
    assert scripted.json() == {"error": "not_found", "detail": "nothing at /no-such-page"}


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_an_unknown_api_url_stays_json_with_a_reason(client: TestClient, accept: str) -> None:
    for path in ("/api/v1/no-such-thing", "/api/v2/catalogue", "/api"):
        response = client.get(path, headers={"Accept": accept})
        assert response.status_code == 404, path
        assert response.json() == {"error": "not_found", "detail": f"nothing at {path}"}


def test_a_method_a_page_does_not_take_is_the_405_page(client: TestClient) -> None:
    # Reloading the URL a submission was posted to: a GET of a POST-only page.
    response = client.get("/applications/320703-20261201-000001/submit")
    _is_error_page(response, 405, "不支持此操作")
    assert response.headers["allow"] == "POST"


def test_a_method_the_api_does_not_take_is_json_naming_the_allowed(client: TestClient) -> None:
    response = client.put("/api/v1/catalogue", headers={"Accept": "text/html"})
    assert response.status_code == 405 and response.headers["allow"] == "GET"
    assert response.json() == {"error": "method_not_allowed",
                               "detail": "PUT is not allowed on /api/v1/catalogue "
                                         "(allowed: GET)"}

