"""The penalty decision (行政处罚决定书) as a pure model: number, content, rights and deadlines.

A decision is numbered per department and year: the department's short name (文书简称, e.g.
连海市监), the kind of document (罚 for a penalty), the year in 六角括号 and the serial —
``连海市监罚〔2026〕12号`` (:func:`format_decision_number`, :func:`parse_decision_number`).

It states the party (:class:`~sunlight.enforcement.party.Party`, identifiers check-digited),
the facts, the violation, the legal basis, the severity (情节) and the fine, and the party's
rights with their deadlines, counted from the day the decision was served (the day itself
not counted; a last day that is not a working day moves to the next working day, as the
Civil Code counts periods — 《民法典》第二百零一条至第二百零三条):

- pay the fine within 15 days (《行政处罚法》第六十七条);
- apply for administrative reconsideration (行政复议) within 60 days (《行政复议法》第二十条);
- bring an administrative suit (行政诉讼) within 6 months (《行政诉讼法》第四十六条): to the
  same day of the sixth month, or the month's last day when it has none.

:func:`deidentified_summary` is what is disclosed to the public (行政处罚结果公示): a person's
name and identity number masked, and removed from the facts; a company's name and credit
code kept; no address. By default it is due within 7 working days of the decision (the
双公示 rule for penalty information); the rendering to PDF is another module's business.

Example::

    >>> from datetime import date
    >>> format_decision_number("连海市监", 2026, 12)
    '连海市监罚〔2026〕12号'
    >>> parse_decision_number("连海市监罚〔2026〕12号")
    DecisionNumber(department='连海市监', kind='罚', year=2026, serial=12)
    >>> d = appeal_deadlines(date(2026, 3, 16))
    >>> d.payment_by, d.reconsideration_by, d.litigation_by
    (datetime.date(2026, 3, 31), datetime.date(2026, 5, 15), datetime.date(2026, 9, 16))
    >>> appeal_deadlines(date(2026, 3, 2)).reconsideration_by  # 1 May: 劳动节 to the 5th
    datetime.date(2026, 5, 6)
    >>> appeal_deadlines(date(2025, 8, 31)).litigation_by  # no 31 Feb; the 28th is 调休
    datetime.date(2026, 2, 28)
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from sunlight.catalogue.discretion import discretion_band, violation_description
from sunlight.catalogue.model import SEVERITIES, Category, PowerItem
from sunlight.enforcement.discretion import read_amount
from sunlight.enforcement.errors import IllegalStep, InvalidRecord
from sunlight.enforcement.flow import EnforcementCase
from sunlight.enforcement.party import Party
from sunlight.workflow.deadlines import add_working_days, is_working_day

__all__ = [
    "LITIGATION_MONTHS",
    "PAYMENT_DAYS",
    "PUBLISH_WITHIN_WORKING_DAYS",
    "RECONSIDERATION_DAYS",
    "AppealDeadlines",
    "DecisionNumber",
    "PenaltyDecision",
    "PublicSummary",
    "appeal_deadlines",
    "decision_from_case",
    "deidentified_summary",
    "format_decision_number",
    "parse_decision_number",
]

PAYMENT_DAYS = 15
RECONSIDERATION_DAYS = 60
LITIGATION_MONTHS = 6
PUBLISH_WITHIN_WORKING_DAYS = 7
MAX_SERIAL = 999_999
_SHORT_NAME = re.compile(r"[\u4e00-\u9fff]{1,12}")
_KIND = re.compile(r"[\u4e00-\u9fff]")
_NUMBER = re.compile(r"(?P<department>[\u4e00-\u9fff]{1,12})(?P<kind>[\u4e00-\u9fff])"
                     r"〔(?P<year>[0-9]{4})〕(?P<serial>[1-9][0-9]{0,5})号")


class DecisionNumber(NamedTuple):
    """The parts of a decision number."""

    department: str
    kind: str
    year: int
    serial: int


def format_decision_number(department: str, year: int, serial: int, kind: str = "罚") -> str:
    """``连海市监罚〔2026〕12号`` from the department's short name, the year and the serial
    (1 or more, no leading zeros); ``kind`` is the document's character (罚 penalty)."""
    short = department.strip() if isinstance(department, str) else ""
    if not _SHORT_NAME.fullmatch(short):
        raise InvalidRecord(f"a department's short name is 1 to 12 Chinese characters "
                            f"(e.g. 连海市监), not {department!r}", field="department")
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise InvalidRecord(f"one Chinese character (罚), not {kind!r}", field="kind")
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2999:
        raise InvalidRecord(f"a year like 2026, not {year!r}", field="year")
    if isinstance(serial, bool) or not isinstance(serial, int) or not 1 <= serial <= MAX_SERIAL:
        raise InvalidRecord(f"1 to {MAX_SERIAL}, not {serial!r}", field="serial")
    return f"{short}{kind}〔{year}〕{serial}号"


def parse_decision_number(number: str) -> DecisionNumber:
    """The parts of a number :func:`format_decision_number` writes, or :class:`InvalidRecord`."""
    found = _NUMBER.fullmatch(number.strip()) if isinstance(number, str) else None
    if found is None:
        raise InvalidRecord(f"not a decision number like 连海市监罚〔2026〕12号: {number!r}",
                            field="number")
    parts = DecisionNumber(found["department"], found["kind"], int(found["year"]),
                           int(found["serial"]))
    # The same checks as when formatting (the year's range).
    format_decision_number(parts.department, parts.year, parts.serial, parts.kind)
    return parts


@dataclass(frozen=True)
class AppealDeadlines:
    """The last days, counted from service: pay, apply for 行政复议, sue (行政诉讼)."""

    served_on: date
    payment_by: date
    reconsideration_by: date
    litigation_by: date


def appeal_deadlines(served_on: date) -> AppealDeadlines:
    """The deadlines of a decision served on ``served_on`` (see the module docstring)."""
    return AppealDeadlines(
        served_on=served_on,
        payment_by=_next_working(served_on + timedelta(days=PAYMENT_DAYS)),
        reconsideration_by=_next_working(served_on + timedelta(days=RECONSIDERATION_DAYS)),
        litigation_by=_next_working(_add_months(served_on, LITIGATION_MONTHS)),
    )


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _next_working(day: date) -> date:
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class PenaltyDecision:
    """行政处罚决定书, as data. ``served_on`` is ``None`` until the decision is served;
    ``reconsideration_body`` (行政复议机关) and ``court`` (人民法院) are named in the rights."""

    number: str
    department: str
    party: Party
    facts: str
    violation: str
    violation_description: str
    legal_basis: str
    severity: str
    severity_label: str
    amount_yuan: Decimal
    decided_on: date
    served_on: date | None = None
    reconsideration_body: str = ""
    court: str = ""
    item_code: str = ""

    def __post_init__(self) -> None:
        parse_decision_number(self.number)
        if not isinstance(self.party, Party):
            raise InvalidRecord("a Party (person or company)", field="party")
        for name in ("department", "facts", "violation", "violation_description",
                     "legal_basis", "severity_label"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise InvalidRecord("missing", field=name)
            object.__setattr__(self, name, value.strip())
        if self.severity not in SEVERITIES:
            raise InvalidRecord(f"one of {', '.join(SEVERITIES)}, not {self.severity!r}",
                                field="severity")
        object.__setattr__(self, "amount_yuan", read_amount(self.amount_yuan, "amount_yuan"))
        if self.served_on is not None and self.served_on < self.decided_on:
            raise InvalidRecord(f"served on {self.served_on}, before the decision of "
                                f"{self.decided_on}", field="served_on")

    @property
    def deadlines(self) -> AppealDeadlines | None:
        """The deadlines, once the decision is served."""
        return appeal_deadlines(self.served_on) if self.served_on is not None else None

    @property
    def penalty_text(self) -> str:
        """The penalty in words: ``罚款人民币70000.00元``."""
        return f"罚款人民币{self.amount_yuan}元"

    @property
    def rights_text(self) -> str:
        """The statement of rights and deadlines the document carries (告知权利)."""
        body = self.reconsideration_body or "上一级主管部门或者本级人民政府"
        court = self.court or "有管辖权的人民法院"
        text = (f"当事人应当自收到本决定书之日起{PAYMENT_DAYS}日内缴纳罚款。"
                f"如不服本处罚决定，可以自收到本决定书之日起{RECONSIDERATION_DAYS}日内向{body}"
                f"申请行政复议，也可以自收到本决定书之日起{LITIGATION_MONTHS}个月内依法向{court}"
                "提起行政诉讼。")
        deadlines = self.deadlines
        if deadlines is not None:
            text += (f"（本决定书于{_zh(deadlines.served_on)}送达：缴纳罚款截至"
                     f"{_zh(deadlines.payment_by)}，申请行政复议截至"
                     f"{_zh(deadlines.reconsideration_by)}，提起行政诉讼截至"
                     f"{_zh(deadlines.litigation_by)}。）")
        return text


def _zh(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def decision_from_case(case: EnforcementCase, item: PowerItem, *, number: str,
                       department: str, reconsideration_body: str = "",
                       court: str = "") -> PenaltyDecision:
    """The decision document of a decided penalty case (served or not yet)."""
    if item.category is not Category.PENALTY:
        raise IllegalStep(f"a 行政处罚决定书 is for penalty items; item {item.code} is "
                          f"{item.category.zh}")
    if (item.code, item.version) != (case.item_code, case.item_version):
        raise IllegalStep(f"the case runs under item {case.item_code} version "
                          f"{case.item_version}, not {item.code} version {item.version}")
    if case.decision is None:
        raise IllegalStep(f"the case is {case.status.value}: there is no decision yet")
    terms = case.decision.terms
    assert terms.violation is not None and terms.severity is not None
    assert terms.amount_yuan is not None  # a penalty's terms were checked at the decision
    return PenaltyDecision(
        number=number, department=department, party=case.opening.party, facts=terms.facts,
        violation=terms.violation,
        violation_description=violation_description(item, terms.violation),
        legal_basis=terms.legal_basis, severity=terms.severity,
        severity_label=discretion_band(item, terms.violation, terms.severity).label,
        amount_yuan=terms.amount_yuan, decided_on=case.decision.on,
        served_on=case.service.on if case.service is not None else None,
        reconsideration_body=reconsideration_body, court=court, item_code=item.code)


@dataclass(frozen=True)
class PublicSummary:
    """What 行政处罚结果公示 discloses of a decision (see :func:`deidentified_summary`)."""

    number: str
    department: str
    party_kind: str
    party_name: str
    party_id: str
    legal_representative: str
    violation: str
    facts: str
    legal_basis: str
    penalty: str
    amount_yuan: Decimal
    decided_on: date
    publish_by: date

    def as_dict(self) -> dict[str, str]:
        """Plain text values (amount with two decimals, dates ISO), e.g. for a JSON record."""
        return {
            "number": self.number, "department": self.department,
            "party_kind": self.party_kind, "party_name": self.party_name,
            "party_id": self.party_id, "legal_representative": self.legal_representative,
            "violation": self.violation, "facts": self.facts,
            "legal_basis": self.legal_basis, "penalty": self.penalty,
            "amount_yuan": str(self.amount_yuan), "decided_on": self.decided_on.isoformat(),
            "publish_by": self.publish_by.isoformat(),
        }


def deidentified_summary(decision: PenaltyDecision, *,
                         publish_within_days: int = PUBLISH_WITHIN_WORKING_DAYS) -> PublicSummary:
    """The decision as disclosed: a person's name and number masked (and taken out of the
    facts), a company's kept; no address; due ``publish_within_days`` working days after
    the decision."""
    party = decision.party
    facts = decision.facts
    if party.kind == "person":
        facts = facts.replace(party.id_number, party.masked_id)
        facts = facts.replace(party.name, party.masked_name)
    return PublicSummary(
        number=decision.number, department=decision.department, party_kind=party.kind,
        party_name=party.masked_name, party_id=party.masked_id,
        legal_representative=party.legal_representative,
        violation=decision.violation_description, facts=facts,
        legal_basis=decision.legal_basis, penalty=decision.penalty_text,
        amount_yuan=decision.amount_yuan, decided_on=decision.decided_on,
        publish_by=add_working_days(decision.decided_on, publish_within_days))
