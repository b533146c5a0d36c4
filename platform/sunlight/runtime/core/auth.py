"""Staff sign-in: argon2 password hashes, signed tokens, and the exchange token check.

A token names its account and the account's ``token_version`` (``ver``). Every request
re-reads the account: a disabled account, or one whose version moved on (disabled, roles
changed: :mod:`sunlight.runtime.core.accounts`), is refused with 401 at once, and the
roles a request acts with are the account's, never the token's (岗位分离 re-checked).

Sign-in failures are counted per account and per client address (:func:`after_failure`,
:func:`lock_seconds`); the client address is the peer's, or a trusted front proxy's
``X-Forwarded-For`` (:func:`client_address`). Unknown users are checked against a dummy
hash (:func:`verify_or_dummy`) so that they answer in the time a known user does.

Example::

    >>> h = hash_password("a long generated password")
    >>> verify_password(h, "a long generated password")
    True
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Annotated

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Header, Request

from sunlight.catalogue.flow import STAFF_ROLES
from sunlight.enforcement.flow import LEGAL_REVIEWER, OFFICER
from sunlight.runtime.core.models import Account
from sunlight.runtime.deps import SessionDep
from sunlight.runtime.errors import ApiError
from sunlight.runtime.settings import Settings

_hasher = PasswordHasher()
ALGORITHM = "HS256"
MIN_PASSWORD = 12
#: The supervisor role (监察室): watches cases (lights, 督办), never handles them.
SUPERVISOR = "supervisor"
#: Enforcement roles (执法人员, 法制审核); ``approver`` also takes enforcement decisions.
ENFORCEMENT_ONLY_ROLES: tuple[str, ...] = (OFFICER, LEGAL_REVIEWER)
#: Roles one account may not hold together (at one site): watching and handling.
CONFLICTING_ROLES: tuple[tuple[str, frozenset[str]], ...] = (
    (SUPERVISOR, frozenset((*STAFF_ROLES, *ENFORCEMENT_ONLY_ROLES))),
)


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


@cache
def dummy_hash() -> str:
    """A hash of a random password nobody knows, made with the same parameters as real ones
    (made once per process)."""
    return _hasher.hash(secrets.token_urlsafe(18))


def verify_or_dummy(password_hash: str | None, password: str) -> bool:
    """Verify against the account's hash, or, for an unknown user (``None``), against
    :func:`dummy_hash` and answer False: both take one argon2 verification."""
    if password_hash is None:
        verify_password(dummy_hash(), password)
        return False
    return verify_password(password_hash, password)


def role_conflict(roles: list[str] | tuple[str, ...]) -> str | None:
    """The reason ``roles`` may not be held together (岗位分离), or None."""
    for role, excluded in CONFLICTING_ROLES:
        clash = sorted(excluded & set(roles))
        if role in roles and clash:
            return (f"{role} cannot be held with {', '.join(clash)}: 监察室人员不能同时"
                    f"承担案件办理岗位（岗位分离）; a supervisor watches cases and never handles "
                    f"them — create separate accounts")
    return None


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def issue_token(settings: Settings, staff: Staff, version: int = 0) -> str:
    """A signed token for ``staff``, valid while the account's ``token_version`` is
    ``version`` (the roles in it are informative: requests use the account's)."""
    assert settings.token_secret is not None
    now = int(time.time())
    claims = {"sub": staff.username, "roles": list(staff.roles), "dept": staff.department,
              "iat": now, "exp": now + settings.token_ttl_s, "site": settings.site_code,
              "ver": version}
    return jwt.encode(claims, settings.token_secret.get_secret_value(), algorithm=ALGORITHM)


def token_refusal(token_version: object, account: Account | None) -> str | None:
    """Why a well-signed token naming ``account`` is refused now, or None: the account is
    gone or disabled, or its version moved on since the token was issued (a token without
    ``ver`` predates versions and is refused too)."""
    if account is None or not account.active:
        return "the account is disabled or no longer exists"
    if type(token_version) is not int or token_version != account.token_version:
        return ("the token was revoked (the account's roles or status changed since it was "
                "issued); sign in again")
    return None


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise ApiError(401, "unauthenticated", "sign in: send Authorization: Bearer <token>")
    return authorization[7:].strip()


def current_staff(request: Request, session: SessionDep,
                  authorization: Annotated[str | None, Header()] = None) -> Staff:
    """The signed-in staff member: the token checked, then the account re-read (in the
    request's own transaction) — disabled or revoked tokens are refused, and the roles and
    department are the account's now."""
    settings: Settings = request.app.state.settings
    assert settings.token_secret is not None
    try:
        claims = jwt.decode(_bearer(authorization), settings.token_secret.get_secret_value(),
                            algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError as exc:
        raise ApiError(401, "unauthenticated", f"token rejected: {exc}") from exc
    if claims.get("site") != settings.site_code:
        raise ApiError(401, "unauthenticated", "token was issued by another site")
    account = session.get(Account, str(claims["sub"]))
    refusal = token_refusal(claims.get("ver"), account)
    if refusal is not None:
        raise ApiError(401, "unauthenticated", f"token rejected: {refusal}")
    assert account is not None
    conflict = role_conflict(account.roles)
    if conflict is not None:
        raise ApiError(403, "forbidden", f"the account's roles conflict: {conflict}")
    return Staff(account.username, tuple(account.roles), account.department)


# Sign-in throttling: pure rules; the rows are kept by sunlight.runtime.core.accounts.

@dataclass(frozen=True)
class Throttle:
    """One throttle row's state: failures in a row and the lock they earned."""

    failures: int = 0
    last_failure_at: datetime | None = None
    locked_until: datetime | None = None

    def retry_after(self, now: datetime) -> float:
        """Seconds the lock still holds at ``now`` (0 when not locked)."""
        if self.locked_until is None:
            return 0.0
        return max(0.0, (self.locked_until - now).total_seconds())


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    base_s: float
    max_s: float
    window_s: float

    @classmethod
    def account(cls, settings: Settings) -> ThrottlePolicy:
        return cls(settings.signin_account_max_failures, settings.signin_lock_base_s,
                   settings.signin_lock_max_s, settings.signin_window_s)

    @classmethod
    def client(cls, settings: Settings) -> ThrottlePolicy:
        return cls(settings.signin_client_max_failures, settings.signin_lock_base_s,
                   settings.signin_lock_max_s, settings.signin_window_s)


def lock_seconds(failures: int, policy: ThrottlePolicy) -> float:
    """The lock earned by ``failures`` failures in a row: none below the threshold, then the
    base, doubling with each further failure, at most ``max_s``.

    >>> p = ThrottlePolicy(max_failures=5, base_s=30, max_s=900, window_s=3600)
    >>> [lock_seconds(n, p) for n in (4, 5, 6, 7, 12)]
    [0.0, 30.0, 60.0, 120.0, 900.0]
    """
    if failures < policy.max_failures:
        return 0.0
    extra = min(failures - policy.max_failures, 32)
    return float(min(policy.max_s, policy.base_s * 2**extra))


def after_failure(state: Throttle, now: datetime, policy: ThrottlePolicy) -> Throttle:
    """The state after one more failure at ``now``: the count restarts after a quiet window
    (no failure for ``window_s``), and the lock is :func:`lock_seconds` of the new count."""
    failures = state.failures
    if state.last_failure_at is None or (now - state.last_failure_at).total_seconds() \
            > policy.window_s:
        failures = 0
    failures += 1
    lock = lock_seconds(failures, policy)
    return Throttle(failures, now, now + timedelta(seconds=lock) if lock else None)


def client_address(peer: str | None, forwarded_for: str | None,
                   trusted: tuple[str, ...]) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy — then the
    right-most address of ``X-Forwarded-For`` that is not itself a trusted proxy (what a
    client sends from the left is never believed).

    >>> client_address("10.0.0.5", "1.2.3.4", ())
    '10.0.0.5'
    >>> client_address("10.0.0.5", "6.6.6.6, 1.2.3.4", ("10.0.0.0/8",))
    '1.2.3.4'
    """
    address = peer or "unknown"
    networks = [ipaddress.ip_network(n, strict=False) for n in trusted]

    def is_trusted(candidate: str) -> bool:
        try:
            ip = ipaddress.ip_address(candidate)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    if not networks or not is_trusted(address) or not forwarded_for:
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a malformed hop: believe nothing further left
        if not is_trusted(hop):
            return hop
        address = hop
    return address


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
