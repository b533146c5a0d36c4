"""Run Sunlight's playbooks from the tests: one ``ansible-playbook`` process, its recap parsed.

The playbooks run exactly as an operator runs them (from ``playbooks/``, its ansible.cfg,
the OpenSSH client, host-key checking on); only the SSH control sockets get a directory
of their own, so runs that reuse addresses never share a master connection.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import transients
from sunlight.control.paths import repo_root
from sunlight.control.stack.ansible import RETRYING

PLAYBOOKS = repo_root() / "playbooks"
_RECAP = re.compile(r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
                    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)\s+"
                    r"skipped=(?P<skipped>\d+)", re.MULTILINE)


@dataclass(frozen=True)
class PlaybookRun:
    """What one ``ansible-playbook`` run did."""

    playbook: str
    returncode: int
    seconds: float
    output: str
    recap: dict[str, dict[str, int]]

    def total(self, field: str) -> int:
        return sum(host[field] for host in self.recap.values())

    @property
    def tail(self) -> str:
        return self.output[-6000:]

    def changed_tasks(self) -> list[str]:
        """``TASK [...]`` headers followed by a ``changed:`` line (for failure messages)."""
        out, task = [], ""
        for line in self.output.splitlines():
            if line.startswith("TASK ["):
                task = line
            elif line.startswith("changed:") and task not in out:
                out.append(task)
        return out


def run_playbook(playbook: str, inventory: Path, control_dir: Path,
                 args: Sequence[str] = (), timeout_s: float = 900) -> PlaybookRun:
    """``ansible-playbook -i inventory playbook args`` from playbooks/, recap parsed."""
    control_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {**os.environ, "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
           "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_dir), "PYTHONUNBUFFERED": "1"}
    binary = Path(sys.executable).with_name("ansible-playbook")
    started = time.monotonic()
    done = subprocess.run([str(binary), "-i", str(inventory), playbook, *args],
                          cwd=PLAYBOOKS, env=env, capture_output=True, text=True,
                          timeout=timeout_s, check=False)
    seconds = time.monotonic() - started
    output = done.stdout + done.stderr
    recap = {m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed",
                                                 "skipped")}
             for m in _RECAP.finditer(done.stdout)}
    for line in done.stdout.splitlines():
        if m := RETRYING.match(line):
            transients.record(f"ansible {playbook}", f"{m['host']}: {m['task']}")
    return PlaybookRun(playbook, done.returncode, seconds, output, recap)
