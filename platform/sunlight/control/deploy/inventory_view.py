"""A deployment's inventory as the commands after provisioning read it.

``status``, ``verify``, ``scenario``, ``load`` and the configuration step of ``up`` and
``node add`` know a deployment only through ``hosts.yml`` and ``known_hosts`` in its
inventory directory — whoever wrote them: the realizer (:mod:`.inventory`), a hosts file of
machines Sunlight did not create, or a Pulumi stack's outputs. :func:`read_inventory` reads
the fields they rely on (listed in ``docs/inventory.md``) and refuses an inventory that
lacks one, naming the host and the field; nothing here asks a container engine.

Example::

    >>> inv = read_inventory(Deployment("demo").inventory_dir)  # doctest: +SKIP
    >>> [h.name for h in inv.hosts()]  # doctest: +SKIP
    ['320000-app', '320000-db', ...]
    >>> inv.host_key(inv.site("320703").with_role("core"))  # doctest: +SKIP
    'ssh-ed25519 AAAA...'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sunlight.control.deploy.inventory import (
    HOSTS_FILE,
    KNOWN_HOSTS_FILE,
    PUBLIC_URL,
    SITE_GROUP_PREFIX,
)
from sunlight.control.ssh import OPENSSH_PORT, known_hosts_name


class InventoryError(ValueError):
    """The inventory is missing, or lacks a field a command needs; the message names it."""


@dataclass(frozen=True)
class InventoryHost:
    """One host: how to reach it (``address``, ``user``, ``port``) and what it is."""

    site: str
    name: str
    address: str  # ansible_host: where the control node connects (the mgmt address)
    user: str  # ansible_user
    port: int  # ansible_port
    roles: tuple[str, ...]
    zone: str
    addresses: dict[str, str]  # network kind (mgmt, ext, int, backbone) -> address
    public_url: str | None  # sunlight_public_url, on nginx hosts: where citizens reach it
    variables: dict[str, Any]  # every host variable, as written

    @property
    def known_hosts_name(self) -> str:
        """How OpenSSH's known_hosts names this host (``[address]:port`` off ssh's default)."""
        return known_hosts_name(self.address, self.port)


@dataclass(frozen=True)
class InventorySite:
    code: str
    parent: str | None
    hosts: dict[str, InventoryHost]

    def with_role(self, role: str) -> InventoryHost:
        for host in self.hosts.values():
            if role in host.roles:
                return host
        raise InventoryError(f"site {self.code} has no host with role {role}")


@dataclass(frozen=True)
class DeploymentInventory:
    path: Path  # hosts.yml
    deployment: str
    secrets_dir: Path
    sites: dict[str, InventorySite]
    known_hosts: dict[str, str]  # known_hosts name -> pinned key line ("<type> <base64>")
    control_key: Path | None  # ansible_ssh_private_key_file: the key the hosts accept

    def site(self, code: str) -> InventorySite:
        if code not in self.sites:
            raise InventoryError(f"deployment {self.deployment} has no site {code}")
        return self.sites[code]

    def hosts(self) -> list[InventoryHost]:
        """Every host, by site and name."""
        return [h for code in sorted(self.sites) for _, h in sorted(self.sites[code].hosts.items())]

    def host_key(self, host: InventoryHost) -> str:
        """The host's pinned key line; a host with none is refused (checking stays on)."""
        key = self.known_hosts.get(host.known_hosts_name)
        if key is None:
            known = self.path.parent / KNOWN_HOSTS_FILE
            raise InventoryError(f"host {host.name}: no pinned host key for "
                                 f"{host.known_hosts_name} in {known}")
        return key

    def ancestors(self, code: str) -> list[str]:
        """The site's parent, grandparent... within this deployment."""
        out: list[str] = []
        parent = self.site(code).parent
        while parent and parent in self.sites and parent not in out:
            out.append(parent)
            parent = self.sites[parent].parent
        return out


def _field(where: str, mapping: Mapping[str, Any], name: str, kind: type) -> Any:
    if name not in mapping:
        raise InventoryError(f"{where}: no {name}")
    value = mapping[name]
    if not isinstance(value, kind):
        raise InventoryError(f"{where}: {name} must be a {kind.__name__}, not {value!r}")
    return value


def _host(path: Path, code: str, name: str, hv: Mapping[str, Any]) -> InventoryHost:
    where = f"{path}: host {name}"
    if not isinstance(hv, Mapping):
        raise InventoryError(f"{where}: its variables must be a mapping")
    roles = _field(where, hv, "sunlight_roles", list)
    addresses = _field(where, hv, "sunlight_addresses", dict)
    public = hv.get(PUBLIC_URL)
    if public is not None and not (isinstance(public, str) and public.startswith("https://")):
        raise InventoryError(f"{where}: {PUBLIC_URL} must be an https:// URL, not {public!r}")
    port = hv.get("ansible_port", OPENSSH_PORT)  # as Ansible: ssh's default port
    if not isinstance(port, int) or isinstance(port, bool):
        raise InventoryError(f"{where}: ansible_port must be a number, not {port!r}")
    return InventoryHost(
        site=code, name=name, address=str(_field(where, hv, "ansible_host", str)),
        user=str(_field(where, hv, "ansible_user", str)), port=port,
        roles=tuple(str(r) for r in roles), zone=str(_field(where, hv, "sunlight_zone", str)),
        addresses={str(k): str(v) for k, v in addresses.items()},
        public_url=public.rstrip("/") if public else None, variables=dict(hv))


def parse_known_hosts(text: str) -> dict[str, str]:
    """known_hosts name -> ``<type> <base64>``; comments and blank lines are skipped."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and not line.startswith("#"):
            for name in parts[0].split(","):
                out[name] = f"{parts[1]} {parts[2]}"
    return out


def read_inventory(inventory_dir: Path) -> DeploymentInventory:
    """Read ``hosts.yml`` and ``known_hosts`` of ``inventory_dir`` (see the module doc)."""
    path, known = inventory_dir / HOSTS_FILE, inventory_dir / KNOWN_HOSTS_FILE
    if not path.is_file():
        raise InventoryError(f"no inventory at {path}")
    if not known.is_file():
        raise InventoryError(f"no known_hosts beside {path}: host keys must be pinned")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("all"), dict):
        raise InventoryError(f"{path}: not an Ansible YAML inventory (no 'all')")
    shared = data["all"].get("vars") or {}
    deployment = str(_field(f"{path}: all.vars", shared, "sunlight_deployment", str))
    secrets = Path(_field(f"{path}: all.vars", shared, "sunlight_secrets_dir", str))
    key = shared.get("ansible_ssh_private_key_file")
    sites = {}
    for group, body in (data["all"].get("children") or {}).items():
        if not group.startswith(SITE_GROUP_PREFIX):
            continue
        code = group.removeprefix(SITE_GROUP_PREFIX)
        site_vars = (body or {}).get("vars") or {}
        if "sunlight_parent_code" not in site_vars:
            raise InventoryError(f"{path}: group {group}: no sunlight_parent_code")
        parent = site_vars["sunlight_parent_code"]
        hosts = {str(name): _host(path, code, str(name), hv)
                 for name, hv in ((body or {}).get("hosts") or {}).items()}
        if not hosts:
            raise InventoryError(f"{path}: group {group} has no hosts")
        sites[code] = InventorySite(code, str(parent) if parent else None, hosts)
    if not sites:
        raise InventoryError(f"{path}: no site groups ({SITE_GROUP_PREFIX}<code>)")
    return DeploymentInventory(path, deployment, secrets, sites,
                               parse_known_hosts(known.read_text(encoding="utf-8")),
                               Path(key) if key else None)
