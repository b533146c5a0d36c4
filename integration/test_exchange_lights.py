"""A county's e-supervision lights reach its city and province (session fixture ``tiers``).

The county's clock is moved past a case's due date and the case is moved on: it turns red
at the county, and the red — with its site, department and rules — is at the city and the
province within 5 s (``sunlight.case.light``, outside the per-case sequence). An older light
change arriving late is ignored. The clock is put back at once (the tiers are shared).
The province's rules, published as a baseline, reach the county, which may then only
tighten them (checked, not imported: the county keeps its rules for the other modules).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from exchange_sites import Tier, act
from platform_site import wait_for
from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.schemas import CASE_LIGHT
from sunlight.runtime.exchange.signing import seal
from sunlight.supervision.conditions import TooFast
from sunlight.supervision.rules import RuleSet, default_rules, dump_rules

CHINA = ZoneInfo("Asia/Shanghai")
DAY = 86400
PROPAGATION_S = 5.0


def _receipt() -> str:
    """A receipt no other module uses: date part 20261202, serial from a uuid."""
    return f"320703-20261202-{uuid.uuid4().int % 10**6:06d}"


def _light_at(tier: Tier, receipt: str) -> tuple[Any, ...] | None:
    rows = tier.sql("SELECT light, department, rule_ids, change FROM subordinate_lights "
                    "WHERE source = '320703' AND receipt = %s", receipt)
    return rows[0] if rows else None


def test_a_county_red_reaches_city_and_province_within_5_s(
        tiers: dict[str, Tier], report: Callable[[str, str], None]) -> None:
    county, city, province = tiers["320703"], tiers["320700"], tiers["320000"]
    receipt = _receipt()
    case_id = county.submit(receipt)
    (due,), = county.sql("SELECT due_on FROM cases WHERE id = %s", case_id)
    assert isinstance(due, date)
    today = datetime.now(CHINA).date()
    clerk = county.staff("clerk")
    county.shift_clock(max(1, (due - today).days + 2) * DAY)  # past the due date
    try:
        act(clerk, case_id, "accept")  # a transition re-evaluates at the county's clock
    finally:
        county.shift_clock(0)
    red_at = time.monotonic()
    lit = clerk.get(f"/api/v1/cases/{case_id}/lights").json()
    assert lit["light"] == "red" and "TIME-OVERDUE" in lit["rule_ids"], lit
    assert lit["history"][-1]["trigger"] == "accept"
    arrived = {}
    for tier in (city, province):
        seen = wait_for(lambda t=tier: (row := _light_at(t, receipt)) and row[0] == "red"
                        and row, timeout=PROPAGATION_S, interval=0.05,
                        what=f"the red of {receipt} at {tier.code}")
        arrived[tier.code] = time.monotonic() - red_at
        assert seen[1] == "320703-SCJGJ" and "TIME-OVERDUE" in seen[2]
    assert max(arrived.values()) <= PROPAGATION_S
    # Supervisors above list it with its site and department, and count it.
    admin = province.staff("admin")
    reds = admin.get("/api/v1/subordinates/lights", params={"light": "red"})
    assert reds.status_code == 200, reds.text
    mine = [r for r in reds.json() if r["receipt"] == receipt]
    assert [(r["site"], r["department"]) for r in mine] == [("320703", "320703-SCJGJ")]
    assert any(h["rule_id"] == "TIME-OVERDUE" and h["text"] for h in mine[0]["hits"])
    counts = admin.get("/api/v1/subordinates/lights/counts", params={"site": "320703"}).json()
    assert any(c["department"] == "320703-SCJGJ" and c["light"] == "red" and c["count"] >= 1
               for c in counts), counts
    assert httpx.get(f"{city.url}/api/v1/subordinates/lights").status_code == 401
    report("lights: county red → city, province", ", ".join(
        f"{code} {s:.2f} s" for code, s in sorted(arrived.items())))


def test_an_older_light_change_arriving_late_is_ignored(tiers: dict[str, Tier]) -> None:
    county, city = tiers["320703"], tiers["320700"]
    receipt = _receipt()
    county.submit(receipt)
    now = datetime.now(CHINA)
    newer = _light_event(county, receipt, change=5, light="red", at=now)
    older = _light_event(county, receipt, change=4, light="none", at=now)
    for env in (newer, older):  # as the county's shovel would deliver them, crossed
        assert city.broker.publish("sunlight.up.in", seal(env, county.private_key))
    wait_for(lambda: city.sql("SELECT count(*) FROM exchange_event_inbox WHERE event_id = "
                              "%s", uuid.UUID(older.id)) == [(1,)])
    assert _light_at(city, receipt)[:1] == ("red",)
    assert wait_for(lambda: (row := _light_at(tiers["320000"], receipt)) and row[3] == 5)


def _light_event(county: Tier, receipt: str, *, change: int, light: str,
                 at: datetime) -> Envelope:
    hits = [] if light == "none" else [{"rule_id": "OFF-FLOW", "light": "red",
                                        "text": "办理环节不符合事项流程。", "detail": ""}]
    return Envelope.new(county.code, CASE_LIGHT, {
        "receipt": receipt, "department": "320703-SCJGJ", "item_code": "320703-SCJGJ-QT-001",
        "status": "submitted", "light": light, "previous": None,
        "rule_ids": [h["rule_id"] for h in hits], "hits": hits, "change": change,
        "at": at.isoformat()}, time=at)


def _too_fast(minutes: int) -> str:
    county = default_rules("320703")
    rules = tuple(r.model_copy(update={"condition": TooFast(minutes=minutes)})
                  if r.id == "TOO-FAST" else r for r in county.rules)
    return dump_rules(RuleSet.model_validate({**county.model_dump(), "version": 7,
                                              "rules": [r.model_dump() for r in rules]}))


def test_the_provinces_rules_are_a_baseline_the_county_may_only_tighten(
        tiers: dict[str, Tier], tmp_path: Path) -> None:
    county, city, province = tiers["320703"], tiers["320700"], tiers["320000"]
    published = province.cli("supervision", "rules", "publish", "--actor", "admin")
    assert published.returncode == 0, published.stderr + published.stdout
    query = ("SELECT version, sha256 FROM data_baselines WHERE kind = 'supervision_rules' "
             "AND issuer = '320000'")
    (sent,) = province.sql(query)
    for tier in (city, county):
        assert wait_for(lambda t=tier: t.sql(query)) == [sent]
    again = province.cli("supervision", "rules", "publish")
    assert again.returncode == 1 and "number a new version" in again.stderr
    looser, stricter = tmp_path / "looser.yaml", tmp_path / "stricter.yaml"
    looser.write_text(_too_fast(5), encoding="utf-8")  # the province's baseline says 10
    stricter.write_text(_too_fast(20), encoding="utf-8")
    refused = county.cli("supervision", "rules", "import", str(looser))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "rule TOO-FAST, field minutes" in refused.stderr
    assert "relaxes rule TOO-FAST of the baseline of 320000 (version 1)" in refused.stderr
    checked = county.cli("supervision", "rules", "import", str(stricter), "--check-only")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "nothing stored" in checked.stdout
    assert county.sql("SELECT count(*) FROM supervision_rule_sets") == [(0,)]
