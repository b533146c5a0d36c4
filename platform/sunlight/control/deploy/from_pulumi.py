"""A deployment's inventory from the sites' Pulumi stack outputs (``pulumi up`` deployments).

Each site's stack exports its Ansible inventory (:mod:`sunlight.topology.inventory`, the
same output the realizer captures); an operator saves them with
``pulumi stack output --json --show-secrets > <code>.json``, one file per stack.
:func:`read_stack_outputs` reads and checks one such file, naming the file and the entry
that is wrong; :func:`deployment_of` picks the deployment's name; the inventory itself is
written by :func:`sunlight.control.deploy.inventory.write_inventory_files`, the writer of
the realizer's path, so both paths give the same ``hosts.yml``.

Host keys: Pulumi cannot know a host's key (the host makes it at first boot), so they are
collected over SSH and pinned as for machines Sunlight did not create
(:func:`sunlight.control.byoh.hostkeys.pin_host_keys`, which the CLI calls): only
when an OpenSSH ``known_hosts`` file the operator trusts names the same key, or after the
operator confirmed its fingerprint. Each nginx host's public URL comes from the engine's
answer in the ``published`` output (:func:`public_urls`).

Example::

    >>> stacks = [read_stack_outputs(Path("320703.json"))]  # doctest: +SKIP
    >>> deployment_of(stacks, None)  # doctest: +SKIP
    'prod'
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from sunlight.control.deploy.inventory import PUBLIC_ROLE, SITE_GROUP_PREFIX
from sunlight.topology import inventory as topo_inventory
from sunlight.topology.division import DivisionError, check_code, check_parent
from sunlight.topology.flows import FlowMatrix
from sunlight.topology.layout import ROLE_ZONE, Net

# What `pulumi stack output --json` prints for a secret output without --show-secrets.
HIDDEN_OUTPUT = "[secret]"
LOOPBACK = "127.0.0.1"  # where the front door is published when the output names no address
REQUIRED_HOST_VARS = ("ansible_host", "ansible_user", "sunlight_host", "sunlight_roles",
                      "sunlight_zone", "sunlight_addresses")
REQUIRED_SITE_VARS = ("sunlight_run_id", "sunlight_division_code", "sunlight_parent_code",
                      "sunlight_networks")


class StackOutputError(ValueError):
    """A stack output file is unusable; the message names the file and the entry."""


@dataclass(frozen=True)
class StackOutputs:
    """One site's stack outputs, checked: its code, parent, run and inventory."""

    source: str  # the file, for messages
    code: str
    parent: str | None
    run_id: str
    inventory: dict[str, Any]
    published: dict[str, list[dict[str, Any]]]  # layout host -> [{port, host_port, ip}]

    @property
    def hosts(self) -> dict[str, dict[str, Any]]:
        """Host name -> its inventory variables."""
        group = self.inventory["all"]["children"][f"{SITE_GROUP_PREFIX}{self.code}"]
        hosts: dict[str, dict[str, Any]] = group["hosts"]
        return hosts


def _secrets(value: Any, where: str) -> list[str]:
    if value == HIDDEN_OUTPUT:
        return [where]
    if isinstance(value, Mapping):
        return [w for k, v in value.items() for w in _secrets(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [w for i, v in enumerate(value) for w in _secrets(v, f"{where}[{i}]")]
    return []


def _check_host(source: str, name: str, hv: Any) -> None:
    where = f"{source}: host {name}"
    if not isinstance(hv, Mapping):
        raise StackOutputError(f"{where}: its variables are not a mapping")
    missing = [k for k in REQUIRED_HOST_VARS if k not in hv]
    if missing:
        raise StackOutputError(f"{where}: missing {', '.join(missing)}")
    roles = hv["sunlight_roles"]
    unknown = [r for r in roles if r not in ROLE_ZONE]
    if not roles or unknown:
        raise StackOutputError(f"{where}: unknown role(s) {unknown or '(none)'}; "
                               f"known: {', '.join(sorted(ROLE_ZONE))}")
    zones = {ROLE_ZONE[r].value for r in roles}
    if zones != {hv["sunlight_zone"]}:
        raise StackOutputError(f"{where}: zone {hv['sunlight_zone']!r} does not match its "
                               f"roles' zone {sorted(zones)} (infra/flows.yaml)")
    try:
        ip_address(hv["ansible_host"])
    except ValueError:
        raise StackOutputError(f"{where}: ansible_host {hv['ansible_host']!r} is not an "
                               "address") from None
    if hv["sunlight_addresses"].get(Net.MGMT.value) != hv["ansible_host"]:
        raise StackOutputError(f"{where}: ansible_host is not its {Net.MGMT.value} address")


def parse_stack_outputs(doc: Any, source: str) -> StackOutputs:
    """Check one ``pulumi stack output --json --show-secrets`` document of a site."""
    if not isinstance(doc, Mapping):
        raise StackOutputError(f"{source}: not a JSON object of stack outputs "
                               "(`pulumi stack output --json --show-secrets`)")
    hidden = _secrets(doc, "outputs")
    if hidden:
        raise StackOutputError(f"{source}: {', '.join(hidden)} shows {HIDDEN_OUTPUT}: "
                               "save the outputs with --show-secrets")
    for key in (topo_inventory.OUTPUT_KEY_INVENTORY, topo_inventory.OUTPUT_KEY_DIVISION_CODE):
        if key not in doc:
            raise StackOutputError(f"{source}: no output {key!r}: is this a Sunlight site's "
                                   "stack (infra/)?")
    code = doc[topo_inventory.OUTPUT_KEY_DIVISION_CODE]
    try:
        check_code(code)
    except DivisionError as exc:
        raise StackOutputError(f"{source}: division_code: {exc}") from None
    inventory = doc[topo_inventory.OUTPUT_KEY_INVENTORY]
    try:
        children = inventory["all"]["children"]
    except (KeyError, TypeError):
        raise StackOutputError(f"{source}: inventory has no all.children") from None
    sites = [g for g in children if g.startswith(SITE_GROUP_PREFIX)]
    if sites != [f"{SITE_GROUP_PREFIX}{code}"]:
        raise StackOutputError(f"{source}: inventory must hold exactly site {code}, "
                               f"not {sites}")
    group = children[sites[0]]
    site_vars = group.get("vars") or {}
    missing = [k for k in REQUIRED_SITE_VARS if k not in site_vars]
    if missing:
        raise StackOutputError(f"{source}: site {code} lacks {', '.join(missing)}")
    parent = site_vars["sunlight_parent_code"] or None
    try:
        check_parent(code, parent)
    except DivisionError as exc:
        raise StackOutputError(f"{source}: sunlight_parent_code: {exc}") from None
    if not group.get("hosts"):
        raise StackOutputError(f"{source}: site {code} has no hosts")
    for name, hv in group["hosts"].items():
        _check_host(source, name, hv)
    published = _check_published(source, doc.get(topo_inventory.OUTPUT_KEY_PUBLISHED) or {},
                                 {hv["sunlight_host"] for hv in group["hosts"].values()})
    return StackOutputs(source, code, parent, str(site_vars["sunlight_run_id"]),
                        dict(inventory), published)


def _check_published(source: str, published: Any,
                     hosts: set[str]) -> dict[str, list[dict[str, Any]]]:
    where = f"{source}: {topo_inventory.OUTPUT_KEY_PUBLISHED}"
    if not isinstance(published, Mapping):
        raise StackOutputError(f"{where}: not a mapping of host to published ports")
    for host, ports in published.items():
        if host not in hosts:
            raise StackOutputError(f"{where}.{host}: no such host in the site's inventory")
        if not isinstance(ports, list) or not all(
                isinstance(p, Mapping) and isinstance(p.get("port"), int) for p in ports):
            raise StackOutputError(f"{where}.{host}: not a list of {{port, host_port, ip}}")
    return {h: [dict(p) for p in ports] for h, ports in published.items()}


def read_stack_outputs(path: Path) -> StackOutputs:
    """Read and check one saved stack output file."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise StackOutputError(f"{path}: not JSON ({exc})") from None
    return parse_stack_outputs(doc, str(path))


def check_sites(stacks: Sequence[StackOutputs]) -> None:
    """One file per site, every site's parent among them (as a topology file requires: the
    inventory names each site's parent for its shovel and firewall), no address twice."""
    seen: dict[str, str] = {}
    for stack in stacks:
        if stack.code in seen:
            raise StackOutputError(f"site {stack.code} is in both {seen[stack.code]} and "
                                   f"{stack.source}")
        seen[stack.code] = stack.source
    for stack in stacks:
        if stack.parent and stack.parent not in seen:
            raise StackOutputError(f"{stack.source}: site {stack.code}'s parent "
                                   f"{stack.parent} is not among the files: give its stack "
                                   "output too")
    owners: dict[str, str] = {}
    for stack in stacks:
        for name, hv in stack.hosts.items():
            address = hv["ansible_host"]
            if address in owners:
                raise StackOutputError(f"{stack.source}: host {name}: address {address} is "
                                       f"also {owners[address]}'s")
            owners[address] = name


def deployment_of(stacks: Sequence[StackOutputs], given: str | None) -> str:
    """``given``, else the run id the stacks share (their ``sunlight:run_id``)."""
    if given:
        return given
    runs = sorted({s.run_id for s in stacks})
    if len(runs) != 1:
        raise StackOutputError(f"the stacks name several runs ({', '.join(runs)}): give "
                               "--deployment NAME")
    return runs[0]


def public_urls(stacks: Sequence[StackOutputs], matrix: FlowMatrix) -> dict[str, str]:
    """nginx host -> its public URL: the address and port the engine published its front
    door on (flows.yaml's ``publish`` row; a wildcard address is the engine's loopback)."""
    doors = {p.port for p in matrix.publish if p.role == PUBLIC_ROLE}
    out = {}
    for stack in stacks:
        names = {hv["sunlight_host"]: name for name, hv in stack.hosts.items()}
        for host, ports in sorted(stack.published.items()):
            if PUBLIC_ROLE not in stack.hosts[names[host]]["sunlight_roles"]:
                continue
            for p in ports:
                if p["port"] not in doors:
                    continue
                if not isinstance(p.get("host_port"), int) or not p["host_port"]:
                    raise StackOutputError(
                        f"{stack.source}: {topo_inventory.OUTPUT_KEY_PUBLISHED}.{host}: no "
                        f"host_port for port {p['port']}: save the outputs after `pulumi up`")
                ip = ip_address(p.get("ip") or LOOPBACK)
                if ip.is_unspecified:  # every address of the engine's host: its loopback too
                    ip = ip_address(LOOPBACK if ip.version == 4 else "::1")
                shown = f"[{ip}]" if ip.version == 6 else str(ip)
                out[names[host]] = f"https://{shown}:{p['host_port']}"
    return out
