"""Enforcement cases (执法办案) at one site on real PostgreSQL: the officer registry and a
penalty case from 立案 to 决定 (and on to 结案).

Runs against the session's one-site platform (320703; real `sunlight serve` processes;
conftest.py `platform`), with accounts this module creates: two officers, a legal reviewer
(all of 320703-SCJGJ) and the platform's approver. Proves: the sample registry is imported
by the CLI (a bad one is refused as a whole, naming the row) and listed, with the
certificates expiring within 30 days; a penalty case of the major item 320703-SCJGJ-CF-001
runs 立案 → 调查取证 (two officers) → 告知 → 法制审核 → 决定 → 送达 → 执行 → 结案, each step
audited; a decision before legal review, an out-of-band amount without override (409 naming
the band), an unknown officer and an officer out of area (403) are refused and nothing is
stored. The clock is moved past the waiting period and put back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from platform_site import Site
from sunlight.enforcement.officers import sample_registry_text

DEPT = "320703-SCJGJ"
ITEM = "320703-SCJGJ-CF-001"  # 无证经营食品: major decisions (重大执法决定)
WANG, CHEN = "32070300101", "32070300102"  # 王强 (valid to 2026-12-31), 陈静
STAFF = {"zf.wang": "officer", "zf.chen": "officer", "fz.li": "legal_reviewer"}
DAY = 86400
COMPANY = {"kind": "company", "name": "连云港某某食品有限公司", "id_number": "91110000600037341L"}
TERMS = {"legal_basis": "《中华人民共和国食品安全法》第一百二十二条第一款",
         "facts": "未取得食品经营许可从事食品经营", "violation": "V01", "severity": "general",
         "amount_yuan": "70000"}


@pytest.fixture(scope="module")
def site(platform: Site) -> Site:
    for username, role in STAFF.items():
        pw_file = Path(platform.roles["core"].log).parent / f"{username}.pw"
        made = platform.cli("accounts", "add", username, "--role", role, "--department", DEPT,
                            "--password-file", str(pw_file))
        assert made.returncode == 0, made.stderr + made.stdout
        platform.passwords[username] = pw_file.read_text().strip()
    return platform


def _client(site: Site, username: str) -> httpx.Client:
    return httpx.Client(base_url=site.core, timeout=30,
                        headers={"Authorization": f"Bearer {site.token(username)}"})


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _refused(response: httpx.Response, status: int, error: str) -> str:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text
    detail: str = response.json()["detail"]
    return detail


def _sql(site: Site, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(site.core_db_url.replace("+psycopg", "")) as conn:
        return list(conn.execute(query, params).fetchall())


@pytest.fixture
def clock_back(site: Site) -> Iterator[None]:
    yield
    site.shift_clock(0)


def test_registry_import_refusal_and_expiring(site: Site, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(sample_registry_text().replace("valid_to: 2029-12-31", "valid_to: 2019-12-31",
                                                  1), encoding="utf-8")
    refused = site.cli("enforcement", "officers", "import", str(bad), "--json")
    assert refused.returncode == 2, refused.stderr + refused.stdout
    problems = json.loads(refused.stdout)["problems"]
    assert any("officers[1].valid_to" in p for p in problems), problems
    assert _sql(site, "SELECT count(*) FROM officer_registries")[0][0] == 0
    good = tmp_path / "officers.yaml"
    good.write_text(sample_registry_text(), encoding="utf-8")
    done = site.cli("enforcement", "officers", "import", str(good), "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    assert json.loads(done.stdout) == {"ok": True, "revision": 1, "officers": 12,
                                       "changed": True}
    listed = site.cli("enforcement", "officers", "list", "--expiring-within", "30", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [o["certificate"] for o in json.loads(listed.stdout)["officers"]] == [WANG]
    api = _ok(_client(site, "zf.wang").get("/api/v1/enforcement/officers",
                                           params={"expiring_within": 30}))
    assert [o["certificate"] for o in api["officers"]] == [WANG]
    assert _sql(site, "SELECT action FROM audit_log WHERE entity = 'officer_registry'") == [
        ("import",)]


def test_penalty_case_open_to_close(site: Site, clock_back: None) -> None:
    wang, chen = _client(site, "zf.wang"), _client(site, "zf.chen")
    legal, approver = _client(site, "fz.li"), _client(site, "approver")
    opening = {"item_code": ITEM, "certificate": WANG, "party": COMPANY, "source": "投诉举报",
               "summary": "群众举报某某食品公司无证经营"}
    # Refusals first: an unknown officer, a clerk, an officer of another department's area.
    detail = _refused(wang.post("/api/v1/enforcement/cases",
                                json={**opening, "certificate": "32070399999"}),
                      403, "unqualified_officer")
    assert "32070399999" in detail and "not in the officer registry" in detail
    _refused(_client(site, "clerk").post("/api/v1/enforcement/cases", json=opening),
             403, "wrong_role")
    _refused(wang.post("/api/v1/enforcement/cases",
                       json={**opening, "party": {**COMPANY, "id_number": "91110000600037341X"}}),
             422, "invalid_input")
    assert _sql(site, "SELECT count(*) FROM enforcement_cases")[0][0] == 0

    case = _ok(wang.post("/api/v1/enforcement/cases", json=opening), 201)
    cid = case["id"]
    assert (case["stage"], case["department"], case["party_name"]) == (
        "opened", DEPT, COMPANY["name"])
    base = f"/api/v1/enforcement/cases/{cid}"
    # 调查取证 needs two qualified officers: 刘洋 (32070300103) does not cover CF-001.
    evidence = [{"kind": "record", "title": "现场检查笔录"},
                {"kind": "documentary", "title": "销售单据", "sha256": "ab" * 32}]
    detail = _refused(chen.post(f"{base}/investigate", json={
        "certificate": CHEN, "officers": [CHEN, "32070300103"], "evidence": evidence,
        "findings": "未取得食品经营许可从事食品经营"}), 403, "unqualified_officer")
    assert "32070300103" in detail
    _refused(chen.post(f"{base}/investigate", json={
        "certificate": CHEN, "officers": [CHEN], "evidence": evidence,
        "findings": "未取得食品经营许可从事食品经营"}), 422, "invalid_input")
    case = _ok(chen.post(f"{base}/investigate", json={
        "certificate": CHEN, "officers": [WANG, CHEN], "evidence": evidence,
        "findings": "未取得食品经营许可从事食品经营"}))
    assert case["stage"] == "investigated"
    case = _ok(wang.post(f"{base}/notify", json={
        "certificate": WANG, "intended": TERMS, "waiting_days": 1, "hearing_right": True}))
    assert case["stage"] == "notified"
    assert [s["step"] for s in case["allowed"]] == ["legal_review"]
    # A major decision without legal review: 409, and the officer cannot review it.
    site.shift_clock(7 * DAY)  # past the waiting period (one working day)
    detail = _refused(approver.post(f"{base}/decide", json={"terms": TERMS}), 409,
                      "illegal_transition")
    assert "法制审核" in detail
    _refused(wang.post(f"{base}/legal-review", json={"opinion": "同意"}), 403, "wrong_role")
    case = _ok(legal.post(f"{base}/legal-review", json={
        "opinion": "事实清楚，证据确凿，适用依据正确，程序合法，裁量适当。"}))
    assert case["stage"] == "reviewed"
    # Out of band without override: 409 naming the band; nothing stored.
    before = _sql(site, "SELECT records FROM enforcement_cases WHERE id = %s", cid)
    detail = _refused(approver.post(f"{base}/decide", json={
        "terms": {**TERMS, "amount_yuan": "50000"}}), 409, "out_of_band")
    assert "一般 (general): 60000.00–80000.00 元" in detail, detail
    assert _sql(site, "SELECT records FROM enforcement_cases WHERE id = %s", cid) == before
    _refused(approver.post(f"{base}/decide", json={"terms": {**TERMS, "amount_yuan": "-1"}}),
             422, "invalid_input")
    case = _ok(approver.post(f"{base}/decide", json={"terms": TERMS}))
    assert case["stage"] == "decided"
    assert case["band"]["band"] == "一般 (general): 60000.00–80000.00 元"
    assert not case["override"] and case["band"]["inside"]
    # On to 结案.
    case = _ok(wang.post(f"{base}/serve", json={"certificate": WANG, "method": "direct",
                                                "recipient": "法定代表人张三"}))
    case = _ok(wang.post(f"{base}/execute", json={"certificate": WANG, "manner": "performed",
                                                  "paid_yuan": "70000"}))
    case = _ok(chen.post(f"{base}/close", json={"certificate": CHEN,
                                                "summary": "罚款已缴清，结案。"}))
    assert case["stage"] == "closed" and case["allowed"] == []
    assert [r["step"] for r in case["records"]] == [
        "open", "investigate", "notify", "legal_review", "decide", "serve", "execute", "close"]
    audited = _sql(site, "SELECT actor, role, action, to_state FROM audit_log WHERE entity = "
                   "'enforcement_case' AND entity_id = %s ORDER BY seq", cid)
    assert audited == [
        ("zf.wang", "officer", "open", "opened"),
        ("zf.chen", "officer", "investigate", "investigated"),
        ("zf.wang", "officer", "notify", "notified"),
        ("fz.li", "legal_reviewer", "legal_review", "reviewed"),
        ("approver", "approver", "decide", "decided"),
        ("zf.wang", "officer", "serve", "served"),
        ("zf.wang", "officer", "execute", "executed"),
        ("zf.chen", "officer", "close", "closed")]
    assert site.cli("audit", "verify").returncode == 0
