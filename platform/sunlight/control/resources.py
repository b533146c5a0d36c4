"""Ownership of Docker resources: project label, run ids, and sweeping what a run left.

Every network, volume and container Sunlight creates carries :data:`LABEL_PROJECT` and a
run id. An *ephemeral* run (a test session) also records its owner process; a
*persistent* run (a demo, ``sunlight up``) records none and outlives its command. A sweep
removes what carries its own run id, and what belongs to an ephemeral run whose owner is
dead; never anything else — so tests never touch a demo left running. The same goes for the
run's guard of the control node (host iptables rules, :mod:`sunlight.control.hostguard`).

Example::

    >>> from sunlight.control.resources import Run
    >>> run = Run.ephemeral()
    >>> run.labels()["io.sunlight.project"]
    'sunlight'
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors

from sunlight.control import hostguard
from sunlight.topology.runs import (
    EPHEMERAL as EPHEMERAL,
)
from sunlight.topology.runs import (
    LABEL_LIFETIME as LABEL_LIFETIME,
)
from sunlight.topology.runs import (
    LABEL_OWNER as LABEL_OWNER,
)
from sunlight.topology.runs import (
    LABEL_PROJECT as LABEL_PROJECT,
)
from sunlight.topology.runs import (
    LABEL_RUN_ID as LABEL_RUN_ID,
)
from sunlight.topology.runs import (
    PERSISTENT as PERSISTENT,
)
from sunlight.topology.runs import (  # the identity is pure; re-exported for the engine side
    PROJECT as PROJECT,
)
from sunlight.topology.runs import (
    Run as Run,
)
from sunlight.topology.runs import (
    current_owner as current_owner,
)
from sunlight.topology.runs import (
    owner_alive as owner_alive,
)
from sunlight.topology.runs import (
    validate_run_id as validate_run_id,
)

Progress = Callable[[str], None]


def is_sweepable(labels: dict[str, str] | None, run_id: str) -> bool:
    """Whether a resource with these labels may be removed by a sweep for ``run_id``."""
    labels = labels or {}
    if labels.get(LABEL_PROJECT) != PROJECT:
        return False
    if labels.get(LABEL_RUN_ID) == run_id:
        return True
    if labels.get(LABEL_LIFETIME) != EPHEMERAL:
        return False
    return not owner_alive(labels.get(LABEL_OWNER, ""))


@dataclass
class SweepReport:
    """What a sweep removed, by kind."""

    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    guards: list[str] = field(default_factory=list)  # iptables chains of the host guard

    @property
    def total(self) -> int:
        return len(self.containers) + len(self.networks) + len(self.volumes) + len(self.guards)


def _project_filter() -> dict[str, Any]:
    return {"label": f"{LABEL_PROJECT}={PROJECT}"}


def sweep(client: docker.DockerClient, run_id: str,
          progress: Progress | None = None) -> SweepReport:
    """Remove this run's resources and those of ephemeral runs whose owner is dead."""
    report = SweepReport()
    for container in client.containers.list(all=True, filters=_project_filter()):
        if is_sweepable(container.labels, run_id):
            _ignore_gone(functools.partial(container.remove, force=True, v=True))
            report.containers.append(container.name)
    for network in client.networks.list(filters=_project_filter()):
        if is_sweepable(network.attrs.get("Labels"), run_id):
            _ignore_gone(network.remove)
            report.networks.append(network.name)
    for volume in client.volumes.list(filters=_project_filter()):
        if is_sweepable(volume.attrs.get("Labels"), run_id):
            _ignore_gone(functools.partial(volume.remove, force=True))
            report.volumes.append(volume.name)
    report.guards = hostguard.sweep(run_id)
    if progress and report.total:
        progress(
            f"Removed {len(report.containers)} containers, {len(report.networks)} networks, "
            f"{len(report.volumes)} volumes, {len(report.guards)} host guards left by run "
            f"{run_id} or by dead runs"
        )
    return report


def leftovers(client: docker.DockerClient, run_id: str) -> list[str]:
    """Every resource still carrying ``run_id`` (empty after a clean teardown)."""
    flt = {"label": f"{LABEL_RUN_ID}={run_id}"}
    found: Iterable[str] = (
        [f"container {c.name}" for c in client.containers.list(all=True, filters=flt)]
        + [f"network {n.name}" for n in client.networks.list(filters=flt)]
        + [f"volume {v.name}" for v in client.volumes.list(filters=flt)]
        + hostguard.leftovers(run_id)
    )
    return list(found)


def _ignore_gone(action: Callable[[], object]) -> None:
    # Removed meanwhile (by docker itself or a concurrent sweep): the goal is met.
    with contextlib.suppress(docker.errors.NotFound):
        action()


def create_network(client: docker.DockerClient, run: Run, short: str, *, internal: bool,
                   subnet: str | None = None, options: dict[str, str] | None = None,
                   **labels: str) -> Any:
    """Create a labelled bridge network ``sunlight-<run>-<short>`` (an old one is replaced)."""
    name = run.name(short)
    for stale in client.networks.list(names=[name]):
        if stale.name == name and is_sweepable(stale.attrs.get("Labels"), run.run_id):
            _ignore_gone(stale.remove)
    ipam = None
    if subnet:
        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
    return client.networks.create(
        name, driver="bridge", internal=internal, ipam=ipam, options=options or {},
        labels=run.labels(**labels), check_duplicate=True,
    )
