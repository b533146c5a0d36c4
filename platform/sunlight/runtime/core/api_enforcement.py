"""Routes of enforcement (执法办案): the officer registry and staff-opened cases.

Who may call what:

- the registry: admins import it (YAML body, refused as a whole with every problem); admins,
  officers, legal reviewers and approvers list it (``expiring_within`` days: the alert list);
- a case: an officer of the item's department opens it (立案) and investigates, notifies,
  serves, executes and closes under the certificate number (执法证号) bound to their account
  (a ``certificate`` in the body is optional and must be that one: 403 otherwise); a legal
  reviewer of the department reviews; an approver of the department decides. Each step is
  dated by core's clock and checked by :mod:`sunlight.enforcement.flow`; a refusal answers
  409 (order, dates, the band — naming it), 403 (role; an officer account without a
  certificate, naming another's, or whose certificate is unknown, expired or out of area) or
  422 (bad input, with the field), and nothing is stored;
- a penalty case's decision document (行政处罚决定书, PDF, numbered when decided): whoever
  may read the case (``GET …/decision.pdf``; 404 with the reason before the decision);
- a case's evidence (证据): a qualified officer of the department uploads files while the case
  is opened or investigated (``POST …/evidence``, multipart: ``file``, ``kind``, ``title``;
  201, or 200 with the stored one when the case already holds these bytes; 409 at a later
  stage, 413 past the size limit, 415 a type not allowed or not what the bytes are);
  whoever may read the case lists them (``GET …/evidence``) and downloads one by its
  SHA-256 (``GET …/evidence/{sha256}``). The investigate step names the files by SHA-256
  (:mod:`sunlight.runtime.core.evidence`).

Amounts are yuan as strings (``"70000"``, ``"1500.50"``) or whole numbers.

Example::

    $ curl -H "Authorization: Bearer $T" -H "Content-Type: application/yaml" \\
          --data-binary @officers.yaml "$CORE/api/v1/admin/enforcement/officers"
    $ curl -H "Authorization: Bearer $T" -X POST "$CORE/api/v1/enforcement/cases" -d @open.json
    $ curl -H "Authorization: Bearer $T" -F kind=documentary -F title=销售单据 \\
          -F file=@receipt.pdf "$CORE/api/v1/enforcement/cases/$ID/evidence"
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from sunlight.enforcement import flow
from sunlight.enforcement.officers import Officer
from sunlight.runtime.core import decision_document, enforcement, evidence
from sunlight.runtime.core.auth import AdminDep, Staff, StaffDep, current_staff
from sunlight.runtime.core.enforcement_models import EnforcementCaseRow, EvidenceRow
from sunlight.runtime.deps import ClockDep, SessionDep, SettingsDep
from sunlight.runtime.errors import ApiError, responses

router = APIRouter(prefix="/api/v1")
ERRORS = responses(401, 403, 404, 409, 422)
MAX_REGISTRY_BYTES = 2 * 1024 * 1024
_STRICT = ConfigDict(extra="forbid")
Amount = str | int
#: The acting officer's certificate is their account's (``accounts.certificate``), never the
#: request's: the field may be left out; if given it must be the account's own (else 403).
OwnCertificate = Annotated[str | None, Field(max_length=40, description="optional: the "
                           "acting officer's own 执法证号; the account's bound certificate is "
                           "used, and any other number is refused (403 not_own_certificate)")]
ENFORCEMENT_VIEWERS = frozenset({"admin", flow.OFFICER, flow.LEGAL_REVIEWER, flow.APPROVER})


def require_registry_reader(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
    if not ENFORCEMENT_VIEWERS & set(staff.roles):
        raise ApiError(403, "forbidden", "the officer registry is for admins, officers, legal "
                       "reviewers and approvers")
    return staff


ReaderDep = Annotated[Staff, Depends(require_registry_reader)]


# -- bodies -------------------------------------------------------------------------------


class OfficerOut(BaseModel):
    certificate: str
    name: str
    department: str
    items: list[str]
    categories: list[str]
    valid_from: date
    valid_to: date


class RegistryOut(BaseModel):
    revision: int = Field(description="the registry in force (0: none imported yet)")
    officers: list[OfficerOut]


class RegistryImportOut(BaseModel):
    revision: int
    officers: int
    changed: bool


class PartyIn(BaseModel):
    model_config = _STRICT
    kind: Literal["person", "company"]
    name: str = Field(max_length=200)
    id_number: str = Field(max_length=40)
    address: str = Field("", max_length=300)
    legal_representative: str = Field("", max_length=100)


class OpenIn(BaseModel):
    model_config = _STRICT
    item_code: str = Field(min_length=1, max_length=40)
    certificate: OwnCertificate = None
    party: PartyIn
    source: str = Field(max_length=20, description="; ".join(flow.CASE_SOURCES))
    summary: str = Field(max_length=2000)


class EvidenceIn(BaseModel):
    model_config = _STRICT
    kind: str = Field(max_length=40, description=", ".join(flow.EVIDENCE_KINDS))
    title: str = Field(max_length=300)
    sha256: str | None = Field(None, max_length=64, description="the SHA-256 of a file "
                               "uploaded to this case (POST …/evidence); required")


class EvidenceOut(BaseModel):
    id: uuid.UUID
    sha256: str
    size: int
    kind: str
    title: str
    filename: str
    content_type: str
    uploaded_by: str
    certificate: str
    uploaded_at: datetime


class InvestigateIn(BaseModel):
    model_config = _STRICT
    certificate: OwnCertificate = None
    officers: list[str] = Field(max_length=20, description="certificates of the officers "
                                                           "who investigated (at least two)")
    evidence: list[EvidenceIn] = Field(max_length=200)
    findings: str = Field(max_length=5000)


class TermsIn(BaseModel):
    model_config = _STRICT
    legal_basis: str = Field(max_length=1000)
    facts: str = Field(max_length=5000)
    violation: str | None = Field(None, max_length=20)
    severity: str | None = Field(None, max_length=20)
    amount_yuan: Amount | None = None


class NotifyIn(BaseModel):
    model_config = _STRICT
    certificate: OwnCertificate = None
    intended: TermsIn
    waiting_days: int
    hearing_right: bool


class LegalReviewIn(BaseModel):
    model_config = _STRICT
    opinion: str = Field(max_length=5000)
    outcome: Literal["pass", "return"] = "pass"
    override: str | None = Field(None, max_length=2000, description="the written "
                                 "justification that lets the notified amount stand outside "
                                 "its band (at least ten characters)")


class DecideIn(BaseModel):
    model_config = _STRICT
    terms: TermsIn


class ServeIn(BaseModel):
    model_config = _STRICT
    certificate: OwnCertificate = None
    method: str = Field(max_length=20, description=", ".join(flow.SERVICE_METHODS))
    recipient: str = Field("", max_length=200)


class ExecuteIn(BaseModel):
    model_config = _STRICT
    certificate: OwnCertificate = None
    manner: str = Field(max_length=20, description=", ".join(flow.EXECUTION_MANNERS))
    paid_yuan: Amount | None = None
    note: str = Field("", max_length=2000)


class CloseIn(BaseModel):
    model_config = _STRICT
    certificate: OwnCertificate = None
    summary: str = Field(max_length=2000)


class StepOut(BaseModel):
    role: str
    step: str
    label: str


class BandOut(BaseModel):
    band: str
    violation: str
    severity: str
    amount: Decimal
    inside: bool
    override: bool
    justification: str


class CaseOut(BaseModel):
    id: uuid.UUID
    site: str
    department: str
    item_code: str
    item_version: int
    stage: str
    stage_zh: str
    party_kind: str
    party_name: str
    party_id_number: str
    opened_by: str
    opened_on: date
    updated_at: datetime
    override: bool
    band: BandOut | None
    allowed: list[StepOut] = Field(description="the steps possible now and who takes them")
    records: list[dict[str, Any]]
    decision_number: str | None = Field(None, description="the decision document's number "
                                        "(连云市监罚〔2026〕1号), once a penalty is decided")
    document_sha256: str | None = Field(None, description="SHA-256 of the decision document "
                                        "(…/decision.pdf), as in the decide step's audit record")


# -- routes -------------------------------------------------------------------------------


def _officer(o: Officer) -> OfficerOut:
    return OfficerOut(certificate=o.certificate, name=o.name, department=o.department,
                      items=list(o.items), categories=[c.value for c in o.categories],
                      valid_from=o.valid_from, valid_to=o.valid_to)


async def _registry_body(request: Request) -> bytes:
    """The raw YAML body, read on the loop; the import itself runs in a worker thread (a
    sync route), never a database call on the event loop."""
    return await request.body()


@router.post("/admin/enforcement/officers", tags=["enforcement"],
             response_model=RegistryImportOut, responses=ERRORS)
def import_officers(raw: Annotated[bytes, Depends(_registry_body)], staff: AdminDep,
                    session: SessionDep, settings: SettingsDep,
                    clock: ClockDep) -> RegistryImportOut:
    """Import the officer registry (YAML body) as a whole, or refuse it (422, every problem
    named by YAML path and line)."""
    if len(raw) > MAX_REGISTRY_BYTES:
        raise ApiError(413, "too_large", f"at most {MAX_REGISTRY_BYTES} bytes")
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(422, "invalid_input", f"not UTF-8 text: {exc}") from None
    try:
        done = enforcement.import_registry(session, settings.site_code, body, "api",
                                           staff.username, now=clock.now())
    except enforcement.RegistryRefused as exc:
        raise ApiError(422, "registry_refused", str(exc)) from None
    return RegistryImportOut(revision=done.revision, officers=done.officers,
                             changed=done.changed)


@router.get("/enforcement/officers", tags=["enforcement"], response_model=RegistryOut,
            responses=ERRORS)
def list_officers(staff: ReaderDep, session: SessionDep, clock: ClockDep,
                  expiring_within: Annotated[int | None, Query(ge=0, le=3650)] = None
                  ) -> RegistryOut:
    """The registry in force; with ``expiring_within``, only the certificates valid today
    that end within that many days (soonest first)."""
    revision, registry = enforcement.registry_in_force(session)
    officers = (list(registry.officers) if expiring_within is None
                else enforcement.expiring_officers(session, clock.today(), expiring_within))
    return RegistryOut(revision=revision, officers=[_officer(o) for o in officers])


def _case_out(session: Any, row: EnforcementCaseRow) -> CaseOut:
    value = enforcement.case_value(session, row)
    item = enforcement.item_version(session, row.item_code, row.item_version)
    stage = flow.Stage(row.stage)
    document = decision_document.document_of(session, row.id)
    return CaseOut(
        id=row.id, site=row.site, department=row.department, item_code=row.item_code,
        item_version=row.item_version, stage=row.stage, stage_zh=flow.STAGE_LABELS[stage],
        party_kind=row.party_kind, party_name=row.party_name,
        party_id_number=row.party_id_number, opened_by=row.opened_by,
        opened_on=row.opened_on, updated_at=row.updated_at, override=row.override,
        band=BandOut.model_validate(row.band) if row.band else None,
        allowed=[StepOut(step=s.value, role=r, label=flow.STEP_LABELS[s])
                 for s, r in flow.allowed_steps(value, item)],
        records=row.records,
        decision_number=document.number if document is not None else None,
        document_sha256=document.sha256 if document is not None else None)


@router.post("/enforcement/cases", tags=["enforcement"], status_code=201,
             response_model=CaseOut, responses=ERRORS)
def open_case(body: OpenIn, staff: StaffDep, session: SessionDep, settings: SettingsDep,
              clock: ClockDep) -> CaseOut:
    """立案: an officer opens a case of a penalty, coercion, levy or inspection item."""
    row = enforcement.open_case(session, settings.site_code, staff, body.item_code,
                                certificate=body.certificate, party=body.party.model_dump(),
                                source=body.source, summary=body.summary,
                                today=clock.today(), now=clock.now())
    return _case_out(session, row)


@router.get("/enforcement/cases", tags=["enforcement"], response_model=list[CaseOut],
            responses=ERRORS)
def list_cases(staff: StaffDep, session: SessionDep,
               stage: Annotated[flow.Stage | None, Query()] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[CaseOut]:
    """Enforcement cases of the own department (a supervisor's: those it covers; all of
    the site for admins and site-wide supervisors)."""
    rows = enforcement.list_cases(session, staff, stage.value if stage else None, limit)
    return [_case_out(session, row) for row in rows]


@router.get("/enforcement/cases/{case_id}", tags=["enforcement"], response_model=CaseOut,
            responses=ERRORS)
def get_case(case_id: uuid.UUID, staff: StaffDep, session: SessionDep) -> CaseOut:
    return _case_out(session, enforcement.get_case(session, staff, case_id))


@router.get("/enforcement/cases/{case_id}/decision.pdf", tags=["enforcement"],
            response_class=Response, responses={
                **ERRORS, 200: {"description": "the decision document (行政处罚决定书)",
                                "content": {decision_document.MEDIA_TYPE: {}}}})
def decision_pdf(case_id: uuid.UUID, staff: StaffDep, session: SessionDep) -> Response:
    """The decision document of a decided penalty case, as issued (its SHA-256 is in the
    decide step's audit record); 404 with the reason before the decision."""
    row = enforcement.get_case(session, staff, case_id)
    document = decision_document.document_of(session, row.id)
    if document is None:
        stage = flow.Stage(row.stage)
        raise ApiError(404, "no_decision_document", f"enforcement case {case_id} has no "
                       f"decision document (行政处罚决定书): it is {stage.value} "
                       f"({flow.STAGE_LABELS[stage]}); the document is issued when a penalty "
                       "is decided (决定)")
    return Response(document.content, media_type=document.media_type, headers={
        "Content-Disposition": f'inline; filename="decision-{case_id}.pdf"',
        "ETag": f'"{document.sha256}"'})


def _evidence_out(row: EvidenceRow) -> EvidenceOut:
    return EvidenceOut(id=row.id, sha256=row.sha256, size=row.size, kind=row.kind,
                       title=row.title, filename=row.filename, content_type=row.content_type,
                       uploaded_by=row.uploaded_by, certificate=row.certificate,
                       uploaded_at=row.uploaded_at)


@router.post("/enforcement/cases/{case_id}/evidence", tags=["enforcement"], status_code=201,
             response_model=EvidenceOut, responses={
                 **responses(401, 403, 404, 409, 413, 415, 422),
                 200: {"description": "the case already holds these bytes: the stored file",
                       "model": EvidenceOut}})
def upload_evidence(case_id: uuid.UUID, response: Response,
                    kind: Annotated[str, Form(max_length=40,
                                              description=", ".join(flow.EVIDENCE_KINDS))],
                    title: Annotated[str, Form(max_length=300)],
                    file: Annotated[UploadFile, File()], staff: StaffDep,
                    session: SessionDep, settings: SettingsDep, clock: ClockDep,
                    certificate: Annotated[str | None, Form(max_length=40)] = None,
                    ) -> EvidenceOut:
    """调查取证: upload one file of evidence (PDF, JPEG, PNG, …; the materials' size limit);
    the investigate step then names it by its sha256. The same bytes again answer 200 with
    the stored file."""
    limit = settings.material_max_bytes
    data = file.file.read(limit + 1)
    row, created = evidence.upload(
        session, settings.site_code, staff, case_id, kind=kind, title=title,
        filename=file.filename or "upload", declared_type=file.content_type, data=data,
        limit=limit, types=settings.material_types, today=clock.today(), now=clock.now(),
        certificate=certificate)
    if not created:
        response.status_code = 200
    return _evidence_out(row)


@router.get("/enforcement/cases/{case_id}/evidence", tags=["enforcement"],
            response_model=list[EvidenceOut], responses=ERRORS)
def list_evidence(case_id: uuid.UUID, staff: StaffDep, session: SessionDep) -> list[EvidenceOut]:
    """The case's files of evidence, oldest first."""
    return [_evidence_out(row) for row in evidence.list_evidence(session, staff, case_id)]


@router.get("/enforcement/cases/{case_id}/evidence/{sha256}", tags=["enforcement"],
            response_class=Response, responses={
                **ERRORS, 200: {"description": "the file as uploaded",
                                "content": {"application/octet-stream": {}}}})
def download_evidence(case_id: uuid.UUID,
                      sha256: Annotated[str, Path(pattern="^[0-9a-fA-F]{64}$")],
                      staff: StaffDep, session: SessionDep) -> Response:
    """One file of the case's evidence, by its SHA-256, as uploaded."""
    row = evidence.get_evidence(session, staff, case_id, sha256)
    return Response(row.data, media_type=row.content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename, safe='')}",
        "ETag": f'"{row.sha256}"', "X-Content-Type-Options": "nosniff"})


def _terms(t: TermsIn) -> flow.Terms:
    return flow.Terms(t.legal_basis, t.facts, t.violation, t.severity,
                      t.amount_yuan)  # type: ignore[arg-type]  # checked by the flow


def _step(session: Any, settings: Any, clock: Any, staff: Staff, case_id: uuid.UUID,
          step: flow.Step, make: Any, certificate: str | None = None) -> CaseOut:
    row = enforcement.advance(session, settings.site_code, staff, case_id, step, make,
                              today=clock.today(), now=clock.now(), certificate=certificate)
    return _case_out(session, row)


@router.post("/enforcement/cases/{case_id}/investigate", tags=["enforcement"],
             response_model=CaseOut, responses=ERRORS)
def investigate(case_id: uuid.UUID, body: InvestigateIn, staff: StaffDep, session: SessionDep,
                settings: SettingsDep, clock: ClockDep) -> CaseOut:
    """调查取证 (again: 补充调查): at least two qualified officers (named by certificate,
    each in the registry and qualified for the item), the evidence; taken under the acting
    officer's own certificate."""
    return _step(session, settings, clock, staff, case_id, flow.Step.investigate,
                 lambda on, by: flow.Investigation(
                     on, by, tuple(body.officers),
                     tuple(flow.Evidence(e.kind, e.title, e.sha256) for e in body.evidence),
                     body.findings), body.certificate)


@router.post("/enforcement/cases/{case_id}/notify", tags=["enforcement"],
             response_model=CaseOut, responses=ERRORS)
def notify(case_id: uuid.UUID, body: NotifyIn, staff: StaffDep, session: SessionDep,
           settings: SettingsDep, clock: ClockDep) -> CaseOut:
    """告知: the intended decision, the rights, the waiting period in working days."""
    return _step(session, settings, clock, staff, case_id, flow.Step.notify,
                 lambda on, by: flow.Notice(on, by, _terms(body.intended), body.waiting_days,
                                            body.hearing_right), body.certificate)


@router.post("/enforcement/cases/{case_id}/legal-review", tags=["enforcement"],
             response_model=CaseOut, responses=ERRORS)
def legal_review(case_id: uuid.UUID, body: LegalReviewIn, staff: StaffDep,
                 session: SessionDep, settings: SettingsDep, clock: ClockDep) -> CaseOut:
    """法制审核: pass (with an override, if the amount is outside its band) or return."""
    return _step(session, settings, clock, staff, case_id, flow.Step.legal_review,
                 lambda on, by: flow.LegalReview(on, by, body.opinion, body.outcome,
                                                 body.override))


@router.post("/enforcement/cases/{case_id}/decide", tags=["enforcement"],
             response_model=CaseOut, responses=ERRORS)
def decide(case_id: uuid.UUID, body: DecideIn, staff: StaffDep, session: SessionDep,
           settings: SettingsDep, clock: ClockDep) -> CaseOut:
    """决定: after the waiting period and any mandatory legal review; inside the band."""
    return _step(session, settings, clock, staff, case_id, flow.Step.decide,
                 lambda on, by: flow.Decision(on, by, _terms(body.terms)))


@router.post("/enforcement/cases/{case_id}/serve", tags=["enforcement"],
             response_model=CaseOut, responses=ERRORS)
def serve(case_id: uuid.UUID, body: ServeIn, staff: StaffDep, session: SessionDep,
          settings: SettingsDep, clock: ClockDep) -> CaseOut:
    """送达."""
    return _step(session, settings, clock, staff, case_id, flow.Step.serve,
                 lambda on, by: flow.Service(on, by, body.method, body.recipient),
                 body.certificate)


@router.post("/enforcement/cases/{case_id}/execute", tags=["enforcement"],
             response_model=CaseOut, responses=ERRORS)
def execute(case_id: uuid.UUID, body: ExecuteIn, staff: StaffDep, session: SessionDep,
            settings: SettingsDep, clock: ClockDep) -> CaseOut:
    """执行: how, and what was paid (never more than decided)."""
    return _step(session, settings, clock, staff, case_id, flow.Step.execute,
                 lambda on, by: flow.Execution(
                     on, by, body.manner, body.paid_yuan,  # type: ignore[arg-type]  # checked
                     body.note), body.certificate)


@router.post("/enforcement/cases/{case_id}/close", tags=["enforcement"],
             response_model=CaseOut, responses=ERRORS)
def close(case_id: uuid.UUID, body: CloseIn, staff: StaffDep, session: SessionDep,
          settings: SettingsDep, clock: ClockDep) -> CaseOut:
    """结案."""
    return _step(session, settings, clock, staff, case_id, flow.Step.close,
                 lambda on, by: flow.Closing(on, by, body.summary), body.certificate)

