"""Builders for enforcement tests: items, a registry, actors, a party and a case run to a
given point of its procedure.

The items are the sample catalogue's (连云区 320703): a major penalty (食品, SCJGJ-CF-001,
bands 50 000–100 000), an ordinary penalty (明码标价, SCJGJ-CF-002, bands 0–1 000 / 1 000–3 000
/ 3 000–5 000), an inspection (SCJGJ-JC-001), a licence and another department's penalty. The
registry is built here, not read from the shipped sample, so that each test states its own
officers.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from sunlight.catalogue import PowerItem, sample_catalogue
from sunlight.enforcement.flow import (
    APPROVER,
    LEGAL_REVIEWER,
    OFFICER,
    Actor,
    Closing,
    Decision,
    EnforcementCase,
    Evidence,
    Execution,
    Investigation,
    LegalReview,
    Notice,
    Opening,
    Record,
    Service,
    Stage,
    Terms,
    advance,
    open_case,
)
from sunlight.enforcement.officers import OfficerRegistry
from sunlight.enforcement.party import Party

MAJOR = "320703-SCJGJ-CF-001"
ORDINARY = "320703-SCJGJ-CF-002"
INSPECTION = "320703-SCJGJ-JC-001"
LICENCE = "320703-SCJGJ-XK-002"
OTHER_DEPT = "320703-GAFJ-CF-001"

WANG, CHEN, LIU, ZHAO, SUN, OLD = ("32070300101", "32070300102", "32070300103",
                                   "32070300201", "32070300105", "32070300109")
BASIS = "《中华人民共和国食品安全法》第一百二十二条第一款"
PRICE_BASIS = "《中华人民共和国价格法》第四十二条"

#: Monday 2 March 2026: the day of 立案 in every test case; then the standard steps' days.
OPENED = date(2026, 3, 2)
INVESTIGATED = date(2026, 3, 4)
NOTIFIED = date(2026, 3, 5)
REVIEWED = date(2026, 3, 9)
DECIDED = date(2026, 3, 13)
SERVED = date(2026, 3, 16)
EXECUTED = date(2026, 3, 27)
CLOSED = date(2026, 3, 30)


def item(code: str) -> PowerItem:
    return sample_catalogue().item(code)


def officer(certificate: str, name: str, department: str = "320703-SCJGJ",
            valid_from: str = "2024-01-01", valid_to: str = "2029-12-31",
            **scope: Any) -> dict[str, Any]:
    return {"certificate": certificate, "name": name, "department": department,
            "valid_from": valid_from, "valid_to": valid_to,
            **(scope or {"categories": ["penalty", "coercion", "inspection"]})}


def registry(*extra: dict[str, Any]) -> OfficerRegistry:
    """王强 and 陈静 (SCJGJ, every enforcement category), 刘洋 (SCJGJ, only CF-002), 赵磊
    (GAFJ), 孙丽 (SCJGJ, certificate from 2026-04-01), 老周 (SCJGJ, ended 2026-03-20)."""
    return OfficerRegistry.model_validate({"officers": [
        officer(WANG, "王强"), officer(CHEN, "陈静"),
        officer(LIU, "刘洋", items=[ORDINARY]),
        officer(ZHAO, "赵磊", department="320703-GAFJ", categories=["penalty"]),
        officer(SUN, "孙丽", valid_from="2026-04-01"),
        officer(OLD, "周建", valid_to="2026-03-20"),
        *extra,
    ]})


def by(certificate: str | None = WANG, role: str = OFFICER, user: str | None = None) -> Actor:
    users = {WANG: "wang.qiang", CHEN: "chen.jing", LIU: "liu.yang", ZHAO: "zhao.lei",
             SUN: "sun.li", OLD: "zhou.jian"}
    return Actor(user or users.get(certificate or "", "someone"), role, certificate)


REVIEWER = Actor("xu.fa", LEGAL_REVIEWER)
HEAD = Actor("li.ju", APPROVER)

COMPANY = Party("company", "连云港某某食品有限公司", "91110000600037341L",
                address="连云港市连云区中山路 1 号", legal_representative="赵某")
PERSON = Party("person", "张伟", "11010519491231002X", address="连云区海棠路 8 号")


def d(month: int, day: int) -> date:
    return date(2026, month, day)


def terms(amount: str | None = "70000", violation: str | None = "V01",
          severity: str | None = "general", basis: str = BASIS,
          facts: str = "当事人未取得食品经营许可从事食品经营活动") -> Terms:
    return Terms(basis, facts, violation, severity,
                 Decimal(amount) if amount is not None else None)


def opening(on: date = OPENED, party: Party = COMPANY, actor: Actor | None = None) -> Opening:
    return Opening(on, actor or by(), party, "投诉举报", "涉嫌无证经营食品")


def investigation(on: date = INVESTIGATED, officers: tuple[str, ...] = (WANG, CHEN),
                  actor: Actor | None = None) -> Investigation:
    return Investigation(on, actor or by(), officers,
                         (Evidence("record", "现场检查笔录", "ab" * 32),
                          Evidence("书证", "进货台账复印件")),
                         "当事人未取得食品经营许可从事食品经营活动，货值金额 6000 元")


def notice(on: date = NOTIFIED, intended: Terms | None = None, waiting_days: int = 5,
           actor: Actor | None = None) -> Notice:
    return Notice(on, actor or by(), intended or terms(), waiting_days, True)


def review(on: date = REVIEWED, override: str | None = None,
           outcome: str = "pass", actor: Actor = REVIEWER) -> LegalReview:
    return LegalReview(on, actor, "事实清楚，证据确凿，适用依据正确，程序合法，处罚适当",
                       outcome, override)  # type: ignore[arg-type]


def decision(on: date = DECIDED, decided: Terms | None = None,
             actor: Actor = HEAD) -> Decision:
    return Decision(on, actor, decided or terms())


def service(on: date = SERVED, actor: Actor | None = None) -> Service:
    return Service(on, actor or by(), "direct", "赵某")


def execution(on: date = EXECUTED, paid: str | None = "70000",
              actor: Actor | None = None) -> Execution:
    return Execution(on, actor or by(), "performed", Decimal(paid) if paid else None,
                     "当事人已缴清罚款")


def closing(on: date = CLOSED, actor: Actor | None = None) -> Closing:
    return Closing(on, actor or by(), "罚款已缴清，结案")


def standard_records(code: str = MAJOR) -> list[Record]:
    """The whole procedure of a case of ``code`` with the default records."""
    records: list[Record] = [opening(), investigation(), notice()]
    if code == MAJOR:
        records.append(review())
    if code == ORDINARY:
        small = terms("2000", basis=PRICE_BASIS, facts="当事人未按规定明码标价")
        records[2] = replace(notice(), intended=small)
        records += [decision(decided=small), service(),
                    execution(paid="2000"), closing()]
        return records
    return [*records, decision(), service(), execution(), closing()]


def run_until(stage: Stage, code: str = MAJOR, reg: OfficerRegistry | None = None,
              records: list[Record] | None = None) -> EnforcementCase:
    """The case of ``code`` after the standard records up to and including ``stage``."""
    reg = reg or registry()
    steps = records or standard_records(code)
    the_item = item(code)
    first, *rest = steps
    assert isinstance(first, Opening)
    case = open_case(the_item, first, reg)
    for record in rest:
        if case.status is stage:
            break
        case = advance(case, the_item, record, reg)
    assert case.status is stage, (case.status, stage)
    return case
