"""Staff sessions of the pages (docs/pages.md): server-side, in ``staff_sessions``.

Signing in (:func:`start`) makes a random session id (256 bits) for the browser's
``__Host-sunlight_staff`` cookie (HttpOnly, Secure, SameSite=Strict) and keeps only its
SHA-256, with the account, the account's ``token_version`` and a CSRF token. Each request
(:meth:`StaffSessions.load`) finds the row and ends it when it has been idle longer than
``staff_session_idle_minutes`` (the "会话已过期" page), when it is older than
``staff_session_max_hours``, or when the account was disabled or its roles changed since
(``token_version`` moved on, as for tokens: :func:`~sunlight.runtime.core.auth.token_refusal`).
Signing out (:func:`end`) deletes the row. Time is core's clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session
from starlette.requests import Request

from sunlight.runtime.clock import Clock
from sunlight.runtime.core.auth import Staff, role_conflict, staff_of, token_refusal
from sunlight.runtime.core.models import Account, StaffSession
from sunlight.runtime.db import transaction
from sunlight.runtime.pages.security import new_token
from sunlight.runtime.pages.sessions import PageSession, SessionExpired
from sunlight.runtime.settings import Settings

COOKIE = "__Host-sunlight_staff"
SIGN_IN_URL = "/staff/sign-in"
#: A session's last-seen time is written at most this often (not on every request).
TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class StaffUser:
    """Who is signed in to the staff pages: the acting staff member and their name."""

    staff: Staff
    display_name: str

    def __str__(self) -> str:
        return f"{self.display_name}（{self.staff.username}）"


def id_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def start(session: Session, account: Account, now: datetime,
          settings: Settings) -> PageSession:
    """A new session for ``account`` (just signed in): its id is returned, its hash kept.
    Sessions unused for longer than the longest a session may last are cleared out on the
    way (an idle one younger than that still answers "会话已过期" when its browser returns)."""
    stale = now - timedelta(hours=settings.staff_session_max_hours)
    session.execute(delete(StaffSession).where(StaffSession.last_seen_at < stale))
    sid, csrf = new_token(), new_token()
    session.add(StaffSession(id_hash=id_hash(sid), username=account.username,
                             token_version=account.token_version, csrf_token=csrf,
                             created_at=now, last_seen_at=now))
    return PageSession(sid, csrf, StaffUser(staff_of(account), account.display_name))


def end(session: Session, sid: str) -> None:
    """Sign out: the session's row is deleted."""
    session.execute(delete(StaffSession).where(StaffSession.id_hash == id_hash(sid)))


def refusal(row: StaffSession, account: Account | None, now: datetime,
            settings: Settings) -> str | None:
    """Why the session ``row`` no longer holds at ``now``: ``expired`` (idle or too old),
    ``revoked`` (account disabled, gone, roles changed or in conflict), or None."""
    if token_refusal(row.token_version, account) is not None or account is None \
            or role_conflict(account.roles) is not None:
        return "revoked"
    idle = now - _aware(row.last_seen_at)
    age = now - _aware(row.created_at)
    if idle > timedelta(minutes=settings.staff_session_idle_minutes) or \
            age > timedelta(hours=settings.staff_session_max_hours):
        return "expired"
    return None


class StaffSessions:
    """The staff pages' :class:`~sunlight.runtime.pages.sessions.SessionBackend`."""

    cookie = COOKIE
    samesite = "strict"
    sign_in_url = SIGN_IN_URL

    def load(self, request: Request, sid: str) -> PageSession | None:
        app = request.app
        settings: Settings = app.state.settings
        clock: Clock = app.state.clock
        now = clock.now()
        with transaction(app.state.engine) as session:
            row = session.get(StaffSession, id_hash(sid), with_for_update=True)
            if row is None:
                return None
            account = session.get(Account, row.username)
            why = refusal(row, account, now, settings)
            if why is None:
                assert account is not None
                if now - _aware(row.last_seen_at) >= TOUCH_EVERY:
                    row.last_seen_at = now
                return PageSession(sid, row.csrf_token,
                                   StaffUser(staff_of(account), account.display_name))
            session.delete(row)
        if why == "expired":  # after the commit that ended it
            raise SessionExpired()
        return None
