"""Staff accounts: created with generated passwords, audited.

Roles: ``clerk``, ``reviewer``, ``approver`` handle cases in their department; ``admin``
administers the site; ``supervisor`` (监察室) watches every case of the site (lights, 督办)
and never handles one, so an account holding it cannot also hold a handling role (岗位分离:
refused at creation, :data:`CONFLICTING_ROLES`). Admins and supervisors may have no
department; the handling roles are scoped to one.

Example::

    >>> password = create_account(session, "320703", "li.clerk", ["clerk"],
    ...                           "320703-SCJGJ", "李")  # doctest: +SKIP
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sunlight.catalogue.flow import STAFF_ROLES
from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.auth import SUPERVISOR, generate_password, hash_password
from sunlight.runtime.core.models import Account, Department

ROLES = (*STAFF_ROLES, "admin", SUPERVISOR)
#: Roles one account may not hold together (at one site): watching and handling.
CONFLICTING_ROLES: tuple[tuple[str, frozenset[str]], ...] = (
    (SUPERVISOR, frozenset(STAFF_ROLES)),
)
#: Roles that need no department (site-wide).
SITE_WIDE_ROLES = frozenset({"admin", SUPERVISOR})


class AccountError(ValueError):
    """The account cannot be created; the message names the field."""


def create_account(session: Session, site: str, username: str, roles: list[str],
                   department: str | None, display_name: str, actor: str = "cli") -> str:
    """Create the account; return its generated password (shown once, never stored)."""
    check_roles(roles)
    if department is not None and session.get(Department, department) is None:
        raise AccountError(f"--department: unknown department {department}")
    if department is None and not set(roles) <= SITE_WIDE_ROLES:
        raise AccountError("--department: staff roles are scoped to a department")
    if session.get(Account, username) is not None:
        raise AccountError(f"username: {username} already exists")
    password = generate_password()
    session.add(Account(username=username, display_name=display_name,
                        password_hash=hash_password(password), roles=roles,
                        department=department))
    audit(session, site, actor=actor, role="admin", entity="account", entity_id=username,
          action="create", to_state=",".join(roles))
    return password


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
