"""Topology suite, part 4 (growth): a second county joins, and its events reach the province."""

from __future__ import annotations

import time

from sunlight.control.stack.scenario import apply_at_portal, seen_upstream
from sunlight.control.stack.up import up
from topology_suite import CITY, PROVINCE, Topology, wait_until

NEW_COUNTY = "320706"  # 海州区, under 连云港市


def test_a_second_county_is_added_and_reaches_the_province(topology: Topology) -> None:
    spec = topology.up.deployment.topology()
    assert spec is not None
    started = time.monotonic()
    grown = up(spec.with_site(NEW_COUNTY, CITY), lambda _m: None, playbook="add-node.yml",
               extra_args=("-e", f"new_site={NEW_COUNTY}"), client=topology.client,
               run=topology.run, key=topology.access.key)
    topology.record("node add 320706", time.monotonic() - started)
    assert [s.config.division_code for s in grown.sites][-1] == NEW_COUNTY
    assert all(s.timings.get("total", 0.0) == 0.0 for s in grown.sites[:-1])  # kept as they were
    from sunlight.control.stack.access import DeploymentAccess

    access = DeploymentAccess(grown.deployment, topology.access.key)
    receipt, _ = apply_at_portal(access.site(NEW_COUNTY), topology.rng)
    sent = time.monotonic()
    seen = wait_until(lambda: seen_upstream(access.site(PROVINCE), NEW_COUNTY, receipt), 90)
    assert seen and seen[0] == "submit", f"{receipt} from {NEW_COUNTY} never reached {PROVINCE}"
    topology.record(f"submit→{PROVINCE} from {NEW_COUNTY}", time.monotonic() - sent)
    topology.scenarios.append((f"growth: {NEW_COUNTY} added under {CITY}", "pass"))
