"""Staff accounts: created with generated passwords, audited.

Roles: ``clerk``, ``reviewer``, ``approver`` handle cases in their department; ``officer``
(执法人员) and ``legal_reviewer`` (法制审核) run enforcement cases there; ``admin``
administers the site; ``supervisor`` (监察室) watches the cases of the departments it
covers (lights, 督办, inspection) and never handles one, so an account holding it cannot
also hold a handling role (岗位分离: refused at creation, :data:`CONFLICTING_ROLES`). Admins
and supervisors may have no department; the handling roles are scoped to one.

A supervisor account covers a set of departments of the site (``covers``; by default its
own department), or the whole site, stated explicitly (``--covers all``): only then does it
see every department and the subordinate sites (:func:`check_covers`, :func:`set_covers`).

An ``officer`` account is bound to its own certificate number (执法证号, ``certificate``):
every enforcement step it takes as an officer is taken under that certificate, never one
named in a request (:mod:`sunlight.runtime.core.enforcement`). Only officer accounts carry
one, and no two accounts carry the same (:func:`check_certificate`; a unique index too).
Whether the certificate is in the registry, valid and covers an item is checked when the
officer acts, against the registry in force then.

Disabling an account (:func:`set_active`), changing its roles (:func:`set_roles`) or a
supervisor's coverage (:func:`set_covers`) raises
its ``token_version``: every token issued before is refused at the next request
(:func:`sunlight.runtime.core.auth.current_staff`). Sign-in (:func:`sign_in`) is throttled
per account and per client address, and every attempt — success or failure, with its reason
and client — is a record of the audit chain.

Example::

    >>> password = create_account(session, "320703", "li.clerk", ["clerk"],
    ...                           "320703-SCJGJ", "李")  # doctest: +SKIP
    >>> check_certificate(["officer"], " 32070300101 ")
    '32070300101'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sunlight.catalogue.flow import STAFF_ROLES
from sunlight.enforcement.flow import OFFICER
from sunlight.enforcement.officers import Certificate
from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.auth import (
    ALL_DEPARTMENTS,
    ENFORCEMENT_ONLY_ROLES,
    SUPERVISOR,
    Throttle,
    ThrottlePolicy,
    after_failure,
    generate_password,
    hash_password,
    role_conflict,
    verify_or_dummy,
)
from sunlight.runtime.core.auth import (
    CONFLICTING_ROLES as CONFLICTING_ROLES,
)
from sunlight.runtime.core.models import Account, Department, SigninThrottle
from sunlight.runtime.settings import Settings

ROLES = (*STAFF_ROLES, *ENFORCEMENT_ONLY_ROLES, "admin", SUPERVISOR)
#: Roles that need no department (site-wide).
SITE_WIDE_ROLES = frozenset({"admin", SUPERVISOR})


class AccountError(ValueError):
    """The account cannot be created; the message names the field."""


_CERTIFICATE: TypeAdapter[str] = TypeAdapter(Certificate)


def create_account(session: Session, site: str, username: str, roles: list[str],
                   department: str | None, display_name: str, actor: str = "cli",
                   certificate: str | None = None, covers: list[str] | None = None) -> str:
    """Create the account; return its generated password (shown once, never stored).
    ``certificate``: an officer account's own certificate number (:func:`check_certificate`);
    ``covers``: a supervisor's departments or ``["all"]`` (:func:`check_covers`).
    """
    check_roles(roles)
    certificate = check_certificate(roles, certificate)
    if department is not None and session.get(Department, department) is None:
        raise AccountError(f"--department: unknown department {department}")
    if department is None and not set(roles) <= SITE_WIDE_ROLES:
        raise AccountError("--department: staff roles are scoped to a department")
    covers = check_covers(session, roles, department, covers)
    if session.get(Account, username) is not None:
        raise AccountError(f"username: {username} already exists")
    if certificate is not None:
        holder = session.scalar(select(Account.username)
                                .where(Account.certificate == certificate))
        if holder is not None:
            raise AccountError(f"--certificate: {certificate} is already bound to account "
                               f"{holder}; an officer acts under their own certificate only")
    password = generate_password()
    session.add(Account(username=username, display_name=display_name,
                        password_hash=hash_password(password), roles=roles,
                        department=department, certificate=certificate, covers=covers))
    notes = [f"certificate {certificate}"] if certificate else []
    if covers is not None:
        notes.append(f"covers {','.join(covers)}")
    audit(session, site, actor=actor, role="admin", entity="account", entity_id=username,
          action="create", to_state=",".join(roles), comment="; ".join(notes))
    return password


def check_covers(session: Session, roles: list[str], department: str | None,
                 covers: list[str] | None) -> list[str] | None:
    """The coverage to store: None for an account without the supervisor role (which may
    not be given one); for a supervisor, ``["all"]`` (the whole site, stated), or department
    codes of this site (each must exist), by default its own department; a supervisor with
    neither is refused (it must say what it watches)."""
    if SUPERVISOR not in roles:
        if covers:
            raise AccountError(f"--covers: only {SUPERVISOR} accounts cover departments; "
                               f"roles given: {', '.join(roles)}")
        return None
    if not covers:
        if department is None:
            raise AccountError(f"--covers: a {SUPERVISOR} account names the departments it "
                               f"covers (--covers CODE, repeat) or --covers "
                               f"{ALL_DEPARTMENTS} for the whole site (监察范围)")
        return [department]
    wanted = sorted({c.strip() for c in covers if c.strip()})
    if ALL_DEPARTMENTS in wanted:
        if wanted != [ALL_DEPARTMENTS]:
            raise AccountError(f"--covers: {ALL_DEPARTMENTS} is the whole site; give it "
                               f"alone, not with departments")
        return [ALL_DEPARTMENTS]
    unknown = [c for c in wanted if session.get(Department, c) is None]
    if unknown or not wanted:
        raise AccountError(f"--covers: unknown department {', '.join(unknown) or '(none)'} "
                           f"at this site")
    return wanted


def set_covers(session: Session, site: str, username: str, covers: list[str],
               actor: str = "cli") -> Account:
    """Replace a supervisor's coverage (:func:`check_covers`) and revoke its tokens."""
    account = _existing(session, username)
    if SUPERVISOR not in account.roles:
        raise AccountError(f"--covers: {username} is not a {SUPERVISOR} account; only "
                           f"supervisors cover departments")
    if not covers:
        raise AccountError(f"--covers: give department codes or {ALL_DEPARTMENTS}")
    stored = check_covers(session, account.roles, account.department, covers)
    before = ",".join(account.covers or [])
    account.covers = stored
    account.token_version += 1
    after = ",".join(stored or [])
    audit(session, site, actor=actor, role="admin", entity="account", entity_id=username,
          action="set_covers", from_state=before[:40], to_state=after[:40],
          comment=f"covers {before or '-'} -> {after}; tokens revoked "
                  f"(version {account.token_version})")
    return account


def check_certificate(roles: list[str], certificate: str | None) -> str | None:
    """The certificate number normalised as the registry does (NFKC, upper case, trimmed),
    or None; refused unless the account holds the officer role and the number is well
    formed. An officer account without one may exist but cannot act as an officer."""
    if certificate is None or not certificate.strip():
        return None
    if OFFICER not in roles:
        raise AccountError(f"--certificate: only {OFFICER} accounts carry a certificate "
                           f"number (执法证号); roles given: {', '.join(roles)}")
    try:
        return _CERTIFICATE.validate_python(certificate)
    except ValidationError as exc:
        raise AccountError(f"--certificate: {certificate!r} is not a certificate number "
                           f"(letters, digits and hyphens, 3 to 32): "
                           f"{exc.errors()[0]['msg']}") from None


def check_roles(roles: list[str]) -> None:
    """Refuse unknown roles, none, and conflicting ones (the supervisor and a handling role)."""
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise AccountError(f"--role: {', '.join(bad) or '(none)'} not one of {', '.join(ROLES)}")
    conflict = role_conflict(roles)
    if conflict is not None:
        raise AccountError(f"--role: {conflict}")


def _existing(session: Session, username: str) -> Account:
    account = session.scalars(select(Account).where(Account.username == username)
                              .with_for_update()).first()
    if account is None:
        raise AccountError(f"username: no account {username}")
    return account


def set_active(session: Session, site: str, username: str, active: bool,
               actor: str = "cli") -> Account:
    """Disable or re-enable an account. Disabling revokes every token it holds (its
    ``token_version`` moves on); so does enabling, so a token from before the disabling
    never comes back to life."""
    account = _existing(session, username)
    before = account.active
    account.active = active
    account.token_version += 1
    audit(session, site, actor=actor, role="admin", entity="account", entity_id=username,
          action="enable" if active else "disable",
          from_state="active" if before else "disabled",
          to_state="active" if active else "disabled",
          comment=f"tokens revoked (version {account.token_version})")
    return account


def set_roles(session: Session, site: str, username: str, roles: list[str],
              actor: str = "cli", covers: list[str] | None = None) -> Account:
    """Replace an account's roles (checked as at creation: 岗位分离, department scope, the
    officer's certificate, a supervisor's coverage — ``covers``, else the one it has, else
    its department) and revoke every token it holds."""
    check_roles(roles)
    account = _existing(session, username)
    if covers is None and SUPERVISOR in roles and account.covers:
        covers = list(account.covers)
    new_covers = check_covers(session, roles, account.department, covers)
    if account.department is None and not set(roles) <= SITE_WIDE_ROLES:
        raise AccountError("--role: the account has no department; staff roles are scoped "
                           "to one")
    if account.certificate is not None and OFFICER not in roles:
        raise AccountError(f"--role: the account carries certificate {account.certificate}; "
                           f"only {OFFICER} accounts do — keep {OFFICER} or create a new "
                           "account")
    before = ",".join(account.roles)
    account.roles = list(roles)
    account.covers = new_covers
    account.token_version += 1
    audit(session, site, actor=actor, role="admin", entity="account", entity_id=username,
          action="set_roles", from_state=before[:40], to_state=",".join(roles)[:40],
          comment=f"roles {before} -> {','.join(roles)}; tokens revoked "
                  f"(version {account.token_version})")
    return account


@dataclass(frozen=True)
class SignInResult:
    """What a sign-in attempt came to. ``reason``: ``ok``, ``locked`` (429, with
    ``retry_after`` seconds), ``unknown_user``, ``disabled``, ``wrong_password``,
    ``totp_required``, ``wrong_totp`` (401) or ``roles_conflict`` (403)."""

    reason: str
    account: Account | None = None
    retry_after: float = 0.0

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


#: Failures that count towards a lock (a missing second factor or a role conflict do not:
#: the password was right).
COUNTED = frozenset({"unknown_user", "disabled", "wrong_password", "wrong_totp"})


def throttle_keys(username: str, client: str) -> tuple[str, str]:
    """The throttle rows of an attempt, in the order they are locked."""
    return f"account:{username}"[:120], f"client:{client}"[:120]


def sign_in(session: Session, site: str, settings: Settings, username: str, password: str,
            client: str, now: datetime, totp: str | None = None) -> SignInResult:
    """Check one sign-in attempt inside the caller's transaction (which must commit even
    when the attempt fails: the failure count and the audit record are part of the answer).

    A lock on the account or on the client refuses the attempt before any password is
    checked; otherwise exactly one argon2 verification is made, for unknown and disabled
    accounts too (:func:`~sunlight.runtime.core.auth.verify_or_dummy`)."""
    keys = throttle_keys(username, client)
    rows = {row.key: row for row in session.scalars(
        select(SigninThrottle).where(SigninThrottle.key.in_(keys)))}
    wait = max(_state(rows.get(key)).retry_after(now) for key in keys)
    if wait > 0:
        result = SignInResult("locked", retry_after=wait)
    else:
        result = _check(session, username, password, totp)
    if result.reason in COUNTED:
        _count_failure(session, keys, (ThrottlePolicy.account(settings),
                                       ThrottlePolicy.client(settings)), now)
    elif result.ok:
        session.execute(delete(SigninThrottle).where(SigninThrottle.key == keys[0]))
    audit(session, site, actor=username[:64], role="staff", entity="account",
          entity_id=username[:64], action="sign_in" if result.ok else "sign_in_refused",
          to_state=result.reason,
          comment=f"client {client}" + (f"; locked for {result.retry_after:.0f} s more"
                                        if result.reason == "locked" else ""))
    return result


def _check(session: Session, username: str, password: str, totp: str | None) -> SignInResult:
    account = session.get(Account, username)
    right = verify_or_dummy(account.password_hash if account is not None else None, password)
    if account is None:
        return SignInResult("unknown_user")
    if not account.active:
        return SignInResult("disabled", account)
    if not right:
        return SignInResult("wrong_password", account)
    if role_conflict(account.roles) is not None:
        return SignInResult("roles_conflict", account)
    if account.totp_secret is not None and "admin" in account.roles:
        if not totp:
            return SignInResult("totp_required", account)
        if not totp_matches(account.totp_secret, totp):
            return SignInResult("wrong_totp", account)
    return SignInResult("ok", account)


def _state(row: SigninThrottle | None) -> Throttle:
    if row is None:
        return Throttle()
    return Throttle(row.failures, row.last_failure_at, row.locked_until)


def _count_failure(session: Session, keys: tuple[str, ...],
                   policies: tuple[ThrottlePolicy, ...], now: datetime) -> None:
    for key, policy in zip(keys, policies, strict=True):
        session.execute(insert(SigninThrottle)
                        .values(key=key, failures=0, last_failure_at=now)
                        .on_conflict_do_nothing(index_elements=["key"]))
        row = session.scalars(select(SigninThrottle).where(SigninThrottle.key == key)
                              .with_for_update()
                              .execution_options(populate_existing=True)).one()
        state = after_failure(_state(row), now, policy)
        row.failures, row.last_failure_at = state.failures, now
        row.locked_until = state.locked_until
    # Forget quiet rows (a spray of unknown names must not grow the table for ever).
    window = max(p.window_s for p in policies)
    quiet = now - timedelta(seconds=window)
    session.execute(delete(SigninThrottle).where(
        SigninThrottle.last_failure_at < quiet,
        or_(SigninThrottle.locked_until.is_(None), SigninThrottle.locked_until < now),
        SigninThrottle.key.not_in(keys)))


def totp_matches(secret: str, code: str) -> bool:
    """The code is the account's current TOTP (or the one before or after: clock skew)."""
    import pyotp

    return bool(pyotp.TOTP(secret).verify(code.strip(), valid_window=1))


def enrol_totp(session: Session, site: str, username: str, issuer: str,
               actor: str = "cli") -> str:
    """Give an admin account a new TOTP secret; return its ``otpauth://`` URI (shown once).
    Its tokens are revoked: the next sign-in needs the code."""
    import pyotp

    account = _existing(session, username)
    if "admin" not in account.roles:
        raise AccountError(f"username: {username} is not an admin account; the second "
                           "factor is for admin accounts")
    secret = pyotp.random_base32()
    account.totp_secret = secret
    account.token_version += 1
    audit(session, site, actor=actor, role="admin", entity="account", entity_id=username,
          action="totp_enrol", comment="a new TOTP secret; tokens revoked")
    return str(pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer))
