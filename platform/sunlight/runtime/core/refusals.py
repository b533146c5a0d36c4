"""Refused enforcement attempts, kept for legal supervision in a transaction of their own.

When the flow refuses a step of an enforcement case as outside the discretion band or by an
officer who is not qualified (:func:`sunlight.enforcement.oversight.counted`), the request's
transaction rolls back and the case stores nothing — as before. :func:`count_refusal`,
called by :mod:`sunlight.runtime.core.enforcement` just before it answers with the refusal,
writes one ``enforcement_refusals`` row (site, department, item, case or none, code, step,
month of core's clock, actor) in a separate short transaction on the same engine, so the
attempt is counted whatever happens to the request's; in that same transaction it queues
``sunlight.enforcement.refusal`` for the parent
(:func:`sunlight.runtime.core.enforcement_exchange.report_refusal`), so the city and the
province count it too. A failure to write it is logged and
never replaces the refusal the caller is answering with. Other refusals (order, role,
bad input) are not counted and write nothing.

Example::

    >>> count_refusal(session, site="320703", department="SCJGJ", item_code=item.code,
    ...               case_id=row.id, actor="li.ju", exc=exc, today=clock.today(),
    ...               now=clock.now())  # doctest: +SKIP
    True
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from sunlight.enforcement.errors import EnforcementError
from sunlight.enforcement.oversight import counted, month_of
from sunlight.runtime.core.enforcement_exchange import report_refusal
from sunlight.runtime.core.legal_supervision_models import EnforcementRefusal
from sunlight.runtime.db import transaction

__all__ = ["count_refusal", "refusal_row"]

_log = logging.getLogger(__name__)
_MAX_REASON = 2000


def refusal_row(*, site: str, department: str, item_code: str, case_id: uuid.UUID | None,
                actor: str, exc: EnforcementError, today: date,
                now: datetime) -> EnforcementRefusal | None:
    """The row to keep for ``exc``, or ``None`` when legal supervision does not count it."""
    if not counted(exc):
        return None
    return EnforcementRefusal(
        site=site, department=department, item_code=item_code, case_id=case_id,
        code=exc.code, step=str(exc.step or ""), field=exc.field[:100] if exc.field else None,
        reason=exc.reason[:_MAX_REASON], month=month_of(today), refused_on=today, actor=actor,
        refused_at=now)


def count_refusal(session: Session, *, site: str, department: str, item_code: str,
                  case_id: uuid.UUID | None, actor: str, exc: EnforcementError, today: date,
                  now: datetime) -> bool:
    """Keep a counted refusal in its own transaction (on ``session``'s engine), queued for
    the parent in the same one; whether a row was written."""
    row = refusal_row(site=site, department=department, item_code=item_code,
                      case_id=case_id, actor=actor, exc=exc, today=today, now=now)
    if row is None:
        return False
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    try:
        with transaction(engine) as own:
            own.add(row)
            own.flush()  # the id the parent keeps it by
            report_refusal(own, site, row, now=now)
    except SQLAlchemyError:
        _log.exception("could not keep the refused %s (%s) of %s for legal supervision",
                       row.step, row.code, case_id or item_code)
        return False
    return True
