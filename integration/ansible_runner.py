"""Run Sunlight's playbooks from the tests: one ``ansible-playbook`` process, its recap parsed.

A thin adapter over the package's runner (:mod:`sunlight.control.stack.ansible`, which
``sunlight up`` uses too): the playbooks run exactly as an operator runs them (from
``playbooks/``, its ansible.cfg, the OpenSSH client, host-key checking on); only the SSH
control sockets get a directory of their own, so runs that reuse addresses never share a
master connection. Every ``until`` retry of a task is recorded in :mod:`transients`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import transients
from sunlight.control.stack import ansible

PLAYBOOKS = ansible.playbooks_dir()


@dataclass(frozen=True)
class PlaybookRun:
    """What one ``ansible-playbook`` run did."""

    playbook: str
    returncode: int
    seconds: float
    output: str
    recap: dict[str, dict[str, int]]
    changed: tuple[str, ...] = ()  # tasks (and handlers) that changed something

    def total(self, field: str) -> int:
        return sum(host[field] for host in self.recap.values())

    @property
    def tail(self) -> str:
        return self.output[-ansible.TAIL_CHARS:]

    def changed_tasks(self) -> list[str]:
        """The tasks (and handlers) that reported ``changed`` (for failure messages)."""
        return list(self.changed)


def run_playbook(playbook: str, inventory: Path, control_dir: Path,
                 args: Sequence[str] = (), timeout_s: float = 900) -> PlaybookRun:
    """``ansible-playbook -i inventory playbook args`` from playbooks/, recap parsed."""
    control_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    result = ansible.run_playbook(playbook, inventory, None, extra_args=args, check=False,
                                  capture=True, control_path_dir=control_dir,
                                  timeout=timeout_s)
    for host, task in result.retries:
        transients.record(f"ansible {playbook}", f"{host}: {task}")
    assert result.returncode is not None
    return PlaybookRun(playbook, result.returncode, result.seconds, result.output, result.recap,
                       tuple(result.changed_tasks))
