"""Legal supervision (法制监督) at one site on real PostgreSQL: refused attempts counted,
行政复议/行政诉讼 recorded against a decision, and the monthly view (API and CLI).

Runs against the session's one-site platform (320703; conftest.py ``platform``) with
accounts this module creates in 320703-STHJJ (certificates no other module binds): officers
周敏 and 郭峰, an officer bound to 吴斌's expired certificate, a legal reviewer and an
approver. A penalty case of 320703-STHJJ-CF-001 is notified above its band, reviewed with an
override, and decided at the notified amount; on the way an opening by the expired officer
(403) and a decision outside the band that the override does not cover (409) are refused —
the case stores nothing of them, and each leaves one ``enforcement_refusals`` row (the
investigation names its evidence, a PDF uploaded to the case first). A
行政复议 is filed against the decision (not by an officer: 403; not against an undecided
case: 409; not before the decision: 409 naming the field) and decided once (twice: 409),
audited on the case. ``GET /legal-supervision`` and ``sunlight enforcement oversight`` then
count, for the department, one decision, one override (lit red by the default rule
``DISCRETION-OVERRIDE``, with its justification), one refused out-of-band and one refused
unqualified attempt, no missing legal review, and the 行政复议 and its outcome. The clock is
moved past the waiting period and put back.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from platform_site import Site
from sunlight.enforcement.officers import sample_registry_text

DEPT = "320703-STHJJ"
ITEM = "320703-STHJJ-CF-001"  # 超标排放: V01 一般 200000–500000 元; not major
ZHOU, WU, GUO = "32070300501", "32070300502", "32070300503"  # 吴斌's ended 2025-12-31
STAFF = {"lg.zhou": ("officer", ZHOU), "lg.guo": ("officer", GUO), "lg.wu": ("officer", WU),
         "lg.fa": ("legal_reviewer", None), "lg.ju": ("approver", None)}
DAY = 86400
COMPANY = {"kind": "company", "name": "连云港某某化工有限公司", "id_number": "91110000600037341L"}
TERMS = {"legal_basis": "《中华人民共和国大气污染防治法》第九十九条",
         "facts": "超过大气污染物排放标准排放大气污染物", "violation": "V01",
         "severity": "general", "amount_yuan": "600000"}
OVERRIDE = "当事人超标倍数高且拒不改正，经集体讨论，依法在一般情节上从重处罚"
OPENING = {"item_code": ITEM, "party": COMPANY, "source": "监督检查", "summary": "超标排放"}
RECORD_PDF = b"%PDF-1.4\n% emission inspection record\ntrailer << >>\n%%EOF\n"


@pytest.fixture(scope="module")
def site(platform: Site, tmp_path_factory: pytest.TempPathFactory) -> Site:
    registry = tmp_path_factory.mktemp("legal") / "officers.yaml"
    registry.write_text(sample_registry_text(), encoding="utf-8")
    done = platform.cli("enforcement", "officers", "import", str(registry), "--json")
    assert done.returncode == 0, done.stderr + done.stdout  # unchanged if imported before
    for username, (role, certificate) in STAFF.items():
        pw_file = Path(platform.roles["core"].log).parent / f"{username}.pw"
        bound = ["--certificate", certificate] if certificate else []
        made = platform.cli("accounts", "add", username, "--role", role, "--department", DEPT,
                            *bound, "--password-file", str(pw_file))
        assert made.returncode == 0, made.stderr + made.stdout
        platform.passwords[username] = pw_file.read_text().strip()
    return platform


@pytest.fixture
def clock_back(site: Site) -> Iterator[None]:
    yield
    site.shift_clock(0)


def _client(site: Site, username: str) -> httpx.Client:
    return httpx.Client(base_url=site.core, timeout=30,
                        headers={"Authorization": f"Bearer {site.token(username)}"})


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _refused(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == error, response.text
    return body


def _sql(site: Site, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(site.core_db_url.replace("+psycopg", "")) as conn:
        return list(conn.execute(query, params).fetchall())


def _month(day: str | date) -> str:
    return str(day)[:7]


def _department(view: dict[str, Any]) -> dict[str, Any] | None:
    return next((f for f in view["figures"] if f["department"] == DEPT), None)


def _summed(figures: list[dict[str, Any] | None]) -> dict[str, Any]:
    """The department's figures over the months the walk touched (it may cross one)."""
    total: Counter[str] = Counter()
    filed: Counter[str] = Counter()
    outcomes: dict[str, Counter[str]] = {}
    for f in figures:
        if f is None:
            continue
        total.update({k: f[k] for k in ("decisions", "overrides", "refused_out_of_band",
                                        "refused_unqualified", "missing_legal_review")})
        filed.update(f["filed"])
        for kind, by in f["outcomes"].items():
            outcomes.setdefault(kind, Counter()).update(by)
    return {**total, "filed": dict(filed), "outcomes": {k: dict(v) for k, v in outcomes.items()}}


def test_refusals_challenges_and_the_view(site: Site, clock_back: None) -> None:
    zhou, guo, wu = (_client(site, u) for u in ("lg.zhou", "lg.guo", "lg.wu"))
    legal, head, admin = _client(site, "lg.fa"), _client(site, "lg.ju"), _client(site, "admin")
    cases = _sql(site, "SELECT count(*) FROM enforcement_cases")[0][0]

    # 吴斌's certificate has ended: refused, no case, one refusal row (no case id).
    body = _refused(wu.post("/api/v1/enforcement/cases", json=OPENING), 403,
                    "unqualified_officer")
    assert WU in body["detail"]
    assert _sql(site, "SELECT count(*) FROM enforcement_cases")[0][0] == cases
    assert _sql(site, "SELECT case_id, code, step, actor FROM enforcement_refusals WHERE "
                "department = %s", DEPT) == [(None, "unqualified_officer", "open", "lg.wu")]

    case = _ok(zhou.post("/api/v1/enforcement/cases", json=OPENING), 201)
    cid, base = case["id"], f"/api/v1/enforcement/cases/{case['id']}"
    opened_month = _month(case["opened_on"])
    undecided = _ok(zhou.post("/api/v1/enforcement/cases", json=OPENING), 201)["id"]
    record = _ok(guo.post(f"{base}/evidence", data={"kind": "record", "title": "现场检查笔录"},
                          files={"file": ("record.pdf", RECORD_PDF, "application/pdf")}), 201)
    _ok(guo.post(f"{base}/investigate", json={
        "officers": [ZHOU, GUO], "findings": "在线监测数据显示颗粒物超标 2.3 倍",
        "evidence": [{"kind": "record", "title": "现场检查笔录", "sha256": record["sha256"]}]}))
    _ok(zhou.post(f"{base}/notify", json={"intended": TERMS, "waiting_days": 1,
                                           "hearing_right": True}))
    site.shift_clock(7 * DAY)  # past the waiting period
    # Notified above the band: legal review is due; it approves the amount by an override.
    _refused(head.post(f"{base}/decide", json={"terms": TERMS}), 409, "illegal_transition")
    _ok(legal.post(f"{base}/legal-review", json={"opinion": "同意从重处罚",
                                                  "override": OVERRIDE}))
    # A lighter amount, still outside the band, is not what the override covers: refused and
    # counted; the case keeps its records.
    before = _sql(site, "SELECT records FROM enforcement_cases WHERE id = %s", cid)
    _refused(head.post(f"{base}/decide", json={"terms": {**TERMS, "amount_yuan": "550000"}}),
             409, "out_of_band")
    assert _sql(site, "SELECT records FROM enforcement_cases WHERE id = %s", cid) == before
    case = _ok(head.post(f"{base}/decide", json={"terms": TERMS}))
    assert case["stage"] == "decided" and case["override"]
    decided_on = case["records"][-1]["on"]
    assert _sql(site, "SELECT code, step, case_id::text FROM enforcement_refusals WHERE "
                "department = %s ORDER BY id", DEPT) == [
        ("unqualified_officer", "open", None), ("out_of_band", "decide", cid)]

    # 行政复议: by the legal reviewer only, against a decision, not before it, outcome once.
    filing = {"kind": "reconsideration", "filed_on": decided_on, "body": "连云港市连云区人民政府"}
    _refused(zhou.post(f"{base}/challenges", json=filing), 403, "wrong_role")
    _refused(legal.post(f"/api/v1/enforcement/cases/{undecided}/challenges", json=filing),
             409, "illegal_transition")
    early = str(date.fromisoformat(decided_on) - timedelta(days=1))
    assert _refused(legal.post(f"{base}/challenges", json={**filing, "filed_on": early}),
                    409, "illegal_transition")["field"] == "filed_on"
    filed = _ok(legal.post(f"{base}/challenges", json=filing), 201)
    assert (filed["kind_zh"], filed["outcome"], filed["filed_by"]) == ("行政复议", None, "lg.fa")
    outcome = f"/api/v1/enforcement/challenges/{filed['id']}/outcome"
    _refused(zhou.post(outcome, json={"outcome": "upheld", "decided_on": decided_on}), 403,
             "wrong_role")
    done = _ok(legal.post(outcome, json={"outcome": "upheld", "decided_on": decided_on}))
    assert (done["outcome"], done["outcome_zh"]) == ("upheld", "维持")
    _refused(legal.post(outcome, json={"outcome": "revoked", "decided_on": decided_on}), 409,
             "illegal_transition")
    assert [c["id"] for c in _ok(zhou.get(f"{base}/challenges"))] == [filed["id"]]
    audited = _sql(site, "SELECT actor, role, action, to_state FROM audit_log WHERE entity = "
                   "'enforcement_case' AND entity_id = %s ORDER BY seq", cid)
    assert audited[-2:] == [("lg.fa", "legal_reviewer", "reconsideration_filed", "pending"),
                            ("lg.fa", "legal_reviewer", "reconsideration_upheld", "upheld")]
    assert site.cli("audit", "verify").returncode == 0

    # The view: by the legal reviewer and the admin, not an officer; a month is YYYY-MM.
    months = sorted({opened_month, _month(decided_on)})
    _refused(zhou.get("/api/v1/legal-supervision", params={"month": months[0]}), 403,
             "forbidden")
    assert legal.get("/api/v1/legal-supervision", params={"month": "2026-13"}).status_code == 422
    views = [_ok(legal.get("/api/v1/legal-supervision", params={"month": m})) for m in months]
    assert _ok(admin.get("/api/v1/legal-supervision", params={"month": months[-1]})) == views[-1]
    assert _summed([_department(v) for v in views]) == {
        "decisions": 1, "overrides": 1, "refused_out_of_band": 1, "refused_unqualified": 1,
        "missing_legal_review": 0, "filed": {"reconsideration": 1},
        "outcomes": {"reconsideration": {"upheld": 1}}}
    (lit,) = [o for v in views for o in v["overrides"] if o["department"] == DEPT]
    assert (lit["case_id"], lit["light"], lit["rule_ids"], lit["justification"],
            lit["reviewer"]) == (cid, "red", ["DISCRETION-OVERRIDE"], OVERRIDE, "lg.fa")

    # The CLI prints the same figures.
    printed = []
    for m in months:
        run = site.cli("enforcement", "oversight", "--month", m, "--json")
        assert run.returncode == 0, run.stderr + run.stdout
        printed.append(json.loads(run.stdout))
    assert _summed([_department(p) for p in printed]) == _summed(
        [_department(v) for v in views])
    table = site.cli("enforcement", "oversight", "--month", months[-1])
    assert table.returncode == 0 and "法制监督" in table.stdout, table.stderr + table.stdout
    assert "DISCRETION-OVERRIDE" in table.stdout
    bad = site.cli("enforcement", "oversight", "--month", "March")
    assert bad.returncode == 2, bad.stderr + bad.stdout
