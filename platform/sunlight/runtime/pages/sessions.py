"""A page's view of who is asking: the browser session a role keeps, and the ways a page
refuses (not signed in, session expired, bad CSRF token, a plain error to show).

A role supplies a :class:`SessionBackend` (core: staff sessions in its database,
:mod:`sunlight.runtime.core.pages_sessions`); the framework reads the role's session
cookie, asks the backend for the session, and keeps a CSRF token for visitors without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import Request


@dataclass
class PageSession:
    """A signed-in browser session: its id (the cookie's value), the CSRF token its forms
    carry, and whoever the role says is signed in (``user``)."""

    sid: str
    csrf_token: str
    user: Any = None


class SessionBackend(Protocol):
    """Where a role keeps its signed-in sessions."""

    #: The cookie carrying the session id (``__Host-`` prefixed).
    cookie: str
    #: The cookie's SameSite: ``strict`` for staff, ``lax`` where links from elsewhere
    #: should find the visitor signed in.
    samesite: str
    #: Where :class:`SignInRequired` sends the visitor.
    sign_in_url: str

    def load(self, request: Request, sid: str) -> PageSession | None:
        """The live session ``sid`` (its last-seen time moved on), None for an unknown
        one; raise :class:`SessionExpired` for one that timed out (ending it)."""
        ...


class PageRefusal(Exception):
    """Shown as an error page: an HTTP status, a title and a message in Chinese."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


class SignInRequired(Exception):
    """The page needs a signed-in visitor: redirect to the sign-in page."""


class SessionExpired(PageRefusal):
    def __init__(self) -> None:
        super().__init__(401, "会话已过期", "您已较长时间未操作，为保护信息安全已自动退出登录。"
                         "请重新登录后再继续；未提交的内容需要重新填写。")


class CsrfRejected(PageRefusal):
    def __init__(self) -> None:
        super().__init__(403, "请求未通过安全校验", "表单的安全校验码缺失或已失效（例如页面打开"
                         "时间过长、已退出登录或在其他窗口重新登录）。请返回上一页，刷新后重新提交。")


@dataclass
class Flash:
    """A message for the next page (after a redirect): ``level`` is ``info``, ``success``
    or ``error``."""

    level: str
    text: str
