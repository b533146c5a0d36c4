"""A deployment's inventory from the sites' Pulumi stack outputs (``pulumi up`` deployments).

Each site's stack exports its Ansible inventory (:mod:`sunlight.topology.inventory`, the
same output the realizer captures); an operator saves them with
``pulumi stack output --json --show-secrets > <code>.json``, one file per stack.
:func:`read_stack_outputs` reads and checks one such file, naming the file and the entry
that is wrong; :func:`deployment_of` picks the deployment's name; the inventory itself is
written by :func:`sunlight.control.deploy.inventory.write_inventory_files`, the writer of
the realizer's path, so both paths give the same ``hosts.yml``.

Host keys: Pulumi cannot know a host's key (the host makes it at first boot), so the keys
come from an OpenSSH ``known_hosts`` file the operator trusts (:func:`known_host_keys`) or
are collected over SSH (:func:`sunlight.control.ssh.scan_host_key`) and pinned after the
operator confirmed their fingerprints (the CLI asks).

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

import paramiko
from paramiko.config import SSH_PORT  # OpenSSH's default: known_hosts names it bare

from sunlight.control.deploy.inventory import SITE_GROUP_PREFIX
from sunlight.topology import inventory as topo_inventory
from sunlight.topology.division import DivisionError, check_code, check_parent
from sunlight.topology.layout import ROLE_ZONE, Net

# What `pulumi stack output --json` prints for a secret output without --show-secrets.
HIDDEN_OUTPUT = "[secret]"
HOST_KEY_TYPE = "ssh-ed25519"  # what the hosts' sshd pins (control.ssh.HostSSH)
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
    return StackOutputs(source, code, parent, str(site_vars["sunlight_run_id"]),
                        dict(inventory))


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


def ssh_targets(stacks: Sequence[StackOutputs]) -> list[tuple[str, str]]:
    """(host name, address the control node reaches it on) of every host, in order."""
    return [(name, hv["ansible_host"]) for s in stacks for name, hv in sorted(s.hosts.items())]


def _key_of(known: paramiko.HostKeys, address: str, port: int) -> str | None:
    entry = known.lookup(address if port == SSH_PORT else f"[{address}]:{port}")
    key = entry.get(HOST_KEY_TYPE) if entry else None
    return f"{key.get_name()} {key.get_base64()}" if key is not None else None


def _load(path: Path) -> paramiko.HostKeys:
    try:
        return paramiko.HostKeys(str(path))
    except (OSError, paramiko.SSHException) as exc:
        raise StackOutputError(f"{path}: not a known_hosts file ({exc})") from None


def known_host_keys(path: Path, addresses: Sequence[str], port: int) -> dict[str, str]:
    """Each address's Ed25519 key line from an OpenSSH known_hosts file (hashed or not)."""
    known = _load(path)
    out: dict[str, str] = {}
    for address in addresses:
        key = _key_of(known, address, port)
        if key is None:
            raise StackOutputError(f"{path}: no {HOST_KEY_TYPE} key for {address}")
        out[address] = key
    return out


def pinned_keys(path: Path, addresses: Sequence[str]) -> dict[str, str]:
    """The keys the deployment already pins (its known_hosts, which names bare addresses as
    :func:`~sunlight.control.deploy.inventory.known_hosts_line` writes them)."""
    if not path.is_file():
        return {}
    known = _load(path)
    return {a: key for a in addresses if (key := _key_of(known, a, SSH_PORT)) is not None}


def changed_keys(pinned: Mapping[str, str], keys: Mapping[str, str]) -> list[str]:
    """The addresses whose key is not the one pinned: refused, never re-pinned."""
    return sorted(a for a, key in keys.items() if a in pinned and pinned[a] != key)
