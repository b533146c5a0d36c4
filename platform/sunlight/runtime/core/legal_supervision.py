"""Legal supervision (法制监督) in the core database: 行政复议/行政诉讼 and the monthly view.

- :func:`file_challenge` records a 行政复议 or 行政诉讼 against a decided enforcement case,
  :func:`decide_challenge` its outcome later; both by a legal reviewer of the case's
  department (403 otherwise), checked by :mod:`sunlight.enforcement.review` (409 without a
  decision, an outcome twice; 422 with the field), audited on the case (entity
  ``enforcement_case``); nothing is stored of a refusal.
- :func:`view` gives this site's figures of one month per department
  (:func:`sunlight.enforcement.oversight.aggregate` over the stored cases' records, the
  refusals kept by :mod:`sunlight.runtime.core.refusals` and the challenges), and the
  overrides the site's e-supervision rules light (:class:`RedEntry`): a legal review's
  override is fixed once recorded, so the light is evaluated when the view is asked for
  (:func:`sunlight.supervision.evaluate.evaluate_override` under the rules in force), not
  stored — ``case_lights`` and the lights' events up the tiers are keyed by application
  cases (``cases.id``).

**At a city or the province** the view also counts what the subordinates sent up through
the exchange (:mod:`sunlight.runtime.core.enforcement_exchange`): their cases' records
(``subordinate_enforcement_cases``), counted refusals and 行政复议/行政诉讼, each under its
**origin site** — figures stay per ``(site, department, month)``, so a county's decision
shows at the city and at the province as a row of site ``320703``, beside the parent's own
rows. A subordinate's override is lit under this site's rules, its category from the copy.
Filing and deciding a challenge queue ``sunlight.enforcement.challenge`` for the parent.

Example::

    >>> seen = view(session, "320703", "2026-03")  # doctest: +SKIP
    >>> [(f.department, f.decisions, f.overrides) for f in seen.figures]  # doctest: +SKIP
    [('320703-SCJGJ', 4, 1)]
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sunlight.enforcement import flow, oversight, review
from sunlight.enforcement.errors import EnforcementError
from sunlight.runtime.core import enforcement, enforcement_exchange
from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.auth import Staff
from sunlight.runtime.core.enforcement_exchange import (
    SubordinateEnforcement,
    SubordinateEnforcementChallenge,
    SubordinateEnforcementRefusal,
)
from sunlight.runtime.core.enforcement_models import EnforcementCaseRow
from sunlight.runtime.core.legal_supervision_models import (
    EnforcementChallenge,
    EnforcementRefusal,
)
from sunlight.runtime.core.supervision_rules import in_force
from sunlight.runtime.errors import ApiError, not_found
from sunlight.supervision.evaluate import evaluate_override
from sunlight.supervision.facts import CHINA

__all__ = ["VIEWER_ROLES", "RedEntry", "View", "case_challenges", "challenge_value",
           "decide_challenge", "file_challenge", "subordinate_case", "subordinate_challenge",
           "subordinate_refusal", "view"]

#: Who may read the legal-supervision view.
VIEWER_ROLES = frozenset({flow.LEGAL_REVIEWER, "supervisor", "admin"})


@dataclass(frozen=True)
class RedEntry:
    """An override (legal review approved an amount outside its band) and its light under
    the site's rules: ``light`` ``none`` when no ``discretion_override`` rule covers it."""

    entry: oversight.OverrideEntry
    light: str
    rule_ids: tuple[str, ...]
    texts: tuple[str, ...]


@dataclass(frozen=True)
class View:
    """One month of this site: the figures per department and the overrides' lights."""

    site: str
    month: str
    figures: list[oversight.Figures]
    overrides: list[RedEntry]


def challenge_value(row: EnforcementChallenge) -> review.Challenge:
    """The pure value of a stored challenge."""
    return review.Challenge(row.kind, row.filed_on, row.body, row.filed_by, row.outcome,
                            row.decided_on, row.decided_by)


def _refusal(exc: EnforcementError) -> ApiError:
    return ApiError(exc.http_status, exc.code, exc.reason, field=exc.field)


def _reviewer(staff: Staff, department: str) -> flow.Actor:
    """The actor recording a challenge: a legal reviewer of ``department``, else 403."""
    if flow.LEGAL_REVIEWER not in staff.roles:
        raise ApiError(403, "wrong_role", f"行政复议 and 行政诉讼 are recorded by role "
                       f"{flow.LEGAL_REVIEWER}; you hold {', '.join(staff.roles) or 'none'}")
    if staff.department != department:
        raise ApiError(403, "forbidden", f"the case belongs to {department}; your account is "
                       f"scoped to {staff.department or 'no department'}")
    return flow.Actor(staff.username, flow.LEGAL_REVIEWER)


def _decision(row: EnforcementCaseRow) -> flow.Decision | None:
    for doc in reversed(row.records):
        if doc.get("step") == flow.Step.decide.value:
            record = enforcement.record_from_json(doc)
            assert isinstance(record, flow.Decision)
            return record
    return None


def case_challenges(session: Session, case_id: uuid.UUID) -> list[EnforcementChallenge]:
    """The challenges of a case, oldest first."""
    return list(session.scalars(select(EnforcementChallenge)
                                .where(EnforcementChallenge.case_id == case_id)
                                .order_by(EnforcementChallenge.filed_on,
                                          EnforcementChallenge.created_at)))


def file_challenge(session: Session, site: str, staff: Staff, case_id: uuid.UUID, *,
                   kind: str, filed_on: date, body: str, today: date,
                   now: datetime) -> EnforcementChallenge:
    """Record a 行政复议 or 行政诉讼 against the case's decision (module docstring)."""
    row = session.get(EnforcementCaseRow, case_id, with_for_update=True)
    if row is None or not (staff.is_admin or staff.is_supervisor
                           or staff.department == row.department):
        raise not_found(f"enforcement case {case_id}")
    actor = _reviewer(staff, row.department)
    existing = case_challenges(session, case_id)
    try:
        filed = review.file_challenge(_decision(row), [challenge_value(c) for c in existing],
                                      kind, filed_on, body, actor, today=today)
    except EnforcementError as exc:
        raise _refusal(exc) from None
    saved = EnforcementChallenge(
        id=uuid.uuid4(), case_id=row.id, site=site, department=row.department,
        kind=filed.kind, filed_on=filed.filed_on, body=filed.body, filed_by=filed.filed_by,
        outcome=None, decided_on=None, decided_by=None, created_at=now, updated_at=now)
    session.add(saved)
    session.flush()
    enforcement_exchange.report_challenge(session, site, saved, row, now=now)
    audit(session, site, actor=staff.username, role=flow.LEGAL_REVIEWER,
          entity=enforcement.ENTITY, entity_id=str(row.id), action=f"{filed.kind}_filed",
          to_state="pending",
          comment=f"{review.KINDS[filed.kind]} {saved.id}: filed {filed.filed_on} with "
                  f"{filed.body}")
    return saved


def decide_challenge(session: Session, site: str, staff: Staff, challenge_id: uuid.UUID, *,
                     outcome: str, decided_on: date, today: date,
                     now: datetime) -> EnforcementChallenge:
    """Record the outcome of a filed challenge (module docstring)."""
    row = session.get(EnforcementChallenge, challenge_id, with_for_update=True)
    if row is None or not (staff.is_admin or staff.is_supervisor
                           or staff.department == row.department):
        raise not_found(f"challenge {challenge_id}")
    actor = _reviewer(staff, row.department)
    try:
        done = review.decide_challenge(challenge_value(row), outcome, decided_on, actor,
                                       today=today)
    except EnforcementError as exc:
        raise _refusal(exc) from None
    assert done.outcome is not None
    row.outcome, row.decided_on, row.decided_by = done.outcome, done.decided_on, done.decided_by
    row.updated_at = now
    case = session.get(EnforcementCaseRow, row.case_id)
    assert case is not None  # a foreign key
    enforcement_exchange.report_challenge(session, site, row, case, now=now)
    audit(session, site, actor=staff.username, role=flow.LEGAL_REVIEWER,
          entity=enforcement.ENTITY, entity_id=str(row.case_id),
          action=f"{row.kind}_{done.outcome}", from_state="pending", to_state=done.outcome,
          comment=f"{review.KINDS[row.kind]} {row.id}: {review.OUTCOMES[done.outcome]} on "
                  f"{done.decided_on} ({row.body})")
    return row


def _month_bounds(month: str) -> tuple[date, date]:
    first = date.fromisoformat(f"{oversight.check_month(month)}-01")
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def _copies(session: Session, rows: Iterable[EnforcementCaseRow]
            ) -> list[oversight.CaseCopy]:
    major: dict[tuple[str, int], bool] = {}
    copies = []
    for row in rows:
        key = (row.item_code, row.item_version)
        if key not in major:
            major[key] = enforcement.item_version(session, *key).major_decision
        copies.append(oversight.CaseCopy(
            row.site, row.department, str(row.id), row.item_code, major[key],
            tuple(enforcement.record_from_json(doc) for doc in row.records)))
    return copies


#: The steps of a subordinate's copy legal supervision reads (:func:`oversight.aggregate`
#: counts notices, legal reviews and decisions): never its opening, whose party is masked.
_COUNTED_STEPS = frozenset({flow.Step.notify.value, flow.Step.legal_review.value,
                            flow.Step.decide.value})


def subordinate_case(copy: SubordinateEnforcement) -> oversight.CaseCopy:
    """A subordinate's case as legal supervision sees it, under its origin site: only the
    records :data:`_COUNTED_STEPS` names are read back (an opening's masked party would not
    pass :class:`~sunlight.enforcement.party.Party`'s check digits)."""
    return oversight.CaseCopy(
        copy.origin_site, copy.department, copy.case_id, copy.item_code, copy.major,
        tuple(enforcement.record_from_json(doc) for doc in copy.records
              if doc.get("step") in _COUNTED_STEPS))


def subordinate_refusal(row: SubordinateEnforcementRefusal) -> oversight.Refusal:
    """A subordinate's counted refusal, under its origin site."""
    return oversight.Refusal(row.source, row.department, row.item_code,
                             str(row.case_id) if row.case_id else None, row.code, row.step,
                             row.month, row.actor)


def subordinate_challenge(row: SubordinateEnforcementChallenge) -> oversight.ChallengeCopy:
    """A subordinate's 行政复议 or 行政诉讼, under its origin site."""
    return oversight.ChallengeCopy(row.source, row.department, str(row.case_id),
                                   review.Challenge(row.kind, row.filed_on, row.body,
                                                    row.filed_by, row.outcome,
                                                    row.decided_on, row.decided_by))


def view(session: Session, site: str, month: str) -> View:
    """The legal-supervision figures of ``month`` (``YYYY-MM``; ValueError if not): this
    site's and its subordinates' (module docstring), per site and department."""
    first, following = _month_bounds(month)
    last = following - timedelta(days=1)
    # A case not updated since before the month has no record dated in it (records are
    # dated by core's clock when taken); a day's margin for the time zone.
    since = datetime.combine(first - timedelta(days=1), datetime.min.time(), tzinfo=CHINA)
    cases = session.scalars(select(EnforcementCaseRow)
                            .where(EnforcementCaseRow.updated_at >= since))
    refusals = session.scalars(select(EnforcementRefusal)
                               .where(EnforcementRefusal.month == month))
    challenges = session.scalars(select(EnforcementChallenge).where(or_(
        EnforcementChallenge.filed_on.between(first, last),
        EnforcementChallenge.decided_on.between(first, last))))
    # What the subordinates sent up; a step's ``at`` is the origin's clock, like ours.
    their_cases = enforcement_exchange.subordinate_enforcement_records(session, since=since)
    their_refusals = session.scalars(select(SubordinateEnforcementRefusal)
                                     .where(SubordinateEnforcementRefusal.month == month))
    their_challenges = session.scalars(select(SubordinateEnforcementChallenge).where(or_(
        SubordinateEnforcementChallenge.filed_on.between(first, last),
        SubordinateEnforcementChallenge.decided_on.between(first, last))))
    figures = oversight.aggregate(
        [*_copies(session, cases), *(subordinate_case(c) for c in their_cases)],
        [*(oversight.Refusal(r.site, r.department, r.item_code,
                             str(r.case_id) if r.case_id else None, r.code, r.step,
                             r.month, r.actor) for r in refusals),
         *(subordinate_refusal(r) for r in their_refusals)],
        [*(oversight.ChallengeCopy(c.site, c.department, str(c.case_id), challenge_value(c))
           for c in challenges),
         *(subordinate_challenge(c) for c in their_challenges)],
        month=month)
    rules = in_force(session, site).rules
    lit: list[RedEntry] = []
    categories: dict[tuple[str, str], Any] = {
        (c.origin_site, c.item_code): c.category for c in their_cases}
    for figure in figures:
        for entry in figure.override_entries:
            if (entry.site, entry.item_code) not in categories:
                row = session.get(EnforcementCaseRow, uuid.UUID(entry.case_id))
                assert row is not None
                categories[(entry.site, entry.item_code)] = enforcement.item_version(
                    session, row.item_code, row.item_version).category
            verdict = evaluate_override(entry.item_code,
                                        categories[(entry.site, entry.item_code)],
                                        entry.justification, rules)
            lit.append(RedEntry(entry, verdict.light.value, verdict.rule_ids,
                                tuple(hit.text for hit in verdict.hits)))
    return View(site, month, figures, lit)
