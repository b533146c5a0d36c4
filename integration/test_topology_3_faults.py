"""Topology suite, part 3 (faults): a cut backbone link, a crashed core (a stopped host is
part 2's: its alert's two minutes overlap the load run).

Each fault runs while applications keep arriving at the county portal; every receipt
issued must then appear exactly once in county core and at the province.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import httpx

from sunlight.control.stack.scenario import apply_at_portal, seen_upstream
from topology_suite import COUNTY, PROVINCE, Topology, wait_until

FAULT_S = float(os.environ.get("SUNLIGHT_FAULT_S", "15"))
ARRIVAL_S = 60.0  # after the fault ends, everything must have arrived within this


class Submitter(threading.Thread):
    """Files applications at the county portal, one every ``interval`` seconds, until stopped."""

    def __init__(self, topology: Topology, interval: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.topology, self.interval = topology, interval
        self.receipts: list[str] = []
        self.errors: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        site = self.topology.site(COUNTY)
        while not self.done.is_set():
            try:
                self.receipts.append(apply_at_portal(site, self.topology.rng)[0])
            except httpx.HTTPError as exc:
                self.errors.append(str(exc))
            self.done.wait(self.interval)

    def stop(self) -> list[str]:
        self.done.set()
        self.join(30)
        return self.receipts


def _exactly_once_everywhere(topology: Topology, receipts: list[str], what: str) -> None:
    clerk = topology.staff(COUNTY, "clerk")
    province = topology.site(PROVINCE)
    started = time.monotonic()
    for receipt in receipts:
        case = wait_until(lambda r=receipt: (x := clerk.get("/api/v1/cases",
                                                             params={"receipt": r}))
                          .status_code == 200 and x.json(), ARRIVAL_S)
        assert case, f"{what}: {receipt} never reached county core"
        assert [e["action"] for e in case["history"]].count("submit") == 1
        seen = wait_until(lambda r=receipt: seen_upstream(province, COUNTY, r),
                          max(1.0, ARRIVAL_S - (time.monotonic() - started)))
        assert seen, f"{what}: {receipt} not at the province within {ARRIVAL_S:.0f} s"
        assert seen.count("submit") == 1, f"{what}: {receipt} applied {seen.count('submit')}×"
    topology.record(f"{what}: all arrived after the fault", time.monotonic() - started)


def test_county_messaging_host_cut_from_the_backbone(topology: Topology) -> None:
    county_int = topology.up.sites[2].hosts["int"]
    backbone = topology.client_for(COUNTY).networks.get(
        topology.up.sites[2].networks["backbone"])  # the second engine's backbone
    address = county_int.addresses["backbone"]
    submitter = Submitter(topology)
    submitter.start()
    backbone.disconnect(county_int.container)
    try:
        time.sleep(FAULT_S)
    finally:
        backbone.connect(county_int.container, ipv4_address=address)
    receipts = submitter.stop()
    assert receipts and not submitter.errors, submitter.errors[:3]
    _exactly_once_everywhere(topology, receipts, "backbone cut")
    topology.scenarios.append((f"county cut from the backbone {FAULT_S:.0f} s", "pass"))


def test_county_core_killed_and_its_database_restarted(topology: Topology) -> None:
    site = topology.site(COUNTY)
    submitter = Submitter(topology)
    submitter.start()
    assert wait_until(lambda: submitter.receipts, 60), "no submission before the fault"
    with site.ssh("core") as ssh:
        killed = ssh.run("sudo -n systemctl kill -s SIGKILL sunlight-core")
        assert killed.exit_code == 0, killed.stderr
        restarted = ssh.run("sudo -n systemctl restart postgresql")
        assert restarted.exit_code == 0, restarted.stderr
    after_restart = len(submitter.receipts)
    assert wait_until(lambda: len(submitter.receipts) >= after_restart + 3, 60), \
        "citizens' submissions did not go on after the restart"
    receipts = submitter.stop()
    assert receipts and not submitter.errors, submitter.errors[:3]
    ready = wait_until(lambda: httpx.get(f"{site.core_url}/readyz", timeout=3,
                                         verify=site.tls()).status_code == 200, 60)
    assert ready, "core did not come back"
    _exactly_once_everywhere(topology, receipts, "core killed, database restarted")
    topology.scenarios.append(("county core killed, its database restarted", "pass"))


def test_a_stopped_core_is_restarted_by_its_watchdog(topology: Topology) -> None:
    """Issue 15 point 3: core's process stopped (SIGSTOP: a wedged event loop, as systemd
    sees it) stops feeding its watchdog; systemd kills and restarts it within WatchdogSec
    and core answers again. Before this issue the unit had no watchdog: a stopped core
    stayed "active" and silent for ever."""
    site = topology.site(COUNTY)
    unit = "sunlight-core"

    def show(ssh: Any) -> dict[str, str]:
        out = ssh.run(f"systemctl show {unit} -p MainPID -p ActiveState -p NRestarts "
                      "-p WatchdogUSec")
        assert out.exit_code == 0, out.stderr
        return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)

    with site.ssh("core") as ssh:
        before = show(ssh)
        assert before["ActiveState"] == "active" and before["WatchdogUSec"] == "20s", before
        stopped = ssh.run(f"sudo -n kill -STOP {before['MainPID']}")
        assert stopped.exit_code == 0, stopped.stderr
        started = time.monotonic()
        after = wait_until(lambda: (s := show(ssh))["MainPID"] not in ("0", before["MainPID"])
                           and int(s["NRestarts"]) > int(before["NRestarts"])
                           and s["ActiveState"] == "active" and s, 60)
        took = time.monotonic() - started
        assert after, f"{unit} was not restarted within 60 s of SIGSTOP"
        journal = ssh.run(f"sudo -n journalctl -u {unit} --since '-2min' --no-pager -q")
    assert "watchdog timeout" in journal.stdout.lower(), journal.stdout[-2000:]

    def answers() -> bool:
        try:
            return httpx.get(f"{site.core_url}/readyz", timeout=3,
                             verify=site.tls()).status_code == 200
        except httpx.HTTPError:
            return False

    assert wait_until(answers, 60), "core did not answer after its restart"
    topology.record("watchdog restart after SIGSTOP", took)
    topology.scenarios.append(("county core stopped, restarted by its watchdog", "pass"))
