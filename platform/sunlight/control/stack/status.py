"""What a deployment looks like right now: sites, hosts, their services, whether the apps answer.

Every host comes from the deployment's inventory; each is asked over SSH (its pinned host
key, :func:`sunlight.control.stack.access.connect`) whether the systemd units of its roles
are active — the units the playbooks run per role (``sunlight_role_services`` in
``playbooks/group_vars/all.yml``). A host that cannot be reached is reported as
``unreachable``, with why; no container engine is asked, so it works for any hosts.

Example::

    >>> access = DeploymentAccess(Deployment("demo"))  # doctest: +SKIP
    >>> [(r.host, r.state) for r in host_rows(access)]  # doctest: +SKIP
    [('320000-app', 'active'), ('320000-db', 'unreachable (timeout)'), ...]
"""

from __future__ import annotations

import shlex
import ssl
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import paramiko
import yaml

from sunlight.control.deploy.inventory_view import InventoryHost
from sunlight.control.deploy.secrets import ca_paths
from sunlight.control.ssh import HostSSH
from sunlight.control.stack.access import AccessError, DeploymentAccess, connect, core_url
from sunlight.control.stack.ansible import playbooks_dir
from sunlight.topology.layout import NODE

ACTIVE = "active"
UNREACHABLE = "unreachable"
SSH_TIMEOUT_S = 10.0
PARALLEL = 8  # hosts asked at once

Connect = Callable[[InventoryHost], HostSSH]


@dataclass(frozen=True)
class HostRow:
    site: str
    host: str
    roles: tuple[str, ...]
    state: str  # "active", "inactive: unit=state, ..." or "unreachable (why)"
    addresses: dict[str, str]  # network kind -> address
    core_url: str | None
    public_url: str | None


def role_services() -> dict[str, list[str]]:
    """role -> the systemd units the playbooks run for it (``node``: on every host)."""
    data = yaml.safe_load((playbooks_dir() / "group_vars" / "all.yml").read_text())
    services: dict[str, list[str]] = data["sunlight_role_services"]
    return services


def units_of(roles: Sequence[str], services: Mapping[str, Sequence[str]]) -> list[str]:
    return sorted({unit for role in (NODE, *roles) for unit in services.get(role, ())})


def unit_state(host: InventoryHost, units: Sequence[str], connect: Connect) -> str:
    """``active`` when every unit is; else the units that are not, or why SSH failed."""
    try:
        with connect(host) as ssh:
            done = ssh.run(shlex.join(["systemctl", "is-active", *units]), timeout=SSH_TIMEOUT_S)
    except (OSError, paramiko.SSHException, AccessError) as exc:
        why = str(exc) or exc.__class__.__name__
        return f"{UNREACHABLE} ({why})"
    states = done.stdout.split()
    if len(states) != len(units):
        return f"unknown (systemctl: {done.stderr or done.stdout or done.exit_code})"
    down = [f"{unit}={state}" for unit, state in zip(units, states, strict=True)
            if state != ACTIVE]
    return ACTIVE if not down else "inactive: " + ", ".join(down)


def host_rows(access: DeploymentAccess, connect_to: Connect | None = None,
              services: Mapping[str, Sequence[str]] | None = None) -> list[HostRow]:
    """Every host of the inventory, by site and name, with the state of its units."""
    services = services if services is not None else role_services()
    reach = connect_to or (lambda host: connect(access.inventory, host, access.key))

    def row(host: InventoryHost) -> HostRow:
        state = unit_state(host, units_of(host.roles, services), reach)
        return HostRow(host.site, host.name, host.roles, state, dict(host.addresses),
                       core_url(host), host.public_url)

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return list(pool.map(row, access.inventory.hosts()))


def answers(url: str, verify: ssl.SSLContext | str | bool = True) -> str:
    """'ready', 'not ready' (503) or why it did not answer."""
    try:
        response = httpx.get(url, timeout=3, verify=verify)
    except httpx.HTTPError as exc:
        return f"no answer ({exc.__class__.__name__})"
    return "ready" if response.status_code == 200 else f"not ready ({response.status_code})"


def core_verify(secrets_dir: Path) -> ssl.SSLContext | bool:
    """How the control node verifies a core of the deployment whose secrets are in
    ``secrets_dir``: its CA (core serves HTTPS with a certificate from it); the system's trust
    store if there is none."""
    ca = ca_paths(secrets_dir)[1]
    return ssl.create_default_context(cafile=str(ca)) if ca.is_file() else True


def core_readiness(access: DeploymentAccess) -> list[tuple[str, str, str]]:
    """(site, core URL, readiness) for each core host of the inventory."""
    verify = core_verify(access.inventory.secrets_dir)
    return [(host.site, url, answers(url + "/readyz", verify))
            for host in access.inventory.hosts() if (url := core_url(host))]
