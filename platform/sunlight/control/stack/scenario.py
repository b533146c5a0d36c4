"""The demo scenario, step by step: 外网受理、内网办理、外网反馈, then up the tiers.

A citizen applies at the county portal (through nginx, TLS checked against the
deployment's CA); county staff accept, review, grant and close it on the internal
network; the citizen sees the result through the portal; the case's events are then
visible at the city and the province. Each step is printed as it happens, with its time.

Example::

    >>> result = run_scenario(DeploymentAccess(Deployment("demo")), say=print)  # doctest: +SKIP
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from sunlight.catalogue.journey import (
    ENTERPRISE,
    annual_report_application,
    annual_report_material,
)
from sunlight.control.stack.access import DeploymentAccess, SiteAccess
from sunlight.workflow.identity import generate_credit_code

Say = Callable[[str], None]
DEPARTMENT = "320703-SCJGJ"  # 市场监督管理局 of the sample catalogue
STAFF = ("clerk", "reviewer", "approver")


class ScenarioError(RuntimeError):
    """A step did not happen in time; the message names it."""


@dataclass
class ScenarioResult:
    receipt: str
    timings: dict[str, float] = field(default_factory=dict)
    seen_at: dict[str, list[str]] = field(default_factory=dict)  # site -> actions seen


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise ScenarioError(f"{what}: not within {timeout:.0f} s")


def staff_client(site: SiteAccess, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=site.core_url, timeout=30, verify=site.tls())
    token = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    token.raise_for_status()
    client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return client


def apply_at_portal(site: SiteAccess, rng: random.Random,
                    name: str = ENTERPRISE) -> tuple[str, str]:
    """The sample journey (:mod:`sunlight.catalogue.journey`) through nginx, TLS checked."""
    code = generate_credit_code(rng)
    with httpx.Client(base_url=site.portal_url, verify=site.tls(), timeout=30) as portal:
        created = portal.post("/api/v1/applications",
                              json=annual_report_application(code, name))
        created.raise_for_status()
        draft, secret = created.json()["draft_id"], created.json()["secret"]
        headers = {"X-Tracking-Secret": secret}
        portal.post(f"/api/v1/applications/{draft}/materials", headers=headers,
                    **annual_report_material()).raise_for_status()
        submitted = portal.post(f"/api/v1/applications/{draft}/submit", headers=headers)
        submitted.raise_for_status()
    return submitted.json()["receipt"], secret


def portal_status(site: SiteAccess, receipt: str, secret: str) -> dict[str, Any]:
    with httpx.Client(base_url=site.portal_url, verify=site.tls(), timeout=30) as portal:
        response = portal.get(f"/api/v1/applications/{receipt}",
                              headers={"X-Tracking-Secret": secret})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


def seen_upstream(site: SiteAccess, county: str, receipt: str) -> list[str]:
    """The county case's actions as applied at ``site`` (empty until it arrives)."""
    admin = (site.secrets / "sites" / site.code / "passwords" / "staff_admin").read_text().strip()
    core = staff_client(site, "admin", admin)
    try:
        rows = core.get(f"/api/v1/subordinates/{county}/cases", params={"receipt": receipt})
        rows.raise_for_status()
        return [e["action"] for row in rows.json() for e in row["events"]]
    finally:
        core.close()


def run_scenario(access: DeploymentAccess, county: str = "320703",
                 say: Say = print) -> ScenarioResult:
    site = access.site(county)
    upstream = [access.site(code) for code in access.ancestors(county)]
    staff = {u: staff_client(site, u, site.staff(u, [u], DEPARTMENT)) for u in STAFF}
    t0 = time.monotonic()
    receipt, secret = apply_at_portal(site, random.Random())  # noqa: S311 - test data
    result = ScenarioResult(receipt)
    say(f"citizen applied at the county portal {site.portal_url}: receipt {receipt} (外网受理)")
    case = wait_for("the case at county core", lambda: (
        r := staff["clerk"].get("/api/v1/cases", params={"receipt": receipt})
    ).status_code == 200 and r.json())
    result.timings["portal→core"] = time.monotonic() - t0
    say(f"the gateway carried it inward in {result.timings['portal→core']:.1f} s; "
        f"due {case['due_on']} ({case['remaining_working_days']} working days)")
    for user, action in (("clerk", "accept"), ("reviewer", "approve_step"),
                         ("approver", "grant"), ("clerk", "close")):
        moved = staff[user].post(f"/api/v1/cases/{case['id']}/actions",
                                 json={"action": action, "comment": "demo"})
        if moved.status_code != 200:
            raise ScenarioError(f"{user} could not {action}: {moved.text}")
        say(f"county {user} {action} → {moved.json()['status']} (内网办理)")
    t1 = time.monotonic()
    shown = wait_for("the result on the portal", lambda: (
        s := portal_status(site, receipt, secret))["status"] == "closed" and s)
    result.timings["core→portal"] = time.monotonic() - t1
    say(f"the citizen sees {shown['status']}, decision {shown['decision']} "
        f"after {result.timings['core→portal']:.1f} s (外网反馈)")
    for up in upstream:
        def closed_at(up: SiteAccess = up) -> list[str]:
            actions = seen_upstream(up, county, receipt)
            return actions if "close" in actions else []

        actions = wait_for(f"the case at {up.code}", closed_at)
        result.timings[f"close→{up.code}"] = time.monotonic() - t1
        result.seen_at[up.code] = actions
        say(f"at {up.code}: {' → '.join(actions)} "
            f"({result.timings[f'close→{up.code}']:.1f} s after closing)")
    return result
