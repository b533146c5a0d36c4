"""Legal supervision's figures (法制监督): per site, department and month, from plain inputs.

:func:`aggregate` counts, for each ``(site, department, month)``:

- ``decisions`` — decisions (决定) taken that month;
- ``overrides`` — legal reviews (法制审核) that month that let the notified amount stand
  outside its discretion band by a written justification (each also listed in
  ``override_entries``, with the justification, for e-supervision to light);
- ``refused_out_of_band`` / ``refused_unqualified`` — steps the flow refused that month
  because the amount lay outside the band (``out_of_band``) or the officer was not
  qualified (``unqualified_officer``): the case stored nothing, core kept a
  :class:`Refusal` row (:func:`counted` says which refusals are kept);
- ``missing_legal_review`` — decisions that month on an item marking its decisions as major
  (重大执法决定) without a passing legal review since the last notice: 0 while the flow is
  obeyed, so anything else is a finding;
- ``filed`` — 行政复议 and 行政诉讼 filed that month, by kind; ``outcomes`` — those decided
  that month, by kind and outcome (:data:`sunlight.enforcement.review.OUTCOMES`).

The inputs are what any site holds, its own or a subordinate's copy received through the
exchange: the cases as their records (:class:`CaseCopy`, the JSON records of
``record_to_json`` read back), the refusal rows and the challenges. Nothing is read from a
database here, so a city or the province aggregates its subordinates' copies with the same
function. A month is ``YYYY-MM``; a record counts in the month of its date (``on``).

Example::

    >>> from datetime import date
    >>> from decimal import Decimal
    >>> from sunlight.enforcement.flow import (Actor, Decision, LegalReview, Notice, Terms,
    ...                                        LEGAL_REVIEWER, APPROVER, OFFICER)
    >>> terms = Terms("《食品安全法》第一百二十二条", "无证经营", "V01", "general",
    ...               Decimal("200000"))
    >>> wang = Actor("wang.qiang", OFFICER, "32070300101")
    >>> records = (Notice(date(2026, 3, 5), wang, terms, 5, True),
    ...            LegalReview(date(2026, 3, 9), Actor("zhao.min", LEGAL_REVIEWER), "同意",
    ...                        override="当事人拒不改正且造成严重后果，依法从重"),
    ...            Decision(date(2026, 4, 1), Actor("li.ju", APPROVER), terms))
    >>> case = CaseCopy("320703", "SCJGJ", "c-1", "320703-SCJGJ-CF-001", True, records)
    >>> refused = Refusal("320703", "SCJGJ", "320703-SCJGJ-CF-001", "c-2", "out_of_band",
    ...                   "decide", "2026-04", "li.ju")
    >>> march, april = aggregate([case], [refused], [])
    >>> march.month, march.overrides, march.decisions
    ('2026-03', 1, 0)
    >>> april.decisions, april.refused_out_of_band, april.missing_legal_review
    (1, 1, 0)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date

from sunlight.enforcement.errors import EnforcementError, OutOfBand, UnqualifiedOfficer
from sunlight.enforcement.flow import Decision, LegalReview, Notice, Record
from sunlight.enforcement.review import Challenge

__all__ = ["COUNTED_CODES", "MONTH_PATTERN", "CaseCopy", "ChallengeCopy", "Figures",
           "OverrideEntry", "Refusal", "aggregate", "check_month", "counted", "month_of"]

#: The refused attempts legal supervision counts: the error's ``code`` → the figure.
COUNTED_CODES: dict[str, str] = {OutOfBand.code: "refused_out_of_band",
                                 UnqualifiedOfficer.code: "refused_unqualified"}
#: A month of this platform's records: ``YYYY-MM``, 1900–2099.
MONTH_PATTERN = r"(19|20)\d{2}-(0[1-9]|1[0-2])"
_MONTH = re.compile(MONTH_PATTERN)


def month_of(day: date) -> str:
    """``YYYY-MM`` of a date."""
    return f"{day.year:04d}-{day.month:02d}"


def check_month(value: str) -> str:
    """``value`` if it is a month ``YYYY-MM`` (:data:`MONTH_PATTERN`); ValueError otherwise."""
    if not isinstance(value, str) or not _MONTH.fullmatch(value):
        raise ValueError(f"a month is YYYY-MM, 1900–2099 (e.g. 2026-03), not {value!r}")
    return value


def counted(exc: EnforcementError) -> bool:
    """Whether legal supervision counts this refusal: outside the band, or an officer not
    qualified (unknown, out of area, expired, not yet valid, no certificate)."""
    return isinstance(exc, OutOfBand | UnqualifiedOfficer)


@dataclass(frozen=True)
class CaseCopy:
    """One enforcement case as legal supervision sees it: where it is, whether its item
    marks decisions as major (``major``), and its records in order (from 立案 on)."""

    site: str
    department: str
    case_id: str
    item_code: str
    major: bool
    records: tuple[Record, ...]


@dataclass(frozen=True)
class Refusal:
    """A step the flow refused and legal supervision counts (:func:`counted`): the case
    (``None`` for a refused 立案), the error's ``code``, the step tried, the month (core's
    clock) and who tried it."""

    site: str
    department: str
    item_code: str
    case_id: str | None
    code: str
    step: str
    month: str
    actor: str


@dataclass(frozen=True)
class ChallengeCopy:
    """A 行政复议 or 行政诉讼 and the case (site, department, id) it is against."""

    site: str
    department: str
    case_id: str
    challenge: Challenge


@dataclass(frozen=True)
class OverrideEntry:
    """A legal review that approved an amount outside its band, and why."""

    site: str
    department: str
    case_id: str
    item_code: str
    on: date
    reviewer: str
    justification: str


@dataclass(frozen=True)
class Figures:
    """One department's figures for one month (module docstring)."""

    site: str
    department: str
    month: str
    decisions: int = 0
    overrides: int = 0
    refused_out_of_band: int = 0
    refused_unqualified: int = 0
    missing_legal_review: int = 0
    filed: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)
    override_entries: tuple[OverrideEntry, ...] = ()


def aggregate(cases: Iterable[CaseCopy], refusals: Iterable[Refusal],
              challenges: Iterable[ChallengeCopy], *,
              month: str | None = None) -> list[Figures]:
    """The figures of every ``(site, department, month)`` with something to count, sorted;
    only ``month``'s with ``month`` given. Refusals whose code is not counted are ignored."""
    if month is not None:
        check_month(month)
    found: dict[tuple[str, str, str], Figures] = {}

    def bump(site: str, department: str, when: str, **changes: object) -> None:
        if month is not None and when != month:
            return
        key = (site, department, when)
        found[key] = replace(found.get(key) or Figures(site, department, when),
                             **changes)  # type: ignore[arg-type]

    def get(site: str, department: str, when: str) -> Figures:
        return found.get((site, department, when)) or Figures(site, department, when)

    for case in cases:
        reviewed = False
        for record in case.records:
            when = month_of(record.on)
            now = get(case.site, case.department, when)
            if isinstance(record, Notice):
                reviewed = False
            elif isinstance(record, LegalReview):
                reviewed = record.outcome == "pass"
                if record.override is not None:
                    entry = OverrideEntry(case.site, case.department, case.case_id,
                                          case.item_code, record.on, record.by.user,
                                          record.override)
                    bump(case.site, case.department, when, overrides=now.overrides + 1,
                         override_entries=(*now.override_entries, entry))
            elif isinstance(record, Decision):
                missing = case.major and not reviewed
                bump(case.site, case.department, when, decisions=now.decisions + 1,
                     missing_legal_review=now.missing_legal_review + int(missing))
    for refusal in refusals:
        name = COUNTED_CODES.get(refusal.code)
        if name is None:
            continue
        now = get(refusal.site, refusal.department, refusal.month)
        bump(refusal.site, refusal.department, refusal.month,
             **{name: getattr(now, name) + 1})
    for copy in challenges:
        c = copy.challenge
        when = month_of(c.filed_on)
        now = get(copy.site, copy.department, when)
        bump(copy.site, copy.department, when,
             filed={**now.filed, c.kind: now.filed.get(c.kind, 0) + 1})
        if c.outcome is not None and c.decided_on is not None:
            when = month_of(c.decided_on)
            now = get(copy.site, copy.department, when)
            by_kind = dict(now.outcomes.get(c.kind, {}))
            by_kind[c.outcome] = by_kind.get(c.outcome, 0) + 1
            bump(copy.site, copy.department, when,
                 outcomes={**now.outcomes, c.kind: by_kind})
    return [found[key] for key in sorted(found)]
