"""Reaching a running deployment from the control node: URLs, SSH, staff accounts.

Everything comes from the deployment's own inventory and known_hosts (host keys stay
pinned, :mod:`sunlight.control.deploy.inventory_view`) and its secrets directory — never
from a container engine, so it works for any hosts the inventory names (docs/inventory.md).
Staff passwords are generated on the site's core host and kept in
``sites/<code>/passwords/staff_<user>`` of the secrets directory.

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

from sunlight.control.deploy.inventory_view import (
    DeploymentInventory,
    InventoryError,
    InventoryHost,
    InventorySite,
    read_inventory,
)
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


def core_url(host: InventoryHost) -> str | None:
    """core's base URL on the site's int network (the control node stands for the staff
    LAN); None for a host without core."""
    if "core" not in host.roles or "int" not in host.addresses:
        return None
    return f"https://{host.addresses['int']}:{load_flows().port(CORE_SERVICE)}"


def connect(inventory: DeploymentInventory, host: InventoryHost, key: ControlKey) -> HostSSH:
    """An SSH session to ``host`` as its inventory says (address, user, port), accepting
    only its pinned key."""
    try:
        pinned = inventory.host_key(host)
    except InventoryError as exc:
        raise AccessError(str(exc)) from exc
    return HostSSH(host.address, key, pinned, user=host.user, port=host.port)


@dataclass(frozen=True)
class SiteAccess:
    site: InventorySite
    inventory: DeploymentInventory
    key: ControlKey

    @property
    def code(self) -> str:
        return self.site.code

    @property
    def hosts(self) -> dict[str, dict[str, Any]]:
        """Inventory host variables by inventory name."""
        return {name: host.variables for name, host in self.site.hosts.items()}

    @property
    def secrets(self) -> Path:
        return self.inventory.secrets_dir

    def _host(self, role: str) -> InventoryHost:
        try:
            return self.site.with_role(role)
        except InventoryError as exc:
            raise AccessError(str(exc)) from exc

    def host_with(self, role: str) -> dict[str, Any]:
        return self._host(role).variables

    @property
    def core_url(self) -> str:
        url = core_url(self._host("core"))
        if url is None:
            raise AccessError(f"site {self.code}: its core host has no int address")
        return url

    @property
    def portal_url(self) -> str:
        url = self._host("nginx").public_url
        if not url:
            raise AccessError(f"site {self.code}: its nginx host has no sunlight_public_url "
                              "in the inventory")
        return url

    @property
    def ca_file(self) -> str:
        return str(ca_paths(self.secrets)[1])

    def tls(self) -> ssl.SSLContext:
        """Verifies the portal's and core's certificates against the deployment's own CA."""
        return ssl.create_default_context(cafile=self.ca_file)

    def ssh(self, role: str) -> HostSSH:
        return connect(self.inventory, self._host(role), self.key)

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
    """All sites of one deployment, from its inventory and pinned host keys."""

    def __init__(self, dep: Deployment, key: ControlKey | None = None) -> None:
        if not dep.hosts_file.is_file():
            raise AccessError(f"deployment {dep.name} has no inventory: run `sunlight up`")
        self.dep = dep
        try:
            self.inventory = read_inventory(dep.inventory_dir)
        except InventoryError as exc:
            raise AccessError(f"deployment {dep.name}: {exc}") from exc
        # the key the inventory names (the one its hosts accept), else this user's
        named = self.inventory.control_key
        self.key = key or (ControlKey(named) if named else control_key())

    def ancestors(self, code: str) -> list[str]:
        """The site's parent, grandparent... within this deployment."""
        return self.inventory.ancestors(self.site(code).code)

    def site(self, code: str) -> SiteAccess:
        if code not in self.inventory.sites:
            raise AccessError(f"deployment {self.dep.name} has no site {code}")
        return SiteAccess(self.inventory.sites[code], self.inventory, self.key)
