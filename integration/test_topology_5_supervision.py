"""Topology suite, part 5 (e-supervision, 电子监察): lights, 督办 and escalation across tiers.

A county case turns yellow (预警) and then red (报警) as the county core's clock is moved
forward; the red reaches the province within 5 s, with its site and department; the red
rule's automatic 督办 reaches the county department, whose approver answers and whose
supervisor (监察室) accepts the answer; an order the department leaves unanswered escalates
to the city once its due date has passed; a supervisor cannot act on a case.

The county core's clock is moved with its drill offset file (``runtime/clock.py``:
``/etc/sunlight/clock-offset``, written as root over SSH), and the tick is run at once with
``sunlight supervision tick`` on the core host — the periodic tick does the same within its
interval. The offset is removed at the end, so later modules see the real clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sunlight.control.stack.scenario import DEPARTMENT, apply_at_portal
from topology_suite import CITY, COUNTY, PROVINCE, SiteClock, Topology, wait_until

CHINA = ZoneInfo("Asia/Shanghai")
RED_AT_PROVINCE_S = 5.0  # the bound: every red of the province within 5 s


@pytest.fixture(scope="module")
def clock(topology: Topology) -> Iterator[SiteClock]:
    county = SiteClock(topology.site(COUNTY))
    try:
        yield county
    finally:
        county.reset()
        county.tick()  # lights as the real clock has them


@pytest.fixture(scope="module")
def case(topology: Topology) -> dict[str, Any]:
    """A fresh county case, as the county's clerk sees it."""
    receipt, _secret = apply_at_portal(topology.site(COUNTY), topology.rng)
    clerk = topology.staff(COUNTY, "clerk")
    found = wait_until(lambda: (r := clerk.get("/api/v1/cases", params={"receipt": receipt}))
                       .status_code == 200 and r.json(), 60)
    assert found, f"{receipt} never reached the county's core"
    return dict(found)


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA)


def _light(topology: Topology, case: dict[str, Any]) -> dict[str, Any]:
    lights = topology.staff(COUNTY, "supervisor").get(f"/api/v1/cases/{case['id']}/lights")
    assert lights.status_code == 200, lights.text
    return dict(lights.json())


def _orders(client: Any, **params: str) -> list[dict[str, Any]]:
    found = client.get("/api/v1/supervision/orders", params=params)
    assert found.status_code == 200, found.text
    return list(found.json())


def test_a_supervisor_cannot_act_on_a_case(topology: Topology, case: dict[str, Any]) -> None:
    supervisor = topology.staff(COUNTY, "supervisor")
    refused = supervisor.post(f"/api/v1/cases/{case['id']}/actions", json={"action": "accept"})
    assert refused.status_code == 403, refused.text
    board = supervisor.get("/api/v1/supervision/board")
    assert board.status_code == 200, board.text
    topology.scenarios.append(("supervision: a supervisor cannot act on a case", "pass"))


def test_yellow_then_red_and_the_red_reaches_the_province(
        topology: Topology, clock: SiteClock, case: dict[str, Any],
        report: Callable[[str, str], None]) -> None:
    due = date.fromisoformat(case["due_on"])
    clock.set(_at(due))  # the last day of the promised limit: 预警
    clock.tick()
    yellow = _light(topology, case)
    assert yellow["light"] == "yellow", yellow
    assert "TIME-WARN" in yellow["rule_ids"]

    clock.set(_at(due + timedelta(days=7)))  # well past it: 报警
    clock.tick()
    ticked = time.monotonic()
    red = _light(topology, case)
    assert red["light"] == "red" and "TIME-OVERDUE" in red["rule_ids"], red
    assert [h["to_light"] for h in red["history"]][-2:] == ["yellow", "red"]

    province = topology.admin(PROVINCE)

    def at_province() -> list[dict[str, Any]]:
        rows = province.get("/api/v1/subordinates/lights", params={"light": "red"})
        assert rows.status_code == 200, rows.text
        return [r for r in rows.json() if r["receipt"] == case["receipt"]]

    seen = wait_until(at_province, 30, interval=0.1)
    latency = time.monotonic() - ticked
    assert seen, f"the red of {case['receipt']} never reached the province"
    assert (seen[0]["site"], seen[0]["department"]) == (COUNTY, case["department"])
    topology.record("county red → province", latency)
    report("e-supervision: a county red at the province",
           f"{latency:.2f} s after the county's tick (bound {RED_AT_PROVINCE_S:g} s)")
    assert latency <= RED_AT_PROVINCE_S, f"{latency:.1f} s"
    topology.scenarios.append(("supervision: county case yellow → red, red at the province",
                               "pass"))


def test_the_automatic_order_is_answered_and_accepted(topology: Topology,
                                                      case: dict[str, Any]) -> None:
    approver, supervisor = topology.staff(COUNTY, "approver"), topology.staff(COUNTY, "supervisor")
    auto = [o for o in _orders(supervisor) if o["receipt"] == case["receipt"]
            and o["rule_id"] == "TIME-OVERDUE"]
    assert len(auto) == 1, auto  # one per case and rule, however many ticks
    order = auto[0]
    assert (order["target"], order["department"], order["status"]) == (
        COUNTY, case["department"], "open")
    answered = approver.post(f"/api/v1/supervision/orders/{order['id']}/answer",
                             json={"text": "已补办审查，当日办结。"})
    assert answered.status_code == 200, answered.text
    accepted = supervisor.post(f"/api/v1/supervision/orders/{order['id']}/accept",
                               json={"note": "同意"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    topology.scenarios.append(("supervision: automatic 督办 answered and accepted", "pass"))


def test_an_unanswered_order_escalates_to_the_city(topology: Topology, clock: SiteClock,
                                                   case: dict[str, Any]) -> None:
    supervisor = topology.staff(COUNTY, "supervisor")
    issued = supervisor.post("/api/v1/supervision/orders", json={
        "department": DEPARTMENT, "receipt": case["receipt"], "due_days": 2,
        "text": "请于两个工作日内说明该件超期原因。"})
    assert issued.status_code == 201, issued.text
    order = issued.json()
    clock.set(_at(date.fromisoformat(order["due_on"]) + timedelta(days=5)))
    clock.tick()
    here = [o for o in _orders(supervisor) if o["id"] == order["id"]]
    assert here and here[0]["escalated_to"] == CITY, here
    city = topology.admin(CITY)
    there = wait_until(lambda: [o for o in _orders(city) if o["id"] == order["id"]], 30)
    assert there, "the escalated order did not reach the city"
    assert there[0]["escalated_from"] == COUNTY and there[0]["receipt"] == case["receipt"]
    topology.scenarios.append(("supervision: unanswered 督办 escalates county → city", "pass"))
