"""督办 across the tiers on real RabbitMQ ×3 and PostgreSQL: 320000 → 320700 → 320703.

The session's chain (conftest.py `tiers`, shared with the other test_exchange* modules), with
a supervisor (监察室) account this module creates at each tier. Proves: at the county, an
order to a department is answered, returned, answered again and accepted; a province order
to a county case is answered there, returned and accepted at the province, and both reviews
travel down to the county (the city only forwards); orders addressed to the county and left
unanswered past their due date (the county's clock moved ahead) escalate once to the city —
an order of the county's own, one of the province's, one of the city's — and the city's
supervisors see each with the county, department, receipt, text and due date, while the
province does not (one hop). Every step is audited where it happens. Receipts are
``320703-20261203-`` plus a serial from a fresh UUID, so they cannot collide with other
modules'.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from exchange_sites import Tier
from platform_site import wait_for

DEPT = "320703-SCJGJ"
SUPERVISOR = "orders.sup"
DAY = 86400


def new_receipt() -> str:
    return f"320703-20261203-{uuid.uuid4().int % 1_000_000:06d}"


@pytest.fixture(scope="module")
def chain(tiers: dict[str, Tier], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Tier]:
    """The tiers, each with a supervisor account."""
    folder = Path(tmp_path_factory.mktemp("orders"))
    for code, tier in tiers.items():
        pw_file = folder / f"{code}.pw"
        made = tier.cli("accounts", "add", SUPERVISOR, "--role", "supervisor", "--covers",
                        "all", "--name", "监察室", "--password-file", str(pw_file))
        assert made.returncode == 0, made.stderr + made.stdout
        tier.passwords[SUPERVISOR] = pw_file.read_text().strip()
    return tiers


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _order(client: httpx.Client, order_id: str, **params: str) -> dict[str, Any] | None:
    """The order as ``client`` sees it in its list (with ``params`` as filters), or None."""
    response = client.get("/api/v1/supervision/orders", params={"limit": "500", **params})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return next((o for o in rows if o["id"] == order_id), None)


def _audit(tier: Tier, order_id: str) -> list[tuple[str, str]]:
    return [(actor, action) for actor, action in tier.sql(
        "SELECT actor, action FROM audit_log WHERE entity = 'supervision' AND entity_id = %s "
        "ORDER BY seq", order_id)]


def test_county_department_order_answer_return_answer_accept(chain: dict[str, Tier]) -> None:
    county = chain["320703"]
    sup, approver = county.staff(SUPERVISOR), county.staff("approver")
    receipt = new_receipt()
    county.submit(receipt)
    order = _ok(sup.post("/api/v1/supervision/orders", json={
        "receipt": receipt, "text": "请说明该件办理进度。", "due_days": 2}), 201)
    oid = order["id"]
    assert (order["target"], order["department"]) == ("320703", DEPT)
    _ok(approver.post(f"/api/v1/supervision/orders/{oid}/answer", json={"text": "审查中。"}))
    _ok(sup.post(f"/api/v1/supervision/orders/{oid}/return",
                 json={"reason": "请说明预计办结日期。"}))
    _ok(approver.post(f"/api/v1/supervision/orders/{oid}/answer",
                      json={"text": "预计 12 月 4 日办结。"}))
    done = _ok(sup.post(f"/api/v1/supervision/orders/{oid}/accept", json={}))
    assert (done["status"], done["returns"]) == ("accepted", 1)
    assert [a for _, a in _audit(county, oid)] == ["issue", "answer", "return", "answer", "accept"]
    # An order of the county's own never leaves it.
    assert county.sql("SELECT count(*) FROM exchange_outbox WHERE envelope->'data'->>'order_id'"
                      " = %s", oid) == [(0,)]


def test_province_order_to_a_county_case_closes_the_loop_across_tiers(
        chain: dict[str, Tier]) -> None:
    county, city, province = chain["320703"], chain["320700"], chain["320000"]
    receipt = new_receipt()
    county.submit(receipt)
    psup = province.staff(SUPERVISOR)
    wait_for(lambda: _ok(psup.get("/api/v1/subordinates/320703/cases",
                                  params={"receipt": receipt})), what=f"{receipt} at 320000")
    # The province's approver may not issue; a receipt of another site is refused.
    refused = province.staff("approver").post("/api/v1/supervision/orders", json={
        "target": "320703", "receipt": receipt, "text": "请说明。"})
    assert refused.status_code == 403 and "supervisor" in refused.json()["detail"]
    wrong = psup.post("/api/v1/supervision/orders", json={
        "target": "320703", "receipt": "320700-20261203-000001", "text": "请说明。"})
    assert wrong.status_code == 422 and wrong.json()["error"] == "receipt_not_at_target"
    issued = _ok(psup.post("/api/v1/supervision/orders", json={
        "target": "320703", "receipt": receipt, "text": "请说明该件为何未在承诺时限内受理。",
        "due_days": 3}), 201)
    oid = issued["id"]
    assert issued["department"] == DEPT  # from the province's view of the county's case
    approver = county.staff("approver")
    order = wait_for(lambda: _order(approver, oid), what="the order at the county")
    assert (order["issuer"], order["department"], order["due_on"]) == (
        "320000", DEPT, issued["due_on"])
    _ok(approver.post(f"/api/v1/supervision/orders/{oid}/answer",
                      json={"text": "系统故障导致延迟，已恢复。"}))
    wait_for(lambda: _order(psup, oid, status="answered"), what="the answer at the province")
    returned = _ok(psup.post(f"/api/v1/supervision/orders/{oid}/return",
                             json={"reason": "请说明故障时段及补救措施。"}))
    assert returned["status"] == "open"
    back = wait_for(lambda: (o := _order(approver, oid)) and o["returns"] == 1 and o,
                    what="the return at the county")
    assert back["status"] == "open" and back["review_note"] == "请说明故障时段及补救措施。"
    _ok(approver.post(f"/api/v1/supervision/orders/{oid}/answer",
                      json={"text": "故障时段 12 月 1 日 9:00–11:00，已逐件电话告知申请人。"}))
    wait_for(lambda: _order(psup, oid, status="answered"), what="the second answer")
    _ok(psup.post(f"/api/v1/supervision/orders/{oid}/accept", json={"note": "同意。"}))
    closed = wait_for(lambda: _order(approver, oid, status="accepted"),
                      what="the acceptance at the county")
    assert [s["action"] for s in closed["history"]] == [
        "issue", "answer", "return", "answer", "accept"]
    assert [a for _, a in _audit(county, oid)] == [
        "receive", "answer", "returned", "answer", "accepted"]
    assert [a for _, a in _audit(province, oid)] == [
        "issue", "answered", "return", "answered", "accept"]
    assert city.sql("SELECT count(*) FROM supervision_orders WHERE id = %s", oid) == [(0,)]


@pytest.fixture
def county_clock_back(chain: dict[str, Tier]) -> Iterator[None]:
    yield
    chain["320703"].shift_clock(0)


def test_unanswered_county_orders_escalate_once_to_the_city(chain: dict[str, Tier],
                                                           county_clock_back: None) -> None:
    county, city, province = chain["320703"], chain["320700"], chain["320000"]
    receipt = new_receipt()
    county.submit(receipt)
    wait_for(lambda: _ok(province.staff(SUPERVISOR).get(
        "/api/v1/subordinates/320703/cases", params={"receipt": receipt})),
        what=f"{receipt} at 320000")
    text = {"320703": "请一个工作日内说明该件进度（县监察室）。",
            "320700": "请一个工作日内说明该件进度（市监察室）。",
            "320000": "请一个工作日内说明该件进度（省监察室）。"}
    ids = {}
    for code, body in (("320703", {"receipt": receipt}),
                       ("320700", {"target": "320703", "receipt": receipt}),
                       ("320000", {"target": "320703", "receipt": receipt})):
        ids[code] = _ok(chain[code].staff(SUPERVISOR).post("/api/v1/supervision/orders", json={
            **body, "text": text[code], "due_days": 1}), 201)
    approver, admin = county.staff("approver"), county.staff("admin")
    wait_for(lambda: all(_order(approver, o["id"]) for o in ids.values()),
             what="the three orders at the county")
    county.shift_clock(5 * DAY)  # past the due dates, on the county's clock only

    def escalated_here() -> bool:
        admin.post("/api/v1/supervision/orders/escalate").raise_for_status()  # or the tick
        return all((o := _order(approver, i["id"])) and o["escalated_to"] == "320700"
                   for i in ids.values())

    wait_for(escalated_here, what="the county to escalate its three overdue orders")
    assert _ok(admin.post("/api/v1/supervision/orders/escalate"))["escalated"] == 0
    csup = city.staff(SUPERVISOR)
    for code, issued in ids.items():
        seen = wait_for(lambda i=issued: _order(csup, i["id"], escalated="true"),
                        what=f"the order of {code} escalated at the city")
        assert seen["escalated_from"] == "320703" and seen["target"] == "320703"
        assert (seen["issuer"], seen["department"], seen["receipt"], seen["text"],
                seen["due_on"]) == (code, DEPT, receipt, text[code], issued["due_on"])
        assert seen["status"] == "open" and seen["history"][-1]["action"] == "escalate"
        assert _audit(county, issued["id"])[-1] == ("system", "escalate")
        assert _audit(city, issued["id"])[-1] == ("site:320703", "escalated")
        # One hop: the province keeps only what it issued itself, unescalated.
        at_province = province.sql("SELECT escalated_from FROM supervision_orders "
                                   "WHERE id = %s", issued["id"])
        assert at_province == ([(None,)] if code == "320000" else [])
    # The city's own order is the city's copy, marked; the others are new copies there.
    assert city.sql("SELECT count(*) FROM supervision_orders WHERE id = ANY(%s)",
                    [uuid.UUID(i["id"]) for i in ids.values()]) == [(3,)]
    # The city's approvers do not see escalations (they are for its supervisors).
    approver_view = _ok(city.staff("approver").get("/api/v1/supervision/orders",
                                                   params={"escalated": "true"}))
    assert not {o["id"] for o in approver_view} & {i["id"] for i in ids.values()}
