"""One page site per role: its templates, static files, session backend and navigation,
and the route class every page goes through (:class:`PageRoute`).

A page route (on a router from :func:`page_router`) gets the :class:`PageContext` through
:data:`PageDep`: who is signed in, the CSRF token for its forms, flash messages, and
``render``/``redirect``. Before the page's own code runs, the route loads the session and,
for an unsafe method, checks the CSRF token; whatever the page raises — a
:class:`~sunlight.runtime.pages.sessions.PageRefusal`, an
:class:`~sunlight.runtime.errors.ApiError` from the service below, a malformed URL, or an
unexpected exception — becomes a Chinese error page with a way back, never a traceback.
Every page carries :data:`~sunlight.runtime.pages.security.PAGE_HEADERS`.

Example (a role's app)::

    site = PageSite(name="某某县行政权力运行平台", packages=("sunlight.runtime.core",),
                    backend=StaffSessions(...), home_url="/staff/")
    router = page_router("/staff")

    @router.get("/hello")
    def hello(page: PageDep) -> Response:
        return page.render("staff/hello.html", {"name": "张三"})

    site.install(app, router, not_found_under="/staff")
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, OperationalError, StatementError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from sunlight.runtime.errors import BUSY_STATES, ApiError, request_id
from sunlight.runtime.pages import security
from sunlight.runtime.pages.sessions import (
    CsrfRejected,
    Flash,
    PageRefusal,
    PageSession,
    SessionBackend,
    SessionExpired,
    SignInRequired,
)
from sunlight.runtime.pages.templating import environment

log = logging.getLogger(__name__)

#: The title of the error page for each status an ApiError or a URL can give.
TITLES = {400: "请求无效", 401: "请先登录", 403: "无权进行此操作", 404: "页面不存在",
          405: "不支持此操作", 409: "当前状态下不能进行此操作", 413: "文件或内容过大",
          415: "文件类型不允许", 422: "提交的内容有误", 429: "尝试次数过多，请稍后再试",
          500: "系统出错了", 503: "系统繁忙，请稍后再试"}
STATIC_PREFIX = "/static/pages"
#: What the 404 and 405 pages say (an unknown URL, a method the URL does not take).
UNMATCHED = {404: "您访问的页面不存在或已被移除，请检查地址。",
             405: "该页面不支持这种访问方式，请从页面上的链接或按钮进入。"}
_FALLBACK = ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>系统出错了'
             '</title></head><body><main><h1>系统出错了</h1><p>请稍后重试。</p><p><a href="/">'
             '返回首页</a></p></main></body></html>')


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str


class CachedStaticFiles(StaticFiles):
    """Static files with a year-long, immutable cache (their URLs carry a content hash:
    :meth:`PageSite.static_url`) and ``nosniff``."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


class PageSite:
    """A role's pages: ``name`` in every header, templates from ``packages`` (each
    package's ``templates/``, then the framework's), sessions from ``backend`` (None: a
    site without sign-in), ``nav`` giving the navigation links for a request,
    ``sign_out_url`` the target of the header's sign-out button (a POST with the CSRF
    token) shown to a signed-in visitor."""

    def __init__(self, *, name: str, packages: Sequence[str],
                 backend: SessionBackend | None = None, home_url: str = "/",
                 nav: Callable[[PageContext], list[NavLink]] | None = None,
                 static_packages: Sequence[str] = (), sign_out_url: str = "") -> None:
        self.name, self.backend, self.home_url = name, backend, home_url
        self.nav = nav or (lambda _page: [])
        self.env = environment(*packages)
        self.static = CachedStaticFiles(packages=[
            (name_, "static") for name_ in (*static_packages, "sunlight.runtime.pages")])
        self._versions: dict[str, str] = {}
        self.env.globals.update(site_name=name, static_url=self.static_url, home_url=home_url,
                                sign_out_url=sign_out_url)

    def static_url(self, path: str) -> str:
        """The URL of static file ``path`` with its content hash (``?v=``), so that a new
        release's file is fetched despite the long cache."""
        if path not in self._versions:
            found, _stat = self.static.lookup_path(path)
            if not found:
                raise LookupError(f"no static file {path!r}")
            with open(found, "rb") as fh:
                self._versions[path] = hashlib.sha256(fh.read()).hexdigest()[:16]
        return f"{STATIC_PREFIX}/{path}?v={self._versions[path]}"

    def install(self, app: FastAPI, *routers: APIRouter, not_found_under: str = "",
                api_prefixes: Sequence[str] = ()) -> None:
        """Mount the static files, include ``routers``, and answer unknown URLs under
        ``not_found_under`` (a page prefix) with the 404 page.

        ``api_prefixes`` (a site whose pages are at the root, beside a JSON API under these
        prefixes): a URL nothing answers, or a method its URL does not take, gets the 404 or
        405 page when a browser asks for a page — a GET or HEAD outside the API, or any
        request outside it that accepts ``text/html`` — and otherwise JSON naming the path
        (``{"error": "not_found" | "method_not_allowed", "detail"}``)."""
        app.state.pages = self
        if api_prefixes:
            app.add_exception_handler(HTTPException, self._unmatched(tuple(api_prefixes)))
        app.mount(STATIC_PREFIX, self.static, name="pages-static")
        for router in routers:
            app.include_router(router)
        if not_found_under:
            tail = page_router(not_found_under)

            @tail.api_route("/{rest:path}", methods=["GET", "HEAD", "POST"])
            def not_found(rest: str) -> Response:
                raise PageRefusal(404, TITLES[404], UNMATCHED[404])

            app.include_router(tail)

    def _unmatched(self, api_prefixes: tuple[str, ...]) -> Callable[
            [Request, Exception], Coroutine[Any, Any, Response]]:
        async def answer(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            status, path = exc.status_code, request.url.path
            if status not in UNMATCHED:
                return await http_exception_handler(request, exc)
            api = any(path == p or path.startswith(p.rstrip("/") + "/") for p in api_prefixes)
            if not api and (request.method in ("GET", "HEAD")
                            or "text/html" in request.headers.get("accept", "")):
                response = self.error_response(request, status, TITLES[status],
                                               UNMATCHED[status])
                response.headers.update(exc.headers or {})  # 405: Allow
                return response
            allowed = (exc.headers or {}).get("Allow", "")
            detail = (f"nothing at {path}" if status == 404 else
                      f"{request.method} is not allowed on {path} (allowed: {allowed})")
            return JSONResponse({"error": "not_found" if status == 404 else
                                 "method_not_allowed", "detail": detail},
                                status_code=status, headers=exc.headers)

        return answer

    # Rendering.

    def error_response(self, request: Request, status: int, title: str, message: str,
                       page: PageContext | None = None, detail: str = "") -> Response:
        """The error page: ``title`` as its heading, ``message`` and a way back; never
        raises (a failure to render falls back to a fixed page)."""
        try:
            context = self.context(request, page)
            context.update(status=status, title=title, message=message, detail=detail,
                           expired=status == 401)
            body = self.env.get_template("pages/error.html").render(context)
            response: Response = HTMLResponse(body, status_code=status)
        except Exception:
            log.exception("the error page itself failed")
            response = HTMLResponse(_FALLBACK, status_code=status)
        return security.add_headers(response)

    def context(self, request: Request, page: PageContext | None) -> dict[str, Any]:
        """What every template sees: the page, the signed-in user, the CSRF token, the
        flash messages, navigation."""
        flashes: list[Flash] = []
        if page is not None:
            flashes, page.shown = page.incoming, True
        return {"page": page, "user": page.user if page else None,
                "csrf_token": page.csrf_token if page else "",
                "flashes": flashes, "nav": self.nav(page) if page else [],
                "current_path": request.url.path,
                "sign_in_url": self.backend.sign_in_url if self.backend else None}

    # The request's way through a page route.

    async def handle(self, request: Request,
                     call: Callable[[Request], Coroutine[Any, Any, Response]]) -> Response:
        page = PageContext(site=self, request=request, incoming=_read_flashes(request))
        request.state.page = page
        try:
            await self._open(page)
            if request.method not in security.SAFE_METHODS:
                await _check_csrf(request, page)
            response = await call(request)
        except SignInRequired:
            assert self.backend is not None
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            response = RedirectResponse(f"{self.backend.sign_in_url}?{urlencode({'next': target})}",
                                        status_code=303)
        except SessionExpired as exc:
            page.session, page.end = None, True
            response = self.error_response(request, exc.status, exc.title, exc.message, page)
        except PageRefusal as exc:
            response = self.error_response(request, exc.status, exc.title, exc.message, page)
        except ApiError as exc:
            response = self.error_response(request, exc.status, TITLES.get(exc.status, "无法完成"),
                                           "系统拒绝了这次操作，原因如下。", page, exc.detail)
        except (RequestValidationError, HTTPException) as exc:
            status = 404 if isinstance(exc, RequestValidationError) else exc.status_code
            response = self.error_response(request, status, TITLES.get(status, "请求无效"),
                                           "地址或参数无效，请从导航重新进入。", page)
        except StatementError as exc:
            response = self._database_error(request, exc, page)
        except Exception as exc:
            rid = request_id(request)
            log.error("page failed: %s", type(exc).__name__, exc_info=exc,
                      extra={"request_id": rid, "path": request.url.path})
            response = self.error_response(request, 500, TITLES[500], "处理您的请求时发生意外"
                                           f"错误，已记录（编号 {rid}）。请稍后重试。", page)
        page.finish(response)
        return security.add_headers(response)

    def _database_error(self, request: Request, exc: StatementError,
                        page: PageContext) -> Response:
        """A statement given up under contention: 503, try again; a value the database
        would not store: 422; anything else: 500 with the request id. The database's own
        words go to the log only. Nothing of the request was saved (rolled back)."""
        rid = request_id(request)
        state = getattr(exc.orig, "sqlstate", None)
        log.warning("page's database statement failed: %s", type(exc).__name__,
                    exc_info=exc, extra={"request_id": rid, "path": request.url.path})
        if isinstance(exc, OperationalError) and state in BUSY_STATES:
            return self.error_response(request, 503, TITLES[503], "系统正忙，您的操作没有保存。"
                                       "请稍后重新提交。", page)
        if isinstance(exc, DataError):
            return self.error_response(request, 422, TITLES[422], "某项内容超出允许的长度、范围"
                                       "或格式，未能保存。请返回修改后重新提交。", page)
        return self.error_response(request, 500, TITLES[500], "处理您的请求时发生意外错误，已记录"
                                   f"（编号 {rid}）。请稍后重试。", page)

    async def _open(self, page: PageContext) -> None:
        request = page.request
        page.anonymous_token = request.cookies.get(security.CSRF_COOKIE) or ""
        if not page.anonymous_token:
            page.anonymous_token, page.new_anonymous_token = security.new_token(), True
        if self.backend is not None:
            sid = request.cookies.get(self.backend.cookie)
            if sid:
                page.session = await run_in_threadpool(self.backend.load, request, sid)
                if page.session is None:
                    page.end = True  # an unknown or ended id: drop the cookie


async def _check_csrf(request: Request, page: PageContext) -> None:
    given = request.headers.get(security.CSRF_HEADER)
    if not given:
        form = await request.form()
        value = form.get(security.CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not security.token_matches(page.csrf_token, given) or (
            page.session is None and page.new_anonymous_token):
        raise CsrfRejected()


def _read_flashes(request: Request) -> list[Flash]:
    raw = request.cookies.get(security.FLASH_COOKIE)
    if not raw:
        return []
    try:
        items = json.loads(base64.urlsafe_b64decode(raw.encode()))
        return [Flash(str(level), str(text)) for level, text in items][:5]
    except (ValueError, TypeError):
        return []


@dataclass
class PageContext:
    """One page request: who is signed in, its CSRF token, flash messages in and out."""

    site: PageSite
    request: Request
    session: PageSession | None = None
    incoming: list[Flash] = field(default_factory=list)
    outgoing: list[Flash] = field(default_factory=list)
    shown: bool = False
    anonymous_token: str = ""
    new_anonymous_token: bool = False
    started: PageSession | None = None
    end: bool = False

    @property
    def user(self) -> Any:
        return self.session.user if self.session else None

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token if self.session else self.anonymous_token

    def require_user(self) -> Any:
        """The signed-in user; else the visitor is sent to the sign-in page."""
        if self.session is None:
            raise SignInRequired()
        return self.session.user

    def render(self, template: str, context: dict[str, Any] | None = None,
               status: int = 200) -> HTMLResponse:
        values = self.site.context(self.request, self)
        values.update(context or {})
        return HTMLResponse(self.site.env.get_template(template).render(values),
                            status_code=status)

    def flash(self, text: str, level: str = "success") -> None:
        """Show ``text`` on the next page rendered (after a redirect)."""
        self.outgoing.append(Flash(level, text))

    def redirect(self, url: str, flash: str | None = None, level: str = "success") -> Response:
        """303 to ``url`` (a POST's answer), optionally with a flash message."""
        if flash:
            self.flash(flash, level)
        return RedirectResponse(url, status_code=303)

    def begin(self, session: PageSession) -> None:
        """The visitor signed in: the response sets the session cookie (a fresh id, so an
        id planted before sign-in is worthless)."""
        self.session, self.started, self.end = session, session, False

    def finish_session(self) -> None:
        """The visitor signed out: the response clears the session cookie."""
        self.session, self.end = None, True

    def finish(self, response: Response) -> None:
        backend = self.site.backend
        if backend is not None and self.started is not None:
            security.set_cookie(response, backend.cookie, self.started.sid,
                                samesite=backend.samesite)
        elif backend is not None and self.end:
            security.clear_cookie(response, backend.cookie, samesite=backend.samesite)
        if self.new_anonymous_token:
            security.set_cookie(response, security.CSRF_COOKIE, self.anonymous_token)
        if self.outgoing:
            raw = json.dumps([[f.level, f.text] for f in self.outgoing], ensure_ascii=False)
            security.set_cookie(response, security.FLASH_COOKIE,
                                base64.urlsafe_b64encode(raw.encode()).decode(), max_age=300)
        elif self.shown and self.incoming:
            security.clear_cookie(response, security.FLASH_COOKIE)


async def _page(request: Request) -> PageContext:
    page: PageContext = request.state.page
    return page


PageDep = Annotated[PageContext, Depends(_page)]


class PageRoute(APIRoute):
    """A route whose requests go through :meth:`PageSite.handle`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        call = super().get_route_handler()

        async def handler(request: Request) -> Response:
            site: PageSite = request.app.state.pages
            return await site.handle(request, call)

        return handler


def page_router(prefix: str = "") -> APIRouter:
    """A router for pages: HTML responses, out of the OpenAPI document, through
    :class:`PageRoute`."""
    return APIRouter(prefix=prefix, route_class=PageRoute, include_in_schema=False,
                     default_response_class=HTMLResponse)


def safe_next(value: str | None, default: str) -> str:
    """A ``next=`` target only when it is a path on this site (``/…``, not ``//host``),
    else ``default``: no open redirect after sign-in."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")) \
            and not any(c in value for c in "\r\n"):
        return value
    return default
