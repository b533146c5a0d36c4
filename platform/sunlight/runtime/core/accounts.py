"""Staff accounts: created with generated passwords, audited.

Example::

    >>> password = create_account(session, "320703", "li.clerk", ["clerk"],
    ...                           "320703-SCJGJ", "李")  # doctest: +SKIP
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sunlight.catalogue.flow import STAFF_ROLES
from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.auth import generate_password, hash_password
from sunlight.runtime.core.models import Account, Department

ROLES = (*STAFF_ROLES, "admin")


class AccountError(ValueError):
    """The account cannot be created; the message names the field."""


def create_account(session: Session, site: str, username: str, roles: list[str],
                   department: str | None, display_name: str) -> str:
    """Create the account; return its generated password (shown once, never stored)."""
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise AccountError(f"--role: {', '.join(bad) or '(none)'} not one of {', '.join(ROLES)}")
    if department is not None and session.get(Department, department) is None:
        raise AccountError(f"--department: unknown department {department}")
    if department is None and roles != ["admin"]:
        raise AccountError("--department: staff roles are scoped to a department")
    if session.get(Account, username) is not None:
        raise AccountError(f"username: {username} already exists")
    password = generate_password()
    session.add(Account(username=username, display_name=display_name,
                        password_hash=hash_password(password), roles=roles,
                        department=department))
    audit(session, site, actor="cli", role="admin", entity="account", entity_id=username,
          action="create", to_state=",".join(roles))
    return password
