"""The decision document of a decided case (准予行政许可决定书 / 不予行政许可决定书).

When an approver grants or denies a case, :func:`sunlight.runtime.core.cases.act` calls
:func:`issue` in the same transaction, *after* the state machine and the separation-of-duties
check accepted the decision (a refused decision renders nothing and takes no number).
:func:`issue`

1. allocates the next serial of the department, kind and year (one counter row in
   ``case_document_counters``, ``INSERT … ON CONFLICT DO UPDATE … RETURNING``: concurrent
   decisions queue on the row's lock, a rolled-back decision gives its serial back);
2. numbers the document ``{short}许准〔{year}〕{serial}号`` (granted) or
   ``{short}许不〔{year}〕{serial}号`` (denied), the department's short name from
   :func:`sunlight.runtime.core.decision_document.department_short_name`;
3. renders the PDF with the penalty decisions' machinery (Jinja2 with autoescape,
   ``templates/licence_decision.html`` and the same stylesheet, WeasyPrint, deterministic:
   :func:`sunlight.runtime.core.decision_document.pdf_of`);
4. stores it with its SHA-256 in ``case_documents``, appends an audit record
   (``entity="case_document"``, the number and the SHA-256 in its comment, so the chain
   vouches for the bytes), and writes a :class:`~sunlight.runtime.records.DecisionDocument`
   to core's outbound feed: the gateway carries it to the portal (checked against its
   SHA-256 and the material size limit) and the applicant downloads it from the tracking
   page.

**What the document states:** the department, the item (name and code), the applicant as
recorded at submission (name, kind and identity number), the receipt number (受理编号), the
date of application and of decision in Chinese (Asia/Shanghai), the legal basis, and for a
denial the reason and the applicant's remedies (申请行政复议 within 60 days, 行政诉讼 within 6
months of receiving the document, as 行政许可法 第三十八条 requires a denial to say).
The reason is what staff wrote *for the applicant* (``applicant_note``) when they wrote
something, else the denial's required reason (``comment``): the document is the written
reason the law requires, so a denial's reason is written for the applicant to read.

Example::

    >>> format_licence_number("连云市监", "denied", 2026, 7)
    '连云市监许不〔2026〕7号'
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sunlight.runtime.core import decision_document, outbound
from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.models import (
    Case,
    CaseDocument,
    CaseDocumentCounter,
    Department,
    Item,
)
from sunlight.runtime.errors import ApiError
from sunlight.runtime.records import DecisionDocument

__all__ = ["MEDIA_TYPE", "TITLES", "LicenceDecision", "document_context", "document_of",
           "filename", "format_licence_number", "issue", "render", "render_html"]

Kind = Literal["granted", "denied"]
CHINA = ZoneInfo("Asia/Shanghai")
MEDIA_TYPE = decision_document.MEDIA_TYPE
TEMPLATE = "licence_decision.html"
TITLES: dict[str, str] = {"granted": "准予行政许可决定书", "denied": "不予行政许可决定书"}
_MARKS: dict[str, str] = {"granted": "许准", "denied": "许不"}
_ID_LABELS = {"person": "公民身份号码", "enterprise": "统一社会信用代码"}
#: The remedies a denial states (行政复议法 第二十条, 行政诉讼法 第四十六条), counted from
#: the day the applicant receives the document.
REMEDIES = ("申请人如不服本决定，可以自收到本决定书之日起六十日内依法申请行政复议，"
            "或者自收到本决定书之日起六个月内依法向人民法院提起行政诉讼。")


def format_licence_number(short: str, kind: str, year: int, serial: int) -> str:
    """The document number: ``连云市监许准〔2026〕1号`` (granted), ``…许不…`` (denied)."""
    return f"{short}{_MARKS[kind]}〔{year}〕{serial}号"


def filename(number: str) -> str:
    """The file name the applicant saves the document under (the number and .pdf)."""
    return f"{number}.pdf"


@dataclass(frozen=True)
class LicenceDecision:
    """What a licensing decision document states (plain values; the template escapes)."""

    kind: Kind
    number: str
    department: str
    item_code: str
    item_name: str
    legal_basis: str
    receipt: str
    applicant_kind: str
    applicant_name: str
    applicant_id: str
    submitted_on: date
    decided_on: date
    reason: str = ""

    @property
    def title(self) -> str:
        return TITLES[self.kind]


def document_context(decision: LicenceDecision) -> dict[str, Any]:
    return {
        "title": decision.title, "number": decision.number, "granted": decision.kind == "granted",
        "department": decision.department, "item_code": decision.item_code,
        "item_name": decision.item_name, "legal_basis": decision.legal_basis,
        "receipt": decision.receipt,
        "applicant": {"name": decision.applicant_name, "id_number": decision.applicant_id,
                      "id_label": _ID_LABELS.get(decision.applicant_kind, "证件号码")},
        "submitted_zh": decision_document.zh_date(decision.submitted_on),
        "decided_zh": decision_document.zh_date(decision.decided_on),
        "created": datetime.combine(decision.decided_on, time(0), CHINA).isoformat(),
        "reason": decision.reason, "remedies": REMEDIES,
    }


def render_html(decision: LicenceDecision) -> str:
    return decision_document.fill(TEMPLATE, document_context(decision))


def render(decision: LicenceDecision) -> decision_document.RenderedDocument:
    """The document as PDF (the same decision always gives the same bytes), with its hash."""
    pdf = decision_document.pdf_of(render_html(decision), number=decision.number,
                                   day=decision.decided_on)
    return decision_document.RenderedDocument(decision.number, pdf,
                                              hashlib.sha256(pdf).hexdigest())


def _allocate(session: Session, department: str, kind: str, year: int) -> int:
    stmt = (insert(CaseDocumentCounter)
            .values(department=department, kind=kind, year=year, last_serial=1)
            .on_conflict_do_update(
                index_elements=[CaseDocumentCounter.department, CaseDocumentCounter.kind,
                                CaseDocumentCounter.year],
                set_={"last_serial": CaseDocumentCounter.last_serial + 1})
            .returning(CaseDocumentCounter.last_serial))
    return int(session.execute(stmt).scalar_one())


def decision_of(session: Session, case: Case, *, number: str, decided_on: date,
                reason: str) -> LicenceDecision:
    """The document's content for ``case`` (decided: ``case.decision`` set)."""
    assert case.decision in TITLES, f"case {case.receipt} is not decided"
    item = session.get(Item, (case.item_code, case.item_version))
    department = session.get(Department, case.department)
    assert item is not None, f"case {case.receipt} refers to a missing item"
    return LicenceDecision(
        kind=case.decision,  # type: ignore[arg-type]
        number=number, department=department.name if department else case.department,
        item_code=item.code, item_name=item.name,
        legal_basis=str(item.doc.get("legal_basis", "")), receipt=case.receipt,
        applicant_kind=case.applicant_kind, applicant_name=case.applicant_name,
        applicant_id=case.applicant_id, submitted_on=case.submitted_on,
        decided_on=decided_on, reason=reason if case.decision == "denied" else "")


def issue(session: Session, site: str, case: Case, *, actor: str, role: str, reason: str,
          decided_on: date, now: datetime) -> CaseDocument:
    """Number, render, store and send the decision document of ``case``, which the flow
    has just granted or denied, in the caller's transaction."""
    kind = str(case.decision)
    department = session.get(Department, case.department)
    try:
        short = decision_document.department_short_name(
            department.name if department else case.department)
    except ValueError as exc:
        raise ApiError(409, "no_document_number", f"department {case.department}: {exc}; "
                       "its decision documents are numbered with a Chinese short name"
                       ) from None
    year = decided_on.year
    serial = _allocate(session, case.department, kind, year)
    number = format_licence_number(short, kind, year, serial)
    decision = decision_of(session, case, number=number, decided_on=decided_on, reason=reason)
    rendered = render(decision)
    document = CaseDocument(case_id=case.id, kind=kind, department=case.department, year=year,
                            serial=serial, number=number, sha256=rendered.sha256,
                            media_type=MEDIA_TYPE, size=len(rendered.pdf),
                            content=rendered.pdf, created_at=now)
    session.add(document)
    session.flush()
    audit(session, site, actor=actor, role=role, entity="case_document",
          entity_id=case.receipt, action="issue",
          comment=f"{decision.title} {number} sha256={rendered.sha256}")
    outbound.decision_document(session, DecisionDocument.build(
        receipt=case.receipt, kind=kind, title=decision.title, number=number,
        decided_on=decided_on, size=len(rendered.pdf), sha256=rendered.sha256,
        content=rendered.pdf))
    return document


def document_of(session: Session, case_id: uuid.UUID) -> CaseDocument | None:
    """The decision document of a case, if it has one."""
    return session.scalars(select(CaseDocument).where(CaseDocument.case_id == case_id)).first()
