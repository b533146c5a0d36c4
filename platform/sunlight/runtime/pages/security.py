"""What every page response carries: the security headers, the cookies' flags, and the
CSRF token check.

* **Headers** (:data:`PAGE_HEADERS`): a Content-Security-Policy allowing scripts and
  styles from the site itself only (no ``'unsafe-inline'``: templates hold no inline
  script, style attribute or event handler), ``frame-ancestors 'none'``, ``nosniff``,
  ``Referrer-Policy: same-origin``, and ``Cache-Control: no-store`` (a page may show a
  person's data).
* **Cookies** (:func:`set_cookie`): ``HttpOnly``, ``Secure``, ``SameSite`` and the
  ``__Host-`` prefix (path ``/``, no domain: a neighbouring host cannot plant one).
* **CSRF**: every form carries a token; an unsafe request (POST, PUT, PATCH, DELETE)
  whose ``csrf_token`` field (or ``X-CSRF-Token`` header) does not equal the session's
  token is refused (:func:`token_matches`). A signed-in session keeps its token on the
  server; before sign-in the token lives in its own cookie (double submit).
"""

from __future__ import annotations

import hmac
import secrets

from starlette.responses import Response

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
PAGE_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
#: Files served for download or preview (materials): nothing in them may run as the site.
FILE_HEADERS: dict[str, str] = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; object-src 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "private, no-store",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: The cookie holding the CSRF token before sign-in.
CSRF_COOKIE = "__Host-sunlight_csrf"
#: The cookie carrying flash messages to the next page.
FLASH_COOKIE = "__Host-sunlight_flash"


def new_token() -> str:
    """A fresh random token (session ids, CSRF tokens): 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_matches(expected: str | None, given: str | None) -> bool:
    """The submitted token equals the expected one (constant time); never when either is
    missing or empty."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def set_cookie(response: Response, name: str, value: str, *, samesite: str = "lax",
               max_age: int | None = None) -> None:
    """Set ``name`` HttpOnly, Secure, SameSite, path ``/`` (what ``__Host-`` needs)."""
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True,
                        samesite=samesite)  # type: ignore[arg-type]


def clear_cookie(response: Response, name: str, *, samesite: str = "lax") -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True,
                           samesite=samesite)  # type: ignore[arg-type]


def add_headers(response: Response, headers: dict[str, str] = PAGE_HEADERS) -> Response:
    """``headers`` on ``response``, without replacing one the handler set itself."""
    for name, value in headers.items():
        response.headers.setdefault(name, value)
    return response
