"""The Ansible inventory of a deployment, from the sites' stack outputs, and its known_hosts.

Each site's Pulumi program exports an inventory (:mod:`sunlight.topology.inventory`); the
realizer hands the same output back for local topologies. :func:`deployment_inventory`
merges the sites' inventories and adds what Ansible needs to reach them safely: the
control key, a ``known_hosts`` file written from the host keys pinned at realization
(host-key checking stays on), the deployment's name and secrets directory, and
``sunlight_sites`` — every site of the deployment with its parent and backbone hosts,
including sites this inventory does not manage (:class:`PeerHost`: another centre's
broker, or a stand-in in tests), so firewalls and shovels can name them.

It also states, once, what ``infra/flows.yaml`` means for every host
(:func:`host_variables`), so no role computes a port or an address itself:

- ``sunlight_listen``: service -> ``{port, addresses, roles}``, every service of the host's
  roles; ``addresses`` are where some allowed row reaches it (empty: it must not listen);
- ``sunlight_firewall``: the accept rules (``network, daddr, port, service, saddrs, why``);
- ``sunlight_egress``: the output policy (``drop`` for the external zone and the gateway,
  else ``accept``) and, under ``drop``, the connections the host may open
  (``rules``: ``network, daddr, port, service, why``);
- ``sunlight_clients``: service -> who may connect (``name, roles, address``), roles on the
  host itself included (pg_hba);
- ``sunlight_peers``: role of the host -> where it may connect (``role, service, host,
  site, relation, network, address, port``; ``relation`` is ``same``, ``parent`` or
  ``child``): its database, core's API, the parent's broker, the scrape targets...;
- ``ansible_port``: the host's ``ssh`` service;

and per site ``sunlight_child_codes`` (the sites whose brokers shovel to this one).

Over several engines (docs/engines.md) a peer on another engine is dialled at the address
its engine publishes its backbone listener on (:func:`dial_address`).

Example::

    >>> from sunlight.control.deploy.inventory import write_inventory
    >>> files = write_inventory(tmp / "inv", [realized], control_key=key.path,
    ...                         deployment="run-1234")  # doctest: +SKIP
    >>> files.hosts.read_text().splitlines()[0]  # doctest: +SKIP
    'all:'
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from sunlight.control.deploy import firewall
from sunlight.paths import state_dir
from sunlight.topology import inventory as topo_inventory
from sunlight.topology.flows import FlowMatrix, load_flows
from sunlight.topology.layout import Net

HOSTS_FILE = "hosts.yml"
KNOWN_HOSTS_FILE = "known_hosts"
SITE_GROUP_PREFIX = "site_"
SSH_SERVICE = "ssh"  # flows.yaml's service Ansible connects to
PUBLIC_URL = "sunlight_public_url"  # host var of an nginx host: where citizens reach it
PUBLIC_ROLE = "nginx"  # the role that holds the public address of a site


class _RealizedHost(Protocol):
    @property
    def mgmt_ip(self) -> str: ...

    @property
    def host_key(self) -> str: ...


class _RealizedConfig(Protocol):
    @property
    def run_id(self) -> str: ...


class RealizedSite(Protocol):
    """What the writer needs of a realized site (the realizer's ``Realized``); stated here so
    the inventory, which every later command reads, does not depend on the realizer."""

    @property
    def config(self) -> _RealizedConfig: ...

    @property
    def hosts(self) -> Mapping[str, _RealizedHost]: ...

    @property
    def inventory(self) -> dict[str, Any]: ...

    @property
    def portal_port(self) -> int | None: ...


@dataclass(frozen=True)
class PeerHost:
    """A backbone host of a site the inventory does not manage (never configured here)."""

    site: str
    parent: str | None
    name: str
    roles: tuple[str, ...]
    address: str  # on the backbone


@dataclass(frozen=True)
class InventoryFiles:
    """Where :func:`write_inventory` put the inventory and its known_hosts."""

    hosts: Path
    known_hosts: Path


def default_secrets_dir(deployment: str) -> Path:
    """``$XDG_STATE_HOME/sunlight/secrets/<deployment>`` (outside every checkout)."""
    return state_dir() / "secrets" / deployment


def known_hosts_line(address: str, key_line: str) -> str:
    """One OpenSSH known_hosts line (``<address> <type> <base64>``) from a pinned key."""
    parts = key_line.split()
    if len(parts) < 2 or not parts[0].startswith(("ssh-", "ecdsa-")):
        raise ValueError(f"not an OpenSSH public key line for {address}: {key_line!r}")
    return f"{address} {parts[0]} {parts[1]}"


def _site_groups(inventory: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    children: Mapping[str, Any] = inventory["all"]["children"]
    return {g.removeprefix(SITE_GROUP_PREFIX): body for g, body in children.items()
            if g.startswith(SITE_GROUP_PREFIX)}


def deployment_sites(inventory: Mapping[str, Any],
                     peers: Sequence[PeerHost] = ()) -> dict[str, dict[str, Any]]:
    """``sunlight_sites``: code -> parent, managed, and backbone hosts (name, roles, address)."""
    sites: dict[str, dict[str, Any]] = {}
    for code, body in sorted(_site_groups(inventory).items()):
        backbone = [
            {"name": name, "roles": list(hv["sunlight_roles"]),
             "address": hv["sunlight_addresses"][Net.BACKBONE.value]}
            for name, hv in sorted(body["hosts"].items())
            if Net.BACKBONE.value in hv["sunlight_addresses"]
        ]
        sites[code] = {"parent": body["vars"]["sunlight_parent_code"], "managed": True,
                       "backbone": backbone}
        if "sunlight_engine_address" in body["vars"]:  # several engines (docs/engines.md)
            sites[code]["engine"] = body["vars"]["sunlight_engine"]
            sites[code]["engine_address"] = body["vars"]["sunlight_engine_address"]
    for peer in peers:
        if sites.get(peer.site, {}).get("managed"):
            raise ValueError(f"peer {peer.name}: site {peer.site} is managed by this inventory")
        entry = sites.setdefault(peer.site, {"parent": peer.parent, "managed": False,
                                             "backbone": []})
        entry["backbone"].append({"name": peer.name, "roles": list(peer.roles),
                                  "address": peer.address})
    return sites


def host_views(inventory: Mapping[str, Any],
               sites: Mapping[str, Mapping[str, Any]]) -> list[firewall.HostView]:
    """Every managed host of the inventory, then the unmanaged sites' backbone hosts."""
    views = []
    for code, body in sorted(_site_groups(inventory).items()):
        parent = body["vars"]["sunlight_parent_code"] or None
        for name, hv in sorted(body["hosts"].items()):
            views.append(firewall.HostView(name, code, parent, tuple(hv["sunlight_roles"]),
                                           dict(hv["sunlight_addresses"])))
    return views + firewall.peer_views(sites)


def dial_address(sites: Mapping[str, Mapping[str, Any]], source_site: str, site: str,
                 network: str, address: str) -> str:
    """Where a host of ``source_site`` dials a backbone listener of ``site``: across engines,
    the address that site's engine publishes it on; else the listener's own address."""
    mine, theirs = sites.get(source_site, {}), sites.get(site, {})
    if (network == Net.BACKBONE.value and theirs.get("engine_address")
            and mine.get("engine") != theirs.get("engine")):
        return str(theirs["engine_address"])
    return address


def host_variables(matrix: FlowMatrix, views: Sequence[firewall.HostView], host: str,
                   control: firewall.ControlSources,
                   sites: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """What flows.yaml means for ``host``, as its inventory variables (see the module doc)."""
    view = {v.name: v for v in views}[host]
    listens = firewall.listens(matrix, view)
    rules = firewall.accepts(matrix, views, host, control)
    clients = firewall.clients(matrix, views, host, control, rules)
    peers: dict[str, list[dict[str, Any]]] = {role: [] for role in view.roles}
    for peer in firewall.peers(matrix, views, host):
        peers[peer.source_role].append({
            "role": peer.role, "service": peer.service, "host": peer.host, "site": peer.site,
            "relation": peer.relation, "network": peer.network,
            "address": dial_address(sites or {}, view.site, peer.site, peer.network,
                                    peer.address),
            "port": peer.port})
    return {
        "ansible_port": matrix.port(SSH_SERVICE),
        "sunlight_listen": {
            s.service: {"port": s.port, "addresses": list(s.addresses), "roles": list(s.roles)}
            for s in listens},
        "sunlight_firewall": [
            {"network": r.network, "daddr": r.daddr, "port": r.port, "service": r.service,
             "saddrs": list(r.saddrs), "why": list(r.why)}
            for r in rules],
        "sunlight_egress": _egress(matrix, views, view),
        "sunlight_clients": {
            s.service: [{"name": c.name, "roles": list(c.roles), "address": c.address}
                        for c in clients.get(s.port, [])]
            for s in listens if clients.get(s.port)},
        "sunlight_peers": peers,
    }


def _egress(matrix: FlowMatrix, views: Sequence[firewall.HostView],
            view: firewall.HostView) -> dict[str, Any]:
    if not firewall.restricts_egress(view.roles):
        return {"policy": "accept", "rules": []}
    return {"policy": "drop", "rules": [
        {"network": e.network, "daddr": e.daddr, "port": e.port, "service": e.service,
         "why": list(e.why)} for e in firewall.egress(matrix, views, view.name)]}


def control_sources(inventory: Mapping[str, Any],
                    given: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
                    ) -> dict[str, Mapping[str, Sequence[str]]]:
    """The control node's addresses per site and network: ``given``, else each bridge's
    gateway (the Docker host itself)."""
    out: dict[str, Mapping[str, Sequence[str]]] = {}
    for code, body in _site_groups(inventory).items():
        chosen = (given or {}).get(code)
        out[code] = chosen or firewall.default_control_sources(body["vars"]["sunlight_networks"])
    return out


def deployment_inventory(site_inventories: Sequence[Mapping[str, Any]], *, deployment: str,
                         control_key: Path, known_hosts: Path, secrets_dir: Path,
                         peers: Sequence[PeerHost] = (), matrix: FlowMatrix | None = None,
                         control: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
                         ) -> dict[str, Any]:
    """One inventory for the sites (their stack outputs), with connection and deployment
    vars, and each host's listen addresses, firewall, clients and peers from ``matrix``
    (flows.yaml). ``control`` overrides the control node's addresses per site."""
    if not site_inventories:
        raise ValueError("a deployment inventory needs at least one site")
    merged = topo_inventory.merge_inventories(*site_inventories)
    codes = list(_site_groups(merged))
    if len(codes) != len(site_inventories):
        raise ValueError("every site inventory must hold exactly one distinct site")
    matrix = matrix or load_flows()
    ssh_args = (f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes "
                "-o IdentitiesOnly=yes")
    sites = deployment_sites(merged, peers)
    merged["all"]["vars"] = {
        "ansible_ssh_private_key_file": str(control_key),
        "ansible_ssh_common_args": ssh_args,
        "sunlight_deployment": deployment,
        "sunlight_secrets_dir": str(secrets_dir),
        "sunlight_sites": sites,
    }
    views = host_views(merged, sites)
    sources = control_sources(merged, control)
    for code, body in _site_groups(merged).items():
        body["vars"]["sunlight_child_codes"] = children(sites, code)
        for name, hv in body["hosts"].items():
            hv.update(host_variables(matrix, views, name, sources, sites))
    return merged


def host_keys_of(sites: Sequence[RealizedSite]) -> dict[str, str]:
    """mgmt address -> pinned host key line, for every host of the realized sites."""
    return {host.mgmt_ip: host.host_key for site in sites for host in site.hosts.values()}


def loopback_url(port: int) -> str:
    """The public URL of a portal whose 443 is published on the control node's loopback."""
    return f"https://127.0.0.1:{port}"


def public_urls_of(sites: Sequence[RealizedSite]) -> dict[str, str]:
    """nginx host -> its public URL, for the realized sites that publish their portal."""
    out = {}
    for site in sites:
        if not site.portal_port:
            continue
        for body in _site_groups(site.inventory).values():
            for name, hv in body["hosts"].items():
                if PUBLIC_ROLE in hv["sunlight_roles"]:
                    out[name] = loopback_url(site.portal_port)
    return out


def write_inventory(out_dir: Path, sites: Sequence[RealizedSite], *, control_key: Path,
                    deployment: str | None = None, secrets_dir: Path | None = None,
                    peers: Sequence[PeerHost] = (),
                    matrix: FlowMatrix | None = None) -> InventoryFiles:
    """Write ``hosts.yml`` and ``known_hosts`` for realized sites into ``out_dir``; each
    nginx host whose portal is published gets its ``sunlight_public_url``."""
    deployment = deployment or sites[0].config.run_id
    return write_inventory_files(
        out_dir, [copy.deepcopy(s.inventory) for s in sites], host_keys_of(sites),
        control_key=control_key, deployment=deployment,
        secrets_dir=secrets_dir or default_secrets_dir(deployment), peers=peers, matrix=matrix,
        public_urls=public_urls_of(sites))


def set_public_urls(inventory: Mapping[str, Any], urls: Mapping[str, str]) -> None:
    """Give each named nginx host its ``sunlight_public_url``; any other name is refused."""
    hosts = {name: hv for body in _site_groups(inventory).values()
             for name, hv in body["hosts"].items()}
    for name, url in sorted(urls.items()):
        if name not in hosts:
            raise ValueError(f"public URL for {name}: no such host in the inventory")
        if PUBLIC_ROLE not in hosts[name]["sunlight_roles"]:
            raise ValueError(f"public URL for {name}: only a host with role {PUBLIC_ROLE} "
                             "has one")
        if not url.startswith("https://"):
            raise ValueError(f"public URL for {name}: {url!r} must start with https://")
        hosts[name][PUBLIC_URL] = url.rstrip("/")


def write_inventory_files(out_dir: Path, site_inventories: Sequence[Mapping[str, Any]],
                          host_keys: Mapping[str, str], *, control_key: Path, deployment: str,
                          secrets_dir: Path, peers: Sequence[PeerHost] = (),
                          matrix: FlowMatrix | None = None,
                          control: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
                          public_urls: Mapping[str, str] | None = None,
                          ) -> InventoryFiles:
    """Write the files from plain stack outputs and host keys (``pulumi up`` deployments);
    ``public_urls`` names each nginx host's public URL (docs/inventory.md)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    known = out_dir / KNOWN_HOSTS_FILE
    inventory = deployment_inventory(site_inventories, deployment=deployment,
                                     control_key=control_key, known_hosts=known.resolve(),
                                     secrets_dir=secrets_dir, peers=peers, matrix=matrix,
                                     control=control)
    set_public_urls(inventory, public_urls or {})
    addresses = {hv["ansible_host"] for body in _site_groups(inventory).values()
                 for hv in body["hosts"].values()}
    missing = sorted(addresses - set(host_keys))
    if missing:
        raise ValueError(f"no pinned host key for {', '.join(missing)}: host-key checking "
                         "stays on, so every host needs one")
    lines = [known_hosts_line(a, host_keys[a]) for a in sorted(addresses)]
    _write_private(known, "\n".join(lines) + "\n")
    hosts = out_dir / HOSTS_FILE
    _write_private(hosts, yaml.safe_dump(inventory, sort_keys=False, allow_unicode=True))
    return InventoryFiles(hosts=hosts, known_hosts=known)


def _write_private(path: Path, text: str) -> None:
    # The inventory names key paths and addresses: readable by its owner only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def ancestors(sites: Mapping[str, Mapping[str, Any]], code: str) -> list[str]:
    """The site's parent, grandparent... as far as ``sunlight_sites`` knows them."""
    out: list[str] = []
    parent = sites.get(code, {}).get("parent")
    while parent and parent in sites and parent not in out:
        out.append(str(parent))
        parent = sites.get(parent, {}).get("parent")
    return out


def kin(sites: Mapping[str, Mapping[str, Any]], code: str) -> list[str]:
    """Ancestors and descendants of ``code``: the sites whose signing keys it must hold."""
    descendants = [c for c in sites if c != code and code in ancestors(sites, c)]
    return sorted({*ancestors(sites, code), *descendants})


def children(sites: Mapping[str, Mapping[str, Any]], code: str) -> list[str]:
    """The sites whose parent is ``code`` (their brokers shovel to this one)."""
    return sorted(c for c, site in sites.items() if site.get("parent") == code)
