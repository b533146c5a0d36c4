"""Helpers of the topology suite (test_topology_*.py): measurements and the report.

The suite runs on one province → city → county topology per session, in this order:
read-only checks, load, faults, growth. Tests use fresh receipts and assert on deltas.
"""

from __future__ import annotations

import random
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import docker

from platform_site import poll
from sunlight.control.bundle.create import CreateResult
from sunlight.control.realizer.engines import Engines
from sunlight.control.resources import LABEL_RUN_ID, Run
from sunlight.control.stack.access import DeploymentAccess, SiteAccess
from sunlight.control.stack.scenario import DEPARTMENT, STAFF, staff_client
from sunlight.control.stack.up import UpResult
from sunlight.topology.engines import LOCAL

PROVINCE, CITY, COUNTY = "320000", "320700", "320703"


@dataclass
class Topology:
    up: UpResult
    access: DeploymentAccess
    engines: Engines  # the county on the second engine, the others on the local one
    run: Run
    stand_up_s: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    scenarios: list[tuple[str, str]] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(320703))

    @property
    def client(self) -> docker.DockerClient:
        """The local engine's client (the province's, the city's, the growth county's)."""
        return self.engines.client(LOCAL)

    def client_for(self, code: str) -> docker.DockerClient:
        """The client of the engine site ``code`` runs on."""
        return self.engines.client_for(code)

    def site(self, code: str) -> SiteAccess:
        return self.access.site(code)

    def staff(self, code: str, user: str) -> Any:
        site = self.site(code)
        return staff_client(site, user, site.staff(user, [user], DEPARTMENT))

    def admin(self, code: str) -> Any:
        site = self.site(code)
        password = (site.secrets / "sites" / code / "passwords" / "staff_admin").read_text()
        return staff_client(site, "admin", password.strip())

    def record(self, what: str, seconds: float) -> None:
        self.latencies.setdefault(what, []).append(seconds)

    def summary(self, memory: dict[str, float]) -> str:
        lines = [f"stood up in {self.stand_up_s:.0f} s (" + ", ".join(
            f"{k} {v:.0f} s" for k, v in self.up.stages.items()) + ")"]
        for name, outcome in self.scenarios:
            lines.append(f"  {outcome:5} {name}")
        for what, values in sorted(self.latencies.items()):
            values = sorted(values)
            lines.append(f"  latency {what}: n={len(values)} median {values[len(values) // 2]:.2f}"
                         f" s, max {values[-1]:.2f} s")
        for what, figure in sorted(self.figures.items()):
            lines.append(f"  {what}: {figure}")
        total = sum(memory.values())
        lines.append(f"  memory (resident, sum of {len(memory)} containers): {total:.0f} MiB")
        for name, mib in sorted(memory.items(), key=lambda kv: -kv[1])[:4]:
            lines.append(f"    {name}: {mib:.0f} MiB")
        return "\n".join(lines)


OFFSET_FILE = "/etc/sunlight/clock-offset"


class SiteClock:
    """Moves a site core's clock to a given time (and back) with the drill offset file
    (``runtime/clock.py``), written as root over SSH; ``tick`` runs the supervision tick at once."""

    def __init__(self, site: SiteAccess) -> None:
        self.site = site

    def _write(self, command: str) -> None:
        with self.site.ssh("core") as ssh:
            done = ssh.run(command, timeout=60)
        assert done.exit_code == 0, done.stderr

    def set(self, when: datetime) -> None:
        seconds = (when - datetime.now(UTC)).total_seconds()
        self._write(f"echo {seconds:.0f} | sudo -n tee {OFFSET_FILE} >/dev/null")

    def reset(self) -> None:
        self._write(f"sudo -n rm -f {OFFSET_FILE}")

    def tick(self) -> None:
        done = self.site.core_cli("supervision", "tick")
        assert done.exit_code == 0, done.stderr or done.stdout


_GROWTH_BUNDLE: dict[str, Future[CreateResult]] = {}


def start_growth_bundle() -> None:
    """Start ``sunlight bundle create`` in the background (the growth county's bundle, with
    the node image the control node loads from it), so that it is made while the topology
    stands up rather than after it."""
    if "bundle" not in _GROWTH_BUNDLE:
        from sunlight.control.bundle.create import create_bundle

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="growth-bundle")
        _GROWTH_BUNDLE["bundle"] = pool.submit(create_bundle, lambda _m: None, image=True)
        pool.shutdown(wait=False)


def growth_bundle() -> CreateResult:
    """The bundle started by :func:`start_growth_bundle` (started here if it was not)."""
    start_growth_bundle()
    return _GROWTH_BUNDLE["bundle"].result()


def memory_mib(clients: list[docker.DockerClient], run_id: str) -> dict[str, float]:
    """Resident memory of each running container of the run on each engine (cgroup usage
    less cache)."""
    out = {}
    for c in [c for client in clients
              for c in client.containers.list(filters={"label": f"{LABEL_RUN_ID}={run_id}"})]:
        stats = c.stats(stream=False)["memory_stats"]
        usage = stats.get("usage", 0) - stats.get("stats", {}).get("total_inactive_file",
                                                                    stats.get("stats", {})
                                                                    .get("inactive_file", 0))
        out[c.name] = usage / 2**20
    return out


def wait_until(check: Any, timeout: float, interval: float = 0.25) -> Any:
    """``check()``'s first truthy value, or None after ``timeout`` s (the caller decides
    what a timeout means; ``platform_site.wait_for`` fails instead)."""
    return poll(check, timeout, interval) or None


__all__ = ["CITY", "COUNTY", "PROVINCE", "STAFF", "SiteClock", "Topology", "growth_bundle",
           "memory_mib", "start_growth_bundle", "wait_until"]
