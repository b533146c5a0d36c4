"""``sunlight up --hosts FILE``: validate, pin host keys, precheck, then configure.

The steps, in order, each stopping everything after it when it fails:

1. the hosts file is valid (:mod:`~sunlight.control.byoh.hostsfile`; the CLI loads it) and
   drops no site the deployment's inventory already has;
2. every host's key is pinned (:mod:`~sunlight.control.byoh.hostkeys`): already pinned,
   in the operator's ``--known-hosts``, or confirmed; a changed key is refused;
3. the prechecks pass on every host and from the control node
   (:mod:`~sunlight.control.byoh.prechecks`) — any failure: nothing is configured and
   the inventory is not written;
4. the inventory is written by the realizer path's writer, beside a copy of the hosts
   file, and the playbooks run as ``sunlight up`` runs them after realizing
   (:func:`sunlight.control.stack.ansible.run_playbook`): ``site.yml``, or, for sites the
   file adds to a deployment that has an inventory already, ``add-node.yml -e
   new_site=CODE`` (what ``sunlight node add`` runs).

Example::

    >>> result = up_hosts(load_hosts_file(path), progress=print,
    ...                   confirm=ask)  # doctest: +SKIP
    >>> result.report.ok, result.playbooks[0].playbook  # doctest: +SKIP
    (True, 'site.yml')
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sunlight.control.byoh.hostkeys import Collect, Confirm, Pins, pin_host_keys
from sunlight.control.byoh.hostsfile import HostsFile, inventory_of, write_hosts_inventory
from sunlight.control.byoh.prechecks import DEFAULT_LIMITS, Limits, Report, run_prechecks
from sunlight.control.deploy.inventory import KNOWN_HOSTS_FILE, SITE_GROUP_PREFIX
from sunlight.control.ssh import ControlKey, control_key
from sunlight.control.stack.ansible import PlaybookResult, run_playbook
from sunlight.control.stack.deployment import Deployment

Progress = Callable[[str], None]
HOSTS_FILE_COPY = "hosts-file.yaml"  # in the deployment's state directory


class HostsUpError(RuntimeError):
    """Stopped before configuring anything; the message names the sites or hosts."""


class PrechecksFailed(HostsUpError):
    """Some precheck failed (``report``); nothing was configured."""

    def __init__(self, report: Report) -> None:
        self.report = report
        lines = "\n".join(f"  host {c.host}, check {c.name}: {c.detail} — remedy: {c.remedy}"
                          for c in report.failures)
        super().__init__(f"{len(report.failures)} precheck(s) failed, nothing was "
                         f"configured:\n{lines}")


@dataclass
class HostsUpResult:
    deployment: Deployment
    hosts_file: HostsFile
    pins: Pins
    report: Report
    playbooks: list[PlaybookResult] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)


def inventory_sites(dep: Deployment) -> list[str]:
    """The site codes of the deployment's inventory (none before the first ``up``)."""
    if not dep.hosts_file.is_file():
        return []
    data = yaml.safe_load(dep.hosts_file.read_text(encoding="utf-8"))
    return [g.removeprefix(SITE_GROUP_PREFIX) for g in data["all"]["children"]
            if g.startswith(SITE_GROUP_PREFIX)]


def playbook_runs(hf: HostsFile, previous: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """(playbook, extra args) to run: ``site.yml``, or ``add-node.yml`` per added site."""
    added = [code for code in hf.ordered_codes() if code not in previous]
    if not previous or not added:
        return [("site.yml", ())]
    return [("add-node.yml", ("-e", f"new_site={code}")) for code in added]


def up_hosts(hf: HostsFile, *, progress: Progress, confirm: Confirm | None,
             known_hosts: Path | None = None, configure: bool = True,
             limits: Limits = DEFAULT_LIMITS, key: ControlKey | None = None,
             collect: Collect | None = None,
             prechecker: Callable[..., Report] = run_prechecks,
             runner: Callable[..., PlaybookResult] = run_playbook) -> HostsUpResult:
    """Validate → pin → precheck → configure the hosts of ``hf`` (see the module doc)."""
    dep = Deployment(hf.deployment)
    previous = inventory_sites(dep)
    dropped = sorted(set(previous) - {s.code for s in hf.sites})
    if dropped:
        raise HostsUpError(f"deployment {hf.deployment} has site(s) {', '.join(dropped)} that "
                           "the hosts file drops: list them (up never removes a site)")
    key = key or control_key()
    stages: dict[str, float] = {}
    t = time.monotonic()
    pinned = dep.inventory_dir / KNOWN_HOSTS_FILE
    pins = pin_host_keys(list(hf.hosts()), pinned, collect=collect, confirm=confirm,
                         operator_file=known_hosts)
    progress(f"host keys: {len(pins.keys)} pinned ("
             + ", ".join(f"{n} {how}" for n, how in pins.how.items()) + ")")
    stages["pin"] = time.monotonic() - t
    t = time.monotonic()
    inventory = inventory_of(hf, control_key=key.path, known_hosts=pinned.resolve(),
                             secrets_dir=dep.secrets_dir)
    report = prechecker(inventory, pins.keys, key, limits, progress, configured_sites=previous)
    stages["prechecks"] = time.monotonic() - t
    if not report.ok:
        raise PrechecksFailed(report)
    files = write_hosts_inventory(hf, dep.inventory_dir, pins.keys, control_key=key.path,
                                  secrets_dir=dep.secrets_dir)
    _save_copy(dep.dir / HOSTS_FILE_COPY, hf.model_dump(mode="json"))
    result = HostsUpResult(dep, hf, pins, report, stages=stages)
    if configure:
        t = time.monotonic()
        for playbook, extra in playbook_runs(hf, previous):
            what = playbook.removesuffix(".yml") + "".join(f"-{a.split('=')[-1]}"
                                                           for a in extra[1:])
            result.playbooks.append(runner(playbook, files.hosts, dep.log(what),
                                           progress=progress, extra_args=extra))
        stages["configure"] = time.monotonic() - t
    return result


def _save_copy(path: Path, document: dict[str, Any]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
