"""Topology suite, part 6 (执法办案 + 法制监督): a county penalty case, 立案 to 结案, seen
from the portal and the province.

At the county (320703) the admin imports an officer registry and makes the accounts: two
officers of 320703-SCJGJ bound to their certificates (王强, 陈静) and a legal reviewer. A
penalty case of the major item 320703-SCJGJ-CF-001 (无证经营食品) runs 立案 → 调查取证 (two
officers; the evidence, a PDF and a PNG, uploaded to the case and named by SHA-256) →
告知 → 法制审核 → 决定 → 送达 → 执行 → 结案; the county core's clock is moved past the
notice's waiting period (``SiteClock``) and put back at the end. An out-of-band decision is
refused first; a 行政复议 is recorded against the decision and upheld. Then:

- the decision document (行政处罚决定书) is a PDF whose extracted text holds the decision
  number, the party, the amount, the legal basis and the 复议/诉讼 deadlines, and whose
  sha256 is the one the decide step's audit record holds (read on the county's core database);
- the de-identified summary (行政处罚结果公示) reaches the county portal through the gateway;
- the province's legal-supervision view counts the county's decision, its refused
  out-of-band attempt and its upheld 行政复议.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from sunlight.control.stack.access import SiteAccess
from sunlight.control.stack.scenario import staff_client
from sunlight.enforcement.officers import sample_registry_text
from topology_suite import COUNTY, PROVINCE, SiteClock, Topology, wait_until

DEPT = "320703-SCJGJ"
ITEM = "320703-SCJGJ-CF-001"  # major decisions (重大执法决定): legal review is mandatory
WANG, CHEN = "32070300101", "32070300102"
COMPANY = {"kind": "company", "name": "连云港海州某某食品有限公司",
           "id_number": "91110000600037341L"}
TERMS = {"legal_basis": "《中华人民共和国食品安全法》第一百二十二条第一款",
         "facts": "未取得食品经营许可从事食品经营", "violation": "V01", "severity": "general",
         "amount_yuan": "70000"}
RECORD_PDF = b"%PDF-1.4\n% site inspection record\ntrailer << >>\n%%EOF\n"
RECEIPT_PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(48))
STAFF = {"zf.wang": (["officer"], WANG), "zf.chen": (["officer"], CHEN),
         "fz.li": (["legal_reviewer"], None)}


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def core_sql(site: SiteAccess, query: str) -> list[list[str]]:
    """Rows of a query on the site's core database (as postgres, on its database host)."""
    encoded = base64.b64encode(query.encode()).decode()
    with site.ssh("core_db") as ssh:
        done = ssh.run(f"echo {encoded} | base64 -d | sudo -n -u postgres psql -d core -AtX "
                       "-F '|'", timeout=60)
    assert done.exit_code == 0, done.stderr
    return [line.split("|") for line in done.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def people(topology: Topology) -> dict[str, httpx.Client]:
    """The county's registry in force and its enforcement staff, signed in."""
    site, admin = topology.site(COUNTY), topology.admin(COUNTY)
    # The sample registry, with 王强's certificate valid beyond the sample's end of 2026.
    registry = sample_registry_text().replace("valid_to: 2026-12-31", "valid_to: 2029-12-31")
    _ok(admin.post("/api/v1/admin/enforcement/officers", content=registry.encode(),
                   headers={"Content-Type": "application/yaml"}))
    clients = {}
    for username, (roles, certificate) in STAFF.items():
        made = _ok(admin.post("/api/v1/admin/accounts", json={
            "username": username, "roles": roles, "department": DEPT,
            "certificate": certificate}), 201)
        clients[username] = staff_client(site, username, made["password"])
    clients["approver"] = topology.staff(COUNTY, "approver")
    return clients


@pytest.fixture(scope="module")
def clock(topology: Topology) -> Iterator[SiteClock]:
    county = SiteClock(topology.site(COUNTY))
    try:
        yield county
    finally:
        county.reset()
        county.tick()


@pytest.fixture(scope="module")
def closed(topology: Topology, people: dict[str, httpx.Client],
           clock: SiteClock) -> dict[str, Any]:
    """A county penalty case run from 立案 to 结案 (the clock stays moved until the module
    ends, so that no later step is dated before the decision)."""
    wang, chen = people["zf.wang"], people["zf.chen"]
    legal, approver = people["fz.li"], people["approver"]
    case = _ok(wang.post("/api/v1/enforcement/cases", json={
        "item_code": ITEM, "party": COMPANY, "source": "投诉举报",
        "summary": "群众举报某某食品公司无证经营"}), 201)
    base = f"/api/v1/enforcement/cases/{case['id']}"
    # The evidence is uploaded to the case first; the investigation names it by SHA-256.
    record = _ok(wang.post(f"{base}/evidence", data={"kind": "record", "title": "现场检查笔录"},
                           files={"file": ("record.pdf", RECORD_PDF, "application/pdf")}), 201)
    receipt = _ok(chen.post(f"{base}/evidence", data={"kind": "documentary",
                                                      "title": "销售单据"},
                            files={"file": ("receipt.png", RECEIPT_PNG, "image/png")}), 201)
    got = wang.get(f"{base}/evidence/{receipt['sha256']}")
    assert got.status_code == 200 and got.content == RECEIPT_PNG, got.text
    _ok(chen.post(f"{base}/investigate", json={
        "officers": [WANG, CHEN], "findings": TERMS["facts"],
        "evidence": [{"kind": "record", "title": "现场检查笔录", "sha256": record["sha256"]},
                     {"kind": "documentary", "title": "销售单据",
                      "sha256": receipt["sha256"]}]}))
    _ok(wang.post(f"{base}/notify", json={"intended": TERMS, "waiting_days": 1,
                                          "hearing_right": True}))
    _ok(legal.post(f"{base}/legal-review", json={
        "opinion": "事实清楚，证据确凿，适用依据正确，程序合法，裁量适当。"}))
    clock.set(datetime.now(UTC) + timedelta(days=7))  # past the waiting period
    refused = approver.post(f"{base}/decide", json={"terms": {**TERMS, "amount_yuan": "50000"}})
    assert refused.status_code == 409 and refused.json()["error"] == "out_of_band", refused.text
    decided = _ok(approver.post(f"{base}/decide", json={"terms": TERMS}))
    assert decided["stage"] == "decided"
    decided_on = next(r for r in decided["records"] if r["step"] == "decide")["on"]
    challenge = _ok(legal.post(f"{base}/challenges", json={
        "kind": "reconsideration", "filed_on": decided_on, "body": "连云港市人民政府"}), 201)
    _ok(legal.post(f"/api/v1/enforcement/challenges/{challenge['id']}/outcome",
                   json={"outcome": "upheld", "decided_on": decided_on}))
    _ok(wang.post(f"{base}/serve", json={"method": "direct", "recipient": "法定代表人张三"}))
    _ok(wang.post(f"{base}/execute", json={"manner": "performed", "paid_yuan": "70000"}))
    done = _ok(chen.post(f"{base}/close", json={"summary": "罚款已缴清，结案。"}))
    assert done["stage"] == "closed"
    assert [r["step"] for r in done["records"]] == [
        "open", "investigate", "notify", "legal_review", "decide", "serve", "execute", "close"]
    return dict(done)


def test_the_decision_pdf_says_what_was_decided(topology: Topology,
                                                people: dict[str, httpx.Client],
                                                closed: dict[str, Any]) -> None:
    pdf = people["zf.wang"].get(f"/api/v1/enforcement/cases/{closed['id']}/decision.pdf")
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    digest = hashlib.sha256(pdf.content).hexdigest()
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    compact = "".join(text.split())
    number = closed["decision_number"]
    for expected in (number, COMPANY["name"], "70000.00", TERMS["legal_basis"], "行政复议",
                     "60日", "行政诉讼", "6个月"):
        assert "".join(expected.split()) in compact, (expected, text)
    assert closed["document_sha256"] == digest
    audited = core_sql(topology.site(COUNTY),
                       "SELECT comment FROM audit_log WHERE entity = 'enforcement_case' AND "
                       f"entity_id = '{closed['id']}' AND action = 'decide'")
    assert len(audited) == 1 and digest in audited[0][0], audited
    topology.scenarios.append(("enforcement: county decision PDF, sha256 in the audit chain",
                               "pass"))


def test_the_summary_reaches_the_county_portal(topology: Topology,
                                               closed: dict[str, Any]) -> None:
    site = topology.site(COUNTY)
    with httpx.Client(base_url=site.portal_url, verify=site.tls(), timeout=30) as portal:
        def published() -> list[dict[str, Any]]:
            rows = _ok(portal.get("/api/v1/disclosure/penalties", params={"department": DEPT}))
            return [r for r in rows if r["number"] == closed["decision_number"]]
        found = wait_until(published, 60)
    assert found, f"{closed['decision_number']} never reached the county portal"
    row = found[0]
    assert row["party_name"] == COMPANY["name"] and row["amount_yuan"] == "70000.00", row
    assert TERMS["legal_basis"] in row["legal_basis"], row
    topology.scenarios.append(("enforcement: 行政处罚结果公示 on the county portal", "pass"))


def test_the_province_counts_the_decision(topology: Topology,
                                          closed: dict[str, Any]) -> None:
    decided_on = next(r for r in closed["records"] if r["step"] == "decide")["on"]
    month = decided_on[:7]
    province = topology.admin(PROVINCE)

    def counted() -> list[dict[str, Any]]:
        rows = _ok(province.get("/api/v1/legal-supervision", params={"month": month}))
        return [r for r in rows["figures"] if r["site"] == COUNTY and r["department"] == DEPT
                and r["decisions"] >= 1 and r["refused_out_of_band"] >= 1
                and r["outcomes"].get("reconsideration", {}).get("upheld", 0) >= 1]
    found = wait_until(counted, 60)
    assert found, (f"the province's legal-supervision view never counted {COUNTY}'s decision, "
                   "refused attempt and upheld 复议: "
                   + str(province.get("/api/v1/legal-supervision", params={"month": month})
                         .json()))
    assert found[0]["missing_legal_review"] == 0, found
    topology.scenarios.append(("enforcement: the county's decision counted at the province",
                               "pass"))
