"""Run a playbook for a deployment: progress as it goes, the whole log in a file.

A failure names the host, the task and the log path, so the operator knows where to look.

Example::

    >>> result = run_playbook("site.yml", inventory, log, progress=print)  # doctest: +SKIP
    >>> result.changed  # doctest: +SKIP
    {'sunlight-demo-320703-int': 0, ...}
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sunlight.control.paths import repo_root

Progress = Callable[[str], None]
_TASK = re.compile(r"^TASK \[(?P<task>.+?)\]")
_PLAY = re.compile(r"^PLAY \[(?P<play>.+?)\]")
_FATAL = re.compile(r"^(?:fatal|failed): \[(?P<host>[^\]]+)\]")
RETRYING = re.compile(r"^FAILED - RETRYING: \[(?P<host>[^\]]+)\]: (?P<task>.+?) "
                      r"\((?P<left>\d+) retries left\)")
_RECAP = re.compile(r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
                    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)")


class PlaybookFailed(RuntimeError):
    """The playbook failed; the message names host, task and log."""

    def __init__(self, message: str, result: PlaybookResult | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class PlaybookResult:
    playbook: str
    log: Path
    seconds: float
    changed: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (host, task)
    retries: list[tuple[str, str]] = field(default_factory=list)  # (host, task), one per retry

    @property
    def total_changed(self) -> int:
        return sum(self.changed.values())


def playbooks_dir() -> Path:
    return repo_root() / "playbooks"


def run_playbook(playbook: str, inventory: Path, log: Path, *, progress: Progress,
                 extra_args: Sequence[str] = (), check: bool = True) -> PlaybookResult:
    """``ansible-playbook -i inventory playbook``; raise PlaybookFailed when it fails."""
    import time

    binary = Path(sys.executable).with_name("ansible-playbook")
    cmd = [str(binary), "-i", str(inventory), playbook, *extra_args]
    env = {**os.environ, "ANSIBLE_CONFIG": str(playbooks_dir() / "ansible.cfg"),
           "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "PYTHONUNBUFFERED": "1"}
    log.parent.mkdir(parents=True, exist_ok=True)
    result = PlaybookResult(playbook, log, 0.0)
    started = time.monotonic()
    task = ""
    with log.open("w", encoding="utf-8") as fh:
        proc = subprocess.Popen(cmd, cwd=playbooks_dir(), env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        for line in proc.stdout:
            fh.write(line)
            if m := _PLAY.match(line):
                progress(f"{playbook}: {m['play']}")
            elif m := _TASK.match(line):
                task = m["task"]
            elif m := RETRYING.match(line):
                result.retries.append((m["host"], m["task"]))
            elif m := _FATAL.match(line):
                result.failures.append((m["host"], task))
            elif m := _RECAP.match(line):
                result.changed[m["host"]] = int(m["changed"])
        code = proc.wait()
    result.seconds = time.monotonic() - started
    if check and code != 0:
        where = "; ".join(f"host {h}, task {t!r}" for h, t in result.failures[:3]) or \
            "before any host ran (see the log)"
        raise PlaybookFailed(f"{playbook} failed ({where}); log: {log}", result)
    return result
