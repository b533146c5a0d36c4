"""Ownership of Docker resources: project label, run ids, and sweeping what a run left.

Every network, volume and container Sunlight creates carries :data:`LABEL_PROJECT` and a
run id. An *ephemeral* run (a test session) also records its owner process; a
*persistent* run (a demo, ``sunlight up``) records none and outlives its command. A sweep
removes what carries its own run id, and what belongs to an ephemeral run whose owner is
dead; never anything else — so tests never touch a demo left running.

Example::

    >>> from sunlight.control.resources import Run
    >>> run = Run.ephemeral()
    >>> run.labels()["io.sunlight.project"]
    'sunlight'
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors

PROJECT = "sunlight"
LABEL_PROJECT = "io.sunlight.project"
LABEL_RUN_ID = "io.sunlight.run-id"
LABEL_OWNER = "io.sunlight.owner"
LABEL_LIFETIME = "io.sunlight.lifetime"
PERSISTENT = "persistent"
EPHEMERAL = "ephemeral"

_RUN_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$")

Progress = Callable[[str], None]


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown-boot"


def _start_ticks(pid: int) -> str | None:
    """A process's start time in clock ticks since boot: with the pid, a unique identity."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; fields after its closing ')' are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19]


def current_owner() -> str:
    """This process as an owner token: ``<boot id>:<pid>:<start ticks>``."""
    pid = os.getpid()
    return f"{_boot_id()}:{pid}:{_start_ticks(pid)}"


def owner_alive(token: str) -> bool:
    """True while the process named by an owner token still runs (same boot, same start)."""
    try:
        boot, pid, ticks = token.rsplit(":", 2)
        pid_int = int(pid)
    except ValueError:
        return False
    return boot == _boot_id() and _start_ticks(pid_int) == ticks


def validate_run_id(run_id: str) -> str:
    if not _RUN_ID_RE.match(run_id):
        raise ValueError(
            f"run id {run_id!r} must be 3-32 characters of a-z, 0-9 and '-', "
            "starting and ending with a letter or digit"
        )
    return run_id


@dataclass(frozen=True)
class Run:
    """One run's identity; resources are named ``sunlight-<run id>-<name>``."""

    run_id: str
    persistent: bool = False
    owner: str = field(default_factory=current_owner)

    def __post_init__(self) -> None:
        validate_run_id(self.run_id)

    @classmethod
    def ephemeral(cls, prefix: str = "run") -> Run:
        return cls(run_id=f"{prefix}-{secrets.token_hex(4)}")

    @classmethod
    def named(cls, run_id: str) -> Run:
        """A persistent run (a demo, a stack left up); its owner is never checked."""
        return cls(run_id=run_id, persistent=True)

    def name(self, short: str) -> str:
        return f"{PROJECT}-{self.run_id}-{short}"

    def labels(self, **extra: str) -> dict[str, str]:
        labels = {
            LABEL_PROJECT: PROJECT,
            LABEL_RUN_ID: self.run_id,
            LABEL_LIFETIME: PERSISTENT if self.persistent else EPHEMERAL,
        }
        if not self.persistent:
            labels[LABEL_OWNER] = self.owner
        labels.update({f"io.sunlight.{k.replace('_', '-')}": v for k, v in extra.items()})
        return labels


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

    @property
    def total(self) -> int:
        return len(self.containers) + len(self.networks) + len(self.volumes)


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
    if progress and report.total:
        progress(
            f"Removed {len(report.containers)} containers, {len(report.networks)} networks, "
            f"{len(report.volumes)} volumes left by run {run_id} or by dead runs"
        )
    return report


def leftovers(client: docker.DockerClient, run_id: str) -> list[str]:
    """Every resource still carrying ``run_id`` (empty after a clean teardown)."""
    flt = {"label": f"{LABEL_RUN_ID}={run_id}"}
    found: Iterable[str] = (
        [f"container {c.name}" for c in client.containers.list(all=True, filters=flt)]
        + [f"network {n.name}" for n in client.networks.list(filters=flt)]
        + [f"volume {v.name}" for v in client.volumes.list(filters=flt)]
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
