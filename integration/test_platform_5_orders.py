"""督办 that closes the loop, and random inspection (随机督查), at one site on real PostgreSQL.

Runs against the session's one-site platform (320703; real `sunlight serve` processes;
conftest.py `platform`), as a supervisor (监察室) account this module creates. Proves: an
order to a department of the site is answered, returned with a reason, answered again and
accepted, each step audited; bad orders are refused with a reason; an order past its due
date (core's clock moved ahead) escalates once towards the parent and a red light's rule
issues an automatic order; a random inspection draw is reproducible from its seed and its
findings are reported per department and month; the CLI does the same through the
database. The clock is put back at the end of each test that moves it (the site is shared).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest

from platform_site import Site, apply_annual_report, wait_for
from sunlight.workflow.identity import generate_credit_code

DEPT = "320703-SCJGJ"
SUPERVISOR = "orders.zhao"
CHINA = ZoneInfo("Asia/Shanghai")
DAY = 86400


@pytest.fixture(scope="module")
def site(platform: Site) -> Site:
    """The session's one-site platform (conftest.py), with a supervisor account."""
    pw_file = Path(platform.roles["core"].log).parent / f"{SUPERVISOR}.pw"
    made = platform.cli("accounts", "add", SUPERVISOR, "--role", "supervisor", "--covers", "all",
                        "--name", "赵监察", "--password-file", str(pw_file))
    assert made.returncode == 0, made.stderr + made.stdout
    platform.passwords[SUPERVISOR] = pw_file.read_text().strip()
    return platform


def _client(site: Site, username: str) -> httpx.Client:
    return httpx.Client(base_url=site.core, timeout=30,
                        headers={"Authorization": f"Bearer {site.token(username)}"})


@pytest.fixture(scope="module")
def sup(site: Site) -> httpx.Client:
    return _client(site, SUPERVISOR)


@pytest.fixture(scope="module")
def approver(site: Site) -> httpx.Client:
    return _client(site, "approver")


@pytest.fixture(scope="module")
def admin(site: Site) -> httpx.Client:
    return _client(site, "admin")


def _sql(site: Site, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(site.core_db_url.replace("+psycopg", "")) as conn:
        return list(conn.execute(query, params).fetchall())


def _audit(site: Site, order_id: str) -> list[tuple[str, str]]:
    return [(actor, action) for actor, action in _sql(
        site, "SELECT actor, action FROM audit_log WHERE entity = 'supervision' "
        "AND entity_id = %s ORDER BY seq", order_id)]


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _refused(response: httpx.Response, status: int, error: str) -> str:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text
    detail: str = response.json()["detail"]
    return detail


def _new_case(site: Site, seed: int) -> tuple[str, str]:
    """A fresh application through the portal; (receipt, core's case id)."""
    receipt, _secret = apply_annual_report(site.portal, generate_credit_code(random.Random(seed)))
    admin = _client(site, "admin")
    case = wait_for(lambda: (r := admin.get("/api/v1/cases", params={"receipt": receipt}))
                    .status_code == 200 and r.json(), what=f"case {receipt} at core")
    return receipt, str(case["id"])


@pytest.fixture
def clock_back(site: Site) -> Iterator[None]:
    yield
    site.shift_clock(0)


def test_department_order_answer_return_answer_accept(site: Site, sup: httpx.Client,
                                                      approver: httpx.Client) -> None:
    order = _ok(sup.post("/api/v1/supervision/orders", json={
        "department": DEPT, "text": "请说明本月年报公示件积压原因并提出整改措施。",
        "due_days": 5}), 201)
    oid = order["id"]
    assert (order["issuer"], order["target"], order["department"], order["receipt"]) == (
        "320703", "320703", DEPT, None)
    assert order["status"] == "open" and order["status_zh"] == "待答复"
    assert order["due_on"] > order["issued_at"][:10] and not order["overdue"]
    # The approver of the department sees it in its list and answers.
    mine = [o["id"] for o in _ok(approver.get("/api/v1/supervision/orders"))]
    assert oid in mine
    first = _ok(approver.post(f"/api/v1/supervision/orders/{oid}/answer",
                              json={"text": "人手不足，已调配两名窗口人员。"}))
    assert first["status"] == "answered" and first["answered_by"] == "approver"
    _refused(approver.post(f"/api/v1/supervision/orders/{oid}/answer", json={"text": "再答"}),
             409, "already_answered")
    # The supervisor returns it with a reason: open again, the department answers again.
    _refused(sup.post(f"/api/v1/supervision/orders/{oid}/return", json={"reason": ""}),
             422, "invalid_request")
    returned = _ok(sup.post(f"/api/v1/supervision/orders/{oid}/return",
                            json={"reason": "未说明整改完成时限，请补充。"}))
    assert (returned["status"], returned["returns"]) == ("open", 1)
    assert returned["review_note"] == "未说明整改完成时限，请补充。"
    _refused(sup.post(f"/api/v1/supervision/orders/{oid}/accept", json={}), 409, "not_answered")
    _ok(approver.post(f"/api/v1/supervision/orders/{oid}/answer",
                      json={"text": "12 月 10 日前清理完毕，每日通报进度。"}))
    accepted = _ok(sup.post(f"/api/v1/supervision/orders/{oid}/accept",
                            json={"note": "同意，请按期完成。"}))
    assert accepted["status"] == "accepted" and accepted["status_zh"] == "已办结"
    assert [s["action"] for s in accepted["history"]] == [
        "issue", "answer", "return", "answer", "accept"]
    _refused(approver.post(f"/api/v1/supervision/orders/{oid}/answer", json={"text": "x"}),
             409, "order_closed")
    assert _audit(site, oid) == [(SUPERVISOR, "issue"), ("approver", "answer"),
                                 (SUPERVISOR, "return"), ("approver", "answer"),
                                 (SUPERVISOR, "accept")]
    detail = _ok(sup.get(f"/api/v1/supervision/orders/{oid}"))
    assert detail["history"] == accepted["history"]
    verdict = _ok(_client(site, "admin").get("/api/v1/admin/audit/verify"))
    assert verdict["ok"], verdict


def test_an_order_about_a_case_goes_to_the_case_department(site: Site, sup: httpx.Client,
                                                           approver: httpx.Client) -> None:
    receipt, _case_id = _new_case(site, 501)
    order = _ok(sup.post("/api/v1/supervision/orders", json={
        "receipt": receipt, "text": "请说明该件受理情况。"}), 201)
    assert (order["department"], order["receipt"], order["target"]) == (DEPT, receipt, "320703")
    listed = _ok(approver.get("/api/v1/supervision/orders",
                              params={"status": "open", "department": DEPT}))
    assert order["id"] in [o["id"] for o in listed]


def test_bad_orders_are_refused_with_a_reason(site: Site, sup: httpx.Client,
                                              approver: httpx.Client) -> None:
    body = {"department": DEPT, "text": "请说明。"}
    reason = _refused(approver.post("/api/v1/supervision/orders", json=body), 403, "forbidden")
    assert "supervisor" in reason
    _refused(sup.post("/api/v1/supervision/orders", json={
        **body, "receipt": "320703-20261203-999999"}), 422, "unknown_receipt")
    for target in ("320700", "320000", "320706"):  # the parent, the province, a sibling
        detail = _refused(sup.post("/api/v1/supervision/orders",
                                   json={**body, "target": target,
                                         "receipt": f"{target}-20261203-000001"}),
                          422, "not_a_subordinate")
        assert target in detail
    _refused(sup.post("/api/v1/supervision/orders", json={**body, "department": "NO-SUCH"}),
             422, "unknown_department")
    _refused(sup.post("/api/v1/supervision/orders", json={"text": "请说明。"}), 422,
             "no_addressee")
    _refused(sup.post("/api/v1/supervision/orders", json={**body, "due_days": 0}), 422,
             "invalid_request")
    _refused(sup.post("/api/v1/supervision/orders", json={**body, "due_on": "2020-01-02"}),
             422, "invalid_due")
    # A supervisor does not answer; nobody reviews an order someone else issued.
    order = _ok(sup.post("/api/v1/supervision/orders", json=body), 201)
    _refused(sup.post(f"/api/v1/supervision/orders/{order['id']}/answer", json={"text": "x"}),
             403, "forbidden")
    _refused(approver.post(f"/api/v1/supervision/orders/{order['id']}/accept", json={}), 403,
             "forbidden")
    _refused(sup.post("/api/v1/supervision/orders/00000000-0000-4000-8000-000000000000/accept",
                      json={}), 404, "not_found")
    _refused(approver.post("/api/v1/supervision/orders/escalate"), 403, "forbidden")


def test_an_overdue_order_escalates_once_and_a_red_light_orders_by_itself(
        site: Site, sup: httpx.Client, approver: httpx.Client, admin: httpx.Client,
        clock_back: None) -> None:
    receipt, _case_id = _new_case(site, 502)
    late = _ok(sup.post("/api/v1/supervision/orders", json={
        "receipt": receipt, "text": "请于一个工作日内说明办理进度。", "due_days": 1}), 201)
    returned = _ok(sup.post("/api/v1/supervision/orders", json={
        "department": DEPT, "text": "请报送本月超期件清单。", "due_days": 1}), 201)
    _ok(approver.post(f"/api/v1/supervision/orders/{returned['id']}/answer",
                      json={"text": "无超期件。"}))
    _ok(sup.post(f"/api/v1/supervision/orders/{returned['id']}/return",
                 json={"reason": "与系统记录不符，请核实。"}))
    answered = _ok(sup.post("/api/v1/supervision/orders", json={
        "department": DEPT, "text": "请说明窗口排队情况。", "due_days": 1}), 201)
    _ok(approver.post(f"/api/v1/supervision/orders/{answered['id']}/answer",
                      json={"text": "已增开窗口。"}))
    site.shift_clock(7 * DAY)  # past every due date above (and the case's own)

    def escalated() -> dict[str, Any] | None:
        admin.post("/api/v1/supervision/orders/escalate").raise_for_status()  # or the tick
        found = {o["id"]: o for o in _ok(sup.get("/api/v1/supervision/orders",
                                                 params={"escalated": "true", "limit": 500}))}
        return found if {late["id"], returned["id"]} <= set(found) else None

    found = wait_for(escalated, what="the overdue orders to escalate")
    assert answered["id"] not in found  # answered: waits for review, not for the department
    for oid in (late["id"], returned["id"]):
        assert found[oid]["escalated_to"] == "320700" and found[oid]["overdue"]
        assert found[oid]["history"][-1]["action"] == "escalate"
        assert _audit(site, oid)[-1] == ("system", "escalate")
    assert _ok(admin.post("/api/v1/supervision/orders/escalate"))["escalated"] == 0
    sent = _sql(site, "SELECT envelope->'data'->>'order_id', envelope->>'destination', link "
                "FROM exchange_outbox WHERE type = 'sunlight.supervision.escalation'")
    mine = [row for row in sent if row[0] in (late["id"], returned["id"])]
    assert sorted(mine) == sorted((oid, "320700", "320700")
                                  for oid in (late["id"], returned["id"]))  # once each
    # The case ran past its promised limit: the red rule TIME-OVERDUE ordered by itself.
    auto = wait_for(lambda: [o for o in _ok(sup.get("/api/v1/supervision/orders",
                                                    params={"limit": 500}))
                             if o["receipt"] == receipt and o["rule_id"]],
                    what=f"an automatic order on {receipt}")
    assert [(o["rule_id"], o["issued_by"], o["department"]) for o in auto] == [
        ("TIME-OVERDUE", "system", DEPT)]
    assert auto[0]["text"].startswith("【自动督办】")


def _close(site: Site, case_id: str) -> None:
    for user, action in (("clerk", "accept"), ("reviewer", "approve_step"),
                         ("approver", "grant"), ("clerk", "close")):
        _ok(_client(site, user).post(f"/api/v1/cases/{case_id}/actions",
                                     json={"action": action}))


def _figures(sup: httpx.Client, month: str) -> dict[str, Any]:
    """The department's random inspection figures of ``month`` (all draws so far)."""
    response = sup.get("/api/v1/supervision/inspections/summary", params={"month": month})
    assert response.status_code == 200, response.text
    report: list[dict[str, Any]] = response.json()
    return next(f for f in report if f["department"] == DEPT)


def test_random_inspection_is_reproducible_and_reported(site: Site, sup: httpx.Client,
                                                        approver: httpx.Client) -> None:
    receipts = []
    for seed in (511, 512, 513):
        receipt, case_id = _new_case(site, seed)
        _close(site, case_id)
        receipts.append(receipt)
    closed_at = _ok(sup.get("/api/v1/cases", params={"receipt": receipts[-1]}))
    month = datetime.fromisoformat(closed_at["history"][-1]["at"]).astimezone(CHINA)
    month_text = month.strftime("%Y-%m")
    ask = {"department": DEPT, "month": month_text, "share": 1.0, "seed": 20261203}
    everything = _ok(sup.post("/api/v1/supervision/inspections", json=ask), 201)
    population = [s["receipt"] for s in everything["samples"]]
    assert set(receipts) <= set(population) and everything["population"] == len(population)
    first = _ok(sup.post("/api/v1/supervision/inspections",
                         json={**ask, "share": None, "size": 2}), 201)
    again = _ok(sup.post("/api/v1/supervision/inspections",
                         json={**ask, "share": None, "size": 2}), 201)
    assert [s["receipt"] for s in first["samples"]] == [s["receipt"] for s in again["samples"]]
    assert first["population_sha256"] == again["population_sha256"] == everything[
        "population_sha256"]
    assert first["seed"] == 20261203 and first["id"] != again["id"]
    drawn = _ok(sup.post("/api/v1/supervision/inspections",
                         json={"department": DEPT, "month": month_text, "size": 1}), 201)
    assert 0 <= drawn["seed"] < 2**63  # generated and recorded
    # Findings on the sampled cases (other modules may have reviewed cases of this month).
    before = _figures(sup, month_text)
    draw_id = everything["id"]
    url = f"/api/v1/supervision/inspections/{draw_id}/findings"
    problem = _ok(sup.put(f"{url}/{receipts[0]}", json={
        "result": "problem", "category": "offline", "text": "受理至决定仅用 1 分钟。"}))
    _ok(sup.put(f"{url}/{receipts[1]}", json={"result": "ok"}))
    by_receipt = {s["receipt"]: s for s in problem["samples"]}
    assert by_receipt[receipts[0]]["category_zh"] == "网下办理、网上登记"
    _refused(sup.put(f"{url}/{receipts[2]}", json={"result": "problem", "text": "x"}), 422,
             "invalid_category")
    _refused(sup.put(f"{url}/320703-20261203-999999", json={"result": "ok"}), 404, "not_found")
    _refused(approver.get("/api/v1/supervision/inspections"), 403, "forbidden")
    _refused(sup.post("/api/v1/supervision/inspections", json={**ask, "month": "2020-01"}),
             422, "empty_population")
    listed = _ok(sup.get("/api/v1/supervision/inspections",
                         params={"department": DEPT, "month": month_text}))
    assert {d["id"] for d in listed} >= {everything["id"], first["id"], again["id"]}
    figures = _figures(sup, month_text)
    assert figures["draws"] >= 4 and figures["closed"] >= 3
    assert figures["sampled"] == everything["population"]
    assert figures["reviewed"] == before["reviewed"] + 2
    assert figures["problems"] == before["problems"] + 1
    assert figures["categories"]["offline"] == before["categories"].get("offline", 0) + 1
    actions = [a for (a,) in _sql(site, "SELECT action FROM audit_log WHERE entity = "
                                  "'inspection' AND entity_id LIKE %s ORDER BY seq", f"{draw_id}%")]
    assert actions == ["draw", "review", "review"]


def _cli(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sunlight.cli.supervision_orders", *args],
                          env=site.roles["core"].env, capture_output=True, text=True,
                          check=False, timeout=120)


def test_the_cli_closes_the_loop_through_the_database(site: Site) -> None:
    issued = _cli(site, "orders", "issue", "--as", SUPERVISOR, "--department", DEPT,
                  "--text", "请说明窗口服务投诉处理情况。", "--json")
    assert issued.returncode == 0, issued.stderr
    oid = json.loads(issued.stdout)["id"]
    refused = _cli(site, "orders", "issue", "--as", "approver", "--department", DEPT,
                   "--text", "x")
    assert refused.returncode == 2 and "supervisor" in refused.stderr
    answered = _cli(site, "orders", "answer", oid, "--as", "approver", "--text", "已回访。")
    assert answered.returncode == 0, answered.stderr
    again = _cli(site, "orders", "answer", oid, "--as", "approver", "--text", "x")
    assert again.returncode == 1 and "等待督办单位审核" in again.stderr
    returned = _cli(site, "orders", "return", oid, "--as", SUPERVISOR, "--reason", "请附回访记录。")
    assert returned.returncode == 0, returned.stderr
    assert _cli(site, "orders", "answer", oid, "--as", "approver", "--text",
                "回访记录已上传。").returncode == 0
    accepted = _cli(site, "orders", "accept", oid, "--as", SUPERVISOR)
    assert accepted.returncode == 0, accepted.stderr
    listed = _cli(site, "orders", "list", "--as", SUPERVISOR, "--status", "accepted", "--json")
    assert listed.returncode == 0, listed.stderr
    order = next(o for o in json.loads(listed.stdout)["orders"] if o["id"] == oid)
    assert [s["action"] for s in order["history"]] == [
        "issue", "answer", "return", "answer", "accept"]
    assert _audit(site, oid) == [(SUPERVISOR, "issue"), ("approver", "answer"),
                                 (SUPERVISOR, "return"), ("approver", "answer"),
                                 (SUPERVISOR, "accept")]
    drawn = _cli(site, "inspection", "list", "--as", SUPERVISOR, "--department", DEPT, "--json")
    assert drawn.returncode == 0, drawn.stderr
    assert isinstance(json.loads(drawn.stdout)["draws"], list)
