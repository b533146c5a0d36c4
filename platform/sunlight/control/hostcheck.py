"""Health of a booted host, checked the way an operator would: over SSH.

Example::

    >>> from sunlight.control.hostcheck import check_host
    >>> report = check_host(container, key)  # doctest: +SKIP
    >>> report.healthy  # doctest: +SKIP
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sunlight.control.hosts import address
from sunlight.control.images.build import LABEL_VERSION
from sunlight.control.ssh import ControlKey, HostSSH, pinned_host_key

#: Installed in the image but left off until configuration enables them.
DORMANT_SERVICES = ("postgresql", "rabbitmq-server", "nginx", "prometheus")


@dataclass
class HostReport:
    """Named findings (check, ok, detail) about one host."""

    host: str
    ip: str
    host_key: str
    findings: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return bool(self.findings) and all(ok for _, ok, _ in self.findings)


def check_host(container: Any, key: ControlKey, network: str | None = None) -> HostReport:
    """SSH in with the pinned host key and check systemd, sshd policy, the app, services."""
    ip = address(container, network)
    host_key = pinned_host_key(container)
    report = HostReport(container.name, ip, host_key)
    add = report.findings.append
    with HostSSH(ip, key, host_key) as ssh:
        add(("ssh login with the control key", True, f"admin@{ip}"))
        state = ssh.run("systemctl is-system-running").stdout
        add(("systemd", state == "running", state))
        policy = ssh.run("sudo -n sshd -T").stdout.splitlines()
        wanted = {"passwordauthentication no", "permitrootlogin no",
                  "kbdinteractiveauthentication no"}
        missing = wanted - {line.strip() for line in policy}
        add(("sshd: keys only, no root", not missing, ", ".join(sorted(missing)) or "enforced"))
        version = ssh.run("/opt/sunlight/venv/bin/sunlight --version").stdout
        expected = f"sunlight {container.image.labels.get(LABEL_VERSION, '?')}"
        add(("application", version == expected, version or "missing"))
        active = ssh.run(f"systemctl is-active {' '.join(DORMANT_SERVICES)}").stdout.split()
        running = [s for s, st in zip(DORMANT_SERVICES, active, strict=False) if st == "active"]
        add(("services dormant until configured", not running,
             "none running" if not running else f"running: {', '.join(running)}"))
    return report
