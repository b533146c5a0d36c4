"""Enforcement cases (执法办案) at one site on real PostgreSQL: the officer registry and a
penalty case from 立案 to 决定 (and on to 结案).

Runs against the session's one-site platform (320703; real `sunlight serve` processes;
conftest.py `platform`), with accounts this module creates: officers of 320703-SCJGJ bound to
their own certificates (王强, 陈静; 刘洋, whose area leaves out CF-001; one bound to a number
not in the registry; one with none; 赵磊 of 320703-GAFJ, made by the admin API), a legal
reviewer and the platform's approver. Proves: a certificate is bound to one officer account
only (CLI refuses a second binding and a non-officer's); the sample registry is imported by
the CLI (a bad one is refused as a whole, naming the row) and listed, with the certificates
expiring within 30 days; a penalty case of the major item 320703-SCJGJ-CF-001 runs 立案 →
调查取证 (two officers) → 告知 → 法制审核 → 决定 → 送达 → 执行 → 结案 under each officer's
account certificate (none sent in the bodies), each step audited with it; an officer naming a
colleague's certificate (立案, 调查取证, 送达) is refused 403, as are an officer account without a
certificate, with one not in the registry, out of area (item or department) or expired, a
decision before legal review, an out-of-band amount without override (409 naming the band),
and nothing is stored. The clock is moved past the waiting period (and past 王强's
certificate's end) and put back.

Evidence (证据) is uploaded before 调查取证: a clerk is refused 403, a file that is not what it
declares 415, one over the size limit (``SUNLIGHT_MATERIAL_MAX_BYTES``) 413 naming it; a PDF
and a PNG are stored (the same bytes again answer the stored one, 200), listed and downloaded
as uploaded; the investigation is refused 422 naming ``evidence[i].sha256`` for a piece that
names no file or one not uploaded to the case; after 告知 no more evidence is taken (409).

The decision document (行政处罚决定书): refused decisions leave no document and take no number
(404 with the reason on ``…/decision.pdf``); the decision gets the department's next number
of the year, and its PDF, downloaded, holds in its extracted text the number, the party, the
amount, the legal basis and the 复议/诉讼 periods, and hashes to the SHA-256 in the case and in
the decide step's audit record. Core runs on the control node here (platform_site.py), which
has neither Chinese fonts nor HarfBuzz's subsetter, and this machine is not to be changed: for
this module core is restarted with the core host's own — the fonts of ``fonts-noto-cjk`` and
``libharfbuzz-subset.so.0`` copied out of the node image into a temporary directory and found
through ``FONTCONFIG_FILE`` and ``LD_LIBRARY_PATH`` — and put back afterwards. Serials are
also taken directly on the core database by two transactions at once: the second waits for
the first, and a rolled-back serial is given again (no gaps).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import docker
import httpx
import psycopg
import pytest
from pypdf import PdfReader
from sqlalchemy import create_engine, delete, select
from sqlalchemy.orm import Session

from platform_site import Site, wait_for
from sunlight.control.resources import Run
from sunlight.enforcement.decision import parse_decision_number
from sunlight.enforcement.officers import sample_registry_text
from sunlight.runtime.core.decision_document import allocate_serial
from sunlight.runtime.core.enforcement_models import DecisionNumberCounter

DEPT = "320703-SCJGJ"
ITEM = "320703-SCJGJ-CF-001"  # 无证经营食品: major decisions (重大执法决定)
WANG, CHEN = "32070300101", "32070300102"  # 王强 (valid to WANG_UNTIL), 陈静
LIU, ZHAO = "32070300103", "32070300201"  # 刘洋 (CF-002, JC-001 only), 赵磊 (320703-GAFJ)
UNKNOWN = "32070399999"
# username: (role, certificate bound to the account)
STAFF = {"zf.wang": ("officer", WANG), "zf.chen": ("officer", CHEN),
         "zf.liu": ("officer", LIU), "zf.ghost": ("officer", UNKNOWN),
         "zf.new": ("officer", None), "fz.li": ("legal_reviewer", None)}
DAY = 86400
# 王强's certificate ends within the 30 days of the alert, whatever day the suite runs.
WANG_UNTIL = date.today() + timedelta(days=20)


def registry_text() -> str:
    """The sample registry, with 王强's end date moved to ``WANG_UNTIL``."""
    text = sample_registry_text()
    assert text.count("valid_to: 2026-12-31") == 1
    return text.replace("valid_to: 2026-12-31", f"valid_to: {WANG_UNTIL.isoformat()}")
COMPANY = {"kind": "company", "name": "连云港某某食品有限公司", "id_number": "91110000600037341L"}
TERMS = {"legal_basis": "《中华人民共和国食品安全法》第一百二十二条第一款",
         "facts": "未取得食品经营许可从事食品经营", "violation": "V01", "severity": "general",
         "amount_yuan": "70000"}


@pytest.fixture(scope="module")
def site(platform: Site) -> Site:
    for username, (role, certificate) in STAFF.items():
        pw_file = Path(platform.roles["core"].log).parent / f"{username}.pw"
        bound = ["--certificate", certificate] if certificate else []
        made = platform.cli("accounts", "add", username, "--role", role, "--department", DEPT,
                            *bound, "--password-file", str(pw_file))
        assert made.returncode == 0, made.stderr + made.stdout
        platform.passwords[username] = pw_file.read_text().strip()
    # By the admin API: 赵磊's certificate (320703-GAFJ) on an account of 320703-SCJGJ.
    admin = _client(platform, "admin")
    made = _ok(admin.post("/api/v1/admin/accounts", json={
        "username": "zf.zhao", "roles": ["officer"], "department": DEPT,
        "certificate": f" {ZHAO} "}), 201)
    assert made["certificate"] == ZHAO
    platform.passwords["zf.zhao"] = made["password"]
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


#: What a core host has for rendering documents and this machine lacks (node image paths).
FONTS_DIR = "/usr/share/fonts/opentype/noto"
SUBSETTER = "/usr/lib/x86_64-linux-gnu/libharfbuzz-subset.so.0"
FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>{fonts}</dir>
  <cachedir>{cache}</cachedir>
</fontconfig>
"""


def _copy_out(container: Any, path: str, into: Path) -> Path:
    """``path`` of a (created, not started) container into ``into``, a symlink followed."""
    stream, _ = container.get_archive(path)
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        members = tar.getmembers()
        if len(members) == 1 and members[0].issym():
            target = str(Path(path).parent / members[0].linkname)
            copied = _copy_out(container, target, into)
            link = into / Path(path).name
            link.symlink_to(copied.name)
            return link
        tar.extractall(into, filter="data")
    return into / Path(path).name


@pytest.fixture(scope="module")
def core_renders_like_a_core_host(site: Site, node_image: str, run: Run,
                                  docker_client: docker.DockerClient,
                                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Core restarted with the node image's Noto CJK fonts and HarfBuzz subsetter (see the
    module docstring); restarted as it was afterwards."""
    into = tmp_path_factory.mktemp("core-host-fonts")
    container = docker_client.containers.create(node_image, command=["true"],
                                                labels=run.labels(role="fonts"))
    try:
        fonts = _copy_out(container, FONTS_DIR, into)
        libs = into / "lib"
        libs.mkdir()
        _copy_out(container, SUBSETTER, libs)
    finally:
        container.remove(force=True)
    assert sorted(p.name for p in fonts.glob("Noto*CJK*")), "no Noto CJK fonts in the image"
    conf = into / "fonts.conf"
    conf.write_text(FONTS_CONF.format(fonts=fonts, cache=into / "cache"), encoding="utf-8")
    core = site.roles["core"]
    before = dict(core.env)
    core.stop()
    core.env.update(FONTCONFIG_FILE=str(conf), LD_LIBRARY_PATH=":".join(
        p for p in (str(libs), before.get("LD_LIBRARY_PATH", "")) if p))
    core.start()
    yield
    core.stop()
    core.env.clear()
    core.env.update(before)
    core.start()


EVIDENCE_PDF = b"%PDF-1.4\n% site inspection record\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
EVIDENCE_PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def _upload_evidence(site: Site, base: str, wang: httpx.Client,
                     chen: httpx.Client) -> tuple[str, str]:
    """The case's evidence uploaded (a PDF by 王强, a PNG by 陈静) after the refusals: a
    clerk, a file that is not what it says, one over the size limit. The SHA-256s."""
    def upload(client: httpx.Client, kind: str, title: str, name: str, data: bytes,
               content_type: str) -> httpx.Response:
        return client.post(f"{base}/evidence", data={"kind": kind, "title": title},
                           files={"file": (name, data, content_type)}, timeout=120)

    _refused(upload(_client(site, "clerk"), "record", "现场检查笔录", "r.pdf", EVIDENCE_PDF,
                    "application/pdf"), 403, "wrong_role")
    _refused(upload(wang, "record", "现场检查笔录", "r.pdf", b"MZ\x90\x00not a pdf",
                    "application/pdf"), 415, "unsupported_type")
    limit = int(site.roles["core"].env.get("SUNLIGHT_MATERIAL_MAX_BYTES", 10 * 2**20))
    detail = _refused(upload(wang, "record", "现场检查笔录", "big.pdf",
                             b"%PDF-1.4\n" + bytes(limit), "application/pdf"), 413, "too_large")
    assert str(limit) in detail, detail
    assert _ok(wang.get(f"{base}/evidence")) == []
    pdf = _ok(upload(wang, "record", "现场检查笔录", "笔录.pdf", EVIDENCE_PDF,
                     "application/pdf"), 201)
    assert (pdf["sha256"], pdf["size"], pdf["kind"], pdf["certificate"]) == (
        hashlib.sha256(EVIDENCE_PDF).hexdigest(), len(EVIDENCE_PDF), "record", WANG)
    again = _ok(upload(chen, "物证", "又一份", "copy.pdf", EVIDENCE_PDF, "application/pdf"))
    assert again["id"] == pdf["id"] and again["title"] == "现场检查笔录"  # the stored one
    png = _ok(upload(chen, "书证", "销售单据", "receipt.png", EVIDENCE_PNG,
                     "application/octet-stream"), 201)
    assert (png["kind"], png["content_type"]) == ("documentary", "image/png")
    listed = _ok(wang.get(f"{base}/evidence"))
    assert [e["sha256"] for e in listed] == [pdf["sha256"], png["sha256"]]
    got = _client(site, "approver").get(f"{base}/evidence/{pdf['sha256']}")
    assert got.status_code == 200 and got.content == EVIDENCE_PDF, got.text
    assert got.headers["content-type"] == "application/pdf"
    assert chen.get(f"{base}/evidence/{'ab' * 32}").status_code == 404
    return pdf["sha256"], png["sha256"]


def _audited_sha256(site: Site, case_id: str) -> tuple[str, str]:
    """The decision number and SHA-256 the decide step's audit record names."""
    comment = _sql(site, "SELECT comment FROM audit_log WHERE entity = 'enforcement_case' AND "
                   "entity_id = %s AND action = 'decide'", case_id)[0][0]
    found = re.search(r"决定书 (\S+) sha256 ([0-9a-f]{64})", comment)
    assert found, comment
    return found[1], found[2]


def _pdf_text(pdf: bytes) -> str:
    """The PDF's text with all white space taken out (lines wrap anywhere in Chinese)."""
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return "".join(text.split())


@pytest.fixture
def clock_back(site: Site) -> Iterator[None]:
    yield
    site.shift_clock(0)


def test_a_certificate_is_bound_to_one_officer_account(site: Site) -> None:
    twice = site.cli("accounts", "add", "zf.copy", "--role", "officer", "--department", DEPT,
                     "--certificate", WANG)
    assert twice.returncode != 0
    assert f"{WANG} is already bound to account zf.wang" in twice.stderr + twice.stdout
    clerk = site.cli("accounts", "add", "clerk.cert", "--role", "clerk", "--department", DEPT,
                     "--certificate", "32070300109")
    assert clerk.returncode != 0
    assert "only officer accounts" in clerk.stderr + clerk.stdout
    refused = _client(site, "admin").post("/api/v1/admin/accounts", json={
        "username": "zf.copy", "roles": ["officer"], "department": DEPT, "certificate": CHEN})
    assert _refused(refused, 422, "account_invalid").startswith("--certificate:")
    assert _sql(site, "SELECT username, certificate FROM accounts WHERE certificate IS NOT "
                "NULL AND username LIKE 'zf.%%' ORDER BY username") == [
        ("zf.chen", CHEN), ("zf.ghost", UNKNOWN), ("zf.liu", LIU), ("zf.wang", WANG),
        ("zf.zhao", ZHAO)]


def test_registry_import_refusal_and_expiring(site: Site, tmp_path: Path) -> None:
    # The fuzzer (test_platform_3) may have imported the sample registry already; this
    # one differs from it (王强's end date).
    revisions = _sql(site, "SELECT count(*) FROM officer_registries")[0][0]
    imports = _sql(site, "SELECT count(*) FROM audit_log WHERE entity = 'officer_registry'")[0][0]
    bad = tmp_path / "bad.yaml"
    bad.write_text(registry_text().replace("valid_to: 2029-12-31", "valid_to: 2019-12-31", 1),
                   encoding="utf-8")
    refused = site.cli("enforcement", "officers", "import", str(bad), "--json")
    assert refused.returncode == 2, refused.stderr + refused.stdout
    problems = json.loads(refused.stdout)["problems"]
    assert any("officers[1].valid_to" in p for p in problems), problems
    assert _sql(site, "SELECT count(*) FROM officer_registries")[0][0] == revisions
    good = tmp_path / "officers.yaml"
    good.write_text(registry_text(), encoding="utf-8")
    done = site.cli("enforcement", "officers", "import", str(good), "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    imported = json.loads(done.stdout)
    assert imported == {"ok": True, "revision": imported["revision"], "officers": 12,
                        "changed": True}
    assert imported["revision"] >= 1
    listed = site.cli("enforcement", "officers", "list", "--expiring-within", "30", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [o["certificate"] for o in json.loads(listed.stdout)["officers"]] == [WANG]
    api = _ok(_client(site, "zf.wang").get("/api/v1/enforcement/officers",
                                           params={"expiring_within": 30}))
    assert [o["certificate"] for o in api["officers"]] == [WANG]
    # Alerted: core's periodic tick counts it on /metrics (OfficerCertificateExpiring).
    wait_for(lambda: 'sunlight_officer_certificates_expiring{department="320703-SCJGJ"} 1.0'
             in httpx.get(f"{site.core}/metrics").text, what="the certificate expiry gauge")
    assert _sql(site, "SELECT action FROM audit_log WHERE entity = 'officer_registry' "
                "ORDER BY seq OFFSET %s", imports) == [("import",)]


def test_penalty_case_open_to_close(site: Site, clock_back: None,
                                    core_renders_like_a_core_host: None) -> None:
    wang, chen = _client(site, "zf.wang"), _client(site, "zf.chen")
    legal, approver = _client(site, "fz.li"), _client(site, "approver")
    opening = {"item_code": ITEM, "party": COMPANY, "source": "投诉举报",
               "summary": "群众举报某某食品公司无证经营"}
    cases = _sql(site, "SELECT count(*) FROM enforcement_cases")[0][0]  # the fuzzer's
    # Refusals first. 王强 cannot open under 陈静's certificate (nor one not in the registry).
    for other in (CHEN, UNKNOWN):
        detail = _refused(wang.post("/api/v1/enforcement/cases",
                                    json={**opening, "certificate": other}),
                          403, "not_own_certificate")
        assert WANG in detail and other in detail, detail
    # Officer accounts whose own certificate does not qualify: none bound, not in the
    # registry, the item not in the area, another department's officer.
    detail = _refused(_client(site, "zf.new").post("/api/v1/enforcement/cases", json=opening),
                      403, "unqualified_officer")
    assert "zf.new has no certificate" in detail
    detail = _refused(_client(site, "zf.ghost").post("/api/v1/enforcement/cases",
                                                     json=opening), 403, "unqualified_officer")
    assert UNKNOWN in detail and "not in the officer registry" in detail
    detail = _refused(_client(site, "zf.liu").post("/api/v1/enforcement/cases", json=opening),
                      403, "unqualified_officer")
    assert LIU in detail and f"not item {ITEM}" in detail
    detail = _refused(_client(site, "zf.zhao").post("/api/v1/enforcement/cases",
                                                    json=opening), 403, "unqualified_officer")
    assert ZHAO in detail and "officer of 320703-GAFJ" in detail
    _refused(_client(site, "clerk").post("/api/v1/enforcement/cases", json=opening),
             403, "wrong_role")
    _refused(wang.post("/api/v1/enforcement/cases",
                       json={**opening, "party": {**COMPANY, "id_number": "91110000600037341X"}}),
             422, "invalid_input")
    assert _sql(site, "SELECT count(*) FROM enforcement_cases")[0][0] == cases

    # 立案 under the account's certificate; giving one's own number is accepted too.
    case = _ok(wang.post("/api/v1/enforcement/cases", json={**opening, "certificate": WANG}),
               201)
    cid = case["id"]
    assert (case["stage"], case["department"], case["party_name"]) == (
        "opened", DEPT, COMPANY["name"])
    assert case["records"][0]["by"] == {"user": "zf.wang", "role": "officer",
                                        "certificate": WANG}
    base = f"/api/v1/enforcement/cases/{cid}"
    pdf_sha, png_sha = _upload_evidence(site, base, wang, chen)
    # 调查取证 needs two qualified officers: 刘洋 (32070300103) does not cover CF-001.
    evidence = [{"kind": "record", "title": "现场检查笔录", "sha256": pdf_sha},
                {"kind": "documentary", "title": "销售单据（照片）", "sha256": png_sha}]
    findings = "未取得食品经营许可从事食品经营"
    # Every piece of evidence names a file uploaded to this case.
    for pieces, field in (
            ([evidence[0], {"kind": "documentary", "title": "销售单据", "sha256": "ab" * 32}],
             "evidence[1].sha256"),
            ([{"kind": "record", "title": "现场检查笔录"}, evidence[1]], "evidence[0].sha256")):
        refused = chen.post(f"{base}/investigate", json={
            "officers": [WANG, CHEN], "evidence": pieces, "findings": findings})
        assert refused.status_code == 422 and refused.json()["field"] == field, refused.text
    detail = _refused(chen.post(f"{base}/investigate", json={
        "officers": [CHEN, LIU], "evidence": evidence, "findings": findings}),
        403, "unqualified_officer")
    assert LIU in detail
    detail = _refused(chen.post(f"{base}/investigate", json={
        "officers": [CHEN, UNKNOWN], "evidence": evidence, "findings": findings}),
        403, "unqualified_officer")
    assert UNKNOWN in detail and "not in the officer registry" in detail
    _refused(chen.post(f"{base}/investigate", json={
        "officers": [CHEN], "evidence": evidence, "findings": findings}), 422, "invalid_input")
    # 陈静 cannot investigate under 王强's certificate.
    detail = _refused(chen.post(f"{base}/investigate", json={
        "certificate": WANG, "officers": [WANG, CHEN], "evidence": evidence,
        "findings": findings}), 403, "not_own_certificate")
    assert CHEN in detail and WANG in detail
    assert [r["step"] for r in _sql(site, "SELECT records FROM enforcement_cases WHERE id = "
                                          "%s", cid)[0][0]] == ["open"]
    case = _ok(chen.post(f"{base}/investigate", json={
        "officers": [WANG, CHEN], "evidence": evidence, "findings": findings}))
    assert case["stage"] == "investigated"
    assert case["records"][1]["by"]["certificate"] == CHEN
    assert [e["sha256"] for e in case["records"][1]["evidence"]] == [pdf_sha, png_sha]
    case = _ok(wang.post(f"{base}/notify", json={
        "intended": TERMS, "waiting_days": 1, "hearing_right": True}))
    assert case["stage"] == "notified"
    # Investigation is over: no more evidence.
    _refused(wang.post(f"{base}/evidence", data={"kind": "record", "title": "补充笔录"},
                       files={"file": ("late.pdf", EVIDENCE_PDF + b"late", "application/pdf")}),
             409, "illegal_transition")
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
    assert case["records"][-1]["by"]["certificate"] is None
    counters = _sql(site, "SELECT year, last_serial FROM decision_number_counters WHERE "
                    "department = %s ORDER BY year", DEPT)
    # Out of band without override: 409 naming the band; nothing stored.
    before = _sql(site, "SELECT records FROM enforcement_cases WHERE id = %s", cid)
    detail = _refused(approver.post(f"{base}/decide", json={
        "terms": {**TERMS, "amount_yuan": "50000"}}), 409, "out_of_band")
    assert "一般 (general): 60000.00–80000.00 元" in detail, detail
    assert _sql(site, "SELECT records FROM enforcement_cases WHERE id = %s", cid) == before
    _refused(approver.post(f"{base}/decide", json={"terms": {**TERMS, "amount_yuan": "-1"}}),
             422, "invalid_input")
    # The refused decisions left no document and took no number.
    assert _sql(site, "SELECT count(*) FROM enforcement_documents WHERE case_id = %s",
                cid)[0][0] == 0
    assert _sql(site, "SELECT year, last_serial FROM decision_number_counters WHERE "
                "department = %s ORDER BY year", DEPT) == counters
    detail = _refused(approver.get(f"{base}/decision.pdf"), 404, "no_decision_document")
    assert "reviewed" in detail, detail
    assert case["decision_number"] is None and case["document_sha256"] is None
    case = _ok(approver.post(f"{base}/decide", json={"terms": TERMS}, timeout=120))
    assert case["stage"] == "decided"
    assert case["band"]["band"] == "一般 (general): 60000.00–80000.00 元"
    assert not case["override"] and case["band"]["inside"]
    # The decision document: the department's next number of the year, the PDF's hash in
    # the case and in the decide step's audit record.
    decided_on = date.fromisoformat(case["records"][-1]["on"])
    number = parse_decision_number(case["decision_number"])
    assert (number.department, number.kind, number.year) == ("连云市监", "罚", decided_on.year)
    assert number.serial == dict(counters).get(decided_on.year, 0) + 1
    assert _sql(site, "SELECT last_serial FROM decision_number_counters WHERE department = %s "
                "AND year = %s", DEPT, decided_on.year) == [(number.serial,)]
    pdf = wang.get(f"{base}/decision.pdf")
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    digest = hashlib.sha256(pdf.content).hexdigest()
    assert digest == case["document_sha256"]
    assert _audited_sha256(site, cid) == (case["decision_number"], digest)
    assert _sql(site, "SELECT number, sha256, size FROM enforcement_documents WHERE case_id = "
                "%s", cid) == [(case["decision_number"], digest, len(pdf.content))]
    text = _pdf_text(pdf.content)
    for part in (case["decision_number"], COMPANY["name"], COMPANY["id_number"],
                 "罚款人民币70000.00元", "柒万元整", TERMS["legal_basis"], TERMS["facts"],
                 "自收到本决定书之日起60日内", "申请行政复议", "自收到本决定书之日起6个月内",
                 "提起行政诉讼", f"{decided_on.year}年{decided_on.month}月{decided_on.day}日"):
        assert part in text, (part, text)
    assert httpx.get(f"{site.core}{base}/decision.pdf").status_code == 401
    # On to 结案; 陈静 cannot serve under 王强's certificate.
    serve = {"method": "direct", "recipient": "法定代表人张三"}
    _refused(chen.post(f"{base}/serve", json={**serve, "certificate": WANG}), 403,
             "not_own_certificate")
    case = _ok(wang.post(f"{base}/serve", json=serve))
    case = _ok(wang.post(f"{base}/execute", json={"manner": "performed",
                                                  "paid_yuan": "70000"}))
    case = _ok(chen.post(f"{base}/close", json={"summary": "罚款已缴清，结案。"}))
    assert case["stage"] == "closed" and case["allowed"] == []
    assert [(r["step"], r["by"]["user"], r["by"]["certificate"]) for r in case["records"]] == [
        ("open", "zf.wang", WANG), ("investigate", "zf.chen", CHEN),
        ("notify", "zf.wang", WANG), ("legal_review", "fz.li", None),
        ("decide", "approver", None), ("serve", "zf.wang", WANG),
        ("execute", "zf.wang", WANG), ("close", "zf.chen", CHEN)]
    audited = _sql(site, "SELECT actor, role, action, to_state, comment FROM audit_log WHERE "
                   "entity = 'enforcement_case' AND entity_id = %s ORDER BY seq", cid)
    assert _ok(wang.get(base))["document_sha256"] == digest  # unchanged to 结案
    assert hashlib.sha256(wang.get(f"{base}/decision.pdf").content).hexdigest() == digest
    assert [a[:4] for a in audited] == [
        ("zf.wang", "officer", "open", "opened"),
        ("zf.wang", "officer", "evidence_uploaded", "opened"),
        ("zf.chen", "officer", "evidence_uploaded", "opened"),
        ("zf.chen", "officer", "investigate", "investigated"),
        ("zf.wang", "officer", "notify", "notified"),
        ("fz.li", "legal_reviewer", "legal_review", "reviewed"),
        ("approver", "approver", "decide", "decided"),
        ("zf.wang", "officer", "serve", "served"),
        ("zf.wang", "officer", "execute", "executed"),
        ("zf.chen", "officer", "close", "closed")]
    assert f"certificate {WANG}" in audited[0][4] and audited[3][4] == f"certificate {CHEN}"
    assert pdf_sha in audited[1][4] and png_sha in audited[2][4]
    assert site.cli("audit", "verify").returncode == 0
    # Past the end of 王强's certificate he can open no case; 陈静 still can.
    site.shift_clock(((WANG_UNTIL - date.today()).days + 5) * DAY)
    detail = _refused(wang.post("/api/v1/enforcement/cases", json=opening), 403,
                      "unqualified_officer")
    site.shift_clock(0)  # at once: the periodic tick follows the shifted clock
    assert WANG in detail and f"expired on {WANG_UNTIL.isoformat()}" in detail, detail
    assert _sql(site, "SELECT count(*) FROM enforcement_cases")[0][0] == cases + 1
    assert _ok(chen.post("/api/v1/enforcement/cases", json=opening), 201)["records"][0][
        "by"]["certificate"] == CHEN


def test_serials_are_taken_one_transaction_at_a_time_without_gaps(site: Site) -> None:
    """The decide step's allocation on the real database: a second transaction waits for the
    first's counter row; a rolled-back serial is given again. (A year no case uses.)"""
    year = 2099
    engine = create_engine(site.core_db_url)
    try:
        with Session(engine) as first:
            assert allocate_serial(first, DEPT, year) == 1
            got: list[int] = []

            def second_transaction() -> None:
                with Session(engine) as second:
                    got.append(allocate_serial(second, DEPT, year))
                    second.commit()

            waiting = threading.Thread(target=second_transaction)
            waiting.start()
            waiting.join(1.0)
            assert waiting.is_alive() and not got  # waits on the first's row
            first.rollback()  # the decision failed: its serial is given back
        waiting.join(30)
        assert got == [1]
        with Session(engine) as third:
            assert allocate_serial(third, DEPT, year) == 2
            third.commit()
    finally:
        with Session(engine) as cleanup:
            cleanup.execute(delete(DecisionNumberCounter).where(
                DecisionNumberCounter.department == DEPT, DecisionNumberCounter.year == year))
            cleanup.commit()
            assert cleanup.scalars(select(DecisionNumberCounter).where(
                DecisionNumberCounter.year == year)).first() is None
        engine.dispose()
