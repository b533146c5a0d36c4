"""The decision document (行政处罚决定书): its number, the PDF, and where both are kept.

When an approver decides a penalty case, :func:`sunlight.runtime.core.enforcement.advance`
calls :func:`issue` inside the decide step's transaction, *after* the pure flow accepted the
step — so a decision refused by any check never reaches here: it renders no PDF and takes
no number. :func:`issue`

1. allocates the next serial of the department and year (:func:`allocate_serial`: one
   counter row per department and year in ``decision_number_counters``, incremented by
   ``INSERT … ON CONFLICT DO UPDATE … RETURNING``, which holds the row's lock until the
   transaction ends — concurrent decisions of one department queue there, and a rolled-back
   decision gives its serial back, so the numbers have no gaps);
2. formats the number as :func:`sunlight.enforcement.decision.format_decision_number` does
   (``连云市监罚〔2026〕1号``), with the department's short name (文书简称) from
   :func:`department_short_name`;
3. renders the PDF (:func:`render_pdf`: Jinja2 with autoescape, ``templates/
   penalty_decision.html`` and ``.css``, then WeasyPrint) and stores it with its SHA-256 in
   ``enforcement_documents``; the caller writes the SHA-256 into the decide step's audit
   record, so the audit chain vouches for the document's bytes.

**Deterministic:** the same decision gives byte-identical PDF bytes — the PDF's creation and
modification dates are the day of the decision (00:00 China time), its file identifier is
derived from the number, font subsets are named by a hash of the font, and the one clock
reading left — the ``head.modified`` stamp fontTools writes into a font subset it saves
(WeasyPrint subsets with fontTools where HarfBuzz's subsetter is missing) — is pinned to the
same instant by ``SOURCE_DATE_EPOCH`` (the reproducible-builds convention fontTools
honours), set only while a document renders, one rendering at a time.

**Fonts** come from the host: the node image installs ``fonts-noto-cjk``, pango and HarfBuzz's
subsetter (``platform/node-image/packages.txt``); the stylesheet asks for "Noto Serif CJK SC"
and "Noto Sans CJK SC". Where those are missing, Chinese renders as empty boxes, but the
document is still produced.

**The deadlines:** the document is issued at the decision, before it is served, and is never
re-rendered (its hash is in the audit chain). It therefore states the statutory periods as
the law words them and as they run — 15 days to pay, 60 days for 行政复议 and 6 months for
行政诉讼, each *counted from the day the party receives the decision* (自收到本决定书之日起)
— through :attr:`~sunlight.enforcement.decision.PenaltyDecision.rights_text`, the one
wording of the rights. The calendar dates follow only once the day of service is known
(:func:`sunlight.enforcement.decision.appeal_deadlines`); a decision rendered with
``served_on`` set (not done at the decide step) states them too.

**The short name:** the catalogue has no 文书简称 field yet; :func:`department_short_name`
derives one from the department's name: the place (its first two characters) and the
customary abbreviation of the kind of office (市场监督管理局 → 市监, 公安局 → 公, …), e.g.
连云区市场监督管理局 → 连云市监.

Example::

    >>> yuan_in_words(Decimal("70000.00"))
    '柒万元整'
    >>> yuan_in_words(Decimal("1500.05"))
    '壹仟伍佰元零伍分'
    >>> department_short_name("连云区市场监督管理局")
    '连云市监'
    >>> document = issue(session, row, case, item, now=clock.now())  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sunlight.catalogue.model import PowerItem
from sunlight.enforcement.decision import (
    PenaltyDecision,
    decision_from_case,
    format_decision_number,
)
from sunlight.enforcement.flow import EnforcementCase
from sunlight.runtime.core.enforcement_models import (
    DecisionDocumentRow,
    DecisionNumberCounter,
    EnforcementCaseRow,
)
from sunlight.runtime.core.models import Department
from sunlight.runtime.errors import ApiError

__all__ = ["MEDIA_TYPE", "RenderedDocument", "allocate_serial", "department_short_name",
           "document_context", "document_of", "fill", "issue", "pdf_of", "render",
           "render_html", "render_pdf", "yuan_in_words", "zh_date"]

MEDIA_TYPE = "application/pdf"
TITLE = "行政处罚决定书"
TEMPLATE = "penalty_decision.html"
STYLESHEET = "penalty_decision.css"
#: The zone the document's dates are written in (China Standard Time).
_CST = timezone(timedelta(hours=8))
_RENDERING = threading.Lock()

# -- the number ---------------------------------------------------------------------------

#: Customary abbreviations of kinds of office in document numbers (文书简称), longest first.
_OFFICE_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("人力资源和社会保障", "人社"), ("住房和城乡建设", "住建"), ("市场监督管理", "市监"),
    ("自然资源和规划", "自然资源"), ("卫生健康", "卫健"), ("生态环境", "环"),
    ("交通运输", "交"), ("应急管理", "应急"), ("城市管理", "城管"), ("综合行政执法", "综执"),
    ("农业农村", "农"), ("文化广电和旅游", "文旅"), ("水利", "水"), ("公安", "公"),
    ("税务", "税"), ("自然资源", "自然资源"),
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_PLACE_CHARS = 2
_MAX_SHORT = 12


def department_short_name(name: str) -> str:
    """The department's short name in document numbers, derived from its full name: the
    place (first two characters) and the office's customary abbreviation; without a known
    office, the name's Chinese characters (at most 12)."""
    chinese = "".join(_CJK.findall(name))
    if not chinese:
        raise ValueError(f"a department name in Chinese, not {name!r}")
    for office, short in _OFFICE_ABBREVIATIONS:
        if office in chinese:
            return (chinese[:_PLACE_CHARS] + short)[:_MAX_SHORT]
    return chinese[:_MAX_SHORT]


def allocate_serial(session: Session, department: str, year: int) -> int:
    """The next serial of ``department``'s decisions in ``year`` (1, 2, …), inside the
    caller's transaction: the counter row stays locked until it ends, and a rollback gives
    the serial back."""
    stmt = (insert(DecisionNumberCounter)
            .values(department=department, year=year, last_serial=1)
            .on_conflict_do_update(
                index_elements=[DecisionNumberCounter.department, DecisionNumberCounter.year],
                set_={"last_serial": DecisionNumberCounter.last_serial + 1})
            .returning(DecisionNumberCounter.last_serial))
    serial = session.execute(stmt).scalar_one()
    return int(serial)


# -- the content --------------------------------------------------------------------------

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("仟", "佰", "拾", "")
_GROUPS = ("", "万", "亿", "万亿")


def _group_words(group: int) -> str:
    """1 to 9999 in financial numerals, zeros inside the group spoken once."""
    words, zero, started = "", False, False
    for digit, place in zip(f"{group:04d}", _PLACES, strict=True):
        if digit == "0":
            zero = zero or started
            continue
        if zero:
            words += "零"
            zero = False
        words += _DIGITS[int(digit)] + place
        started = True
    return words


def _integer_words(number: int) -> str:
    groups: list[int] = []
    while number:
        groups.append(number % 10000)
        number //= 10000
    words, gap = "", False
    for index in reversed(range(len(groups))):
        group = groups[index]
        if group == 0:
            gap = gap or bool(words)
            continue
        if words and (gap or group < 1000):
            words += "零"
        words += _group_words(group) + _GROUPS[index]
        gap = False
    return words


def yuan_in_words(amount: Decimal) -> str:
    """An amount in yuan in Chinese financial numerals (大写金额), as on a payment form:
    ``柒万元整``, ``壹仟伍佰元伍角``, ``壹仟伍佰元零伍分``, ``零元整``."""
    cents = int((amount * 100).to_integral_value())
    if cents < 0 or cents >= 10**16:
        raise ValueError(f"an amount from 0 to 10^14 yuan, not {amount}")
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    words = _integer_words(yuan) + "元" if yuan else ""
    if not jiao and not fen:
        return (words or "零元") + "整"
    if jiao:
        words += _DIGITS[jiao] + "角"
    elif yuan:
        words += "零"
    if fen:
        words += _DIGITS[fen] + "分"
    return words


def _instant(day: date) -> datetime:
    """The instant a document of ``day`` is dated: 00:00 China time."""
    return datetime.combine(day, time(0), _CST)


def zh_date(day: date) -> str:
    """``2026年12月2日``: a date as a document states it."""
    return f"{day.year}年{day.month}月{day.day}日"


def document_context(decision: PenaltyDecision) -> dict[str, Any]:
    """What the template states (plain values; the template escapes them)."""
    party = decision.party
    return {
        "title": TITLE, "number": decision.number, "department": decision.department,
        "party": {"name": party.name, "id_label": party.id_label,
                  "id_number": party.id_number, "address": party.address,
                  "legal_representative": party.legal_representative},
        "facts": decision.facts, "violation": decision.violation_description,
        "severity_label": decision.severity_label, "legal_basis": decision.legal_basis,
        "penalty": decision.penalty_text, "amount": f"{decision.amount_yuan:.2f}",
        "amount_words": yuan_in_words(decision.amount_yuan), "rights": decision.rights_text,
        "decided_zh": zh_date(decision.decided_on),
        "created": _instant(decision.decided_on).isoformat(),
        "item_code": decision.item_code,
    }


@cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("sunlight.runtime.core", "templates"),
                       autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)


@cache
def _stylesheet(name: str = STYLESHEET) -> str:
    return (resources.files("sunlight.runtime.core") / "templates" / name).read_text(
        encoding="utf-8")


def fill(template: str, context: dict[str, Any]) -> str:
    """A document template of ``templates/`` filled in (Jinja2, every value escaped)."""
    return _environment().get_template(template).render(context)


def render_html(decision: PenaltyDecision) -> str:
    """The document as HTML (the template filled in, every value escaped)."""
    return fill(TEMPLATE, document_context(decision))


def pdf_of(html: str, *, number: str, day: date, stylesheet: str = STYLESHEET) -> bytes:
    """A decision document's HTML as PDF (WeasyPrint), deterministic: dated ``day`` (00:00
    China time), its file identifier derived from ``number`` — the same document always gives
    the same bytes. Every decision document of core is made here (the penalty decisions
    below, the licensing decisions of :mod:`sunlight.runtime.core.licence_decision`)."""
    # WeasyPrint loads pango and fontconfig when imported: only where a PDF is made.
    from weasyprint import CSS, HTML

    identifier = hashlib.sha256(number.encode()).hexdigest()[:32].encode()
    with _source_date(int(_instant(day).timestamp())):
        pdf = HTML(string=html).write_pdf(stylesheets=[CSS(string=_stylesheet(stylesheet))],
                                          pdf_identifier=identifier)
    assert pdf is not None  # no target given: the bytes are returned
    return bytes(pdf)


def render_pdf(decision: PenaltyDecision) -> bytes:
    """The document as PDF: the same decision always gives the same bytes."""
    return pdf_of(render_html(decision), number=decision.number, day=decision.decided_on)


@contextmanager
def _source_date(epoch: int) -> Iterator[None]:
    """``SOURCE_DATE_EPOCH`` set to ``epoch`` for one rendering (then as it was)."""
    with _RENDERING:
        before = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
        try:
            yield
        finally:
            if before is None:
                del os.environ["SOURCE_DATE_EPOCH"]
            else:
                os.environ["SOURCE_DATE_EPOCH"] = before


@dataclass(frozen=True)
class RenderedDocument:
    """A rendered decision document: its number, the PDF bytes and their SHA-256."""

    number: str
    pdf: bytes
    sha256: str


def render(decision: PenaltyDecision) -> RenderedDocument:
    pdf = render_pdf(decision)
    return RenderedDocument(decision.number, pdf, hashlib.sha256(pdf).hexdigest())


# -- issuing and reading ------------------------------------------------------------------


def issue(session: Session, row: EnforcementCaseRow, case: EnforcementCase, item: PowerItem, *,
          now: datetime) -> DecisionDocumentRow:
    """Number, render and store the decision document of ``case`` (a penalty case the flow
    has just decided), in the caller's transaction."""
    assert case.decision is not None  # called after the pure flow accepted the decision
    department = session.get(Department, row.department)
    assert department is not None  # enforcement_cases.department is a foreign key
    try:
        short = department_short_name(department.name)
    except ValueError as exc:
        raise ApiError(409, "no_document_number", f"department {department.code}: {exc}; its "
                       "decision documents are numbered with a Chinese short name") from None
    year = case.decision.on.year
    serial = allocate_serial(session, row.department, year)
    number = format_decision_number(short, year, serial)
    rendered = render(decision_from_case(case, item, number=number,
                                         department=department.name))
    document = DecisionDocumentRow(
        case_id=row.id, department=row.department, year=year, serial=serial, number=number,
        sha256=rendered.sha256, media_type=MEDIA_TYPE, size=len(rendered.pdf),
        content=rendered.pdf, created_at=now)
    session.add(document)
    session.flush()
    return document


def document_of(session: Session, case_id: uuid.UUID) -> DecisionDocumentRow | None:
    """The decision document of a case (its bytes loaded when read), if it has one."""
    return session.scalars(select(DecisionDocumentRow)
                           .where(DecisionDocumentRow.case_id == case_id)).first()
