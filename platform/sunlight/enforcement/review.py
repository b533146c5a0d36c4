"""行政复议 and 行政诉讼 against an enforcement decision: filed first, the outcome later.

A party who disputes a decision (决定) applies for administrative reconsideration
(``reconsideration``, 行政复议, to the 复议机关) or brings an administrative suit
(``litigation``, 行政诉讼, before a 人民法院). Legal supervision records both against the
decided case, with their outcome when it is known — one of :data:`OUTCOMES`: upheld (维持),
revoked (撤销), changed (变更) or confirmed illegal (确认违法).

:func:`file_challenge` checks a filing, :func:`decide_challenge` the outcome of a filed
one. Both are recorded by the legal-affairs role (``legal_reviewer``,
:data:`sunlight.enforcement.flow.LEGAL_REVIEWER`) and, like the flow, return a new value or
raise an :class:`~sunlight.enforcement.errors.EnforcementError` naming the field — nothing
is kept of a refusal:

====================================================== ====== =========================
refusal                                                status class
====================================================== ====== =========================
not the legal-affairs role                             403    WrongStepRole
the case has no decision                               409    IllegalStep
one of the same kind still awaits its outcome          409    IllegalStep
an outcome recorded already                            409    IllegalStep
filed before the decision; decided before the filing   409    IllegalStep (``field``)
unknown kind or outcome, blank body, a date in the     422    InvalidRecord (``field``)
future or not a date
====================================================== ====== =========================

Example::

    >>> from datetime import date
    >>> from sunlight.enforcement.flow import Actor, Decision, LEGAL_REVIEWER, Terms
    >>> decision = Decision(date(2026, 3, 13), Actor("li.ju", "approver"),
    ...                     Terms("《食品安全法》第一百二十二条", "无证经营食品"))
    >>> zhao = Actor("zhao.min", LEGAL_REVIEWER)
    >>> filed = file_challenge(decision, (), "reconsideration", date(2026, 4, 1),
    ...                        " 连云港市人民政府 ", zhao, today=date(2026, 4, 2))
    >>> filed.body, filed.pending
    ('连云港市人民政府', True)
    >>> done = decide_challenge(filed, "upheld", date(2026, 5, 20), zhao,
    ...                         today=date(2026, 5, 21))
    >>> done.outcome, OUTCOMES[done.outcome]
    ('upheld', '维持')
    >>> try:
    ...     decide_challenge(done, "revoked", date(2026, 5, 22), zhao, today=date(2026, 6, 1))
    ... except IllegalStep as exc:
    ...     print(exc.http_status, exc.field)
    409 outcome
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from sunlight.enforcement.errors import IllegalStep, InvalidRecord, WrongStepRole
from sunlight.enforcement.flow import LEGAL_REVIEWER, Actor, Decision

__all__ = ["KINDS", "OUTCOMES", "Challenge", "decide_challenge", "file_challenge"]

#: The two ways to dispute a decision, with the body that hears each.
KINDS: dict[str, str] = {"reconsideration": "行政复议", "litigation": "行政诉讼"}
#: What the 复议机关 or the court decided about the decision.
OUTCOMES: dict[str, str] = {"upheld": "维持", "revoked": "撤销", "changed": "变更",
                            "confirmed_illegal": "确认违法"}
_STEP = "challenge"
_MAX_BODY = 200


@dataclass(frozen=True)
class Challenge:
    """A 行政复议 or 行政诉讼 against a decision: filed on, before which body (复议机关 or
    court), by whose record; the outcome and its date once decided (``None`` until then)."""

    kind: str
    filed_on: date
    body: str
    filed_by: str
    outcome: str | None = None
    decided_on: date | None = None
    decided_by: str | None = None

    @property
    def pending(self) -> bool:
        """Whether the outcome is still awaited."""
        return self.outcome is None


def file_challenge(decision: Decision | None, existing: Iterable[Challenge], kind: str,
                   filed_on: object, body: str, by: Actor, *, today: date) -> Challenge:
    """A new challenge to ``decision`` (the case's, ``None`` if it has none yet), beside the
    case's ``existing`` ones; or the refusal (module docstring)."""
    status = "decided" if decision is not None else None
    _check_role(by, status)
    if decision is None:
        raise IllegalStep("行政复议 and 行政诉讼 are against a decision (决定); this case has "
                          "none yet", step=_STEP, status=status)
    if kind not in KINDS:
        raise InvalidRecord(f"{kind!r} is not a kind; one of {', '.join(KINDS)}",
                            field="kind", step=_STEP, status=status)
    on = _day(filed_on, "filed_on", today, status)
    if on < decision.on:
        raise IllegalStep(f"filed on {on}, before the decision of {decision.on}",
                          field="filed_on", step=_STEP, status=status)
    text = body.strip() if isinstance(body, str) else ""
    if not text:
        raise InvalidRecord("missing: the 复议机关 or the court", field="body", step=_STEP,
                            status=status)
    if len(text) > _MAX_BODY:
        raise InvalidRecord(f"at most {_MAX_BODY} characters", field="body", step=_STEP,
                            status=status)
    if any(c.kind == kind and c.pending for c in existing):
        raise IllegalStep(f"a {kind} ({KINDS[kind]}) of this case still awaits its outcome; "
                          "record that first", field="kind", step=_STEP, status=status)
    return Challenge(kind, on, text, by.user)


def decide_challenge(challenge: Challenge, outcome: str, decided_on: object, by: Actor, *,
                     today: date) -> Challenge:
    """The ``challenge`` with its outcome, or the refusal (module docstring)."""
    status = "pending" if challenge.pending else "decided"
    _check_role(by, status)
    if not challenge.pending:
        raise IllegalStep(f"the outcome ({challenge.outcome}, "
                          f"{OUTCOMES.get(challenge.outcome or '', '')}) was recorded on "
                          f"{challenge.decided_on}; an outcome is recorded once",
                          field="outcome", step=_STEP, status=status)
    if outcome not in OUTCOMES:
        raise InvalidRecord(f"{outcome!r} is not an outcome; one of "
                            f"{', '.join(OUTCOMES)}", field="outcome", step=_STEP,
                            status=status)
    on = _day(decided_on, "decided_on", today, status)
    if on < challenge.filed_on:
        raise IllegalStep(f"decided on {on}, before it was filed on {challenge.filed_on}",
                          field="decided_on", step=_STEP, status=status)
    return replace(challenge, outcome=outcome, decided_on=on, decided_by=by.user)


def _check_role(by: Actor, status: str | None) -> None:
    if by.role != LEGAL_REVIEWER:
        raise WrongStepRole(f"行政复议 and 行政诉讼 are recorded by role {LEGAL_REVIEWER}, not "
                            f"{by.role}", step=_STEP, status=status)


def _day(value: object, field: str, today: date, status: str | None) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidRecord(f"a date (YYYY-MM-DD), not {value!r}", field=field, step=_STEP,
                            status=status)
    if value > today:
        raise InvalidRecord(f"{value} is in the future (today is {today})", field=field,
                            step=_STEP, status=status)
    return value
