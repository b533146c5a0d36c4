"""Retention in the external zone: what the portal keeps of a case once it is closed inward.

The portal learns a case's outcome from core through the gateway (``case.status`` records
flowing outward, :func:`sunlight.runtime.gateway.service._apply_outward`), which sets the
application's status and ``updated_at``. Once the status is terminal (``closed`` 已办结 or
``refused`` 不予受理: nothing follows it, so ``updated_at`` is when the portal learned the
outcome) and ``SUNLIGHT_PORTAL_RETENTION_DAYS`` (default 30, in
:mod:`sunlight.runtime.settings`) have passed, :func:`purge`:

- deletes the application's materials (their bytes and their rows; core keeps the case file
  inside),
- masks the applicant's identity number (``3201**********1234``: the first four and last four
  characters, :func:`mask_id`) and telephone number (the last four, :func:`mask_phone`) in the
  application and in the outbox records that carried them inward,
- and marks the application ``purged_at`` (migration ``portal_0005``), so the tracking page
  still answers, saying the materials were deleted under the retention rule
  (:data:`PURGED_NOTE`).

Open cases are never touched, whatever their age. The selection rule is one pure function
(:func:`due`) and its SQL twin (:func:`due_clause`); ``sunlight retention purge`` runs
:func:`purge` on the portal host, daily from the ``sunlight-portal-retention.timer`` the
``sunlight_portal`` role installs.

Example::

    >>> mask_id("320102199001011234"), mask_phone("13812345678")
    ('3201**********1234', '*******5678')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, delete, func, select, text

from sunlight.runtime.db import transaction, utcnow
from sunlight.runtime.portal.models import Application, Material
from sunlight.workflow.machine import TERMINAL_STATUSES

#: What the tracking page says once the materials were deleted (the citizen reads it).
PURGED_NOTE = "本件已办结，申请材料已按保存期限规定删除，身份证件号码已脱敏。"
TERMINAL = tuple(sorted(str(s) for s in TERMINAL_STATUSES))
#: Applications purged per transaction.
BATCH = 100


def mask_id(number: str) -> str:
    """An identity number (or credit code) with all but its first and last four masked."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(phone: str) -> str:
    """A telephone number with all but its last four digits masked (empty stays empty)."""
    if len(phone) <= 4:
        return "*" * len(phone)
    return "*" * (len(phone) - 4) + phone[-4:]


def due(status: str, closed_at: datetime, purged_at: datetime | None, now: datetime,
        retention: timedelta) -> bool:
    """Whether an application is due for purging: closed inward (a terminal status) at
    least ``retention`` ago, not purged yet. ``closed_at``: when the portal learned it."""
    return status in TERMINAL and purged_at is None and closed_at <= now - retention


def due_clause(now: datetime, retention: timedelta) -> ColumnElement[bool]:
    """:func:`due` as SQL on :class:`Application` (the two are kept equal by a unit test)."""
    return and_(Application.status.in_(TERMINAL), Application.purged_at.is_(None),
                Application.updated_at <= now - retention)


@dataclass(frozen=True)
class Purged:
    """What one :func:`purge` did."""

    applications: int = 0
    materials: int = 0
    bytes: int = 0

    def __add__(self, other: Purged) -> Purged:
        return Purged(self.applications + other.applications,
                      self.materials + other.materials, self.bytes + other.bytes)


# The outbox rows that carried an application inward hold the applicant as given: mask them
# with the application's masked values (one statement per batch).
_MASK_OUTBOX = text(
    "UPDATE outbox o SET payload = jsonb_set(jsonb_set(o.payload, '{applicant,id_number}', "
    "to_jsonb(a.applicant_id)), '{applicant,phone}', to_jsonb(a.applicant_phone)) "
    "FROM applications a WHERE a.id = ANY(:ids) AND o.payload ? 'applicant' "
    "AND o.payload->>'receipt' = a.receipt")


def _purge_batch(engine: Engine, now: datetime, retention: timedelta, batch: int) -> Purged:
    with transaction(engine) as session:
        apps = list(session.scalars(select(Application).where(due_clause(now, retention))
                                    .order_by(Application.updated_at).limit(batch)
                                    .with_for_update(skip_locked=True)))
        if not apps:
            return Purged()
        ids = [a.id for a in apps]
        count, size = session.execute(
            select(func.count(), func.coalesce(func.sum(Material.size), 0))
            .where(Material.application_id.in_(ids))).one()
        session.execute(delete(Material).where(Material.application_id.in_(ids)))
        stamp = utcnow()
        for a in apps:
            a.applicant_id, a.applicant_phone = mask_id(a.applicant_id), mask_phone(
                a.applicant_phone)
            a.purged_at = stamp
        session.flush()
        session.execute(_MASK_OUTBOX, {"ids": ids})
        return Purged(len(apps), int(count), int(size))


def purge(engine: Engine, retention: timedelta, now: datetime | None = None,
          batch: int = BATCH) -> Purged:
    """Purge every application due (see the module docstring), ``batch`` per transaction."""
    now = now or utcnow()
    total = Purged()
    while True:
        done = _purge_batch(engine, now, retention, batch)
        total += done
        if done.applications < batch:
            return total


def pending(rows: Iterable[Any], now: datetime, retention: timedelta) -> list[Any]:
    """The rows (with ``status``, ``updated_at``, ``purged_at``) :func:`due` selects."""
    return [r for r in rows if due(r.status, r.updated_at, r.purged_at, now, retention)]
