"""Files of evidence (证据) on an enforcement case (调查取证), stored in the core database.

- :func:`upload`: an officer of the case's department, acting under the certificate bound to
  their account and qualified for the case's item that day (the investigate step's actor
  check: :func:`~sunlight.runtime.core.enforcement.acting_certificate` and the registry in
  force), uploads a file while the case is open for investigation (立案 or 调查取证 taken;
  409 otherwise). Size and type are checked as citizens' materials are
  (:mod:`sunlight.runtime.materials`: one size limit, ``SUNLIGHT_MATERIAL_MAX_BYTES``, 413
  naming it; the allowed types, ``SUNLIGHT_MATERIAL_TYPES`` — PDF, JPEG, PNG, DOCX, XLSX by
  default — with the bytes' signature matching the declared type, 415). A file is kept once
  per case and content: uploading the same bytes again answers the one stored (with its
  kind and title) and changes nothing. Each upload is audited on the case (entity
  ``enforcement_case``, action ``evidence_uploaded``, the SHA-256 in the comment).
- :func:`list_evidence` and :func:`get_evidence`: whoever may read the case.

The investigate step names the files by SHA-256 (``evidence[i].sha256``);
:func:`sunlight.runtime.core.enforcement.check_evidence` refuses one not uploaded to the case.
The kind and title a step records are the step's own (the request's), so an investigation
may describe a file more precisely than its upload did.

Example::

    >>> row, created = upload(session, "320703", staff, case_id, kind="documentary",
    ...                       title="销售单据", filename="receipt.pdf",
    ...                       declared_type="application/pdf", data=pdf, limit=10 * 2**20,
    ...                       types=("application/pdf",), today=today, now=now)  # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from sunlight.enforcement import flow
from sunlight.enforcement.officers import qualified
from sunlight.runtime.core import enforcement
from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.auth import Staff
from sunlight.runtime.core.enforcement_models import EnforcementCaseRow, EvidenceRow
from sunlight.runtime.errors import ApiError, not_found
from sunlight.runtime.materials import check_size, check_type, sha256_hex

__all__ = ["OPEN_STAGES", "evidence_kind", "get_evidence", "list_evidence", "upload"]

#: The stages in which evidence may be added: after 立案, and after 调查取证 (补充调查).
OPEN_STAGES = (flow.Stage.opened.value, flow.Stage.investigated.value)
ACTION = "evidence_uploaded"


def evidence_kind(kind: str) -> str:
    """The key of a kind of evidence (:data:`sunlight.enforcement.flow.EVIDENCE_KINDS`),
    given by key or Chinese name; 422 naming ``kind`` otherwise."""
    value = kind.strip()
    if value in flow.EVIDENCE_KINDS:
        return value
    by_name = {zh: key for key, zh in flow.EVIDENCE_KINDS.items()}
    if value in by_name:
        return by_name[value]
    raise ApiError(422, "invalid_input", f"{kind!r} is not a kind of evidence; one of "
                   f"{', '.join(flow.EVIDENCE_KINDS)}", field="kind")


def _title(title: str) -> str:
    if not title.strip():
        raise ApiError(422, "invalid_input", "missing: what the evidence is", field="title")
    return title.strip()


def _officer(session: Session, staff: Staff, row: EnforcementCaseRow, today: date,
             claimed: str | None) -> str:
    """The certificate of a qualified officer of the case's department (the investigate
    step's actor), or 403."""
    enforcement._require(staff, flow.Step.investigate, row.department)
    certificate = enforcement.acting_certificate(
        staff.username, enforcement.bound_certificate(session, staff), claimed)
    item = enforcement.item_version(session, row.item_code, row.item_version)
    answer = qualified(enforcement.registry_in_force(session)[1], certificate, item, today)
    if not answer:
        raise ApiError(403, "unqualified_officer", answer.reason, field="certificate")
    return answer.certificate


def upload(session: Session, site: str, staff: Staff, case_id: uuid.UUID, *, kind: str,
           title: str, filename: str, declared_type: str | None, data: bytes, limit: int,
           types: tuple[str, ...], today: date, now: datetime,
           certificate: str | None = None) -> tuple[EvidenceRow, bool]:
    """Store one file of evidence on the case; ``(row, True)`` when new, ``(the stored row,
    False)`` when the case already holds these bytes. Refusals are ApiErrors (nothing is
    stored): 404 case, 403 role/department/certificate, 409 stage, 413 size, 415 type,
    422 kind or title."""
    row = session.get(EnforcementCaseRow, case_id, with_for_update=True)
    if row is None or not enforcement._in_scope(staff, row):
        raise not_found(f"enforcement case {case_id}")
    acting = _officer(session, staff, row, today, certificate)
    if row.stage not in OPEN_STAGES:
        stage = flow.Stage(row.stage)
        raise ApiError(409, "illegal_transition", f"evidence is uploaded while the case is "
                       f"opened (立案) or investigated (调查取证); enforcement case {case_id} "
                       f"is {stage.value} ({flow.STAGE_LABELS[stage]})")
    check_size(len(data), limit)
    content_type = check_type(declared_type, data[:16], types)
    kind, title = evidence_kind(kind), _title(title)
    digest = sha256_hex(data)
    stored = session.scalars(select(EvidenceRow).where(EvidenceRow.case_id == case_id,
                                                       EvidenceRow.sha256 == digest)).first()
    if stored is not None:
        return stored, False
    evidence = EvidenceRow(id=uuid.uuid4(), case_id=case_id, sha256=digest, kind=kind,
                           title=title, filename=(filename or "upload")[:255],
                           content_type=content_type, size=len(data), data=data,
                           uploaded_by=staff.username, certificate=acting, uploaded_at=now)
    session.add(evidence)
    session.flush()
    audit(session, site, actor=staff.username, role=flow.OFFICER, entity=enforcement.ENTITY,
          entity_id=str(case_id), action=ACTION, from_state=row.stage, to_state=row.stage,
          comment=f"{kind} {title}: {evidence.filename}, {content_type}, {len(data)} bytes, "
                  f"sha256 {digest}; certificate {acting}")
    return evidence, True


def list_evidence(session: Session, staff: Staff, case_id: uuid.UUID) -> list[EvidenceRow]:
    """The case's files of evidence, oldest first (the bytes are not loaded)."""
    enforcement.get_case(session, staff, case_id)
    return list(session.scalars(select(EvidenceRow).where(EvidenceRow.case_id == case_id)
                                .order_by(EvidenceRow.uploaded_at, EvidenceRow.id)))


def get_evidence(session: Session, staff: Staff, case_id: uuid.UUID,
                 sha256: str) -> EvidenceRow:
    """One file of the case's evidence with its bytes; 404 when the case holds none such."""
    enforcement.get_case(session, staff, case_id)
    found = session.scalars(select(EvidenceRow).options(undefer(EvidenceRow.data))
                            .where(EvidenceRow.case_id == case_id,
                                   EvidenceRow.sha256 == sha256.lower())).first()
    if found is None:
        raise not_found(f"evidence {sha256} of enforcement case {case_id}")
    return found
