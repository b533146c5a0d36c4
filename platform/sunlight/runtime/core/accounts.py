"""Staff accounts: created with generated passwords, audited.

Roles: ``clerk``, ``reviewer``, ``approver`` handle cases in their department; ``officer``
(执法人员) and ``legal_reviewer`` (法制审核) run enforcement cases there; ``admin``
administers the site; ``supervisor`` (监察室) watches every case of the site (lights, 督办)
and never handles one, so an account holding it cannot also hold a handling role (岗位分离:
refused at creation, :data:`CONFLICTING_ROLES`). Admins and supervisors may have no
department; the handling roles are scoped to one.

An ``officer`` account is bound to its own certificate number (执法证号, ``certificate``):
every enforcement step it takes as an officer is taken under that certificate, never one
named in a request (:mod:`sunlight.runtime.core.enforcement`). Only officer accounts carry
one, and no two accounts carry the same (:func:`check_certificate`; a unique index too).
Whether the certificate is in the registry, valid and covers an item is checked when the
officer acts, against the registry in force then.

Example::

    >>> password = create_account(session, "320703", "li.clerk", ["clerk"],
    ...                           "320703-SCJGJ", "李")  # doctest: +SKIP
    >>> check_certificate(["officer"], " 32070300101 ")
    '32070300101'
"""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from sunlight.catalogue.flow import STAFF_ROLES
from sunlight.enforcement.flow import LEGAL_REVIEWER, OFFICER
from sunlight.enforcement.officers import Certificate
from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.auth import SUPERVISOR, generate_password, hash_password
from sunlight.runtime.core.models import Account, Department

#: Enforcement roles (执法人员, 法制审核); ``approver`` also takes enforcement decisions.
ENFORCEMENT_ONLY_ROLES: tuple[str, ...] = (OFFICER, LEGAL_REVIEWER)
ROLES = (*STAFF_ROLES, *ENFORCEMENT_ONLY_ROLES, "admin", SUPERVISOR)
#: Roles one account may not hold together (at one site): watching and handling.
CONFLICTING_ROLES: tuple[tuple[str, frozenset[str]], ...] = (
    (SUPERVISOR, frozenset((*STAFF_ROLES, *ENFORCEMENT_ONLY_ROLES))),
)
#: Roles that need no department (site-wide).
SITE_WIDE_ROLES = frozenset({"admin", SUPERVISOR})


class AccountError(ValueError):
    """The account cannot be created; the message names the field."""


_CERTIFICATE: TypeAdapter[str] = TypeAdapter(Certificate)


def create_account(session: Session, site: str, username: str, roles: list[str],
                   department: str | None, display_name: str, actor: str = "cli",
                   certificate: str | None = None) -> str:
    """Create the account; return its generated password (shown once, never stored).
    ``certificate``: an officer account's own certificate number (:func:`check_certificate`).
    """
    check_roles(roles)
    certificate = check_certificate(roles, certificate)
    if department is not None and session.get(Department, department) is None:
        raise AccountError(f"--department: unknown department {department}")
    if department is None and not set(roles) <= SITE_WIDE_ROLES:
        raise AccountError("--department: staff roles are scoped to a department")
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
                        department=department, certificate=certificate))
    audit(session, site, actor=actor, role="admin", entity="account", entity_id=username,
          action="create", to_state=",".join(roles),
          comment=f"certificate {certificate}" if certificate else "")
    return password


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
    for role, excluded in CONFLICTING_ROLES:
        clash = sorted(excluded & set(roles))
        if role in roles and clash:
            raise AccountError(
                f"--role: {role} cannot be held with {', '.join(clash)}: 监察室人员不能同时"
                f"承担案件办理岗位（岗位分离）; a supervisor watches cases and never handles "
                f"them — create separate accounts")
