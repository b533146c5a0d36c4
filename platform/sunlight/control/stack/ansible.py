"""Run a playbook for a deployment: progress as it goes, the whole log in a file.

A failure names the host, the task and the log path, so the operator knows where to look.
This is the one reader of ``ansible-playbook`` output: the CLI and the integration tests
(``integration/ansible_runner.py``) both use it. :class:`PlaybookOutput` parses lines —
plays, tasks, failures, every ``until`` retry, changed tasks, the recap counts per host —
and :func:`run_playbook` feeds it one process's output, optionally keeping the whole text,
with an SSH control-path directory of its own and a time-out.

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
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from sunlight.paths import repo_root

Progress = Callable[[str], None]
_TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?P<task>.+?)\]")
_PLAY = re.compile(r"^PLAY \[(?P<play>.+?)\]")
_FATAL = re.compile(r"^(?:fatal|failed): \[(?P<host>[^\]]+)\]")
_CHANGED = re.compile(r"^changed: \[")
RETRYING = re.compile(r"^FAILED - RETRYING: \[(?P<host>[^\]]+)\]: (?P<task>.+?) "
                      r"\((?P<left>\d+) retries left\)")
RECAP_FIELDS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")
_RECAP = re.compile(r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
                    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)"
                    r"(?:\s+skipped=(?P<skipped>\d+))?(?:\s+rescued=(?P<rescued>\d+))?"
                    r"(?:\s+ignored=(?P<ignored>\d+))?")
TAIL_CHARS = 6000


class PlaybookFailed(RuntimeError):
    """The playbook failed; the message names host, task and log."""

    def __init__(self, message: str, result: PlaybookResult | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class PlaybookResult:
    playbook: str
    log: Path | None
    seconds: float
    changed: dict[str, int] = field(default_factory=dict)  # host -> changed (the recap's)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (host, task)
    retries: list[tuple[str, str]] = field(default_factory=list)  # (host, task), one per retry
    recap: dict[str, dict[str, int]] = field(default_factory=dict)  # host -> RECAP_FIELDS
    changed_tasks: list[str] = field(default_factory=list)  # tasks that changed something
    returncode: int | None = None
    output: str = ""  # the whole output, when run with ``capture=True``

    @property
    def total_changed(self) -> int:
        return sum(self.changed.values())

    def total(self, name: str) -> int:
        """One recap count (``ok``, ``changed``, ``failed``...) summed over the hosts."""
        return sum(counts.get(name, 0) for counts in self.recap.values())

    @property
    def tail(self) -> str:
        return self.output[-TAIL_CHARS:]


class PlaybookOutput:
    """Reads ``ansible-playbook`` output line by line into a :class:`PlaybookResult`."""

    def __init__(self, result: PlaybookResult, progress: Progress | None = None) -> None:
        self.result = result
        self.progress = progress
        self.task = ""

    def feed(self, line: str) -> None:
        result = self.result
        if m := _PLAY.match(line):
            if self.progress:
                self.progress(f"{result.playbook}: {m['play']}")
        elif m := _TASK.match(line):
            self.task = m["task"]
        elif m := RETRYING.match(line):
            result.retries.append((m["host"], m["task"]))
        elif m := _FATAL.match(line):
            result.failures.append((m["host"], self.task))
        elif _CHANGED.match(line):
            if self.task and self.task not in result.changed_tasks:
                result.changed_tasks.append(self.task)
        elif m := _RECAP.match(line):
            counts = {name: int(m[name] or 0) for name in RECAP_FIELDS}
            result.recap[m["host"]] = counts
            result.changed[m["host"]] = counts["changed"]


def parse_output(playbook: str, text: str) -> PlaybookResult:
    """The result a finished run's ``text`` describes (without time or exit code)."""
    result = PlaybookResult(playbook, None, 0.0, output=text)
    reader = PlaybookOutput(result)
    for line in text.splitlines():
        reader.feed(line)
    return result


def playbooks_dir() -> Path:
    return repo_root() / "playbooks"


def playbook_env(control_path_dir: Path | None = None) -> dict[str, str]:
    """The environment a playbook runs in: this checkout's ansible.cfg, no colour; with
    ``control_path_dir``, SSH control sockets of its own (runs that reuse addresses never
    share a master connection)."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(playbooks_dir() / "ansible.cfg"),
           "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "PYTHONUNBUFFERED": "1"}
    if control_path_dir is not None:
        env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = str(control_path_dir)
    return env


def _pump(stream: TextIO, reader: PlaybookOutput, log: TextIO | None,
          captured: list[str] | None) -> None:
    for line in stream:
        if log is not None:
            try:
                log.write(line)
            except ValueError:  # closed: the run timed out and was abandoned
                log = None
        if captured is not None:
            captured.append(line)
        reader.feed(line)


def run_playbook(playbook: str, inventory: Path, log: Path | None, *,
                 progress: Progress | None = None, extra_args: Sequence[str] = (),
                 check: bool = True, capture: bool = False,
                 control_path_dir: Path | None = None,
                 timeout: float | None = None) -> PlaybookResult:
    """``ansible-playbook -i inventory playbook extra_args`` from ``playbooks/``.

    Its output (stdout and stderr, in order) goes to ``log`` (if given) and, with
    ``capture``, into ``result.output``. ``check``: raise :class:`PlaybookFailed` when it
    fails. ``timeout`` (seconds): kill it then and raise :class:`subprocess.TimeoutExpired`
    with the output so far.
    """
    binary = Path(sys.executable).with_name("ansible-playbook")
    cmd = [str(binary), "-i", str(inventory), playbook, *extra_args]
    result = PlaybookResult(playbook, log, 0.0)
    reader = PlaybookOutput(result, progress)
    captured: list[str] | None = [] if capture else None
    started = time.monotonic()
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
    fh = log.open("w", encoding="utf-8") if log is not None else None
    try:
        proc = subprocess.Popen(cmd, cwd=playbooks_dir(), env=playbook_env(control_path_dir),
                                text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        pump = threading.Thread(target=_pump, args=(proc.stdout, reader, fh, captured),
                                name=f"ansible-playbook {playbook}", daemon=True)
        pump.start()
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pump.join(timeout=5)  # forked workers may still hold the pipe: do not wait on them
            raise subprocess.TimeoutExpired(cmd, timeout or 0.0,
                                            output="".join(captured or [])) from None
        pump.join()
    finally:
        if fh is not None:
            fh.close()
    result.seconds = time.monotonic() - started
    result.returncode = code
    result.output = "".join(captured) if captured is not None else ""
    if check and code != 0:
        where = "; ".join(f"host {h}, task {t!r}" for h, t in result.failures[:3]) or \
            "before any host ran (see the log)"
        raise PlaybookFailed(f"{playbook} failed ({where}); log: {log}", result)
    return result
