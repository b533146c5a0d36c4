"""Enforcement cases beyond the site: up the tiers, and their decisions on the portal.

:func:`report_step` is called by :mod:`sunlight.runtime.core.enforcement` once a step of an
enforcement case is stored, in the same transaction, and does two things:

- **Up the tiers** (城市/省 see their subordinates' figures): at a city or county it queues
  ``sunlight.enforcement.step`` for the parent, carrying the case (department, item and
  version, category, whether the item's decisions are major, stage, band, override) and
  *every record so far* in :func:`~sunlight.runtime.core.enforcement.record_to_json`'s format,
  ``step_no`` being their number. The event travels **outside the per-case sequence**
  (the architecture's rule for exchange formats): it is not a step of a licence case's lifecycle,
  it has no receipt, and a parent that does not know the type yet dead-letters it without
  holding anything. Order needs no sequence: each event holds the whole history, so an
  ancestor keeps, per (source, case), the one with the most steps (:func:`receive_step`); a
  late or redelivered one is ``stale``. The transport applies an undestined upward event at
  every ancestor and forwards it unchanged (a county's reaches the province through the
  city, with the county's signature).
- **To the public** (行政处罚结果公示): when a decision (决定) of a **penalty** item is taken,
  it writes a :class:`~sunlight.runtime.records.PenaltyDisclosure` to core's outbound feed;
  the gateway carries it (whitelist) into the portal, which serves it at
  ``GET /api/v1/disclosure/penalties``. The statutory clock runs from the decision (published
  within 7 working days of being made, ``publish_by``), so it is written at the decision, not
  at service. ``number`` is the decision number (文书号) of the decision document issued in
  the same transaction (:mod:`sunlight.runtime.core.decision_document`); the portal keeps the
  latest record per case.

**De-identification.** Parents need figures and legality, not citizens' identities: for a
person (当事人 is a 公民), the party in the 立案 record is sent as
:class:`~sunlight.enforcement.party.Party` discloses it — surname and 某, region code and
asterisks, no address — and the person's full name and identity number are replaced by the
masked forms in every text of every record (facts, findings, recipient, opinions ...). A
company's name and credit code are public and kept. The same masking makes the public
summary. So a parent's stored records have record_to_json's shape (a pure aggregation counts
decisions, legal reviews and overrides from them), but an opening's party does not pass
:class:`Party`'s check digits: do not :func:`record_from_json` a subordinate's opening.

**Refused attempts and 复议/诉讼 go up too**, so a parent's legal-supervision figures of a
subordinate are complete (:func:`sunlight.runtime.core.legal_supervision.view` aggregates
them with its own, per origin site):

- ``sunlight.enforcement.refusal`` (:func:`report_refusal`) is queued by
  :mod:`sunlight.runtime.core.refusals` in the short transaction that keeps a counted refusal
  row, so the row and its event are kept together or not at all. It carries the row's id,
  department, item, case (``None`` for a refused 立案), code, step, month, day and acting
  user — no reason text, no party. An ancestor keeps each ``(source, refusal_id)`` once
  (:func:`receive_refusal`; a redelivery is ``stale``).
- ``sunlight.enforcement.challenge`` (:func:`report_challenge`) is queued when a 行政复议 or
  行政诉讼 is filed and again when its outcome is recorded, each time with the challenge's
  full current state; the body (复议机关 or court) is masked like the records. An ancestor
  keeps the latest state per ``(source, challenge_id)``: a decided one replaces a pending
  one, never the reverse (:func:`receive_challenge`; an outcome is recorded once).

Both travel outside the per-case sequence and are applied at every ancestor, like the step.

A parent reads what it received with :func:`subordinate_enforcement_records` (and the
legal-supervision view reads ``subordinate_enforcement_refusals`` and
``subordinate_enforcement_challenges`` directly).

Example::

    >>> deidentified_records([{"step": "open", "party": {
    ...     "kind": "person", "name": "张伟", "id_number": "11010519491231002X",
    ...     "address": "北京", "legal_representative": ""}, "summary": "张伟无证经营"}])
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'step': 'open', 'party': {'kind': 'person', 'name': '张某',
      'id_number': '110105************', 'address': '', 'legal_representative': ''},
      'summary': '张某无证经营'}]
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Index, Integer, String, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.orm import Mapped, Session, mapped_column

from sunlight.catalogue.discretion import violation_description
from sunlight.catalogue.model import Category, PowerItem
from sunlight.enforcement import flow
from sunlight.enforcement.decision import PUBLISH_WITHIN_WORKING_DAYS
from sunlight.enforcement.party import mask_id, mask_name
from sunlight.runtime.core import outbound
from sunlight.runtime.core.enforcement_models import EnforcementCaseRow
from sunlight.runtime.core.legal_supervision_models import (
    EnforcementChallenge,
    EnforcementRefusal,
)
from sunlight.runtime.core.models import Department
from sunlight.runtime.db import CoreBase, utcnow
from sunlight.runtime.exchange import outbox
from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.handlers import Applied
from sunlight.runtime.exchange.schemas import (
    ENFORCEMENT_CHALLENGE,
    ENFORCEMENT_REFUSAL,
    ENFORCEMENT_STEP,
)
from sunlight.runtime.records import PenaltyDisclosure
from sunlight.topology.division import expected_parent
from sunlight.workflow.deadlines import add_working_days

__all__ = ["SubordinateEnforcement", "SubordinateEnforcementCase",
           "SubordinateEnforcementChallenge", "SubordinateEnforcementRefusal",
           "challenge_data", "challenge_values", "deidentified_records", "disclosure",
           "receive_challenge", "receive_refusal", "receive_step", "refusal_data",
           "refusal_values", "report_challenge",
           "report_refusal", "report_step", "step_data", "subordinate_enforcement_records"]

_TS = DateTime(timezone=True)
_CENTS = Decimal("0.01")


class SubordinateEnforcementCase(CoreBase):
    """An enforcement case of a subordinate site as last received (migration ``core_0009``):
    the step with the most records wins; ``records`` are record_to_json's, de-identified."""

    __tablename__ = "subordinate_enforcement_cases"
    __table_args__ = (Index("ix_subordinate_enforcement_cases_department", "department"),)
    source: Mapped[str] = mapped_column(String(6), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(String(40))
    item_code: Mapped[str] = mapped_column(String(40))
    item_version: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(16))
    major: Mapped[bool] = mapped_column(Boolean)
    stage: Mapped[str] = mapped_column(String(16))
    step: Mapped[str] = mapped_column(String(16))
    step_no: Mapped[int] = mapped_column(Integer)
    override: Mapped[bool] = mapped_column(Boolean)
    band: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    records: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    at: Mapped[datetime] = mapped_column(_TS)
    received_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)


class SubordinateEnforcementRefusal(CoreBase):
    """A counted refusal of a subordinate site (migration ``core_0009``), kept once."""

    __tablename__ = "subordinate_enforcement_refusals"
    __table_args__ = (Index("ix_subordinate_enforcement_refusals_month", "month"),)
    source: Mapped[str] = mapped_column(String(6), primary_key=True)
    refusal_id: Mapped[int] = mapped_column(BigInteger, primary_key=True,
                                            autoincrement=False)
    department: Mapped[str] = mapped_column(String(40))
    item_code: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    code: Mapped[str] = mapped_column(String(40))
    step: Mapped[str] = mapped_column(String(16))
    month: Mapped[str] = mapped_column(String(7))
    refused_on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(_TS)
    received_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)


class SubordinateEnforcementChallenge(CoreBase):
    """A 行政复议 or 行政诉讼 of a subordinate site in its latest state received (migration
    ``core_0009``): decided wins over pending; ``body`` de-identified."""

    __tablename__ = "subordinate_enforcement_challenges"
    source: Mapped[str] = mapped_column(String(6), primary_key=True)
    challenge_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column()
    department: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    filed_on: Mapped[date] = mapped_column(Date, index=True)
    body: Mapped[str] = mapped_column(String(200))
    filed_by: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decided_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(_TS)
    received_at: Mapped[datetime] = mapped_column(_TS, default=utcnow)


# -- de-identification --------------------------------------------------------------------


def _masker(name: str, number: str) -> Any:
    """Replace a person's number (either case of X) and name (two characters or more: a
    single one would mangle ordinary words) by their masked forms in every string."""
    patterns = [(re.compile(re.escape(number), re.IGNORECASE), mask_id(number))]
    if len(name) >= 2:
        patterns.append((re.compile(re.escape(name)), mask_name(name)))

    def mask(value: Any) -> Any:
        if isinstance(value, str):
            for pattern, masked in patterns:
                value = pattern.sub(masked, value)
            return value
        if isinstance(value, dict):
            return {key: mask(item) for key, item in value.items()}
        if isinstance(value, list):
            return [mask(item) for item in value]
        return value

    return mask


def _person(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    party = records[0].get("party") if records else None
    if isinstance(party, dict) and party.get("kind") == "person":
        return party
    return None


def deidentified_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` (record_to_json's, the 立案 record first) with a person's identity masked
    everywhere (see the module docstring); a company's are returned as they are (copied)."""
    party = _person(records)
    if party is None:
        return [dict(record) for record in records]
    name, number = str(party["name"]), str(party["id_number"])
    masked: list[dict[str, Any]] = _masker(name, number)(records)
    masked[0]["party"] = {**party, "name": mask_name(name), "id_number": mask_id(number),
                          "address": "", "legal_representative": ""}
    return masked


# -- up the tiers ---------------------------------------------------------------------------


def step_data(row: EnforcementCaseRow, item: PowerItem, now: datetime) -> dict[str, Any]:
    """The ``sunlight.enforcement.step`` data of the step just stored on ``row``."""
    records = deidentified_records(list(row.records))
    party = _person(list(row.records))
    band = row.band
    if band is not None and party is not None:  # a justification may name the party
        band = _masker(str(party["name"]), str(party["id_number"]))(band)
    return {"case_id": str(row.id), "department": row.department, "item_code": row.item_code,
            "item_version": row.item_version, "category": item.category.value,
            "major": item.major_decision, "step": records[-1]["step"],
            "step_no": len(records), "stage": row.stage, "override": bool(row.override),
            "band": band, "at": now.isoformat(), "records": records}


def report_step(session: Session, site: str, row: EnforcementCaseRow, item: PowerItem, *,
                now: datetime, decision_number: str | None = None) -> None:
    """After a step is stored on ``row``: queue it for the parent (a province has none),
    and publish a penalty decision's summary (see the module docstring), under
    ``decision_number`` (文书号) when the decision document was issued."""
    parent = expected_parent(site)
    if parent is not None:
        # No ``subject`` or ``sequence``: outside the per-case sequence.
        outbox.enqueue(session, parent, Envelope.new(site, ENFORCEMENT_STEP,
                                                     step_data(row, item, now), time=now))
    record = disclosure(session, row, item, decision_number=decision_number)
    if record is not None:
        outbound.penalty_disclosure(session, record)


def refusal_data(row: EnforcementRefusal) -> dict[str, Any]:
    """The ``sunlight.enforcement.refusal`` data of a kept refusal row (flushed: it has an
    id). No reason text (it may quote the request) and no party."""
    return {"refusal_id": row.id, "department": row.department, "item_code": row.item_code,
            "case_id": str(row.case_id) if row.case_id is not None else None,
            "code": row.code, "step": row.step, "month": row.month,
            "refused_on": row.refused_on.isoformat(), "actor": row.actor,
            "at": row.refused_at.isoformat()}


def report_refusal(session: Session, site: str, row: EnforcementRefusal, *,
                   now: datetime) -> None:
    """Queue a kept refusal for the parent (a province has none), in ``row``'s transaction."""
    parent = expected_parent(site)
    if parent is not None:
        outbox.enqueue(session, parent, Envelope.new(site, ENFORCEMENT_REFUSAL,
                                                     refusal_data(row), time=now))


def challenge_data(challenge: EnforcementChallenge, case: EnforcementCaseRow
                   ) -> dict[str, Any]:
    """The ``sunlight.enforcement.challenge`` data: the challenge's current state, a person
    party of ``case`` masked in the body (usernames are officials', kept)."""
    body = challenge.body
    if case.party_kind == "person":
        body = _masker(str(case.party_name), str(case.party_id_number))(body)
    return {"challenge_id": str(challenge.id), "case_id": str(challenge.case_id),
            "department": challenge.department, "kind": challenge.kind,
            "filed_on": challenge.filed_on.isoformat(), "body": body,
            "filed_by": challenge.filed_by, "outcome": challenge.outcome,
            "decided_on": challenge.decided_on.isoformat() if challenge.decided_on else None,
            "decided_by": challenge.decided_by, "at": challenge.updated_at.isoformat()}


def report_challenge(session: Session, site: str, challenge: EnforcementChallenge,
                     case: EnforcementCaseRow, *, now: datetime) -> None:
    """Queue the challenge's current state for the parent (a province has none), in the
    transaction that filed or decided it."""
    parent = expected_parent(site)
    if parent is not None:
        outbox.enqueue(session, parent, Envelope.new(
            site, ENFORCEMENT_CHALLENGE, challenge_data(challenge, case), time=now))


# -- to the public --------------------------------------------------------------------------


#: A full resident identity number in a text (anyone's: a witness's too), never disclosed.
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def _mask_resident_ids(text: str) -> str:
    return _RESIDENT_ID.sub(lambda found: mask_id(found.group()), text)


def disclosure(session: Session, row: EnforcementCaseRow, item: PowerItem, *,
               decision_number: str | None = None) -> PenaltyDisclosure | None:
    """The public summary of ``row``'s decision when its latest step is the decision of a
    penalty item; ``None`` otherwise. Raises
    :class:`~sunlight.runtime.records.RecordRejected` if it would not pass the whitelist."""
    records = list(row.records)
    if item.category is not Category.PENALTY or not records \
            or records[-1]["step"] != flow.Step.decide.value:
        return None
    public = deidentified_records(records)
    party, decision = public[0]["party"], public[-1]
    terms = {key: _mask_resident_ids(value) if isinstance(value, str) else value
             for key, value in decision["terms"].items()}
    amount = Decimal(terms["amount_yuan"]).quantize(_CENTS)
    decided_on = date.fromisoformat(decision["on"])
    department = session.get(Department, row.department)
    return PenaltyDisclosure.build(
        case_id=row.id, number=decision_number, department=row.department,
        department_name=department.name if department is not None else row.department,
        item_code=item.code, item_name=item.name, party_kind=party["kind"],
        party_name=party["name"], party_id=party["id_number"],
        legal_representative=party.get("legal_representative", ""),
        violation=violation_description(item, terms["violation"]), facts=terms["facts"],
        legal_basis=terms["legal_basis"], penalty=f"罚款人民币{amount}元", amount_yuan=amount,
        decided_on=decided_on,
        publish_by=add_working_days(decided_on, PUBLISH_WITHIN_WORKING_DAYS))


# -- at the parent --------------------------------------------------------------------------


def receive_step(session: Session, site: str, env: dict[str, Any]) -> Applied:
    """Keep the received case if it has more steps than the one stored (``stale`` else: a
    redelivery, or an older step overtaken in flight)."""
    d = env["data"]
    values = {"department": d["department"], "item_code": d["item_code"],
              "item_version": d["item_version"], "category": d["category"],
              "major": d["major"], "stage": d["stage"], "step": d["step"],
              "step_no": d["step_no"], "override": d["override"], "band": d["band"],
              "records": d["records"], "at": datetime.fromisoformat(d["at"]),
              "received_at": utcnow()}
    stmt = upsert(SubordinateEnforcementCase).values(
        source=env["source"], case_id=uuid.UUID(d["case_id"]), **values)
    stored = session.execute(stmt.on_conflict_do_update(
        index_elements=["source", "case_id"], set_=values,
        where=SubordinateEnforcementCase.step_no < stmt.excluded.step_no)
        .returning(SubordinateEnforcementCase.case_id)).first()
    return "applied" if stored is not None else "stale"


def refusal_values(source: str, d: dict[str, Any]) -> dict[str, Any]:
    """The ``subordinate_enforcement_refusals`` row of a received refusal's data."""
    return {"source": source, "refusal_id": d["refusal_id"], "department": d["department"],
            "item_code": d["item_code"],
            "case_id": uuid.UUID(d["case_id"]) if d["case_id"] is not None else None,
            "code": d["code"], "step": d["step"], "month": d["month"],
            "refused_on": date.fromisoformat(d["refused_on"]), "actor": d["actor"],
            "at": datetime.fromisoformat(d["at"]), "received_at": utcnow()}


def receive_refusal(session: Session, site: str, env: dict[str, Any]) -> Applied:
    """Keep a subordinate's counted refusal once per ``(source, refusal_id)`` (``stale``
    on redelivery)."""
    stmt = upsert(SubordinateEnforcementRefusal).values(
        **refusal_values(env["source"], env["data"]))
    stored = session.execute(stmt.on_conflict_do_nothing(
        index_elements=["source", "refusal_id"])
        .returning(SubordinateEnforcementRefusal.refusal_id)).first()
    return "applied" if stored is not None else "stale"


def challenge_values(source: str, d: dict[str, Any]) -> dict[str, Any]:
    """The ``subordinate_enforcement_challenges`` row of a received challenge's data."""
    decided_on = d["decided_on"]
    return {"source": source, "challenge_id": uuid.UUID(d["challenge_id"]),
            "case_id": uuid.UUID(d["case_id"]), "department": d["department"],
            "kind": d["kind"], "filed_on": date.fromisoformat(d["filed_on"]),
            "body": d["body"], "filed_by": d["filed_by"], "outcome": d["outcome"],
            "decided_on": date.fromisoformat(decided_on) if decided_on else None,
            "decided_by": d["decided_by"], "at": datetime.fromisoformat(d["at"]),
            "received_at": utcnow()}


def receive_challenge(session: Session, site: str, env: dict[str, Any]) -> Applied:
    """Keep a subordinate's challenge in its latest state: new, or decided where the stored
    one is pending; anything else (a redelivery, a pending state overtaken by its outcome)
    is ``stale``."""
    values = challenge_values(env["source"], env["data"])
    stmt = upsert(SubordinateEnforcementChallenge).values(**values)
    changed = {k: v for k, v in values.items() if k not in ("source", "challenge_id")}
    stored = session.execute(stmt.on_conflict_do_update(
        index_elements=["source", "challenge_id"], set_=changed,
        where=SubordinateEnforcementChallenge.outcome.is_(None)
        & stmt.excluded.outcome.is_not(None))
        .returning(SubordinateEnforcementChallenge.challenge_id)).first()
    return "applied" if stored is not None else "stale"


class SubordinateEnforcement(NamedTuple):
    """One subordinate enforcement case: where it runs, the item, whether the item's
    decisions are major, its records (record_to_json's, de-identified), its id at the
    origin site and the item's category."""

    origin_site: str
    department: str
    item_code: str
    major: bool
    records: list[dict[str, Any]]
    case_id: str
    category: str


def subordinate_enforcement_records(session: Session, *, source: str | None = None,
                                    since: datetime | None = None
                                    ) -> list[SubordinateEnforcement]:
    """Every subordinate enforcement case received here (all descendants: a province sees
    its counties' too), or only those of ``source``, or only those whose latest step was
    taken at ``since`` or later; by site, department, item, case."""
    stmt = select(SubordinateEnforcementCase).order_by(
        SubordinateEnforcementCase.source, SubordinateEnforcementCase.department,
        SubordinateEnforcementCase.item_code, SubordinateEnforcementCase.case_id)
    if source is not None:
        stmt = stmt.where(SubordinateEnforcementCase.source == source)
    if since is not None:
        stmt = stmt.where(SubordinateEnforcementCase.at >= since)
    return [SubordinateEnforcement(row.source, row.department, row.item_code, row.major,
                                   list(row.records), str(row.case_id), row.category)
            for row in session.scalars(stmt)]
