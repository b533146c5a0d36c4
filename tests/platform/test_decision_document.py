"""The decision document (行政处罚决定书): number parts, the template, the PDF, determinism.

These run with whatever fonts this machine has: without Noto CJK the Chinese glyphs are
empty boxes and do not survive text extraction, so the PDF checks here look at its structure,
its metadata, its bytes and the ASCII parts of its text; the Chinese wording is checked in
the HTML the template makes (and, extracted from the PDF, in integration, on the core host
whose image installs fonts-noto-cjk).
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tomllib
from dataclasses import replace
from datetime import date
from decimal import Decimal
from fnmatch import fnmatch
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy.dialects import postgresql

from sunlight.catalogue import sample_catalogue
from sunlight.enforcement.decision import (
    PenaltyDecision,
    decision_from_case,
    format_decision_number,
    parse_decision_number,
)
from sunlight.enforcement.flow import Stage
from sunlight.enforcement.party import Party
from sunlight.runtime.core import decision_document
from sunlight.runtime.core.decision_document import (
    allocate_serial,
    department_short_name,
    document_context,
    render,
    render_html,
    render_pdf,
    yuan_in_words,
)
from sunlight.runtime.core.enforcement_models import DecisionDocumentRow
from tests.enforcement.builders import BASIS, MAJOR, PERSON, item, run_until

ROOT = Path(__file__).resolve().parents[2]
NUMBER = "连云市监罚〔2026〕1号"
DEPARTMENT = "连云区市场监督管理局"


def _decision(stage: Stage = Stage.decided, **changes: object) -> PenaltyDecision:
    decided = decision_from_case(run_until(stage), item(MAJOR), number=NUMBER,
                                 department=DEPARTMENT)
    return replace(decided, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def rendered() -> decision_document.RenderedDocument:
    """The decided sample case's document, rendered once for the module."""
    return render(_decision())


def _ascii(pdf: bytes) -> str:
    """The printable ASCII of the PDF's text, without spaces: without CJK fonts, digits set
    among Chinese text come out spaced and interleaved with control characters."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return "".join(ch for ch in text if ch.isascii() and ch.isprintable() and ch != " ")


# -- the number ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "short"), [
    ("连云区市场监督管理局", "连云市监"),
    ("连云港市公安局连云分局", "连云公"),
    ("连云区交通运输局", "连云交"),
    ("连云港市自然资源和规划局连云分局", "连云自然资源"),
    ("连云区住房和城乡建设局", "连云住建"),
    ("连云港市连云生态环境局", "连云环"),
    ("连云区人力资源和社会保障局", "连云人社"),
    ("连云区卫生健康委员会", "连云卫健"),
    ("连云区档案馆", "连云区档案馆"),
    ("某某省某某市某某区某某某某某某办公室", "某某省某某市某某区某某某"),
])
def test_department_short_names(name: str, short: str) -> None:
    assert department_short_name(name) == short
    assert parse_decision_number(format_decision_number(short, 2026, 7)).department == short


def test_every_sample_department_has_a_short_name_and_they_differ() -> None:
    shorts = {department_short_name(d.name) for d in sample_catalogue().departments}
    assert len(shorts) == len(sample_catalogue().departments)


def test_a_department_name_without_chinese_has_no_short_name() -> None:
    with pytest.raises(ValueError, match="in Chinese"):
        department_short_name("Market Regulation")


def test_serials_come_from_one_counter_row_updated_in_place() -> None:
    """INSERT … ON CONFLICT DO UPDATE … RETURNING: the first decision of a department and
    year gets 1, each later one the row's value plus one, under the row's lock."""

    class Capture:
        statement: object = None

        def execute(self, statement: object) -> Capture:
            self.statement = statement
            return self

        def scalar_one(self) -> int:
            return 3

    session = Capture()
    assert allocate_serial(session, "320703-SCJGJ", 2026) == 3  # type: ignore[arg-type]
    sql = str(session.statement.compile(dialect=postgresql.dialect()))  # type: ignore[attr-defined]
    assert sql.startswith("INSERT INTO decision_number_counters")
    assert "ON CONFLICT (department, year) DO UPDATE SET last_serial = " \
           "(decision_number_counters.last_serial + " in sql
    assert sql.endswith("RETURNING decision_number_counters.last_serial")


def test_the_document_row_loads_its_bytes_only_when_read() -> None:
    assert DecisionDocumentRow.__mapper__.column_attrs["content"].deferred


# -- amounts in words ---------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "words"), [
    ("0", "零元整"),
    ("0.05", "伍分"),
    ("0.50", "伍角"),
    ("1", "壹元整"),
    ("10", "壹拾元整"),
    ("15.5", "壹拾伍元伍角"),
    ("101", "壹佰零壹元整"),
    ("1010", "壹仟零壹拾元整"),
    ("1500.05", "壹仟伍佰元零伍分"),
    ("1500.55", "壹仟伍佰元伍角伍分"),
    ("70000", "柒万元整"),
    ("60000.00", "陆万元整"),
    ("100010", "壹拾万零壹拾元整"),
    ("105000", "壹拾万伍仟元整"),
    ("1000000", "壹佰万元整"),
    ("10000001", "壹仟万零壹元整"),
    ("100000000", "壹亿元整"),
    ("100010000", "壹亿零壹万元整"),
    ("123456789.12", "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元壹角贰分"),
])
def test_yuan_in_words(amount: str, words: str) -> None:
    assert yuan_in_words(Decimal(amount)) == words


def test_yuan_in_words_refuses_a_negative_amount() -> None:
    with pytest.raises(ValueError):
        yuan_in_words(Decimal("-1"))


# -- the template -------------------------------------------------------------------------


def test_the_html_states_everything_the_document_must() -> None:
    html = render_html(_decision())
    for part in (
        '<html lang="zh-CN">', DEPARTMENT, "行政处罚决定书", NUMBER,
        "当事人：</span>连云港某某食品有限公司", "统一社会信用代码", "91110000600037341L",
        "法定代表人：</span>赵某", "当事人未取得食品经营许可从事食品经营活动",
        "未取得食品经营许可从事食品经营活动，货值金额不足一万元", "违法情节：一般",
        BASIS, "罚款人民币70000.00元", "（大写：人民币柒万元整）",
        "自收到本决定书之日起15日内缴纳罚款",
        "自收到本决定书之日起60日内向上一级主管部门或者本级人民政府申请行政复议",
        "自收到本决定书之日起6个月内依法向有管辖权的人民法院提起行政诉讼",
        "2026年3月13日", '<meta name="dcterms.created" content="2026-03-13T00:00:00+08:00">',
        MAJOR,
    ):
        assert part in html, part
    assert "送达" not in html  # not served yet: no calendar dates


def test_once_served_the_html_states_the_dates_too() -> None:
    html = render_html(_decision(Stage.served))
    assert ("本决定书于2026年3月16日送达：缴纳罚款截至2026年3月31日，申请行政复议截至"
            "2026年5月15日，提起行政诉讼截至2026年9月16日") in html


def test_a_person_is_named_with_the_identity_number() -> None:
    html = render_html(_decision(party=PERSON))
    assert "当事人：</span>张伟" in html and "公民身份号码" in html
    assert "11010519491231002X" in html and "法定代表人" not in html


def test_every_value_is_escaped() -> None:
    party = Party("company", '<script>alert("x")</script>&Co', "91110000600037341L",
                  address="<b>1</b>")
    html = render_html(_decision(party=party, facts="罚款 < 5 & > 1"))
    assert "<script>" not in html and "<b>1</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;Co" in html
    assert "罚款 &lt; 5 &amp; &gt; 1" in html


def test_the_context_is_plain_values() -> None:
    context = document_context(_decision())
    assert (context["amount"], context["amount_words"]) == ("70000.00", "柒万元整")
    assert context["created"] == "2026-03-13T00:00:00+08:00"


def test_the_template_files_ship_in_the_wheel() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["sunlight"]
    templates = Path(decision_document.__file__).parent / "templates"
    shipped = sorted(p for p in templates.rglob("*") if p.is_file())
    assert {p.name for p in shipped} >= {"penalty_decision.html", "penalty_decision.css"}
    for path in shipped:
        inside = path.relative_to(ROOT / "platform" / "sunlight").as_posix()
        assert any(fnmatch(inside, pattern) for pattern in patterns), inside


def test_the_stylesheet_asks_for_the_cjk_fonts() -> None:
    css = (Path(decision_document.__file__).parent / "templates" /
           "penalty_decision.css").read_text()
    assert '"Noto Serif CJK SC"' in css and '"Noto Sans CJK SC"' in css
    assert "size: A4" in css


# -- the PDF ------------------------------------------------------------------------------


def test_the_pdf_is_a_pdf_with_the_decisions_metadata_and_ascii_text(
        rendered: decision_document.RenderedDocument) -> None:
    assert rendered.pdf.startswith(b"%PDF-") and rendered.pdf.rstrip().endswith(b"%%EOF")
    assert rendered.sha256 == hashlib.sha256(rendered.pdf).hexdigest()
    assert rendered.number == NUMBER
    reader = PdfReader(io.BytesIO(rendered.pdf))
    assert len(reader.pages) >= 1
    meta = reader.metadata
    assert meta is not None
    assert meta["/CreationDate"] == meta["/ModDate"] == "D:20260313000000+08'00"
    assert meta["/Title"] == f"行政处罚决定书 {NUMBER}"
    assert meta["/Author"] == DEPARTMENT
    text = _ascii(rendered.pdf)
    for ascii_part in ("70000.00", "91110000600037341L", MAJOR, "2026", "60"):
        assert ascii_part in text, text


def test_the_same_decision_renders_to_the_same_bytes(
        rendered: decision_document.RenderedDocument) -> None:
    assert render_pdf(_decision()) == rendered.pdf
    other = render_pdf(_decision(amount_yuan=Decimal("65000")))
    assert other != rendered.pdf
    assert "65000.00" in _ascii(other)


def test_the_same_bytes_in_another_process_and_later(
        rendered: decision_document.RenderedDocument) -> None:
    """Nothing in the bytes depends on the process (hash seed) or the clock."""
    script = (
        "import hashlib, sys\n"
        "from tests.platform.test_decision_document import _decision\n"
        "from sunlight.runtime.core.decision_document import render_pdf\n"
        "sys.stdout.write(hashlib.sha256(render_pdf(_decision())).hexdigest())\n")
    env = {**os.environ, "PYTHONHASHSEED": "7",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)])}
    env.pop("SOURCE_DATE_EPOCH", None)
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", script], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == rendered.sha256


def test_rendering_leaves_the_environment_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    render_pdf(_decision())
    assert "SOURCE_DATE_EPOCH" not in os.environ
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1")
    render_pdf(_decision())
    assert os.environ["SOURCE_DATE_EPOCH"] == "1"


def test_no_document_for_a_case_not_decided() -> None:
    """The decision document is made from a decided case only (decision_from_case refuses
    before that), which is why a refused decision can never have one."""
    from sunlight.enforcement.errors import IllegalStep

    with pytest.raises(IllegalStep, match="no decision yet"):
        decision_from_case(run_until(Stage.reviewed), item(MAJOR), number=NUMBER,
                           department=DEPARTMENT)


def test_the_decision_date_dates_the_document() -> None:
    later = _decision(decided_on=date(2026, 12, 31))
    html = render_html(later)
    assert "2026年12月31日" in html
    meta = PdfReader(io.BytesIO(render_pdf(later))).metadata
    assert meta is not None and meta["/CreationDate"] == "D:20261231000000+08'00"


# -- the API ------------------------------------------------------------------------------


def test_the_api_serves_the_pdf_and_shows_number_and_hash() -> None:
    from sunlight.runtime.core.app import create_app
    from sunlight.runtime.settings import Settings

    settings = Settings(role="core", site_code="320703",
                        database_url="postgresql+psycopg://core:pw@127.0.0.1:1/core",
                        token_secret="t" * 32, exchange_token="e" * 32)
    spec = create_app(settings).openapi()
    route = spec["paths"]["/api/v1/enforcement/cases/{case_id}/decision.pdf"]["get"]
    assert list(route["responses"]["200"]["content"]) == ["application/pdf"]
    assert {"401", "403", "404"} <= set(route["responses"])
    case = spec["components"]["schemas"]["CaseOut"]["properties"]
    assert {"decision_number", "document_sha256"} <= set(case)
