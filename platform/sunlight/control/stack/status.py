"""What a deployment looks like right now: sites, hosts, and whether the apps answer.

Example::

    >>> rows = site_status(client, "demo")  # doctest: +SKIP
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import docker
import httpx

from sunlight.control.realizer.apply import LABEL_HOST, LABEL_ROLE, LABEL_SITE
from sunlight.control.resources import LABEL_RUN_ID
from sunlight.control.stack.access import CORE_SERVICE
from sunlight.topology.flows import load_flows


@dataclass(frozen=True)
class HostRow:
    site: str
    host: str
    roles: str
    state: str
    addresses: dict[str, str]
    portal_port: int | None


def host_rows(client: docker.DockerClient, name: str) -> list[HostRow]:
    rows = []
    for c in client.containers.list(all=True, filters={"label": f"{LABEL_RUN_ID}={name}"}):
        if LABEL_SITE not in c.labels:
            continue
        nets = c.attrs["NetworkSettings"]["Networks"]
        ports = [int(b["HostPort"]) for bs in (c.attrs["NetworkSettings"].get("Ports") or {})
                 .values() for b in (bs or [])]
        rows.append(HostRow(c.labels[LABEL_SITE], c.labels.get(LABEL_HOST, c.name),
                            c.labels.get(LABEL_ROLE, ""), c.status,
                            {n: str(i.get("IPAddress")) for n, i in nets.items()},
                            ports[0] if ports else None))
    return sorted(rows, key=lambda r: (r.site, r.host))


def answers(url: str, verify: ssl.SSLContext | str | bool = True) -> str:
    """'ready', 'not ready' (503) or why it did not answer."""
    try:
        response = httpx.get(url, timeout=3, verify=verify)
    except httpx.HTTPError as exc:
        return f"no answer ({exc.__class__.__name__})"
    return "ready" if response.status_code == 200 else f"not ready ({response.status_code})"


def core_url(row: HostRow) -> str | None:
    """core's base URL on the site's int network (the control node stands for the staff LAN)."""
    if "core" not in row.roles.split(","):
        return None
    ip = next((ip for net, ip in row.addresses.items() if net.endswith("-int-net")), None)
    return f"https://{ip}:{load_flows().port(CORE_SERVICE)}" if ip else None


def core_verify(deployment: str) -> ssl.SSLContext | bool:
    """How the control node verifies a core of ``deployment``: its deployment CA (core
    serves HTTPS with a certificate from it); the system's trust store if there is none."""
    from sunlight.control.deploy.inventory import default_secrets_dir
    from sunlight.control.deploy.secrets import ca_paths

    ca = ca_paths(default_secrets_dir(deployment))[1]
    return ssl.create_default_context(cafile=str(ca)) if ca.is_file() else True
