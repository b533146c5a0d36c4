"""Enforcement cases (执法办案) and the officer registry (执法人员库) in the core database.

The pure domain is :mod:`sunlight.enforcement`; this module stores what it decides:

- :func:`import_registry` checks an officer registry (YAML) as a whole against this site's
  departments and items (:func:`sunlight.enforcement.officers.load_registry`) and puts it in
  force as a new revision (kept verbatim, audited), or refuses it as a whole with every
  problem named by YAML path and line (:class:`RegistryRefused`); nothing is stored then.
- An officer acts under the certificate number (执法证号) bound to their account
  (``accounts.certificate``, :mod:`sunlight.runtime.core.accounts`), never one named in a
  request: :func:`acting_certificate` refuses (403) an account with none, and a request that
  names another certificate (a colleague's); the flow then refuses (403) a certificate not in
  the registry in force, not valid that day or out of area for the item. Co-officers named
  in an investigation are checked against the registry by the flow, as before.
- :func:`open_case` (立案) and :func:`advance` take one step of the fixed procedure with the
  pure flow (:func:`sunlight.enforcement.flow.open_case` / ``advance``), dated by core's
  clock, checked against the registry in force; a refusal becomes an
  :class:`~sunlight.runtime.errors.ApiError` with the pure error's ``http_status``, ``code``,
  reason and ``field`` (409 order, dates, the band; 403 role, officer; 422 bad input) and
  nothing is stored. An investigation's evidence must each name, by SHA-256, a file
  uploaded to the case (:mod:`sunlight.runtime.core.evidence`): checked once the flow has
  accepted the step (so an unqualified officer is still refused and counted first), 422
  naming ``evidence[i].sha256`` otherwise. Every step taken is audited (entity
  ``enforcement_case``). A refusal
  as outside the band or by an unqualified officer is counted for legal supervision in a
  transaction of its own (:func:`sunlight.runtime.core.refusals.count_refusal`). A penalty
  decision also gets its numbered decision document (行政处罚决定书, PDF) in the same
  transaction, its SHA-256 in the decide step's audit comment
  (:mod:`sunlight.runtime.core.decision_document`).

A stored case is its records (JSON, :func:`record_to_json`); the case value is rebuilt with
:func:`sunlight.enforcement.flow.replay` under the registry in force, or, if that registry no
longer admits an earlier step, under the revision the case's last step was checked with.

Example::

    >>> row = open_case(session, "320703", staff, "320703-SCJGJ-CF-001", opening_input,
    ...                 today=clock.today(), now=clock.now())  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from sunlight.catalogue.model import ENFORCEMENT_CATEGORIES, Category, ItemStatus, PowerItem
from sunlight.enforcement import flow
from sunlight.enforcement.errors import EnforcementError
from sunlight.enforcement.officers import (
    Officer,
    OfficerRegistry,
    RegistryImportError,
    expiring,
    load_registry,
    normalise_certificate,
)
from sunlight.enforcement.party import Party
from sunlight.runtime.core import decision_document, enforcement_exchange
from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.auth import Staff, require_watch
from sunlight.runtime.core.enforcement_models import (
    EnforcementCaseRow,
    EvidenceRow,
    OfficerRegistryRevision,
)
from sunlight.runtime.core.models import Account, Department, Item
from sunlight.runtime.core.refusals import count_refusal
from sunlight.runtime.errors import ApiError, not_found

__all__ = ["RegistryImportResult", "RegistryRefused", "acting_certificate", "advance",
           "bound_certificate", "case_value", "check_evidence",
           "expiring_officers", "get_case", "import_registry", "item_version", "list_cases",
           "open_case", "record_from_json", "record_to_json", "registry_in_force",
           "uploaded_evidence"]

_REGISTRY_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('sunlight-officer-registry'))")
ENTITY = "enforcement_case"


class RegistryRefused(ValueError):
    """An officer registry refused as a whole: every problem, located."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s); nothing was changed: "
                         + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class RegistryImportResult:
    revision: int
    officers: int
    changed: bool


# -- the registry -------------------------------------------------------------------------

_PARSED: dict[int, OfficerRegistry] = {}


def _parse_revision(session: Session, revision: int) -> OfficerRegistry:
    found = _PARSED.get(revision)
    if found is None:
        body = session.scalar(select(OfficerRegistryRevision.text)
                              .where(OfficerRegistryRevision.revision == revision))
        assert body is not None
        found = load_registry(body)  # checked against the catalogue when imported
        if len(_PARSED) > 32:
            _PARSED.clear()
        _PARSED[revision] = found
    return found


def registry_in_force(session: Session) -> tuple[int, OfficerRegistry]:
    """The revision in force and its registry; (0, an empty registry) before any import."""
    revision = session.scalar(select(OfficerRegistryRevision.revision)
                              .where(OfficerRegistryRevision.in_force.is_(True)))
    if revision is None:
        return 0, OfficerRegistry()
    return int(revision), _parse_revision(session, int(revision))


def import_registry(session: Session, site: str, body: str, source_name: str, actor: str, *,
                    now: datetime, role: str = "admin") -> RegistryImportResult:
    """Check ``body`` as a whole and put it in force; :class:`RegistryRefused` otherwise.
    The same text as the one in force changes nothing."""
    session.execute(_REGISTRY_LOCK)
    departments = set(session.scalars(select(Department.code)))
    items = set(session.scalars(select(Item.code).distinct()))
    try:
        registry = load_registry(body, known_departments=departments, known_items=items)
    except RegistryImportError as exc:
        raise RegistryRefused([str(p) for p in exc.all_problems]) from exc
    sha = hashlib.sha256(body.encode("utf-8")).hexdigest()
    current = session.scalars(select(OfficerRegistryRevision)
                              .where(OfficerRegistryRevision.in_force.is_(True))).first()
    if current is not None and current.sha256 == sha:
        return RegistryImportResult(current.revision, current.officers, False)
    if current is not None:
        current.in_force = False
        session.flush()  # the partial unique index admits one row in force
    row = OfficerRegistryRevision(site=site, text=body, sha256=sha, officers=len(
        registry.officers), source_name=source_name[:200], imported_by=actor,
        imported_at=now, in_force=True)
    session.add(row)
    session.flush()
    audit(session, site, actor=actor, role=role, entity="officer_registry",
          entity_id=f"{site}@{row.revision}", action="import",
          from_state=f"revision {current.revision}" if current else None,
          to_state=f"revision {row.revision}",
          comment=f"{len(registry.officers)} officers, sha256 {sha}, {source_name}")
    return RegistryImportResult(row.revision, len(registry.officers), True)


def expiring_officers(session: Session, on: date, within_days: int) -> list[Officer]:
    """Certificates in force on ``on`` that end within ``within_days`` days."""
    return expiring(registry_in_force(session)[1], on, within_days)


# -- records as JSON ----------------------------------------------------------------------

_RECORD_TYPES: dict[str, type[Any]] = {
    flow.Step.open.value: flow.Opening, flow.Step.investigate.value: flow.Investigation,
    flow.Step.notify.value: flow.Notice, flow.Step.legal_review.value: flow.LegalReview,
    flow.Step.decide.value: flow.Decision, flow.Step.serve.value: flow.Service,
    flow.Step.execute.value: flow.Execution, flow.Step.close.value: flow.Closing,
}


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record_to_json(record: flow.Record) -> dict[str, Any]:
    """A checked record as JSON (dates ISO, amounts as strings), with its ``step``."""
    return {"step": record.step.value, **_plain(asdict(record))}


def _terms(doc: dict[str, Any]) -> flow.Terms:
    amount = doc.get("amount_yuan")
    return flow.Terms(doc["legal_basis"], doc["facts"], doc.get("violation"),
                      doc.get("severity"), Decimal(amount) if amount is not None else None)


def record_from_json(doc: dict[str, Any]) -> flow.Record:
    """The record :func:`record_to_json` wrote."""
    fields = {k: v for k, v in doc.items() if k != "step"}
    fields["on"] = date.fromisoformat(fields["on"])
    fields["by"] = flow.Actor(**fields["by"])
    step = doc["step"]
    if step == flow.Step.open.value:
        fields["party"] = Party(**fields["party"])
    elif step == flow.Step.investigate.value:
        fields["officers"] = tuple(fields["officers"])
        fields["evidence"] = tuple(flow.Evidence(**e) for e in fields["evidence"])
    elif step == flow.Step.notify.value:
        fields["intended"] = _terms(fields["intended"])
    elif step == flow.Step.decide.value:
        fields["terms"] = _terms(fields["terms"])
    elif step == flow.Step.execute.value and fields.get("paid_yuan") is not None:
        fields["paid_yuan"] = Decimal(fields["paid_yuan"])
    record: flow.Record = _RECORD_TYPES[step](**fields)
    return record


# -- cases --------------------------------------------------------------------------------


def _refusal(exc: EnforcementError) -> ApiError:
    return ApiError(exc.http_status, exc.code, exc.reason, field=exc.field)


def _published_item(session: Session, code: str) -> PowerItem:
    row = session.scalars(select(Item).where(Item.code == code, Item.status
                                             == ItemStatus.PUBLISHED.value)).first()
    if row is None:
        raise not_found(f"published item {code}")
    return PowerItem.model_validate(row.doc)


def item_version(session: Session, code: str, version: int) -> PowerItem:
    row = session.get(Item, (code, version))
    assert row is not None  # a case's item version is never deleted
    return PowerItem.model_validate(row.doc)


def _require(staff: Staff, step: flow.Step, department: str) -> str:
    """The role the staff member acts in for ``step``; 403 if they do not hold it here."""
    role = flow.STEP_ROLES[step]
    if role not in staff.roles:
        raise ApiError(403, "wrong_role", f"{step.value} ({flow.STEP_LABELS[step]}) is for "
                       f"role {role}; you hold {', '.join(staff.roles) or 'none'}")
    if staff.department != department:
        raise ApiError(403, "forbidden", f"the item belongs to {department}; your account is "
                       f"scoped to {staff.department or 'no department'}")
    return role


def acting_certificate(username: str, bound: str | None, claimed: str | None) -> str:
    """The certificate an officer account acts under: the one ``bound`` to it. ``claimed``
    (from a request, optional) must be that same number; 403 when the account has none, or
    names another (a colleague's). Whether it qualifies is the flow's check (registry)."""
    if bound is None:
        raise ApiError(403, "unqualified_officer", f"account {username} has no certificate "
                       "number (执法证号) bound to it, so it cannot act as an enforcement "
                       "officer; an admin creates officer accounts with their certificate "
                       "(sunlight accounts add … --certificate N)", field="certificate")
    if claimed is not None and claimed.strip() and normalise_certificate(claimed) != bound:
        raise ApiError(403, "not_own_certificate", f"account {username} acts under its own "
                       f"certificate {bound}, not {normalise_certificate(claimed)}: an officer "
                       "never acts under a colleague's certificate (leave certificate out, or "
                       "give your own)", field="certificate")
    return bound


def bound_certificate(session: Session, staff: Staff) -> str | None:
    """The certificate bound to the signed-in account (read now, not from the token); 403
    if the account is gone or deactivated."""
    account = session.get(Account, staff.username)
    if account is None or not account.active:
        raise ApiError(403, "forbidden", f"account {staff.username} is not active")
    return account.certificate


def _officer_actor(session: Session, staff: Staff, role: str,
                   claimed: str | None) -> flow.Actor:
    """The actor of a step in ``role``; an officer's certificate is their account's."""
    if role != flow.OFFICER:
        return flow.Actor(staff.username, role)
    certificate = acting_certificate(staff.username, bound_certificate(session, staff), claimed)
    return flow.Actor(staff.username, role, certificate)


def _in_scope(staff: Staff, row: EnforcementCaseRow) -> bool:
    """Admins every case; supervisors those of the departments they cover; others their
    department's."""
    return staff.watches(row.department) or (not staff.is_supervisor
                                             and staff.department == row.department)


def get_case(session: Session, staff: Staff, case_id: uuid.UUID) -> EnforcementCaseRow:
    row = session.get(EnforcementCaseRow, case_id)
    if row is not None and staff.is_supervisor:
        require_watch(staff, row.department, f"enforcement case {case_id}")
    if row is None or not _in_scope(staff, row):
        raise not_found(f"enforcement case {case_id}")
    return row


def list_cases(session: Session, staff: Staff, stage: str | None = None,
               limit: int = 200) -> list[EnforcementCaseRow]:
    stmt = select(EnforcementCaseRow)
    if staff.is_supervisor and not staff.site_wide:
        stmt = stmt.where(EnforcementCaseRow.department.in_(sorted(staff.covers or ())))
    elif not staff.site_wide:
        stmt = stmt.where(EnforcementCaseRow.department == staff.department)
    if stage is not None:
        stmt = stmt.where(EnforcementCaseRow.stage == stage)
    return list(session.scalars(stmt.order_by(EnforcementCaseRow.created_at.desc())
                                .limit(limit)))


def case_value(session: Session, row: EnforcementCaseRow) -> flow.EnforcementCase:
    """The case value its stored records make (see the module docstring)."""
    item = item_version(session, row.item_code, row.item_version)
    records = [record_from_json(r) for r in row.records]
    revision, registry = registry_in_force(session)
    try:
        return flow.replay(item, records, registry)
    except EnforcementError:
        if revision == row.registry_revision or row.registry_revision == 0:
            raise
    return flow.replay(item, records, _parse_revision(session, row.registry_revision))


def open_case(session: Session, site: str, staff: Staff, item_code: str, *,
              party: dict[str, Any], source: str, summary: str, today: date,
              now: datetime, certificate: str | None = None) -> EnforcementCaseRow:
    """立案 of ``item_code`` by an officer, under their account's certificate (``certificate``,
    if given, must be that one); the stored case or an ApiError (nothing stored)."""
    item = _published_item(session, item_code)
    if item.category not in ENFORCEMENT_CATEGORIES:
        raise ApiError(409, "illegal_transition", f"立案 is for items of the penalty, coercion, "
                       f"levy and inspection categories; item {item.code} is "
                       f"{item.category.zh} and starts from an application")
    role = _require(staff, flow.Step.open, item.department)
    actor = _officer_actor(session, staff, role, certificate)
    revision, registry = registry_in_force(session)
    try:
        opening = flow.Opening(today, actor, Party(**party), source, summary)
        case = flow.open_case(item, opening, registry)
    except EnforcementError as exc:
        count_refusal(session, site=site, department=item.department, item_code=item.code,
                      case_id=None, actor=staff.username, exc=exc, today=today, now=now)
        raise _refusal(exc) from None
    except TypeError as exc:  # a party field the Party does not have
        raise ApiError(422, "invalid_input", str(exc), field="party") from None
    first = case.history[0]
    assert isinstance(first, flow.Opening)
    row = EnforcementCaseRow(
        id=uuid.uuid4(), site=site, department=item.department, item_code=item.code,
        item_version=item.version, stage=case.status.value, party_kind=first.party.kind,
        party_name=first.party.name, party_id_number=first.party.id_number,
        records=[record_to_json(first)], band=None, override=False,
        registry_revision=revision, opened_by=staff.username, opened_on=first.on,
        created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    audit(session, site, actor=staff.username, role=role, entity=ENTITY, entity_id=str(row.id),
          action=flow.Step.open.value, to_state=case.status.value,
          comment=f"{item.code} v{item.version}; certificate {first.by.certificate}; "
                  f"source {first.source}")
    enforcement_exchange.report_step(session, site, row, item, now=now)
    return row


def uploaded_evidence(session: Session, case_id: uuid.UUID) -> set[str]:
    """The SHA-256 of every file of evidence uploaded to the case."""
    return set(session.scalars(select(EvidenceRow.sha256)
                               .where(EvidenceRow.case_id == case_id)))


def check_evidence(evidence: Sequence[flow.Evidence], uploaded: Collection[str]) -> None:
    """Every piece of evidence of an investigation names, by SHA-256, a file uploaded to this
    case (``uploaded``); 422 naming ``evidence[i].sha256`` otherwise."""
    for index, piece in enumerate(evidence):
        if piece.sha256 is None or piece.sha256 not in uploaded:
            what = ("names no file" if piece.sha256 is None
                    else f"names {piece.sha256}, which is no file uploaded to this case")
            raise ApiError(422, "invalid_input", f"evidence {index} ({piece.title}) {what}: "
                           "upload the file first (POST …/evidence) and give its sha256",
                           field=f"evidence[{index}].sha256")


def advance(session: Session, site: str, staff: Staff, case_id: uuid.UUID, step: flow.Step,
            make: Callable[[date, flow.Actor], flow.Record], *, today: date,
            now: datetime, certificate: str | None = None) -> EnforcementCaseRow:
    """Take ``step`` on the case: ``make(on, actor)`` builds the record (it may raise an
    :class:`EnforcementError` for bad input); an officer's actor carries their account's
    certificate (``certificate``, if given, must be that one). The stored case, or an
    ApiError."""
    row = session.get(EnforcementCaseRow, case_id, with_for_update=True)
    if row is None or not _in_scope(staff, row):
        raise not_found(f"enforcement case {case_id}")
    role = _require(staff, step, row.department)
    actor = _officer_actor(session, staff, role, certificate)
    item = item_version(session, row.item_code, row.item_version)
    revision, registry = registry_in_force(session)
    try:
        before = case_value(session, row)
        record = make(today, actor)
        case = flow.advance(before, item, record, registry)
    except EnforcementError as exc:
        count_refusal(session, site=site, department=row.department, item_code=row.item_code,
                      case_id=row.id, actor=staff.username, exc=exc, today=today, now=now)
        raise _refusal(exc) from None
    taken = case.history[-1]
    if isinstance(taken, flow.Investigation):
        check_evidence(taken.evidence, uploaded_evidence(session, row.id))
    row.records = [*row.records, record_to_json(taken)]
    row.stage = case.status.value
    row.registry_revision = revision
    row.updated_at = now
    if case.band is not None:
        row.band = {**_plain(asdict(case.band)), "band": case.band.band}
        row.override = case.band.override
    comment = ""
    if isinstance(taken, flow.Decision) and case.band is not None:
        comment = (f"{case.band.violation} {case.band.severity} {case.band.amount} 元, band "
                   f"{case.band.band}{', OVERRIDE' if case.band.override else ''}")
    elif isinstance(taken, flow.LegalReview):
        comment = taken.outcome + (", override" if taken.override else "")
    elif taken.by.certificate:
        comment = f"certificate {taken.by.certificate}"
    if isinstance(taken, flow.Decision) and item.category is Category.PENALTY:
        # The flow accepted the decision: number, render and keep its 行政处罚决定书 in this
        # transaction; the audit record vouches for the PDF's bytes.
        document = decision_document.issue(session, row, case, item, now=now)
        comment += f"; 决定书 {document.number} sha256 {document.sha256}"
        number: str | None = document.number
    else:
        number = None
    audit(session, site, actor=staff.username, role=role, entity=ENTITY, entity_id=str(row.id),
          action=step.value, from_state=before.status.value, to_state=case.status.value,
          comment=comment)
    enforcement_exchange.report_step(session, site, row, item, now=now, decision_number=number)
    return row
