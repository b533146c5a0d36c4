"""Runs: who owns a deployment's resources (a pure identity, no engine needed).

Every resource Sunlight creates carries :data:`LABEL_PROJECT` and a run id. An *ephemeral*
run (a test session) also records its owner process; a *persistent* run (a demo,
``sunlight up``) records none and outlives its command. The sweeping of resources by these
labels is the control side's (:mod:`sunlight.control.resources`).

Example::

    >>> from sunlight.topology.runs import Run
    >>> Run.named("demo").labels()["io.sunlight.lifetime"]
    'persistent'
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = "sunlight"
LABEL_PROJECT = "io.sunlight.project"
LABEL_RUN_ID = "io.sunlight.run-id"
LABEL_OWNER = "io.sunlight.owner"
LABEL_LIFETIME = "io.sunlight.lifetime"
PERSISTENT = "persistent"
EPHEMERAL = "ephemeral"

_RUN_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$")

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
