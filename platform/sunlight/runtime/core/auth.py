"""Staff sign-in: argon2 password hashes, signed tokens, and the exchange token check.

Example::

    >>> h = hash_password("a long generated password")
    >>> verify_password(h, "a long generated password")
    True
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Annotated

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Header, Request

from sunlight.runtime.errors import ApiError
from sunlight.runtime.settings import Settings

_hasher = PasswordHasher()
ALGORITHM = "HS256"
MIN_PASSWORD = 12
#: The supervisor role (监察室): watches cases (lights, 督办), never handles them.
SUPERVISOR = "supervisor"


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member, from the token."""

    username: str
    roles: tuple[str, ...]
    department: str | None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_supervisor(self) -> bool:
        """监察室: the supervisor role."""
        return SUPERVISOR in self.roles


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password must have at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def issue_token(settings: Settings, staff: Staff) -> str:
    assert settings.token_secret is not None
    now = int(time.time())
    claims = {"sub": staff.username, "roles": list(staff.roles), "dept": staff.department,
              "iat": now, "exp": now + settings.token_ttl_s, "site": settings.site_code}
    return jwt.encode(claims, settings.token_secret.get_secret_value(), algorithm=ALGORITHM)


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise ApiError(401, "unauthenticated", "sign in: send Authorization: Bearer <token>")
    return authorization[7:].strip()


def current_staff(request: Request,
                  authorization: Annotated[str | None, Header()] = None) -> Staff:
    settings: Settings = request.app.state.settings
    assert settings.token_secret is not None
    try:
        claims = jwt.decode(_bearer(authorization), settings.token_secret.get_secret_value(),
                            algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError as exc:
        raise ApiError(401, "unauthenticated", f"token rejected: {exc}") from exc
    if claims.get("site") != settings.site_code:
        raise ApiError(401, "unauthenticated", "token was issued by another site")
    return Staff(str(claims["sub"]), tuple(claims.get("roles", [])), claims.get("dept"))


def require_admin(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
    if not staff.is_admin:
        raise ApiError(403, "forbidden", "catalogue administration needs the admin role")
    return staff


def require_exchange(request: Request,
                     authorization: Annotated[str | None, Header()] = None) -> None:
    """Only the gateway holds the exchange token."""
    settings: Settings = request.app.state.settings
    assert settings.exchange_token is not None
    token = _bearer(authorization)
    if not hmac.compare_digest(token.encode(), settings.exchange_token.get_secret_value().encode()):
        raise ApiError(401, "unauthenticated", "exchange token rejected")


StaffDep = Annotated[Staff, Depends(current_staff)]
AdminDep = Annotated[Staff, Depends(require_admin)]
