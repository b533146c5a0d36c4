"""Core's outbound feed (read by the gateway): case status, decided cases' decision documents
(:mod:`sunlight.runtime.core.licence_decision`), published catalogue items and
penalty decisions as disclosed to the public (行政处罚结果公示,
:mod:`sunlight.runtime.core.enforcement_exchange` builds them).

Each row is a typed outward record (:mod:`sunlight.runtime.records`). Writers hold the chain
lock (:func:`sunlight.runtime.core.audit_store.lock_chain`), so rows become visible in
``seq`` order and a reader's cursor never skips a row committed later.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sunlight.runtime.core.audit_store import lock_chain
from sunlight.runtime.core.models import Case, Item, Outbound
from sunlight.runtime.records import (
    CaseStatus,
    CatalogueItem,
    DecisionDocument,
    PenaltyDisclosure,
    Record,
)


def _add(session: Session, record: Record) -> None:
    lock_chain(session)
    session.add(Outbound(record_type=record.RECORD_TYPE, payload=record.payload()))


def case_status(session: Session, case: Case, *, applicant_note: str = "") -> None:
    """The case's status for the portal. Its only text is ``applicant_note`` — what staff
    wrote for the applicant, nothing by default; a transition's internal comment is never
    an argument here."""
    _add(session, CaseStatus.build(
        receipt=case.receipt, status=case.status, status_seq=case.status_seq,
        decision=case.decision, applicant_note=applicant_note, due_on=case.due_on,
        overdue=case.overdue))


def decision_document(session: Session, record: DecisionDocument) -> None:
    """A decided case's decision document for the applicant's tracking page (the PDF
    crosses inside the record, with the SHA-256 core recorded)."""
    _add(session, record)


def catalogue_item(session: Session, item: Item, department_name: str) -> None:
    _add(session, CatalogueItem.build(code=item.code, version=item.version, status=item.status,
                                      department_name=department_name, doc=item.doc))


def penalty_disclosure(session: Session, record: PenaltyDisclosure) -> None:
    """A decision's public summary, already de-identified (the portal keeps the latest per
    case)."""
    _add(session, record)


def after(session: Session, cursor: int, limit: int) -> list[Outbound]:
    stmt = select(Outbound).where(Outbound.seq > cursor).order_by(Outbound.seq).limit(limit)
    return list(session.scalars(stmt))
