"""The portal's service layer: the only code that touches the portal database's session.

Each function runs inside the caller's transaction (one per request). What goes inward is
written to the outbox as a typed record (:mod:`sunlight.runtime.records`), staged: an
application names its materials by id and the gateway adds their bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sunlight.canonical import CanonicalError, canonical_json
from sunlight.catalogue.flow import FlowStep
from sunlight.catalogue.flowchart import flow_summary, flowchart_svg
from sunlight.catalogue.form_fields import validator as form_validator
from sunlight.runtime.db import utcnow
from sunlight.runtime.errors import ApiError, not_found
from sunlight.runtime.materials import check_quota
from sunlight.runtime.portal.models import (
    Application,
    ApplicationEvent,
    CatalogueEntry,
    CatalogueFile,
    Complaint,
    DecisionDocumentEntry,
    Material,
    Outbox,
    PenaltyDisclosureEntry,
    Rating,
    ReceiptCounter,
)
from sunlight.runtime.portal.schemas import ApplicationIn
from sunlight.runtime.records import (
    Applicant,
    RatingRecord,
    Record,
    RecordRejected,
    StagedApplicationResubmitted,
    StagedApplicationSubmitted,
)
from sunlight.runtime.records import Complaint as ComplaintRecord
from sunlight.workflow.identity import ApplicantIdError, validate_applicant_id
from sunlight.workflow.receipts import (
    MAX_DAILY_SEQ,
    format_receipt,
    hash_secret,
    is_receipt,
    new_draft_id,
    new_tracking_secret,
    secret_matches,
)

CHINA = ZoneInfo("Asia/Shanghai")
# Portal-side statuses before core has seen the application.
DRAFT, SENT = "draft", "sent"
EDITABLE = {DRAFT, "correction_requested"}
#: The error code of a submission refused because the day's receipt numbers are used up.
RECEIPTS_EXHAUSTED = "receipts_exhausted"


def list_items(session: Session, category: str | None, department: str | None,
               q: str | None, limit: int, offset: int) -> list[CatalogueEntry]:
    stmt = _filtered(select(CatalogueEntry).order_by(CatalogueEntry.code), category,
                     department, q)
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def _filtered(stmt: Select[Any], category: str | None, department: str | None,
              q: str | None) -> Select[Any]:
    if category:
        stmt = stmt.where(CatalogueEntry.category == category)
    if department:
        stmt = stmt.where(CatalogueEntry.department == department)
    if q:
        # The search text is data: LIKE's wildcards in it match themselves.
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(CatalogueEntry.name.ilike(like, escape="\\"),
                              CatalogueEntry.code.ilike(like, escape="\\")))
    return stmt


def departments(session: Session) -> list[tuple[str, str, int]]:
    """The departments with published items: (code, name, how many items), by code."""
    stmt = (select(CatalogueEntry.department, func.max(CatalogueEntry.department_name),
                   func.count())
            .group_by(CatalogueEntry.department).order_by(CatalogueEntry.department))
    return [(str(code), str(name), int(count)) for code, name, count in session.execute(stmt)]


def categories(session: Session) -> dict[str, int]:
    """How many published items each category (权力类别) has."""
    stmt = select(CatalogueEntry.category, func.count()).group_by(CatalogueEntry.category)
    return {str(category): int(count) for category, count in session.execute(stmt)}


def count_items(session: Session, category: str | None, department: str | None,
                q: str | None) -> int:
    """How many items :func:`list_items` would list without its limit."""
    stmt = _filtered(select(func.count()).select_from(CatalogueEntry), category, department, q)
    return int(session.execute(stmt).scalar_one())


def get_item(session: Session, code: str) -> CatalogueEntry:
    entry = session.get(CatalogueEntry, code)
    if entry is None:
        raise not_found(f"power item {code}")
    return entry


def blank_form(session: Session, code: str, position: int) -> CatalogueFile:
    """One blank form (格式文书) of a published item, 404 when it has no such form."""
    found = session.get(CatalogueFile, (code, position))
    if found is None:
        raise not_found(f"blank form {position} of power item {code}")
    return found


def flow_of(entry: CatalogueEntry) -> list[FlowStep]:
    """The item's flow as published (its steps were checked by the gateway's whitelist)."""
    steps = entry.doc.get("flow", [])
    assert isinstance(steps, list)
    return [FlowStep.model_validate(step) for step in steps]


def flowchart(entry: CatalogueEntry) -> tuple[str, str]:
    """The item's flowchart (SVG text) and its one-line text alternative."""
    steps = flow_of(entry)
    return flowchart_svg(steps, title=entry.name), flow_summary(steps)


def history(session: Session, application: Application) -> list[ApplicationEvent]:
    """What the applicant sees of the case's history, oldest first."""
    stmt = select(ApplicationEvent).where(ApplicationEvent.application_id == application.id)
    return list(session.scalars(stmt.order_by(ApplicationEvent.at, ApplicationEvent.id)))


def decision_document(session: Session, application: Application
                      ) -> DecisionDocumentEntry | None:
    """The application's decision document (准予 / 不予行政许可决定书), once core has issued
    it and the gateway has carried it; the caller has checked the secret."""
    return session.get(DecisionDocumentEntry, application.id)


def document_filename(entry: DecisionDocumentEntry) -> str:
    """The name the applicant saves the document under: its title and number."""
    return f"{entry.title}（{entry.number}）.pdf"


def validate_form(schema: dict[str, object], form: dict[str, object]) -> None:
    """422 naming the JSON pointer of the first violation."""
    error = jsonschema.exceptions.best_match(form_validator(schema).iter_errors(form))
    if error is not None:
        pointer = "".join(f"/{p}" for p in error.absolute_path)
        raise ApiError(422, "form_invalid", f"form{pointer or '/'}: {error.message}",
                       field="form", pointer=pointer or "/")
    try:  # the gateway digests what crosses: the form needs a canonical JSON form
        canonical_json(form)
    except CanonicalError as exc:
        raise ApiError(422, "form_invalid", f"form: {exc}", field="form") from exc


def next_receipt(session: Session, site: str, max_seq: int = MAX_DAILY_SEQ) -> str:
    """The day's next receipt number (China's day), from the day's counter row.

    When the day's sequence is used up, 503 ``receipts_exhausted`` with a reason in Chinese
    (never a 500): the caller's transaction rolls back, so the draft stays a draft and the
    counter does not move; the portal counts it (``sunlight_portal_receipts_exhausted_total``,
    alert ``PortalReceiptsExhausted``).
    """
    today = datetime.now(CHINA).date()
    stmt = insert(ReceiptCounter).values(day=today, last_seq=1).on_conflict_do_update(
        index_elements=[ReceiptCounter.day], set_={"last_seq": ReceiptCounter.last_seq + 1},
    ).returning(ReceiptCounter.last_seq)
    seq = int(session.execute(stmt).scalar_one())
    if seq > max_seq:
        raise ApiError(503, RECEIPTS_EXHAUSTED,
                       f"本站今日受理编号（{max_seq} 个）已用尽，暂不能提交；草稿已保存，"
                       "请于次日再提交。(today's receipt numbers are used up; the draft is kept)")
    return format_receipt(site, today, seq)


def receipts_issued_today(session: Session) -> int:
    """How many receipt numbers the site issued today (China's day), of ``MAX_DAILY_SEQ``."""
    today = datetime.now(CHINA).date()
    seq = session.scalar(select(ReceiptCounter.last_seq).where(ReceiptCounter.day == today))
    return int(seq or 0)


def create_application(session: Session, body: ApplicationIn) -> tuple[Application, str]:
    """A draft named by a fresh draft id; its receipt number comes at :func:`submit`."""
    entry = get_item(session, body.item_code)
    try:
        applicant_id = validate_applicant_id(body.applicant.kind, body.applicant.id_number,
                                             field="applicant.id_number")
    except ApplicantIdError as exc:
        raise ApiError(422, "applicant_id_invalid", str(exc), field=exc.field) from exc
    schema = entry.doc.get("form_schema")
    assert isinstance(schema, dict)
    validate_form(schema, body.form)
    secret = new_tracking_secret()
    application = Application(
        draft_id=new_draft_id(), receipt=None, item_code=entry.code,
        item_version=entry.version,
        applicant_kind=body.applicant.kind, applicant_id=applicant_id,
        applicant_name=body.applicant.name, applicant_phone=body.applicant.phone,
        form=body.form, secret_hash=hash_secret(secret), status=DRAFT,
    )
    session.add(application)
    session.flush()
    return application, secret


def find_application(session: Session, ref: str, secret: str | None,
                     for_update: bool = False) -> Application:
    """The application named by ``ref`` — its receipt number, or its draft id (a draft has
    no receipt yet) — only for the holder of its secret (same 404 either way)."""
    key = Application.receipt if is_receipt(ref) else Application.draft_id
    stmt = select(Application).where(key == ref)
    if for_update:
        stmt = stmt.with_for_update()
    application = session.scalars(stmt).first()
    if application is None or not secret or not secret_matches(secret, application.secret_hash):
        raise not_found(f"application {ref} (or the secret does not match)")
    return application


def add_material(session: Session, application: Application, name: str, filename: str,
                 content_type: str, data: bytes, sha256: str, *, max_count: int,
                 max_total: int) -> Material:
    """Add a material to the current submission, within its caps (the caller holds the
    application's row lock, so concurrent uploads are counted one after another)."""
    if application.status not in EDITABLE:
        raise ApiError(409, "not_editable",
                       f"materials can be added while the application is a draft or a "
                       f"correction is requested, not while it is {application.status}")
    count, total = session.execute(
        select(func.count(), func.coalesce(func.sum(Material.size), 0))
        .where(Material.application_id == application.id,
               Material.batch == application.submissions)).one()
    check_quota(int(count), int(total), len(data), max_count, max_total)
    material = Material(application_id=application.id, batch=application.submissions,
                        name=name, filename=filename, content_type=content_type,
                        size=len(data), sha256=sha256, content=data)
    session.add(material)
    session.flush()
    return material


def materials_of(session: Session, application: Application) -> list[Material]:
    stmt = select(Material).where(Material.application_id == application.id)
    return list(session.scalars(stmt.order_by(Material.created_at)))


def _required_missing(entry: CatalogueEntry, uploaded: set[str]) -> list[str]:
    materials = entry.doc.get("materials", [])
    assert isinstance(materials, list)
    return [str(m["name"]) for m in materials
            if isinstance(m, dict) and m.get("required", True) and m["name"] not in uploaded]


def submit(session: Session, application: Application, site: str,
           max_seq: int = MAX_DAILY_SEQ) -> None:
    """Hand the application (first time or after 补正) to the gateway via the outbox; the
    first submission issues its receipt number (:func:`next_receipt`)."""
    if application.status not in EDITABLE:
        raise ApiError(409, "already_submitted",
                       f"application {application.receipt or application.draft_id} is "
                       f"{application.status}; "
                       "it can be submitted as a draft or after a correction request")
    batch = application.submissions
    current = [m for m in materials_of(session, application) if m.batch == batch]
    if batch == 0:
        missing = _required_missing(get_item(session, application.item_code),
                                    {m.name for m in current})
        if missing:
            raise ApiError(422, "materials_missing",
                           f"required materials not uploaded: {', '.join(missing)}",
                           field="materials")
    elif not current:
        raise ApiError(422, "materials_missing",
                       "a resubmission needs at least one corrected material", field="materials")
    refs = [m.id for m in current]
    if application.receipt is None:
        application.receipt = next_receipt(session, site, max_seq)
    now = utcnow()
    with _invalid_as_422():
        record: Record
        if batch == 0:
            applicant = Applicant.build(kind=application.applicant_kind,
                                        id_number=application.applicant_id,
                                        name=application.applicant_name,
                                        phone=application.applicant_phone)
            record = StagedApplicationSubmitted.build(
                receipt=application.receipt, item_code=application.item_code,
                item_version=application.item_version, applicant=applicant,
                form=application.form, submitted_at=now, batch=0, materials=refs)
        else:
            record = StagedApplicationResubmitted.build(
                receipt=application.receipt, batch=batch, submitted_at=now, materials=refs)
    _stage(session, record)
    application.status = SENT
    application.status_comment = ""
    application.submissions = batch + 1
    application.updated_at = now
    session.add(ApplicationEvent(application_id=application.id, status=SENT, at=now,
                                 note="" if batch == 0 else f"补正材料（第 {batch} 次）"))


def purge_drafts(session: Session, now: datetime, retention: timedelta) -> int:
    """Delete drafts never submitted that were started before ``now - retention``, with
    their materials; returns how many. A draft that was submitted has a receipt and a status
    other than draft, so submitted, accepted and later applications are never touched."""
    stale = (select(Application.id)
             .where(Application.status == DRAFT, Application.receipt.is_(None),
                    Application.submissions == 0, Application.created_at < now - retention)
             .with_for_update(skip_locked=True))
    ids = list(session.scalars(stale))
    if not ids:
        return 0
    session.execute(delete(Material).where(Material.application_id.in_(ids)))
    session.execute(delete(Application).where(Application.id.in_(ids)))
    return len(ids)


def complain(session: Session, application: Application, text: str) -> None:
    if application.status == DRAFT:
        raise ApiError(409, "not_submitted", "complaints are about submitted applications")
    session.add(Complaint(application_id=application.id, text=text))
    with _invalid_as_422():
        _stage(session, ComplaintRecord.build(receipt=_receipt(application), text=text))


def rate(session: Session, application: Application, score: int, comment: str) -> None:
    if application.status not in ("closed", "refused"):
        raise ApiError(409, "not_finished", "a case can be rated once it is closed")
    if session.get(Rating, application.id) is not None:
        raise ApiError(409, "already_rated", f"application {application.receipt} was rated")
    session.add(Rating(application_id=application.id, score=score, comment=comment))
    with _invalid_as_422():
        _stage(session, RatingRecord.build(receipt=_receipt(application), score=score,
                                           comment=comment))


def _receipt(application: Application) -> str:
    """The receipt of an application past its draft (every submitted one has one)."""
    if application.receipt is None:
        raise ApiError(409, "not_submitted", "the application has not been submitted")
    return application.receipt


@contextmanager
def _invalid_as_422() -> Iterator[None]:
    try:
        yield
    except RecordRejected as exc:
        raise ApiError(422, "record_invalid", str(exc)) from exc


def _stage(session: Session, record: Record) -> None:
    """Queue ``record`` for the gateway (in the caller's transaction)."""
    session.add(Outbox(record_type=record.RECORD_TYPE, payload=record.payload()))


def pending_outbox(session: Session) -> int:
    """Records still to cross (parked and rejected ones are counted apart)."""
    stmt = select(func.count()).select_from(Outbox).where(
        Outbox.delivered_at.is_(None), Outbox.rejected_at.is_(None), Outbox.parked_at.is_(None))
    return int(session.execute(stmt).scalar_one())


def item_name(session: Session, code: str) -> str:
    entry = session.get(CatalogueEntry, code)
    return entry.name if entry else code



def list_penalty_disclosures(session: Session, department: str | None, limit: int,
                             offset: int) -> list[PenaltyDisclosureEntry]:
    """Penalty decisions disclosed (行政处罚结果公示), newest decision first."""
    stmt = select(PenaltyDisclosureEntry).order_by(PenaltyDisclosureEntry.decided_on.desc(),
                                                   PenaltyDisclosureEntry.updated_at.desc(),
                                                   PenaltyDisclosureEntry.case_id)
    if department:
        stmt = stmt.where(PenaltyDisclosureEntry.department == department)
    return list(session.scalars(stmt.limit(limit).offset(offset)))
