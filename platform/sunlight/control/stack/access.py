"""Reaching a running deployment from the control node: URLs, SSH, staff accounts.

Everything comes from the deployment's own inventory and known_hosts (host keys stay
pinned) and its secrets directory; staff passwords are generated on the site's core host
and kept in ``sites/<code>/passwords/staff_<user>`` of the secrets directory.

Example::

    >>> site = DeploymentAccess(Deployment("demo")).site("320703")  # doctest: +SKIP
    >>> site.core_url  # doctest: +SKIP
    'https://10.200.13.12:<core_api port of infra/flows.yaml>'
"""

from __future__ import annotations

import os
import re
import shlex
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import yaml

from sunlight.control.deploy.secrets import ca_paths
from sunlight.control.ssh import CommandResult, ControlKey, HostSSH, control_key
from sunlight.control.stack.deployment import Deployment
from sunlight.topology.flows import load_flows

CORE_SERVICE = "core_api"  # flows.yaml's name for core's port (staff API, from the staff LAN)
USERNAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
CORE_ENV = "/etc/sunlight/core.env"
SUNLIGHT = "/opt/sunlight/venv/bin/sunlight"


class AccessError(RuntimeError):
    """The deployment or site is not there, or a remote command failed."""


@dataclass(frozen=True)
class SiteAccess:
    code: str
    hosts: dict[str, dict[str, Any]]  # inventory host vars by inventory name
    known_hosts: dict[str, str]  # mgmt address -> host key line
    key: ControlKey
    secrets: Path
    portal_port: int | None

    def host_with(self, role: str) -> dict[str, Any]:
        for hv in self.hosts.values():
            if role in hv["sunlight_roles"]:
                return hv
        raise AccessError(f"site {self.code} has no host with role {role}")

    @property
    def core_url(self) -> str:
        port = load_flows().port(CORE_SERVICE)
        return f"https://{self.host_with('core')['sunlight_addresses']['int']}:{port}"

    @property
    def portal_url(self) -> str:
        if not self.portal_port:
            raise AccessError(f"site {self.code}: the portal publishes no port")
        return f"https://127.0.0.1:{self.portal_port}"

    @property
    def ca_file(self) -> str:
        return str(ca_paths(self.secrets)[1])

    def tls(self) -> ssl.SSLContext:
        """Verifies the portal's and core's certificates against the deployment's own CA."""
        return ssl.create_default_context(cafile=self.ca_file)

    def ssh(self, role: str) -> HostSSH:
        ip = self.host_with(role)["ansible_host"]
        return HostSSH(ip, self.key, self.known_hosts[ip])

    def core_cli(self, *args: str) -> CommandResult:
        """``sunlight ARGS`` on the core host, with core's settings, as core's user.

        systemd reads core's environment file (which holds the database URL) exactly as for
        the unit, so nothing secret leaves the host.
        """
        command = shlex.join(["sudo", "-n", "systemd-run", "--quiet", "--pipe", "--wait",
                              "--collect", "-p", f"EnvironmentFile={CORE_ENV}",
                              "-p", "User=sunlight", SUNLIGHT, *args])
        with self.ssh("core") as ssh:
            return ssh.run(command, timeout=120)

    def staff(self, username: str, roles: list[str], department: str | None) -> str:
        """The account's password, creating the account on core the first time."""
        if not USERNAME.match(username):
            raise AccessError(f"username {username!r}: letters, digits, '.', '_' and '-' only")
        # Beside the first admin's password, which the sunlight_core role fetches there.
        path = self.secrets / "sites" / self.code / "passwords" / f"staff_{username}"
        if path.is_file():
            return path.read_text().strip()
        args = ["accounts", "add", username, *[a for r in roles for a in ("--role", r)]]
        if department:
            args += ["--department", department]
        done = self.core_cli(*args)
        if done.exit_code != 0 or "password: " not in done.stdout:
            raise AccessError(f"site {self.code}: creating {username} failed: "
                              f"{done.stderr or done.stdout}")
        password = done.stdout.rsplit("password: ", 1)[1].split()[0]
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        return password


class DeploymentAccess:
    """All sites of one deployment, from its inventory."""

    def __init__(self, dep: Deployment, client: docker.DockerClient | None = None,
                 key: ControlKey | None = None) -> None:
        if not dep.hosts_file.is_file():
            raise AccessError(f"deployment {dep.name} has no inventory: run `sunlight up`")
        self.dep = dep
        self.inventory = yaml.safe_load(dep.hosts_file.read_text())
        self.known = dict(line.split(" ", 1) for line in
                          (dep.inventory_dir / "known_hosts").read_text().splitlines() if line)
        self.client = client or docker.from_env()
        self.key = key or control_key()

    def ancestors(self, code: str) -> list[str]:
        """The site's parent, grandparent... within this deployment."""
        out: list[str] = []
        parent = self._parent(code)
        while parent:
            out.append(parent)
            parent = self._parent(parent)
        return out

    def _parent(self, code: str) -> str | None:
        group = self.inventory["all"]["children"].get(f"site_{code}", {})
        parent = group.get("vars", {}).get("sunlight_parent_code")
        return str(parent) if parent else None

    def site(self, code: str) -> SiteAccess:
        group = self.inventory["all"]["children"].get(f"site_{code}")
        if not group:
            raise AccessError(f"deployment {self.dep.name} has no site {code}")
        hosts = group["hosts"]
        port = None
        for hv in hosts.values():
            if "nginx" in hv["sunlight_roles"]:
                container = self.client.containers.get(hv["sunlight_container"])
                for bindings in (container.attrs["NetworkSettings"]["Ports"] or {}).values():
                    port = int(bindings[0]["HostPort"]) if bindings else port
        return SiteAccess(code, hosts, self.known, self.key, self.dep.secrets_dir, port)
