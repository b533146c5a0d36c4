"""E-supervision lights (电子监察亮灯) at one site on real PostgreSQL.

Runs against the session's one-site platform (320703; real `sunlight serve` processes;
conftest.py `platform`; core's tick every 2 s). Proves: a rule file with problems is refused
as a whole, each problem named by rule and line, and the rules in force stay unchanged; a
case goes green → yellow → red as core's clock moves ahead (no sleeping), each change in the
case's light history and the audit chain with its rule ids, the overdue mark on the same
clock, the gauges on /metrics; a supervisor (监察室) sees the board and the lists but cannot
act on a case nor hold a handling role; the board's counts agree with the database;
separation of duties (岗位分离) refuses a decision by the person who accepted the case, or
lights it red under ``policy: light``. The clock and the rules are put back afterwards (the
site is shared).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest

from platform_site import ANNUAL_REPORT, Site, apply_annual_report, wait_for
from sunlight.supervision.conditions import SamePersonAcceptsAndDecides, TimeUsed
from sunlight.supervision.rules import RuleSet, default_rules, dump_rules, load_rules
from sunlight.workflow.deadlines import remaining_working_days
from sunlight.workflow.identity import generate_credit_code

DEPT = "320703-SCJGJ"
SUPERVISOR = "lights.qian"
BOTH = "lights.both"  # clerk, reviewer and approver at once: separation of duties
CHINA = ZoneInfo("Asia/Shanghai")
DAY = 86400
RULES = "/api/v1/admin/supervision/rules"
YAML = {"Content-Type": "application/yaml"}


def _add_account(site: Site, username: str, *args: str) -> None:
    pw_file = Path(site.roles["core"].log).parent / f"{username}.pw"
    made = site.cli("accounts", "add", username, *args, "--password-file", str(pw_file))
    assert made.returncode == 0, made.stderr + made.stdout
    site.passwords[username] = pw_file.read_text().strip()


@pytest.fixture(scope="module")
def site(platform: Site) -> Iterator[Site]:
    """The session's platform with this module's accounts; the clock and the rules in force
    are put back at the end."""
    _add_account(platform, SUPERVISOR, "--role", "supervisor", "--covers", "all",
                 "--name", "钱监察")
    _add_account(platform, BOTH, "--role", "clerk", "--role", "reviewer", "--role",
                 "approver", "--department", DEPT)
    admin = _client(platform, "admin")
    before = admin.get(RULES)
    assert before.status_code == 200, before.text
    try:
        yield platform
    finally:
        platform.shift_clock(0)
        current = load_rules(admin.get(RULES).text, "in force")
        original = load_rules(before.text, "before")
        if current != original.model_copy(update={"version": current.version}):
            _import(admin, _with_version(original, current.version + 1))


def _client(site: Site, username: str) -> httpx.Client:
    return httpx.Client(base_url=site.core, timeout=30,
                        headers={"Authorization": f"Bearer {site.token(username)}"})


@pytest.fixture(scope="module")
def admin(site: Site) -> httpx.Client:
    return _client(site, "admin")


@pytest.fixture(scope="module")
def sup(site: Site) -> httpx.Client:
    return _client(site, SUPERVISOR)


@pytest.fixture(scope="module")
def staff(site: Site) -> dict[str, httpx.Client]:
    return {u: _client(site, u) for u in ("clerk", "reviewer", "approver", BOTH)}


def _with_version(rules: RuleSet, version: int, **changes: Any) -> str:
    """The rule file of ``rules`` at ``version``, with rules replaced by id (``changes``)."""
    replaced = tuple(r.model_copy(update=changes[r.id]) if r.id in changes else r
                     for r in rules.rules)
    return dump_rules(rules.model_copy(update={"version": version, "rules": replaced}))


def _in_force(admin: httpx.Client) -> RuleSet:
    exported = admin.get(RULES)
    assert exported.status_code == 200, exported.text
    return load_rules(exported.text, "in force")


def _import(admin: httpx.Client, text: str) -> dict[str, Any]:
    done = admin.post(RULES, content=text.encode(), headers=YAML)
    assert done.status_code == 200, done.text
    body: dict[str, Any] = done.json()
    return body


def _new_case(site: Site, clerk: httpx.Client, rng: random.Random) -> dict[str, Any]:
    receipt, _ = apply_annual_report(site.portal, generate_credit_code(rng))
    case: dict[str, Any] = wait_for(
        lambda: (r := clerk.get("/api/v1/cases", params={"receipt": receipt})).status_code
        == 200 and r.json(), what=f"case {receipt} in core")
    return case


def _lights(client: httpx.Client, case_id: str) -> dict[str, Any]:
    shown = client.get(f"/api/v1/cases/{case_id}/lights")
    assert shown.status_code == 200, shown.text
    body: dict[str, Any] = shown.json()
    return body


def _act(client: httpx.Client, case_id: str, action: str) -> httpx.Response:
    return client.post(f"/api/v1/cases/{case_id}/actions", json={"action": action})


def _core_sql(site: Site, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(site.core_db_url.replace("+psycopg", "")) as conn:
        return list(conn.execute(query, params).fetchall())


def _days_until(today: date, due: date, remaining: int) -> int:
    """Calendar days from ``today`` to the first day with ``remaining`` working days left
    (or fewer) before ``due`` — working days count holidays and 调休, so search."""
    for days in range(0, 60):
        if remaining_working_days(due, today + timedelta(days=days)) <= remaining:
            return days
    raise AssertionError(f"no day with {remaining} working days left before {due}")


BAD_RULES = """\
site: '320703'
version: 99
rules:
- id: TIME-WARN
  light: yellow
  condition: {kind: time_used, remaining_days: 400}
  text: 时限预警
- id: FAST
  light: yellow
  condition: {kind: teleport, minutes: 3}
  text: 过快
"""
#: A file that loads, but names an item code this site's catalogue does not have.
BAD_SCOPE = """\
site: '320703'
version: 99
rules:
- id: SCOPED
  light: red
  condition: {kind: off_flow}
  text: 越权办理
  scope:
    items: [320703-XXXX-XK-999]
"""


def test_a_bad_rule_file_is_refused_as_a_whole_naming_rule_field_and_line(
        site: Site, admin: httpx.Client, tmp_path: Path) -> None:
    before = admin.get(RULES).text
    refused = admin.post(RULES, content=BAD_RULES.encode(), headers=YAML)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"] == "rules_invalid"
    detail = body["detail"]
    assert "rules[0].condition.remaining_days (line 6), rule TIME-WARN" in detail
    assert "rules[1].condition.kind (line 10), rule FAST" in detail and "teleport" in detail
    scoped = admin.post(RULES, content=BAD_SCOPE.encode(), headers=YAML)
    assert scoped.status_code == 422, scoped.text
    assert "rules[0].scope.items[0] (line 9), rule SCOPED" in scoped.json()["detail"]
    assert "320703-XXXX-XK-999" in scoped.json()["detail"]
    assert admin.get(RULES).text == before  # nothing changed
    # The same files through the CLI: `check` needs no database, `import` refuses them too.
    bad, unknown = tmp_path / "bad.yaml", tmp_path / "scope.yaml"
    bad.write_text(BAD_RULES, encoding="utf-8")
    unknown.write_text(BAD_SCOPE, encoding="utf-8")
    checked = site.cli("supervision", "rules", "check", str(unknown), "--sample-catalogue")
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert "(line 9), rule SCOPED" in checked.stderr and "nothing was changed" in checked.stderr
    imported = site.cli("supervision", "rules", "import", str(bad))
    assert imported.returncode == 2 and "(line 6), rule TIME-WARN" in imported.stderr
    assert "(line 10), rule FAST" in imported.stderr
    assert admin.get(RULES).text == before
    # Another site's file, an older version: refused, naming the field.
    rules = _in_force(admin)
    other = _with_version(rules.model_copy(update={"site": "320700"}), rules.version + 1)
    wrong = admin.post(RULES, content=other.encode(), headers=YAML)
    assert wrong.status_code == 422 and wrong.json()["field"] == "site", wrong.text
    # Export → import → export gives the same bytes; the same text twice changes nothing.
    out = tmp_path / "in-force.yaml"
    assert site.cli("supervision", "rules", "export", "--out", str(out)).returncode == 0
    assert out.read_text(encoding="utf-8") == before


def test_a_case_goes_yellow_then_red_as_the_clock_moves(
        site: Site, admin: httpx.Client, staff: dict[str, httpx.Client]) -> None:
    rules = _in_force(admin)
    # Warn one working day before the due date (the defaults warn at two: the sample
    # journey's promised limit, so its cases would be yellow at once).
    _import(admin, _with_version(rules, rules.version + 1, **{
        "TIME-WARN": {"condition": TimeUsed(remaining_days=1)}}))
    clerk = staff["clerk"]
    case = _new_case(site, clerk, random.Random(401))
    case_id, receipt = str(case["id"]), case["receipt"]
    due, today = date.fromisoformat(case["due_on"]), datetime.now(CHINA).date()
    assert _lights(clerk, case_id)["light"] == "none"
    try:
        site.shift_clock(_days_until(today, due, 1) * DAY)
        yellow = wait_for(lambda: (s := _lights(clerk, case_id))["light"] == "yellow" and s,
                          what="the case to turn yellow on the moved clock")
        assert yellow["rule_ids"] == ["TIME-WARN"]
        assert "剩余 1 个工作日" in yellow["hits"][0]["detail"]
        site.shift_clock(((due - today).days + 1) * DAY)
        red = wait_for(lambda: (s := _lights(clerk, case_id))["light"] == "red" and s,
                       what="the case to turn red once overdue")
        assert "TIME-OVERDUE" in red["rule_ids"]
        assert {h["rule_id"]: h["text"] for h in red["hits"]}["TIME-OVERDUE"] == (
            "已超过承诺办结时限仍未办结。")
        # The overdue mark runs on the same clock.
        assert wait_for(lambda: clerk.get(f"/api/v1/cases/{case_id}").json()["overdue"])
        metrics = httpx.get(f"{site.core}/metrics").text
        assert f'sunlight_clock_offset_seconds {float((due - today).days + 1) * DAY}' in metrics
        red_gauge = wait_for(lambda: re.search(
            r'sunlight_open_cases\{department="320703-SCJGJ",light="red"\} ([0-9.]+)',
            httpx.get(f"{site.core}/metrics").text), what="the red gauge")
        assert float(red_gauge.group(1)) >= 1
    finally:
        site.shift_clock(0)
    history = _lights(clerk, case_id)["history"]
    # Time alone turned it yellow; the overdue mark (same tick, same clock) turned it red.
    assert [(h["from_light"], h["to_light"], h["trigger"]) for h in history[:2]] == [
        ("none", "yellow", "tick"), ("yellow", "red", "overdue")]
    assert history[1]["rule_ids"] == red["rule_ids"]
    audited = _core_sql(site, "SELECT from_state, to_state, comment FROM audit_log WHERE "
                        "entity = 'case' AND entity_id = %s AND action = 'light' ORDER BY seq",
                        receipt)
    assert [(a, b) for a, b, _ in audited[:2]] == [("none", "yellow"), ("yellow", "red")]
    assert "TIME-WARN" in audited[0][2] and "TIME-OVERDUE" in audited[1][2]
    assert site.cli("audit", "verify").returncode == 0


def test_a_supervisor_watches_and_cannot_act_nor_handle(
        site: Site, admin: httpx.Client, sup: httpx.Client,
        staff: dict[str, httpx.Client]) -> None:
    case = _new_case(site, staff["clerk"], random.Random(402))
    case_id = str(case["id"])
    refused = _act(sup, case_id, "accept")
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "supervisor_cannot_act"
    assert "监察室" in refused.json()["detail"] and "cannot act" in refused.json()["detail"]
    assert sup.get(f"/api/v1/cases/{case_id}").status_code == 200  # may read it
    assert _lights(sup, case_id)["receipt"] == case["receipt"]
    assert staff["clerk"].get("/api/v1/supervision/board").status_code == 403
    # A supervisor cannot also be a clerk: refused by the CLI and by the API.
    cli = site.cli("accounts", "add", "lights.mixed", "--role", "supervisor", "--role", "clerk",
                   "--department", DEPT)
    assert cli.returncode == 2 and "supervisor cannot be held with clerk" in cli.stderr
    api = admin.post("/api/v1/admin/accounts", json={
        "username": "lights.mixed", "roles": ["supervisor", "approver"], "department": DEPT})
    assert api.status_code == 422 and api.json()["field"] == "roles", api.text
    assert "岗位分离" in api.json()["detail"]
    # A supervisor says what it watches: departments, or the whole site, explicitly.
    vague = admin.post("/api/v1/admin/accounts", json={"username": "lights.sun",
                                                       "roles": ["supervisor"]})
    assert vague.status_code == 422 and vague.json()["field"] == "covers", vague.text
    made = admin.post("/api/v1/admin/accounts", json={"username": "lights.sun",
                                                      "roles": ["supervisor"],
                                                      "covers": ["all"]})
    assert made.status_code == 201 and made.json()["password"], made.text
    assert made.json()["covers"] == ["all"]


def test_the_board_counts_open_cases_by_light_department_and_item(
        site: Site, sup: httpx.Client, staff: dict[str, httpx.Client]) -> None:
    case = _new_case(site, staff["clerk"], random.Random(403))
    shown = wait_for(lambda: [c for c in sup.get("/api/v1/supervision/lights",
                                                 params={"department": DEPT,
                                                         "limit": 1000}).json()
                              if c["receipt"] == case["receipt"]])
    assert shown[0]["item_code"] == ANNUAL_REPORT and shown[0]["light"] in (
        "none", "yellow", "red")
    board = sup.get("/api/v1/supervision/board")
    assert board.status_code == 200, board.text
    doc = board.json()
    assert sum(doc["totals"].values()) == sum(c["count"] for c in doc["counts"])
    by_item: dict[tuple[str, str], int] = {}
    for c in doc["counts"]:
        by_item[(c["department"], c["item_code"])] = (
            by_item.get((c["department"], c["item_code"]), 0) + c["count"])
    in_db = {(d, i): n for d, i, n in _core_sql(
        site, "SELECT department, item_code, count(*) FROM cases WHERE status NOT IN "
        "('closed', 'refused') GROUP BY department, item_code")}
    assert by_item == in_db
    assert sup.get("/api/v1/supervision/lights", params={"light": "purple"}).status_code == 422


def test_separation_of_duties_refuses_or_lights_red(
        site: Site, admin: httpx.Client, staff: dict[str, httpx.Client]) -> None:
    both, approver = staff[BOTH], staff["approver"]
    rules = _in_force(admin)
    assert rules.rule("SAME-PERSON").condition == SamePersonAcceptsAndDecides(policy="refuse")
    case = _new_case(site, staff["clerk"], random.Random(404))
    case_id = str(case["id"])
    for action in ("accept", "approve_step"):
        assert _act(both, case_id, action).status_code == 200
    refused = _act(both, case_id, "grant")
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["error"] == "separation_of_duties"
    assert "岗位分离" in body["detail"] and "Separation of duties" in body["detail"]
    assert "SAME-PERSON" in body["detail"]
    assert _act(approver, case_id, "grant").status_code == 200  # another approver decides
    # Under policy: light the decision is allowed, and the case lights red.
    _import(admin, _with_version(rules, rules.version + 1, **{
        "SAME-PERSON": {"condition": SamePersonAcceptsAndDecides(policy="light")}}))
    lit = _new_case(site, staff["clerk"], random.Random(405))
    lit_id = str(lit["id"])
    for action in ("accept", "approve_step", "grant"):
        done = _act(both, lit_id, action)
        assert done.status_code == 200, done.text
    light = _lights(both, lit_id)
    assert light["light"] == "red" and "SAME-PERSON" in light["rule_ids"], light
    assert light["history"][-1]["trigger"] == "grant"
    text = default_rules("320703").rule("SAME-PERSON").text
    assert any(h["text"] == text for h in light["hits"])
