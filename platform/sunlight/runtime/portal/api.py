"""Routes of the portal API (external zone): catalogue, guide, apply, materials, track, and
the penalty decisions disclosed (行政处罚结果公示)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Header, Path, Query, Request, Response, UploadFile
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as StarletteUpload

from sunlight.catalogue.model import BLANK_FORM_TYPES
from sunlight.runtime.db import transaction
from sunlight.runtime.deps import SessionDep, SettingsDep
from sunlight.runtime.errors import ApiError, responses
from sunlight.runtime.materials import check_size, check_type, sha256_hex
from sunlight.runtime.portal import service
from sunlight.runtime.portal.models import (
    Application,
    CatalogueEntry,
    DecisionDocumentEntry,
    Material,
    PenaltyDisclosureEntry,
)
from sunlight.runtime.portal.retention import PURGED_NOTE
from sunlight.runtime.portal.schemas import (
    Accepted,
    ApplicationCreated,
    ApplicationIn,
    ApplicationOut,
    BlankFormOut,
    ComplaintIn,
    DecisionDocumentOut,
    HistoryEntry,
    ItemGuide,
    ItemSummary,
    MaterialOut,
    PenaltyDisclosureOut,
    RatingIn,
    Submitted,
)
from sunlight.runtime.settings import Settings

router = APIRouter(prefix="/api/v1")
ERRORS = responses(404, 409, 413, 415, 422)


Code = Annotated[str, Path(min_length=3, max_length=40)]
# An application: its receipt number once submitted, or its draft id (either is accepted
# wherever an application is named; a draft has only its draft id).
Receipt = Annotated[str, Path(min_length=1, max_length=40)]
SecretHeader = Annotated[str | None, Header(alias="X-Tracking-Secret",
                                             description="The secret issued at submission")]


def _summary(e: CatalogueEntry) -> ItemSummary:
    return ItemSummary(code=e.code, version=e.version, name=e.name, category=e.category,
                       department=e.department, department_name=e.department_name)


@router.get("/catalogue", tags=["catalogue"], response_model=list[ItemSummary])
def list_catalogue(session: SessionDep, category: str | None = None,
                   department: str | None = None,
                   q: Annotated[str | None, Query(max_length=100)] = None,
                   limit: Annotated[int, Query(ge=1, le=200)] = 50,
                   offset: Annotated[int, Query(ge=0)] = 0) -> list[ItemSummary]:
    """Published power items (权力清单), filtered by category, department or text."""
    return [_summary(e) for e in service.list_items(session, category, department, q, limit,
                                                     offset)]


def item_guide(e: CatalogueEntry) -> ItemGuide:
    """The guide of a published entry, as the API answers it and the pages show it."""
    d = e.doc
    forms = d.get("blank_forms", [])
    assert isinstance(forms, list)
    return ItemGuide(
        **_summary(e).model_dump(), legal_basis=str(d["legal_basis"]),
        implementing_body=str(d["implementing_body"]), materials=d["materials"],  # type: ignore[arg-type]
        statutory_limit_days=int(d["statutory_limit_days"]),  # type: ignore[call-overload]
        promised_limit_days=int(d["promised_limit_days"]),  # type: ignore[call-overload]
        fees=d["fees"], flow=d["flow"], form_schema=d["form_schema"],  # type: ignore[arg-type]
        place=str(d.get("place", "")), contact_phone=str(d.get("contact_phone", "")),
        supervision_phone=str(d.get("supervision_phone", "")),
        # Listed as the gateway keeps them (their bytes in catalogue_files); an entry
        # applied by a gateway from before issue 17 lists none until it is published again.
        blank_forms=[BlankFormOut(name=f["name"], filename=f["filename"],
                                  content_type=f["content_type"], size=f["size"],
                                  url=f"/api/v1/catalogue/{quote(e.code)}/forms/{n}")
                     for n, f in enumerate(forms) if isinstance(f, dict) and "size" in f],
        flowchart_url=f"/api/v1/catalogue/{quote(e.code)}/flowchart.svg",
    )


@router.get("/catalogue/{code}", tags=["catalogue"], response_model=ItemGuide, responses=ERRORS)
def guide(code: Code, session: SessionDep) -> ItemGuide:
    """The service guide (办事指南) of one item, with its application form's JSON Schema."""
    return item_guide(service.get_item(session, code))


#: Headers of an SVG served inert: nothing it could load or run, never sniffed as HTML.
SVG_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
               "X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=300"}


@router.get("/catalogue/{code}/flowchart.svg", tags=["catalogue"], response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}, **ERRORS})
def flowchart(code: Code, session: SessionDep) -> Response:
    """The item's flowchart (办理流程图), drawn from its flow: SVG with no script or link."""
    svg, _summary_text = service.flowchart(service.get_item(session, code))
    return Response(svg, media_type="image/svg+xml", headers=SVG_HEADERS)


@router.get("/catalogue/{code}/forms/{position}", tags=["catalogue"], response_class=Response,
            responses={200: {"content": {t: {} for t in BLANK_FORM_TYPES}}, **ERRORS})
def blank_form(code: Code, position: Annotated[int, Path(ge=0, le=99)],
               session: SessionDep) -> Response:
    """A blank form (格式文书) to download, under its file name."""
    found = service.blank_form(session, code, position)
    disposition = f"attachment; filename*=UTF-8''{quote(found.filename, safe='')}"
    return Response(found.content, media_type=found.content_type, headers={
        "Content-Disposition": disposition, "X-Content-Type-Options": "nosniff",
        "Cache-Control": "public, max-age=300"})


@router.post("/applications", tags=["applications"], status_code=201,
             response_model=ApplicationCreated, responses=ERRORS)
def apply(body: ApplicationIn, session: SessionDep) -> ApplicationCreated:
    """Start a draft: returns its opaque draft id and the tracking secret (shown once); the
    receipt number is issued when the draft is submitted."""
    application, secret = service.create_application(session, body)
    return ApplicationCreated(draft_id=application.draft_id, secret=secret,
                              status=application.status)


def _material_out(m: Material) -> MaterialOut:
    return MaterialOut(id=str(m.id), name=m.name, filename=m.filename,
                       content_type=m.content_type, size=m.size, sha256=m.sha256, batch=m.batch)


@router.post("/applications/{receipt}/materials", tags=["applications"], status_code=201,
             response_model=MaterialOut, responses=ERRORS)
def upload_material(receipt: Receipt, request: Request,
                    name: Annotated[str, Form(min_length=1, max_length=200)],
                    file: Annotated[UploadFile, File()],
                    secret: SecretHeader = None) -> MaterialOut:
    """Upload one material (申报材料); size, type and content are checked, sha256 recorded.

    A plain ``def``: it runs in the thread pool, so waiting for the application's row lock
    (held by a concurrent submit or upload) never blocks the event loop. The upload was
    already spooled to a temporary file by the form parser; it is read from there."""
    return _material_out(store_material(request, receipt, secret, name, file))


def store_material(request: Request, ref: str, secret: str | None, name: str,
                   file: StarletteUpload) -> Material:
    """Check and keep one uploaded material of the application ``ref`` (the API's upload and
    the pages' alike): size, type by content, sha256, the application's caps, under its row
    lock. Runs in a worker thread; commits its own transaction."""
    settings: Settings = request.app.state.settings
    limit = settings.material_max_bytes
    data = file.file.read(limit + 1)
    check_size(len(data), limit)
    content_type = check_type(file.content_type, data[:16], settings.material_types)
    digest = sha256_hex(data)
    with transaction(request.app.state.engine) as session:
        application = service.find_application(session, ref, secret, for_update=True)
        material = service.add_material(session, application, name,
                                        (file.filename or "upload")[:255], content_type, data,
                                        digest, max_count=settings.material_max_count,
                                        max_total=settings.material_max_total_bytes)
        session.flush()
        session.expunge(material)
        return material


@router.post("/applications/{receipt}/submit", tags=["applications"], response_model=Submitted,
             responses=ERRORS)
def submit(receipt: Receipt, request: Request, session: SessionDep, settings: SettingsDep,
           secret: SecretHeader = None) -> Submitted:
    """Submit (or resubmit after a correction request); the gateway carries it inward. The
    first submission issues the receipt number; 503 when the day's are used up."""
    application = service.find_application(session, receipt, secret, for_update=True)
    try:
        service.submit(session, application, settings.site_code,
                       request.app.state.receipt_max_seq)
    except ApiError as exc:
        if exc.code == service.RECEIPTS_EXHAUSTED:
            request.app.state.receipts_exhausted.inc()
        raise
    assert application.receipt is not None
    return Submitted(status=application.status, receipt=application.receipt)


def _document_out(a: Application, d: DecisionDocumentEntry | None) -> DecisionDocumentOut | None:
    if d is None or a.receipt is None:
        return None
    return DecisionDocumentOut(title=d.title, number=d.number, decided_on=d.decided_on,
                               media_type=d.media_type, size=d.size, sha256=d.sha256,
                               url=f"/api/v1/applications/{quote(a.receipt)}/decision.pdf")


def _application_out(session: Session, a: Application) -> ApplicationOut:
    document = service.decision_document(session, a)
    return ApplicationOut(
        receipt=a.receipt, item_code=a.item_code, item_name=service.item_name(session, a.item_code),
        status=a.status, status_comment=a.status_comment, decision=a.decision, due_on=a.due_on,
        overdue=a.overdue, submissions=a.submissions,
        materials=[_material_out(m) for m in service.materials_of(session, a)],
        created_at=a.created_at, updated_at=a.updated_at,
        materials_purged_at=a.purged_at, retention_note=PURGED_NOTE if a.purged_at else "",
        history=[HistoryEntry(status=e.status, note=e.note, at=e.at)
                 for e in service.history(session, a)],
        has_decision_document=document is not None,
        decision_document=_document_out(a, document),
    )


@router.get("/applications/{receipt}", tags=["applications"], response_model=ApplicationOut,
            responses=ERRORS)
def track(receipt: Receipt, session: SessionDep, secret: SecretHeader = None) -> ApplicationOut:
    """Track a case by receipt number and secret: status, due date, result."""
    return _application_out(session, service.find_application(session, receipt, secret))


#: Headers of a decision document: saved, never shown in place or sniffed, never cached.
DOCUMENT_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def document_response(entry: DecisionDocumentEntry) -> Response:
    """The decision document as a download (the API's route and the tracking page's)."""
    disposition = ("attachment; filename*=UTF-8''"
                   + quote(service.document_filename(entry), safe=""))
    return Response(entry.content, media_type=entry.media_type,
                    headers={"Content-Disposition": disposition, **DOCUMENT_HEADERS})


@router.get("/applications/{receipt}/decision.pdf", tags=["applications"],
            response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}, **ERRORS})
def decision_document(receipt: Receipt, session: SessionDep,
                      secret: SecretHeader = None) -> Response:
    """The decision document (准予 / 不予行政许可决定书) of a decided application, for the
    holder of its secret; 404 until it has reached the portal."""
    application = service.find_application(session, receipt, secret)
    entry = service.decision_document(session, application)
    if entry is None:
        raise ApiError(404, "no_decision_document",
                       f"application {receipt} has no decision document (yet)")
    return document_response(entry)


@router.post("/applications/{receipt}/complaints", tags=["feedback"], status_code=201,
             response_model=Accepted, responses=ERRORS)
def complain(receipt: Receipt, body: ComplaintIn, session: SessionDep,
             secret: SecretHeader = None) -> Accepted:
    """File a complaint (投诉) about a submitted application."""
    service.complain(session, service.find_application(session, receipt, secret), body.text)
    return Accepted(status="received")


@router.post("/applications/{receipt}/rating", tags=["feedback"], status_code=201,
             response_model=Accepted, responses=ERRORS)
def rate(receipt: Receipt, body: RatingIn, session: SessionDep,
         secret: SecretHeader = None) -> Accepted:
    """Rate satisfaction (满意度) once the case is closed."""
    application = service.find_application(session, receipt, secret)
    service.rate(session, application, body.score, body.comment)
    return Accepted(status="received")



def _disclosure_out(e: PenaltyDisclosureEntry) -> PenaltyDisclosureOut:
    return PenaltyDisclosureOut(
        reference=e.number or f"案{e.case_id.hex[:12]}", number=e.number,
        department=e.department, department_name=e.department_name, item_code=e.item_code,
        item_name=e.item_name, party_kind=e.party_kind, party_name=e.party_name,
        party_id=e.party_id, legal_representative=e.legal_representative,
        violation=e.violation, facts=e.facts, legal_basis=e.legal_basis, penalty=e.penalty,
        amount_yuan=f"{e.amount_yuan:.2f}", decided_on=e.decided_on, publish_by=e.publish_by)


@router.get("/disclosure/penalties", tags=["disclosure"],
            response_model=list[PenaltyDisclosureOut])
def penalty_disclosures(session: SessionDep,
                        department: Annotated[str | None, Query(max_length=40)] = None,
                        limit: Annotated[int, Query(ge=1, le=200)] = 50,
                        offset: Annotated[int, Query(ge=0)] = 0) -> list[PenaltyDisclosureOut]:
    """行政处罚结果公示: penalty decisions, newest first, optionally of one department; a
    person's name and identity number are shown masked, a company's in full."""
    return [_disclosure_out(e) for e in service.list_penalty_disclosures(
        session, department, limit, offset)]
