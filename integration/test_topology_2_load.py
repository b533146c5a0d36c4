"""Topology suite, part 2 (load): a short Locust run with the CI gates, a gate that cannot
pass, and distributed mode with two workers producing one merged report — and, meanwhile,
a stopped host that must raise HostDown at its site's Alertmanager.

HostDown fires only after the host has been down two minutes (``for: 2m``, a product
setting), so the province's gateway host is stopped when this module starts and the alert
is asserted when it ends: the wait overlaps the load runs. Nothing the load touches runs
on that host (the load reaches the county's portal and core and the province's core).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sunlight.control.hosts import wait_ready
from sunlight.control.load import LoadRequest, run_load
from topology_suite import PROVINCE, Topology, wait_until

HOST_DOWN_WITHIN_S = 240  # the rule's 2 minutes, a scrape and an evaluation, and slack


class StoppedHost:
    def __init__(self, topology: Topology) -> None:
        site = next(s for s in topology.up.sites if s.config.division_code == PROVINCE)
        self.container, self.mgmt = site.hosts["gw"].container, site.networks["mgmt"]
        self.mon = topology.site(PROVINCE).host_with("mon")["sunlight_addresses"]["int"]
        self.stopped_at = time.monotonic()
        self.container.stop(timeout=10)


@pytest.fixture(scope="module", autouse=True)
def stopped_host(topology: Topology) -> Iterator[StoppedHost]:
    """The province's gateway host, down for the whole module, then started again."""
    stopped = StoppedHost(topology)
    try:
        yield stopped
    finally:
        stopped.container.start()
        wait_ready(stopped.container, stopped.mgmt)


def _request(topology: Topology, tmp: Path, **kw: object) -> LoadRequest:
    return LoadRequest(deployment=topology.run.run_id, profile="smoke", reports=tmp,
                       gates=kw.pop("gates", None), **kw)  # type: ignore[arg-type]


def _requests(folder: Path) -> dict[str, int]:
    with (folder / "stats_stats.csv").open() as fh:
        return {row["Name"]: int(row["Request Count"]) for row in csv.DictReader(fh)}


def test_short_load_run_reports_and_passes_the_ci_gates(topology: Topology,
                                                        tmp_path: Path) -> None:
    outcome = run_load(_request(topology, tmp_path, duration_s=45.0), print,
                       access=topology.access)
    print("\n".join(outcome.lines))
    assert (tmp_path / "report.html").stat().st_size > 10_000
    counts = _requests(tmp_path)
    assert counts.get("submit/send", 0) > 5 and counts.get("read/catalogue", 0) > 20
    assert counts.get("propagation/county→province", 0) >= 1
    assert outcome.passed, outcome.lines
    topology.figures["load generator CPU (smoke)"] = (
        f"{outcome.cpu_percent:.0f}% of one core, {outcome.cpu_share:.0%} of the machine")
    topology.scenarios.append(("load: smoke profile within the CI gates", "pass"))


def test_an_impossible_gate_fails_the_run(topology: Topology, tmp_path: Path) -> None:
    gates = tmp_path / "impossible.yaml"
    gates.write_text("name: impossible\nversion: 1\ngates:\n"
                     "  - {name: submit p95, metric: percentile_ms, requests: 'submit/*', "
                     "percentile: 0.95, max: 0.001}\n")
    outcome = run_load(_request(topology, tmp_path / "run", gates=gates, duration_s=20.0),
                       print, access=topology.access)
    assert outcome.exit_code != 0 and not outcome.passed
    assert outcome.failed == ["submit p95"]
    assert any("BREACHED" in line for line in outcome.lines)
    topology.scenarios.append(("load: an impossible gate fails the run", "pass"))


def test_distributed_mode_merges_two_workers(topology: Topology, tmp_path: Path) -> None:
    outcome = run_load(_request(topology, tmp_path, duration_s=30.0, workers=2), print,
                       access=topology.access)
    assert (tmp_path / "report.html").is_file()
    assert len(list(tmp_path.glob("*.html"))) == 1  # one merged report
    log = (tmp_path / "locust.log").read_text()
    assert "2 workers connected" in log or log.count("worker") >= 2
    assert _requests(tmp_path).get("submit/send", 0) > 0
    assert outcome.verdict, "the master wrote no verdict"
    topology.scenarios.append(("load: distributed, 2 workers, one report", "pass"))


def test_status_says_the_stopped_host_is_unreachable_from_the_inventory(
        topology: Topology) -> None:
    """Issue 16 point 1: status asks every host of the inventory over SSH; the stopped one
    (its container, the realizer's, is not looked at) is unreachable, the others active."""
    from sunlight.control.stack.status import host_rows

    rows = {r.host: r.state for r in host_rows(topology.access)}
    assert rows.pop(f"{PROVINCE}-gw").startswith("unreachable ("), rows
    assert set(rows.values()) == {"active"}, rows


def test_the_stopped_host_raised_host_down_at_alertmanager(topology: Topology,
                                                          stopped_host: StoppedHost) -> None:
    def firing() -> list[dict[str, Any]]:
        alerts = httpx.get(f"http://{stopped_host.mon}:9093/api/v2/alerts", timeout=5).json()
        return [a for a in alerts if a["labels"].get("alertname") == "HostDown"
                and a["status"]["state"] == "active"]

    left = HOST_DOWN_WITHIN_S - (time.monotonic() - stopped_host.stopped_at)
    alerts = wait_until(firing, max(left, 1.0), interval=5)
    assert alerts, f"no HostDown alert at the province's Alertmanager within " \
                   f"{HOST_DOWN_WITHIN_S} s of stopping its gateway host"
    assert f"{PROVINCE}-gw" in {a["labels"].get("host") for a in alerts}, alerts
    topology.record("host stopped → HostDown at Alertmanager",
                    time.monotonic() - stopped_host.stopped_at)
    topology.scenarios.append(("stopped host raises HostDown (during the load runs)", "pass"))
