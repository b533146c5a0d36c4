"""The page framework (sunlight.runtime.pages) on a small app of its own: autoescaping and
inert hostile text, CSRF refused without or with a wrong token, the cookies' flags, the
security headers, session time-out, error pages without tracebacks, flash messages, the
form macros, the Chinese date filter, static files and what the wheel ships."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI, Form, Request, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, OperationalError

from sunlight.runtime.pages import security
from sunlight.runtime.pages.forms import form_values, validate
from sunlight.runtime.pages.sessions import PageRefusal, PageSession, SessionExpired
from sunlight.runtime.pages.site import PageDep, PageSite, page_router, safe_next
from sunlight.runtime.pages.templating import environment, inert, zh_date, zh_datetime

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "platform" / "sunlight" / "runtime" / "pages"
HOSTILE = ("<script>alert(1)</script>{{ 7*7 }}{% raw %}\u202eevil\u0007"
           "<img src=x onerror=alert(2)>")


@dataclass
class MemorySessions:
    """A session backend kept in a dict, with an idle time-out on a settable clock."""

    idle: timedelta = timedelta(minutes=30)
    now: datetime = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    rows: dict[str, tuple[PageSession, datetime]] = field(default_factory=dict)
    cookie: str = "__Host-test_session"
    samesite: str = "strict"
    sign_in_url: str = "/p/sign-in"

    def load(self, request: Request, sid: str) -> PageSession | None:
        row = self.rows.get(sid)
        if row is None:
            return None
        session, seen = row
        if self.now - seen > self.idle:
            del self.rows[sid]
            raise SessionExpired()
        self.rows[sid] = (session, self.now)
        return session


class Name(BaseModel):
    name: str = Field(min_length=2, max_length=10)


def _app(backend: MemorySessions) -> FastAPI:
    app = FastAPI()
    site = PageSite(name="测试站点", packages=("tests.platform",), backend=backend,
                    home_url="/p/")
    router = page_router("/p")

    @router.get("/")
    def home(page: PageDep) -> Response:
        return page.render("pages_test/form.html", {"values": {}, "errors": {},
                                                    "shown": HOSTILE})

    @router.post("/form")
    async def post_form(request: Request, page: PageDep) -> Response:
        values = form_values(await request.form())
        model, errors = validate(Name, values)
        if model is None:
            return page.render("pages_test/form.html", {"values": values, "errors": errors,
                                                        "shown": ""}, status=422)
        return page.redirect("/p/", flash=f"已保存：{model.name}")

    @router.post("/sign-in")
    def sign_in(page: PageDep, who: str = Form()) -> Response:
        session = PageSession(security.new_token(), security.new_token(), who)
        backend.rows[session.sid] = (session, backend.now)
        page.begin(session)
        return page.redirect("/p/private")

    @router.get("/private")
    def private(page: PageDep) -> Response:
        return page.render("pages_test/form.html", {"values": {}, "errors": {},
                                                    "shown": f"你好 {page.require_user()}"})

    @router.post("/sign-out")
    def sign_out(page: PageDep) -> Response:
        page.finish_session()
        return page.redirect("/p/")

    @router.get("/boom")
    def boom() -> Response:
        raise RuntimeError("secret internals: password=hunter2")

    @router.get("/busy/{kind}")
    def busy(kind: str) -> Response:
        orig = {"lock": psycopg.errors.LockNotAvailable("canceling statement: lock timeout "
                                                        "on relation secret_table"),
                "value": psycopg.errors.StringDataRightTruncation("character varying(9)")}
        error = OperationalError if kind == "lock" else DataError
        raise error("UPDATE secret_table SET x = %(x)s", {"x": "张三"}, orig[kind])

    @router.get("/refuse")
    def refuse() -> Response:
        raise PageRefusal(409, "不能办理", "案件已办结")

    @router.get("/item/{number}")
    def item(number: int, page: PageDep) -> Response:
        return page.render("pages_test/form.html", {"values": {}, "errors": {},
                                                    "shown": str(number)})

    site.install(app, router, not_found_under="/p")
    return app


@pytest.fixture
def backend() -> MemorySessions:
    return MemorySessions()


@pytest.fixture
def client(backend: MemorySessions) -> TestClient:
    return TestClient(_app(backend), base_url="https://testserver",
                      raise_server_exceptions=False)


def _token(client: TestClient, path: str = "/p/") -> str:
    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def _set_cookies(response: Any) -> list[str]:
    return response.headers.get_list("set-cookie")


# Autoescaping and hostile text.

def test_hostile_text_shows_escaped_and_inert(client: TestClient) -> None:
    page = client.get("/p/")
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "{{ 7*7 }}{% raw %}" in page.text and ">49<" not in page.text
    assert "\u202e" not in page.text and "\u0007" not in page.text
    assert "⟨U+202E⟩evil⟨U+0007⟩" in page.text


def test_inert_keeps_ordinary_text_and_newlines() -> None:
    assert inert("第一行\n第二行\tA") == "第一行\n第二行\tA"
    assert inert("a\u2066b\u200fc\x00") == "a⟨U+2066⟩b⟨U+200F⟩c⟨U+0000⟩"
    assert inert(5) == 5


def test_autoescape_is_on_for_html_and_strings() -> None:
    env = environment("tests.platform")
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    assert "&lt;i&gt;" in env.get_template("pages_test/form.html").render(
        values={"name": "<i>"}, errors={}, shown="", csrf_token="t", flashes=[], nav=[],
        user=None, current_path="/", sign_in_url=None, page=None, site_name="站",
        home_url="/", static_url=lambda path: f"/{path}")


# CSRF.

@pytest.mark.parametrize("token", [None, "", "forged-token-value"])
def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(
        client: TestClient, token: str | None) -> None:
    _token(client)  # the visitor has a token cookie; the form does not carry it
    data = {"name": "张三"} if token is None else {"name": "张三", "csrf_token": token}
    refused = client.post("/p/form", data=data, follow_redirects=False)
    assert refused.status_code == 403
    assert "请求未通过安全校验" in refused.text and 'lang="zh-CN"' in refused.text
    assert "Traceback" not in refused.text


def test_a_first_post_without_any_cookie_is_refused_even_with_a_made_up_token(
        backend: MemorySessions) -> None:
    fresh = TestClient(_app(backend), base_url="https://testserver")
    refused = fresh.post("/p/form", data={"name": "张三", "csrf_token": "x"})
    assert refused.status_code == 403


def test_the_right_token_passes_and_a_flash_shows_once(client: TestClient) -> None:
    token = _token(client)
    saved = client.post("/p/form", data={"name": "<b>李四</b>", "csrf_token": token},
                        follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/p/"
    shown = client.get("/p/")
    assert "已保存：&lt;b&gt;李四&lt;/b&gt;" in shown.text and 'role="status"' in shown.text
    assert "已保存" not in client.get("/p/").text


def test_a_signed_in_session_uses_its_own_token(client: TestClient,
                                                 backend: MemorySessions) -> None:
    anonymous = _token(client)
    client.post("/p/sign-in", data={"who": "王五", "csrf_token": anonymous})
    session_token = next(iter(backend.rows.values()))[0].csrf_token
    assert _token(client, "/p/private") == session_token != anonymous
    refused = client.post("/p/sign-out", data={"csrf_token": anonymous})
    assert refused.status_code == 403
    assert client.post("/p/sign-out", data={"csrf_token": session_token},
                       follow_redirects=False).status_code == 303


# Cookies and headers.

def test_cookies_are_httponly_secure_samesite_and_host_only(client: TestClient) -> None:
    first = client.get("/p/")
    (csrf,) = [c for c in _set_cookies(first) if c.startswith(security.CSRF_COOKIE)]
    signed = client.post("/p/sign-in", data={"who": "王五", "csrf_token": _token(client)},
                         follow_redirects=False)
    (session,) = [c for c in _set_cookies(signed) if c.startswith("__Host-test_session=")]
    for cookie in (csrf, session):
        lowered = cookie.lower()
        assert "httponly" in lowered and "secure" in lowered and "path=/" in lowered
        assert "domain=" not in lowered
    assert "samesite=lax" in csrf.lower() and "samesite=strict" in session.lower()


@pytest.mark.parametrize("path", ["/p/", "/p/boom", "/p/nowhere", "/p/refuse"])
def test_every_page_carries_the_security_headers(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "default-src 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cache-control"] == "no-store"


def test_templates_hold_no_inline_script_style_or_handler() -> None:
    templates = [*PAGES.rglob("*.html"), *(ROOT / "platform").rglob("templates/staff/*.html")]
    assert templates
    for path in templates:
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", text), path


# Sessions.

def test_an_idle_session_expires_with_a_clear_page(client: TestClient,
                                                    backend: MemorySessions) -> None:
    client.post("/p/sign-in", data={"who": "王五", "csrf_token": _token(client)})
    backend.now += timedelta(minutes=29)
    assert "你好 王五" in client.get("/p/private").text
    backend.now += timedelta(minutes=31)
    expired = client.get("/p/private")
    assert expired.status_code == 401
    assert "会话已过期" in expired.text and 'href="/p/sign-in"' in expired.text
    assert any(c.startswith("__Host-test_session=") and "max-age=0" in c.lower()
               for c in _set_cookies(expired))
    again = client.get("/p/private", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == "/p/sign-in?next=%2Fp%2Fprivate"


def test_a_signed_out_session_is_gone(client: TestClient) -> None:
    client.post("/p/sign-in", data={"who": "王五", "csrf_token": _token(client)})
    client.post("/p/sign-out", data={"csrf_token": _token(client, "/p/private")})
    assert client.get("/p/private", follow_redirects=False).status_code == 303


# Error pages.

def test_an_unexpected_error_is_a_page_without_a_traceback(client: TestClient) -> None:
    page = client.get("/p/boom")
    assert page.status_code == 500 and "系统出错了" in page.text
    assert "Traceback" not in page.text and "hunter2" not in page.text
    assert "RuntimeError" not in page.text and 'href="/p/"' in page.text


@pytest.mark.parametrize(("kind", "status", "title"), [("lock", 503, "系统繁忙"),
                                                        ("value", 422, "提交的内容有误")])
def test_database_refusals_are_pages_without_the_databases_words(
        client: TestClient, kind: str, status: int, title: str) -> None:
    page = client.get(f"/p/busy/{kind}")
    assert page.status_code == status and title in page.text
    for leak in ("secret_table", "UPDATE", "张三", "character varying", "Traceback"):
        assert leak not in page.text


def test_unknown_and_malformed_urls_get_the_404_page(client: TestClient) -> None:
    for path in ("/p/nowhere", "/p/item/not-a-number"):
        page = client.get(path)
        assert page.status_code == 404 and "页面不存在" in page.text, path
        assert page.text.count("<h1") == 1


def test_a_refusal_shows_its_title_and_message(client: TestClient) -> None:
    page = client.get("/p/refuse")
    assert page.status_code == 409 and "不能办理" in page.text and "案件已办结" in page.text


# Forms.

def test_a_failed_validation_keeps_the_input_and_puts_the_error_by_its_field(
        client: TestClient) -> None:
    page = client.post("/p/form", data={"name": "<", "csrf_token": _token(client)})
    assert page.status_code == 422
    assert 'value="&lt;"' in page.text
    assert 'id="f-name-error">至少需要 2 个字符<' in page.text
    assert 'aria-describedby="f-name-help f-name-error"' in page.text
    assert 'aria-invalid="true"' in page.text and 'href="#f-name"' in page.text


def test_validate_says_what_is_wrong_in_chinese() -> None:
    assert validate(Name, {"name": "   "}) == (None, {"name": "请填写此项"})
    assert validate(Name, {"name": "一二三四五六七八九十十"})[1] == {"name": "最多 10 个字符"}
    assert validate(Name, {"name": "张\x00三"}) == (None, {"name": "不能包含空字符（U+0000）"})
    model, errors = validate(Name, {"name": "张三"})
    assert errors == {} and model is not None and model.name == "张三"


# Dates, static files, redirects, packaging.

def test_dates_are_shown_in_chinese_in_shanghai_time() -> None:
    assert zh_datetime(datetime(2026, 12, 1, 6, 5, tzinfo=UTC)) == "2026年12月1日 14:05"
    assert zh_datetime(datetime(2026, 12, 31, 16, 30)) == "2027年1月1日 00:30"  # naive = UTC
    assert zh_date(date(2026, 3, 9)) == "2026年3月9日"
    assert zh_date(datetime(2026, 12, 31, 17, 0, tzinfo=UTC)) == "2027年1月1日"
    assert zh_datetime(None) == "" == zh_date(None)


def test_static_files_have_a_versioned_url_and_a_long_cache(client: TestClient) -> None:
    page = client.get("/p/")
    href = re.search(r'href="(/static/pages/pages\.css\?v=[0-9a-f]{16})"', page.text)
    assert href, page.text
    css = client.get(href.group(1))
    assert css.status_code == 200 and ":focus-visible" in css.text
    assert "max-age=31536000" in css.headers["cache-control"]
    assert css.headers["x-content-type-options"] == "nosniff"


def test_the_layout_is_testable() -> None:
    text = (PAGES / "templates" / "pages" / "base.html").read_text()
    assert '<html lang="zh-CN">' in text and '<main id="main"' in text
    assert 'name="viewport"' in text and "<footer" in text and "<header" in text


def test_next_targets_stay_on_the_site() -> None:
    assert safe_next("/staff/cases/1?x=2", "/staff/") == "/staff/cases/1?x=2"
    for hostile in ("//evil.example/", "https://evil.example/", "/\\evil", "", None, "/a\r\nb"):
        assert safe_next(hostile, "/staff/") == "/staff/"


def test_templates_and_static_files_ship_in_the_wheel() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["sunlight"]
    base = ROOT / "platform" / "sunlight"
    shipped = [*PAGES.rglob("templates/**/*.html"), *PAGES.rglob("static/*"),
               *(base / "runtime" / "core" / "templates").rglob("*.html")]
    for path in shipped:
        relative = str(path.relative_to(base))
        assert any(fnmatch(relative, p) and relative.count("/") == p.count("/")
                   for p in patterns), relative


def test_a_site_without_sign_in_still_checks_csrf_on_every_form() -> None:
    app = FastAPI()
    site = PageSite(name="门户", packages=("tests.platform",), home_url="/")
    router = page_router("")

    @router.get("/")
    def home(page: PageDep) -> Response:
        assert page.user is None
        return page.render("pages_test/form.html", {"values": {}, "errors": {}, "shown": ""})

    @router.post("/p/form")
    def post(page: PageDep) -> Response:
        return page.redirect("/", flash="好")

    site.install(app, router)
    client = TestClient(app, base_url="https://testserver")
    csrf = _token(client, "/")
    assert client.post("/p/form", data={"csrf_token": "nope"}).status_code == 403
    done = client.post("/p/form", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert "sign-out" not in client.get("/").text
