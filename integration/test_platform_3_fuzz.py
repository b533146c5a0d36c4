"""Schemathesis against each role's OpenAPI: no 5xx, and most operations reach a 2xx.

Random input alone rarely names a real receipt, case or password, so half of the
generated cases are *seeded*: the harness puts real identifiers, credentials and, for a
few bodies, a valid document in place, as a client that has done the earlier steps would.
Everything else is as schemathesis generated it. Capped at 50 examples per operation.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from platform_site import (
    ANNUAL_REPORT,
    ANNUAL_REPORT_MATERIAL,
    PDF,
    Site,
    annual_report_form,
    apply_annual_report,
    wait_for,
)
from sunlight.catalogue.sample import sample_yaml
from sunlight.enforcement.officers import sample_registry_text
from sunlight.workflow.identity import generate_credit_code

MAX_EXAMPLES = 50
MIN_2XX_SHARE = 0.8
# Enforcement (执法办案) by 320703-JTYSJ: certificates test_platform_6 does not bind.
ENF_DEPT, ENF_ITEM = "320703-JTYSJ", "320703-JTYSJ-CF-001"
ENF_OFFICER, ENF_CO_OFFICER = "32070300301", "32070300302"  # 郑凯, 冯雪
ENF_OPEN = {"item_code": ENF_ITEM, "source": "投诉举报", "summary": "fuzz",
            "party": {"kind": "company", "name": "连云港某某运输有限公司",
                      "id_number": "91110000600037341L"}}
ENF_EVIDENCE = {"kind": "record", "title": "现场检查笔录"}  # PDF, uploaded to every case
ENF_EVIDENCE_SHA256 = hashlib.sha256(PDF).hexdigest()
ENF_BODIES = {  # a valid body per step, for a case at the stage that allows it
    "investigate": {"officers": [ENF_OFFICER, ENF_CO_OFFICER],
                    "evidence": [{**ENF_EVIDENCE, "sha256": ENF_EVIDENCE_SHA256}],
                    "findings": "fuzz"},
    "notify": {"intended": {"legal_basis": "fuzz", "facts": "fuzz", "violation": "V01",
                            "severity": "general", "amount_yuan": "40000"}, "waiting_days": 1,
               "hearing_right": True},
    "legal-review": {"opinion": "fuzz"},
    "decide": {"terms": {"legal_basis": "fuzz", "facts": "fuzz", "violation": "V01",
                         "severity": "general", "amount_yuan": "40000"}},
    "serve": {"method": "direct", "recipient": "fuzz"},
    "execute": {"manner": "performed", "paid_yuan": "40000"},
    "close": {"summary": "fuzz"},
}
ENF_ACTOR = {"legal-review": "legal", "decide": "approver", "challenges": "legal",
             "outcome": "legal"}  # who takes a step (otherwise the officer)
WAITING = 7 * 86400  # past the notice's waiting period (one working day)


@pytest.fixture(scope="module")
def site(platform: Site) -> Site:
    """The session's one-site platform (conftest.py)."""
    return platform


@dataclass
class Known:
    """Real identifiers the seeded cases use."""

    portal: str
    receipt: str
    secret: str
    closed_receipt: str
    closed_secret: str
    case_id: str
    token: str
    exchange_token: str
    password: str
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    orders: dict[str, str] = field(default_factory=dict)  # 督办 order per operation suffix
    draw_id: str = ""  # a random inspection draw holding closed_receipt
    month: str = ""  # the month closed_receipt was closed (YYYY-MM)
    enforcement: dict[str, str] = field(default_factory=dict)  # case per step (and "get")
    enforcement_tokens: dict[str, str] = field(default_factory=dict)  # officer, legal, ...
    challenge_id: str = ""  # a 行政复议 filed, for its outcome
    today: str = ""  # core's date, for the dates challenges take


Seed = Callable[[Any, Known], None]


def _draft(known: Known, with_material: bool) -> tuple[str, str]:
    """A fresh draft application (optionally with its required material uploaded)."""
    code = generate_credit_code(known.rng)
    created = httpx.post(f"{known.portal}/api/v1/applications", json={
        "item_code": ANNUAL_REPORT, "form": annual_report_form(code),
        "applicant": {"kind": "enterprise", "id_number": code, "name": "甲"}}).json()
    if with_material:
        httpx.post(f"{known.portal}/api/v1/applications/{created['draft_id']}/materials",
                   headers={"X-Tracking-Secret": created["secret"]},
                   data={"name": ANNUAL_REPORT_MATERIAL},
                   files={"file": ("r.pdf", PDF, "application/pdf")}).raise_for_status()
    return created["draft_id"], created["secret"]


def _seed_application(case: Any, known: Known) -> None:
    label = case.operation.label
    receipt, secret = known.receipt, known.secret
    if label.endswith(("/materials", "/submit")):
        receipt, secret = _draft(known, with_material=label.endswith("/submit"))
    elif label.endswith("/rating"):
        receipt, secret = known.closed_receipt, known.closed_secret
    params = case.path_parameters or {}
    if "receipt" in params:
        params["receipt"] = receipt
    if "code" in params:
        params["code"] = ANNUAL_REPORT
    case.headers = {**(case.headers or {}), "X-Tracking-Secret": secret}
    if label.endswith("/materials"):
        case.body = {"name": ANNUAL_REPORT_MATERIAL, "file": PDF}
    elif label == "POST /api/v1/applications":
        code = generate_credit_code(known.rng)
        case.body = {"item_code": ANNUAL_REPORT, "form": annual_report_form(code),
                     "applicant": {"kind": "enterprise", "id_number": code, "name": "甲"}}


def _seed_core(case: Any, known: Known) -> None:
    params = case.path_parameters or {}
    if "case_id" in params:
        params["case_id"] = known.case_id
    if "code" in params:
        params["code"], params["version"] = "320703-SCJGJ-XK-001", 2
    if case.operation.label == "GET /api/v1/cases":
        case.query = {"receipt": known.receipt}
    if case.operation.label == "POST /api/v1/auth/token":
        case.body = {"username": "superuser", "password": known.password}
    if "username" in params:  # account changes: an account nothing else signs in with
        params["username"] = "fuzz.target"
    if case.operation.label == "POST /api/v1/admin/catalogue":
        case.body = sample_yaml()
    if "order_id" in params:
        suffix = case.operation.label.rsplit("/", 1)[-1]
        params["order_id"] = known.orders.get(suffix, known.orders["answer"])
    if "draw_id" in params:
        params["draw_id"], params["receipt"] = known.draw_id, known.closed_receipt
        if case.operation.label.endswith("/findings/{receipt}"):
            case.body = {"result": "ok"}
    if case.operation.label == "POST /api/v1/supervision/orders":
        case.body = {"department": "320703-SCJGJ", "text": "fuzz"}
    if case.operation.label == "POST /api/v1/supervision/inspections":
        case.body = {"department": "320703-SCJGJ", "month": known.month, "size": 1}
    if case.operation.path.startswith("/api/v1/enforcement/cases/{case_id}"):
        step = case.operation.path.rsplit("/", 1)[-1]
        params["case_id"] = known.enforcement.get(step, known.enforcement["get"])
        if step in ENF_BODIES:
            case.body = ENF_BODIES[step]
        if step == "{sha256}":  # the evidence every case holds
            params["sha256"] = ENF_EVIDENCE_SHA256
        if case.operation.label == "POST /api/v1/enforcement/cases/{case_id}/evidence":
            case.body = {**ENF_EVIDENCE, "file": PDF}  # the case holds it already: 200
        if step == "challenges":
            case.body = {"kind": "litigation", "filed_on": known.today, "body": "fuzz"}
    if "challenge_id" in params:
        params["challenge_id"] = known.challenge_id
        case.body = {"outcome": "upheld", "decided_on": known.today}
    if case.operation.label == "POST /api/v1/enforcement/cases":
        case.body = ENF_OPEN
    if case.operation.label == "POST /api/v1/admin/enforcement/officers":
        case.body = sample_registry_text()
    if case.operation.label == "POST /api/v1/exchange/records":
        case.body = {"record_id": str(__import__("uuid").uuid4()),
                     "record_type": "feedback.complaint",
                     "payload": {"receipt": known.receipt, "text": "fuzz"}}
    if case.operation.label == "PUT /api/v1/exchange/materials/{material_id}":
        material = b"%PDF-1.4 fuzz " + __import__("uuid").uuid4().bytes
        case.body = material
        case.query = {"sha256": __import__("hashlib").sha256(material).hexdigest()}


def _auth(case: Any, known: Known) -> dict[str, str]:
    if case.operation.path.startswith("/api/v1/exchange"):
        return {"Authorization": f"Bearer {known.exchange_token}"}
    if case.operation.path.startswith("/api/v1/enforcement"):
        who = ENF_ACTOR.get(case.operation.path.rsplit("/", 1)[-1], "officer")
        return {"Authorization": f"Bearer {known.enforcement_tokens[who]}"}
    if case.operation.path.startswith("/api/v1/") and "auth/token" not in case.operation.path:
        return {"Authorization": f"Bearer {known.token}"}
    return {}


def _fuzz_operation(operation: Any, base_url: str, known: Known, seed: Seed,
                    auth: Callable[[Any, Known], dict[str, str]]) -> set[int]:
    seen: set[int] = set()

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate])
    @given(case=operation.as_strategy(), seeded=st.booleans())
    def run(case: Any, seeded: bool) -> None:
        if seeded:
            seed(case, known)
        response = case.call(base_url=base_url, headers=auth(case, known), timeout=30)
        seen.add(response.status_code)
        assert response.status_code < 500, (
            f"{case.operation.label}: {response.status_code} {response.text[:300]}\n"
            f"{case.as_curl_command()}")

    run()
    return seen


def _fuzz(base_url: str, known: Known, seed: Seed,
          auth: Callable[[Any, Known], dict[str, str]]) -> dict[str, set[int]]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    return {result.ok().label: _fuzz_operation(result.ok(), base_url, known, seed, auth)
            for result in schema.get_all_operations()}


def _report(role: str, statuses: dict[str, set[int]]) -> float:
    reached = [label for label, codes in statuses.items() if any(200 <= c < 300 for c in codes)]
    share = len(reached) / len(statuses)
    print(f"\n{role}: {len(reached)}/{len(statuses)} operations reached a 2xx ({share:.0%})")
    for label, codes in sorted(statuses.items()):
        print(f"  {label:55} {sorted(codes)}")
    return share


def _close(site: Site, token: str, receipt: str) -> None:
    staff = httpx.Client(base_url=site.core, headers={"Authorization": f"Bearer {token}"})
    # Separation of duties (岗位分离): who accepted a case may not decide it.
    approver = httpx.Client(base_url=site.core,
                            headers={"Authorization": f"Bearer {site.token('approver')}"})
    case = wait_for(lambda: (r := staff.get("/api/v1/cases", params={"receipt": receipt}))
                    .status_code == 200 and r.json())
    for action in ("accept", "approve_step", "grant", "close"):
        (approver if action == "grant" else staff).post(
            f"/api/v1/cases/{case['id']}/actions", json={"action": action}).raise_for_status()


@pytest.fixture(scope="module")
def known(site: Site) -> Known:
    rng = random.Random(5)
    receipt, secret = apply_annual_report(site.portal, generate_credit_code(rng))
    closed_receipt, closed_secret = apply_annual_report(site.portal, generate_credit_code(rng))
    pw_file = Path(site.roles["core"].log).parent / "superuser.pw"
    made = site.cli("accounts", "add", "superuser", "--role", "admin", "--role", "clerk",
                    "--role", "reviewer", "--role", "approver", "--department", "320703-SCJGJ",
                    "--password-file", str(pw_file))
    assert made.returncode == 0, made.stderr
    site.passwords["superuser"] = pw_file.read_text().strip()
    target = site.cli("accounts", "add", "fuzz.target", "--role", "clerk", "--department",
                      "320703-SCJGJ")
    assert target.returncode == 0, target.stderr
    token = site.token("superuser")
    _close(site, token, closed_receipt)
    wait_for(lambda: httpx.get(f"{site.portal}/api/v1/applications/{closed_receipt}",
                               headers={"X-Tracking-Secret": closed_secret})
             .json()["status"] == "closed")
    case = httpx.get(f"{site.core}/api/v1/cases", params={"receipt": receipt},
                     headers={"Authorization": f"Bearer {token}"}).json()
    known = Known(site.portal, receipt, secret, closed_receipt, closed_secret, case["id"], token,
                  site.roles["core"].env["SUNLIGHT_EXCHANGE_TOKEN"],
                  site.passwords["superuser"])
    _supervision(site, known)
    _enforcement(site, known)
    return known


def _enforcement(site: Site, known: Known) -> None:
    """The sample officer registry; an officer of 320703-JTYSJ bound to 郑凯's certificate, a
    legal reviewer and an approver there; one case at the stage each step allows (opened,
    investigated and notified a week ago on core's clock, so that the waiting period is over
    today), each holding the evidence file the investigate body names (the evidence
    operations use the opened case); a 行政复议 filed against a decided case, for its
    outcome."""
    registry = Path(site.roles["core"].log).parent / "fuzz-officers.yaml"
    registry.write_text(sample_registry_text(), encoding="utf-8")
    done = site.cli("enforcement", "officers", "import", str(registry), "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    for who, username, role, bound in (
            ("officer", "fuzz.officer", "officer", ["--certificate", ENF_OFFICER]),
            ("legal", "fuzz.legal", "legal_reviewer", []),
            ("approver", "fuzz.approver", "approver", [])):
        pw_file = Path(site.roles["core"].log).parent / f"{username}.pw"
        made = site.cli("accounts", "add", username, "--role", role, "--department", ENF_DEPT,
                        *bound, "--password-file", str(pw_file))
        assert made.returncode == 0, made.stderr + made.stdout
        site.passwords[username] = pw_file.read_text().strip()
        known.enforcement_tokens[who] = site.token(username)
    clients = {who: httpx.Client(base_url=site.core, timeout=30, headers={
        "Authorization": f"Bearer {token}"}) for who, token in known.enforcement_tokens.items()}

    def take(case_id: str, step: str) -> dict[str, Any]:
        taken = clients[ENF_ACTOR.get(step, "officer")].post(
            f"/api/v1/enforcement/cases/{case_id}/{step}", json=ENF_BODIES[step])
        assert taken.status_code == 200, taken.text
        return dict(taken.json())

    steps = list(ENF_BODIES)
    before_waiting = steps[:steps.index("decide")]
    site.shift_clock(-WAITING)
    try:
        for n, step in enumerate(steps):
            opened = clients["officer"].post("/api/v1/enforcement/cases", json=ENF_OPEN)
            assert opened.status_code == 201, opened.text
            known.enforcement[step] = opened.json()["id"]
            uploaded = clients["officer"].post(
                f"/api/v1/enforcement/cases/{known.enforcement[step]}/evidence",
                data=ENF_EVIDENCE, files={"file": ("record.pdf", PDF, "application/pdf")})
            assert uploaded.status_code == 201, uploaded.text
            for earlier in steps[:n][:len(before_waiting)]:
                take(known.enforcement[step], earlier)
    finally:
        site.shift_clock(0)
    for n, step in enumerate(steps):
        for later in steps[len(before_waiting):n]:
            last = take(known.enforcement[step], later)
    known.enforcement["get"] = known.enforcement[steps[0]]
    decided = known.enforcement["serve"]  # its decision document, its challenges
    known.enforcement["decision.pdf"] = known.enforcement["challenges"] = decided
    known.today = next(r for r in last["records"] if r["step"] == "execute")["on"]
    filed = clients["legal"].post(f"/api/v1/enforcement/cases/{decided}/challenges", json={
        "kind": "reconsideration", "filed_on": known.today, "body": "fuzz"})
    assert filed.status_code == 201, filed.text
    known.challenge_id = filed.json()["id"]


def _supervision(site: Site, known: Known) -> None:
    """督办 orders for the answer, accept and return operations (the last two answered), and
    a random inspection draw of the closed case's department and month."""
    staff = httpx.Client(base_url=site.core, headers={"Authorization": f"Bearer {known.token}"})
    for suffix in ("answer", "accept", "return"):
        order = staff.post("/api/v1/supervision/orders", json={
            "department": "320703-SCJGJ", "text": f"fuzz {suffix}"})
        order.raise_for_status()
        known.orders[suffix] = order.json()["id"]
        if suffix != "answer":
            staff.post(f"/api/v1/supervision/orders/{known.orders[suffix]}/answer",
                       json={"text": "fuzz"}).raise_for_status()
    closed = staff.get("/api/v1/cases", params={"receipt": known.closed_receipt}).json()
    closed_at = datetime.fromisoformat(closed["history"][-1]["at"])
    known.month = closed_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    draw = staff.post("/api/v1/supervision/inspections", json={
        "department": "320703-SCJGJ", "month": known.month, "share": 1.0})
    draw.raise_for_status()
    known.draw_id = draw.json()["id"]


def test_portal_api_fuzz(site: Site, known: Known) -> None:
    share = _report("portal", _fuzz(site.portal, known, _seed_application, lambda c, k: {}))
    assert share >= MIN_2XX_SHARE


def test_core_api_fuzz(site: Site, known: Known) -> None:
    share = _report("core", _fuzz(site.core, known, _seed_core, _auth))
    assert share >= MIN_2XX_SHARE


def test_gateway_api_fuzz(site: Site, known: Known) -> None:
    share = _report("gateway", _fuzz(site.roles["gateway"].url, known, _seed_core,
                                     lambda c, k: {}))
    assert share >= MIN_2XX_SHARE
