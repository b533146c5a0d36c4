"""Staff sign-in: argon2 password hashes, signed tokens, and the exchange token check.

A token names its account and the account's ``token_version`` (``ver``), roles, department
and — for a supervisor — the departments it covers (``covers``). Every request re-reads the
account: a disabled account, or one whose version moved on (disabled, roles or coverage
changed: :mod:`sunlight.runtime.core.accounts`), is refused with 401 at once; an account
whose roles conflict (岗位分离) with 403. A request acts with what **both** the token and the
account allow now (:func:`acting_staff`): the roles in both, the departments covered by
both, and only if the department is the same — so a row changed behind the API's back
(direct SQL, no version bump) or a stale token never acts beyond either (403 with the
reason when nothing is left).

A supervisor (监察室) covers a set of departments of its site (:attr:`Staff.covers`), or the
whole site (:data:`ALL_DEPARTMENTS`, stored as ``["all"]``): it sees and acts on cases,
orders and inspections of those departments only (:meth:`Staff.watches`,
:func:`require_watch`), and only a site-wide one sees the subordinate sites
(:meth:`Staff.site_wide`, :func:`require_site_wide`). Admins are site-wide.

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
#: A supervisor's coverage of the whole site (``--covers all``; ``["all"]`` in the row).
ALL_DEPARTMENTS = "all"
#: Roles one account may not hold together (at one site): watching and handling.
CONFLICTING_ROLES: tuple[tuple[str, frozenset[str]], ...] = (
    (SUPERVISOR, frozenset((*STAFF_ROLES, *ENFORCEMENT_ONLY_ROLES))),
)


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member, from the token and the account (:func:`acting_staff`).

    ``covers``: the departments a supervisor watches; ``None`` for the whole site (a
    site-wide supervisor, and everyone else: only supervisors are scoped by it)."""

    username: str
    roles: tuple[str, ...]
    department: str | None
    covers: frozenset[str] | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_supervisor(self) -> bool:
        """监察室: the supervisor role."""
        return SUPERVISOR in self.roles

    @property
    def site_wide(self) -> bool:
        """Watches every department of the site and the subordinate sites: admins, and
        supervisors covering the whole site."""
        return self.is_admin or (self.is_supervisor and self.covers is None)

    def watches(self, department: str | None) -> bool:
        """May watch (board, lights, 督办, inspection) cases of ``department`` here: admins
        and site-wide supervisors any, a scoped supervisor those it covers, others none."""
        if self.site_wide:
            return True
        return self.is_supervisor and self.covers is not None and department in self.covers

    def scope_label(self) -> str:
        """The coverage, for messages."""
        if self.site_wide:
            return "the whole site"
        return ", ".join(sorted(self.covers or ())) or "no department"


def require_watch(staff: Staff, department: str | None, what: str) -> None:
    """403 unless ``staff`` watches ``department`` (:meth:`Staff.watches`), naming both."""
    if not staff.watches(department):
        raise ApiError(403, "out_of_scope", f"{what}: {department or 'another site'} is not "
                       f"among the departments {staff.username} covers ({staff.scope_label()}); "
                       f"不在监察范围内 — an admin extends the coverage (sunlight accounts "
                       f"covers)")


def require_site_wide(staff: Staff, what: str) -> None:
    """403 unless ``staff`` is site-wide (subordinate sites, orders to lower sites)."""
    if not staff.site_wide:
        raise ApiError(403, "out_of_scope", f"{what} is for site-wide supervisors and admins; "
                       f"{staff.username} covers {staff.scope_label()} (仅限全站监察)")


def covers_of(stored: list[str] | None) -> frozenset[str] | None:
    """A stored coverage (``accounts.covers`` or a token's ``covers``) as
    :attr:`Staff.covers`: ``None`` for the whole site, an empty set for none (a supervisor
    row or token without one covers nothing)."""
    if stored is None or not isinstance(stored, list):
        return frozenset()
    if ALL_DEPARTMENTS in stored:
        return None
    return frozenset(str(d) for d in stored)


def staff_of(account: Account) -> Staff:
    """The account as a staff member (sign-in, on-host commands acting ``--as`` it)."""
    return Staff(account.username, tuple(account.roles), account.department,
                 covers_of(account.covers) if SUPERVISOR in account.roles else None)


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
    ``version``; its roles, department and coverage bound what it may do
    (:func:`acting_staff`)."""
    assert settings.token_secret is not None
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": staff.username, "roles": list(staff.roles), "dept": staff.department,
        "iat": now, "exp": now + settings.token_ttl_s, "site": settings.site_code,
        "ver": version}
    if staff.is_supervisor:
        claims["covers"] = ([ALL_DEPARTMENTS] if staff.covers is None
                            else sorted(staff.covers))
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
    request's own transaction) — disabled or revoked tokens are refused (401), and the
    request acts with what the token and the account both allow now (:func:`acting_staff`,
    403 otherwise)."""
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
    return acting_staff(claims, account)


def acting_staff(claims: dict[str, object], account: Account) -> Staff:
    """What a request with a valid token (``claims``) of ``account`` acts as: the roles the
    token and the account both hold, the departments both cover; 403 with the reason when
    the account's roles conflict (岗位分离), the department moved, or nothing is left."""
    for roles, whose in ((account.roles, "account's"), (claims.get("roles"), "token's")):
        conflict = role_conflict(roles if isinstance(roles, list) else [])
        if conflict is not None:
            raise ApiError(403, "forbidden", f"the {whose} roles conflict: {conflict}")
    granted = claims.get("roles")
    granted = granted if isinstance(granted, list) else []
    roles = tuple(r for r in account.roles if r in granted)
    if not roles:
        held = ", ".join(map(str, granted)) or "none"
        raise ApiError(403, "forbidden", f"the token's roles ({held}) are not the account's "
                       f"now ({', '.join(account.roles)}); sign in again")
    if claims.get("dept") != account.department:
        raise ApiError(403, "forbidden", f"the token was issued for department "
                       f"{claims.get('dept') or 'none'}; the account is now in "
                       f"{account.department or 'none'}; sign in again")
    staff = staff_of(account)
    covers = staff.covers
    if staff.is_supervisor:
        token_covers = covers_of(claims.get("covers"))  # type: ignore[arg-type]
        if token_covers is not None:
            covers = token_covers if covers is None else covers & token_covers
        if covers is not None and not covers:
            raise ApiError(403, "forbidden", "the supervisor covers no department (the token "
                           "and the account have none in common); an admin sets its "
                           "coverage (sunlight accounts covers), then sign in again")
    return Staff(account.username, roles, account.department, covers)


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
