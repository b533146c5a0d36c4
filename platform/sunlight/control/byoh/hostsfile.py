"""The hosts file: existing Debian 12 machines per site, validated into the deployment inventory.

The file (YAML, documented with a complete example in ``docs/hosts-file.md``) names a
deployment, its backbone subnet and, per site (GB/T 2260 code and parent), the subnets of
its ``ext``, ``int`` and ``mgmt`` networks, the control node's addresses as the site sees
them, and its hosts: the management address the control node reaches sshd on, the SSH
user (and port), the roles, the zone, and one address on every other network its roles
need (``ext``, ``int``, ``backbone``: the names flows.yaml and the topology use). A
deployment over several machines' engines (docs/engines.md) gives every site its
``engine`` (``name``, and the ``address`` its backbone listeners are published on, which
peers on other engines dial) and, for a site not on the file's backbone, its own
``backbone``.

:func:`parse_hosts_file` refuses, naming the entry (``site 320703, host int, field
roles``), every problem at once: an unknown role, a duplicate address, a zone or a network
that does not match what the host's roles need (:mod:`sunlight.topology.layout`, the same
rule the realizer's hosts follow), an address outside its network's subnet, a site code
that fails GB/T 2260 or a parent that is not the code's (:mod:`sunlight.topology.division`),
a parent that is not in the file, a site missing a role or running one twice, an SSH port
other than flows.yaml's ``ssh`` service (the firewall the playbooks write admits SSH only
there).

:func:`site_inventories` turns the file into the sites' inventories in the shape the
Pulumi program exports (:func:`sunlight.topology.inventory.build_inventory`), and
:func:`control_sources` into the control node's addresses; both go through the one
inventory writer, :mod:`sunlight.control.deploy.inventory` (:func:`deployment_inventory`
in memory for prechecks, :func:`write_hosts_inventory` to disk).

Example::

    >>> from sunlight.control.byoh.hostsfile import load_hosts_file
    >>> hosts = load_hosts_file(Path("hosts.yaml"))  # doctest: +SKIP
    >>> [h.inventory_name for h in hosts.hosts()]  # doctest: +SKIP
    ['320703-ext', '320703-gw', '320703-int']
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sunlight.control.deploy.inventory import (
    PUBLIC_ROLE,
    PUBLIC_URL,
    SSH_SERVICE,
    InventoryFiles,
    deployment_inventory,
    write_inventory_files,
)
from sunlight.topology.division import DivisionError, check_code, check_parent, tier_of
from sunlight.topology.engines import check_name
from sunlight.topology.flows import FlowMatrix, load_flows
from sunlight.topology.layout import (
    ADMIN_USER,
    PROFILES,
    ROLE_ZONE,
    ROLES,
    SITE_NETWORKS,
    HostLayout,
    Net,
    Zone,
)
from sunlight.topology.runs import validate_run_id

CUSTOM_PROFILE = "custom"  # sunlight_profile of a site whose hosts match no profile
HOST_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
SSH_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Problem:
    """One refusal: ``where`` names the entry (site, host, field), ``message`` the rule."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class HostsFileError(ValueError):
    """The hosts file is refused; ``problems`` names every offending entry."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"hosts file {source} refused:\n{lines}")


class SshEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    user: str = ADMIN_USER  # logs in with the control key, and has passwordless sudo
    port: int | None = Field(default=None, gt=0, lt=65536)  # default: flows.yaml's ssh


class HostEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    address: IPv4Address  # on the site's mgmt network: where the control node reaches sshd
    ssh: SshEntry = SshEntry()
    roles: list[str] = Field(min_length=1)
    zone: Zone
    networks: dict[str, IPv4Address] = Field(default_factory=dict)  # ext, int, backbone
    public_url: str | None = None  # nginx hosts: where citizens reach it (default: its ext)


class EngineEntry(BaseModel):
    """Where a site's hosts run when the deployment spans several machines' engines
    (docs/engines.md): peers on another engine dial its backbone listeners at ``address``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    address: IPv4Address


class SiteEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    parent: str | None = None
    subnets: dict[str, IPv4Network]  # ext, int, mgmt
    backbone: IPv4Network | None = None  # its engine's backbone, if not the file's
    engine: EngineEntry | None = None  # several engines: the site's, for every site or none
    control: dict[str, list[IPv4Address]]  # network -> the control node's addresses there
    hosts: list[HostEntry] = Field(min_length=1)

    def backbone_of(self, deployment: IPv4Network) -> IPv4Network:
        """The backbone subnet its hosts' backbone addresses are in."""
        return self.backbone or deployment

    @field_validator("code", "parent", mode="before")
    @classmethod
    def _quoted(cls, value: Any) -> Any:
        # Unquoted, YAML reads 320703 as a number and 010105 as an octal one.
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{value!r} is not a string: quote division codes in YAML "
                             "(\"320703\")")
        return value


class HostsFile(BaseModel):
    """A validated hosts file (build it with :func:`parse_hosts_file`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    deployment: str
    backbone: IPv4Network
    sites: list[SiteEntry] = Field(min_length=1)

    def site(self, code: str) -> SiteEntry:
        return next(s for s in self.sites if s.code == code)

    def hosts(self) -> Iterator[Target]:
        """Every host, site by site, with what SSH needs to reach it."""
        ssh_port = load_flows().port(SSH_SERVICE)
        for site in self.sites:
            for host in site.hosts:
                yield Target(site.code, host.name, f"{site.code}-{host.name}",
                             str(host.address), host.ssh.user, host.ssh.port or ssh_port)

    def ordered_codes(self) -> list[str]:
        """The site codes, every parent before its children."""
        out: list[str] = []
        pending = [s.code for s in self.sites]
        parents = {s.code: s.parent for s in self.sites}
        while pending:
            ready = [c for c in pending if not parents[c] or parents[c] in out]
            if not ready:  # unreachable after validation (parents are in the file)
                raise ValueError(f"sites {pending} have parents outside the file")
            out += ready
            pending = [c for c in pending if c not in ready]
        return out


@dataclass(frozen=True)
class Target:
    """One host as SSH sees it: ``address`` is its mgmt address (the inventory's
    ``ansible_host``), ``name`` its inventory name."""

    site: str
    host: str
    name: str
    address: str
    user: str
    port: int


def _where(data: Any, loc: Sequence[int | str]) -> str:
    """``site 320703, host int, field roles`` for a pydantic location in the raw document."""
    parts: list[str] = []
    node = data
    field: list[str] = []
    index = 0
    while index < len(loc):
        key = loc[index]
        if key in ("sites", "hosts") and index + 1 < len(loc) and isinstance(loc[index + 1], int):
            try:
                node = node[key][loc[index + 1]]
                label = node.get("code" if key == "sites" else "name", loc[index + 1])
            except (KeyError, IndexError, TypeError, AttributeError):
                label = f"#{loc[index + 1]}"
            parts.append(f"{'site' if key == 'sites' else 'host'} {label}")
            index += 2
            continue
        field.append(str(key))
        index += 1
    if field:
        parts.append(f"field {'.'.join(field)}")
    return ", ".join(parts) or "file"


def parse_hosts_file(data: Any, source: str = "(hosts file)",
                     matrix: FlowMatrix | None = None) -> HostsFile:
    """Validate a parsed YAML document; raise :class:`HostsFileError` naming every entry."""
    try:
        parsed = HostsFile.model_validate(data)
    except ValidationError as exc:
        raise HostsFileError(source, [
            Problem(_where(data, e["loc"]), e["msg"].removeprefix("Value error, "))
            for e in exc.errors()]) from None
    problems = _check(parsed, matrix or load_flows())
    if problems:
        raise HostsFileError(source, problems)
    return parsed


def load_hosts_file(path: Path, matrix: FlowMatrix | None = None) -> HostsFile:
    """Read and validate the hosts file at ``path``."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise HostsFileError(str(path), [Problem("file", str(exc))]) from exc
    return parse_hosts_file(data, str(path), matrix)


def expected_layout(host: HostEntry) -> HostLayout:
    """The host as the topology sees it: its networks follow from its roles' zone."""
    return HostLayout(host.name, tuple(host.roles), 0)


def _check(hf: HostsFile, matrix: FlowMatrix) -> list[Problem]:
    problems: list[Problem] = []
    try:
        validate_run_id(hf.deployment)
    except ValueError as exc:
        problems.append(Problem("field deployment", str(exc)))
    codes = [s.code for s in hf.sites]
    owners: dict[IPv4Address, str] = {}
    for site in hf.sites:
        problems += _check_site(hf, site, codes, matrix, owners)
    problems += _check_engines(hf)
    return problems


def _check_engines(hf: HostsFile) -> list[Problem]:
    """Every site names its engine or none does; each engine has one address and one
    backbone (a site on another engine than the file's backbone names its own)."""
    named = [s for s in hf.sites if s.engine is not None]
    if not named:
        return [Problem(f"site {s.code}, field backbone", "a site has a backbone of its own "
                        "only on an engine of its own: give every site its `engine`")
                for s in hf.sites if s.backbone is not None]
    if len(named) != len(hf.sites):
        return [Problem(f"site {s.code}, field engine", "some sites name their engine: name "
                        "every site's (or none)") for s in hf.sites if s.engine is None]
    out = []
    seen: dict[str, tuple[IPv4Address, IPv4Network, str]] = {}
    for site in named:
        assert site.engine is not None
        here = f"site {site.code}, field engine"
        try:
            check_name(site.engine.name)
        except ValueError as exc:
            out.append(Problem(f"{here}.name", str(exc)))
        mine = (site.engine.address, site.backbone_of(hf.backbone), site.code)
        first = seen.setdefault(site.engine.name, mine)
        if first[0] != mine[0]:
            out.append(Problem(f"{here}.address", f"{mine[0]}, but site {first[2]} gives "
                               f"engine {site.engine.name} the address {first[0]}"))
        if first[1] != mine[1]:
            out.append(Problem(f"site {site.code}, field backbone", f"{mine[1]}, but site "
                               f"{first[2]} on engine {site.engine.name} is on {first[1]}"))
    backbones: dict[IPv4Network, SiteEntry] = {}
    for site in named:
        backbones.setdefault(site.backbone_of(hf.backbone), site)
    items = list(backbones.items())
    for i, (net_a, site_a) in enumerate(items):
        for net_b, site_b in items[i + 1:]:
            if net_a.overlaps(net_b):
                out.append(Problem(f"site {site_b.code}, field backbone", f"{net_b} overlaps "
                                   f"the backbone {net_a} of site {site_a.code}"))
    return out


def _check_site(hf: HostsFile, site: SiteEntry, codes: list[str], matrix: FlowMatrix,
                owners: dict[IPv4Address, str]) -> list[Problem]:
    out: list[Problem] = []
    here = f"site {site.code}"
    try:
        check_code(site.code)
    except DivisionError as exc:
        return [Problem(f"{here}, field code", str(exc))]
    if codes.count(site.code) > 1 and site is not hf.site(site.code):
        return [Problem(f"{here}, field code", "the site is listed twice")]
    try:
        check_parent(site.code, site.parent)
    except DivisionError as exc:
        out.append(Problem(f"{here}, field parent", str(exc)))
    else:
        if site.parent and site.parent not in codes:
            out.append(Problem(f"{here}, field parent", f"{site.parent} is not in this file: "
                               "list the parent site and its hosts too (configuring a site "
                               "changes its parent's broker and firewall)"))
    out += _check_networks(hf, site)
    carriers: dict[str, list[str]] = {}
    names: set[str] = set()
    for host in site.hosts:
        where = f"{here}, host {host.name}"
        if host.name in names:
            out.append(Problem(f"{where}, field name", "the name is used twice in the site"))
        names.add(host.name)
        if not HOST_NAME.match(host.name):
            out.append(Problem(f"{where}, field name", "1-31 characters of a-z, 0-9 and '-', "
                               "starting with a letter"))
        out += _check_host(hf, site, host, where, matrix, owners)
        for role in host.roles:
            carriers.setdefault(role, []).append(host.name)
    missing = sorted(ROLES - set(carriers))
    if missing:
        out.append(Problem(f"{here}, field hosts", f"no host carries role(s) "
                           f"{', '.join(missing)}: a site runs every role of "
                           f"{', '.join(sorted(ROLES))}"))
    for role, hosts in sorted(carriers.items()):
        if len(hosts) > 1 and role in ROLES:
            out.append(Problem(f"{here}, field hosts", f"role {role} is on {' and '.join(hosts)}"
                               ": each role runs on exactly one host of a site"))
    return out


def _check_networks(hf: HostsFile, site: SiteEntry) -> list[Problem]:
    here = f"site {site.code}"
    out: list[Problem] = []
    wanted = {n.value for n in SITE_NETWORKS}
    if set(site.subnets) != wanted:
        out.append(Problem(f"{here}, field subnets", f"give exactly {', '.join(sorted(wanted))}"
                           f" (got {', '.join(sorted(site.subnets)) or 'none'})"))
    named = {**{f"subnets.{k}": v for k, v in site.subnets.items()},
             "backbone": site.backbone_of(hf.backbone)}
    items = list(named.items())
    for i, (a, net_a) in enumerate(items):
        for b, net_b in items[i + 1:]:
            if net_a.overlaps(net_b):
                where = f"{here}, field {a}"
                out.append(Problem(where, f"{net_a} overlaps {b} {net_b}"))
    unknown = sorted(set(site.control) - wanted)
    if unknown:
        out.append(Problem(f"{here}, field control", f"unknown network(s) {', '.join(unknown)} "
                           f"(the control node is on {', '.join(sorted(wanted))})"))
    if not site.control.get(Net.MGMT.value):
        out.append(Problem(f"{here}, field control.mgmt", "the control node's address on mgmt "
                           "is required: Ansible and the prechecks log in from there"))
    return out


def _check_host(hf: HostsFile, site: SiteEntry, host: HostEntry, where: str,
                matrix: FlowMatrix, owners: dict[IPv4Address, str]) -> list[Problem]:
    out: list[Problem] = []
    if not SSH_USER.match(host.ssh.user):
        out.append(Problem(f"{where}, field ssh.user", f"{host.ssh.user!r} is not a user name"))
    ssh_port = matrix.port(SSH_SERVICE)
    if host.ssh.port is not None and host.ssh.port != ssh_port:
        out.append(Problem(f"{where}, field ssh.port", f"{host.ssh.port} is not flows.yaml's "
                           f"ssh service ({ssh_port}): the firewall the playbooks write admits "
                           "SSH only there; change `ssh` under `services:` in infra/flows.yaml "
                           "for the whole deployment instead"))
    unknown = [r for r in host.roles if r not in ROLES]
    if unknown:
        out.append(Problem(f"{where}, field roles", f"unknown role(s) {', '.join(unknown)} "
                           f"(roles are {', '.join(sorted(ROLES))})"))
        return out
    if len(set(host.roles)) != len(host.roles):
        out.append(Problem(f"{where}, field roles", "a role is listed twice"))
    zones = {ROLE_ZONE[r] for r in host.roles}
    if len(zones) > 1:
        detail = ", ".join(f"{r} ({ROLE_ZONE[r].value})" for r in host.roles)
        out.append(Problem(f"{where}, field roles", f"roles of different zones cannot share a "
                           f"host: {detail}"))
        return out
    layout = expected_layout(host)
    if host.zone is not layout.zone:
        out.append(Problem(f"{where}, field zone", f"{host.zone.value} does not match its roles:"
                           f" {', '.join(host.roles)} run in the {layout.zone.value} zone "
                           "(flows.yaml)"))
    needed = {n.value for n in layout.networks} - {Net.MGMT.value}
    for net in sorted(set(host.networks) - needed):
        why = ("mgmt is the host's `address`" if net == Net.MGMT.value else
               f"its roles ({', '.join(host.roles)}) are not on {net}")
        out.append(Problem(f"{where}, field networks.{net}", f"unexpected: {why}"))
    for net in sorted(needed - set(host.networks)):
        out.append(Problem(f"{where}, field networks", f"no {net} address: "
                           f"{', '.join(host.roles)} need(s) one on {net} (flows.yaml)"))
    if host.public_url is not None and PUBLIC_ROLE not in host.roles:
        out.append(Problem(f"{where}, field public_url", f"only a host with role {PUBLIC_ROLE} "
                           "has one (citizens reach the site there)"))
    elif host.public_url is not None and not host.public_url.startswith("https://"):
        out.append(Problem(f"{where}, field public_url", f"{host.public_url!r} must start "
                           "with https:// (nginx serves citizens over TLS only)"))
    addresses = {Net.MGMT.value: host.address, **host.networks}
    for net, address in addresses.items():
        field = "address" if net == Net.MGMT.value else f"networks.{net}"
        subnet = (site.backbone_of(hf.backbone) if net == Net.BACKBONE.value
                  else site.subnets.get(net))
        if subnet is not None and address not in subnet:
            out.append(Problem(f"{where}, field {field}", f"{address} is not in the {net} "
                               f"subnet {subnet}"))
        owner = f"site {site.code}, host {host.name}, field {field}"
        if address in owners:
            out.append(Problem(f"{where}, field {field}", f"duplicate address {address}: "
                               f"already {owners[address]}"))
        else:
            owners[address] = owner
    return out


def profile_of(site: SiteEntry) -> str:
    """The realizer profile whose hosts group the roles as this site does, else ``custom``."""
    grouping = sorted(sorted(h.roles) for h in site.hosts)
    for profile, layouts in PROFILES.items():
        if grouping == sorted(sorted(h.roles) for h in layouts):
            return profile.value
    return CUSTOM_PROFILE


def _site_vars(hf: HostsFile, site: SiteEntry) -> dict[str, Any]:
    networks = {str(n): {"name": f"{site.code}-{n}", "subnet": str(site.subnets[n.value])}
                for n in SITE_NETWORKS}
    networks[Net.BACKBONE.value] = {"name": Net.BACKBONE.value,
                                    "subnet": str(site.backbone_of(hf.backbone))}
    engine = {} if site.engine is None else {  # as the realizer's inventory over engines
        "sunlight_engine": site.engine.name, "sunlight_engine_address": str(site.engine.address)}
    return {
        "sunlight_run_id": hf.deployment,
        "sunlight_division_code": site.code,
        "sunlight_parent_code": site.parent,
        "sunlight_tier": tier_of(site.code).value,
        "sunlight_profile": profile_of(site),
        "sunlight_portal_port": None,  # nothing is published: a load balancer fronts nginx
        "sunlight_networks": networks,
        **engine,
    }


def public_url_of(host: HostEntry) -> str | None:
    """An nginx host's public URL: the file's, else https:// on its ext address."""
    if PUBLIC_ROLE not in host.roles:
        return None
    return (host.public_url or f"https://{host.networks[Net.EXT.value]}").rstrip("/")


def _host_vars(host: HostEntry) -> dict[str, Any]:
    layout = expected_layout(host)
    addresses = {Net.MGMT.value: host.address, **host.networks}
    public = public_url_of(host)
    return {
        "ansible_host": str(host.address),
        "ansible_user": host.ssh.user,
        "sunlight_host": host.name,
        "sunlight_roles": list(host.roles),
        "sunlight_zone": layout.zone.value,
        "sunlight_addresses": {n.value: str(addresses[n.value]) for n in layout.networks},
        **({PUBLIC_URL: public} if public else {}),
    }


def site_inventory(hf: HostsFile, code: str) -> dict[str, Any]:
    """One site's inventory, in the shape of the Pulumi program's ``inventory`` output."""
    site = hf.site(code)
    group = f"site_{code}"
    groups: dict[str, dict[str, Any]] = {group: {"hosts": {}, "vars": _site_vars(hf, site)}}
    tier = tier_of(code).value
    for host in site.hosts:
        name = f"{code}-{host.name}"
        groups[group]["hosts"][name] = _host_vars(host)
        zone = expected_layout(host).zone.value
        for extra in (*(f"role_{r}" for r in host.roles), f"zone_{zone}", f"tier_{tier}"):
            groups.setdefault(extra, {"hosts": {}})["hosts"][name] = {}
    return {"all": {"children": dict(sorted(groups.items()))}}


def site_inventories(hf: HostsFile) -> list[dict[str, Any]]:
    """Every site's inventory, parents first."""
    return [site_inventory(hf, code) for code in hf.ordered_codes()]


def control_sources(hf: HostsFile) -> dict[str, Mapping[str, Sequence[str]]]:
    """Site -> network -> the control node's addresses (the firewall's sources for it)."""
    return {s.code: {net: [str(a) for a in addresses] for net, addresses in s.control.items()}
            for s in hf.sites}


def inventory_of(hf: HostsFile, *, control_key: Path, known_hosts: Path, secrets_dir: Path,
                 matrix: FlowMatrix | None = None) -> dict[str, Any]:
    """The deployment inventory in memory (what :func:`write_hosts_inventory` writes)."""
    return deployment_inventory(site_inventories(hf), deployment=hf.deployment,
                                control_key=control_key, known_hosts=known_hosts,
                                secrets_dir=secrets_dir, matrix=matrix,
                                control=control_sources(hf))


def write_hosts_inventory(hf: HostsFile, out_dir: Path, host_keys: Mapping[str, str], *,
                          control_key: Path, secrets_dir: Path,
                          matrix: FlowMatrix | None = None) -> InventoryFiles:
    """``hosts.yml`` and ``known_hosts`` into ``out_dir``, by the realizer path's writer."""
    return write_inventory_files(out_dir, site_inventories(hf), host_keys,
                                 control_key=control_key, deployment=hf.deployment,
                                 secrets_dir=secrets_dir, matrix=matrix,
                                 control=control_sources(hf))


def document_from_inventory(inventory: Mapping[str, Any],
                            control: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
                            ) -> dict[str, Any]:
    """A hosts-file document describing the hosts of an existing inventory (e.g. one the
    realizer wrote): the way to add bare hosts beside running sites, and the round trip the
    tests check. ``control`` defaults to each network's gateway, as the realizer's does."""
    children = inventory["all"]["children"]
    sites = []
    backbone = ""
    deployment = ""
    for group, body in children.items():
        if not group.startswith("site_"):
            continue
        sv = body["vars"]
        deployment = sv["sunlight_run_id"]
        nets = sv["sunlight_networks"]
        own = nets[Net.BACKBONE.value]["subnet"]
        backbone = backbone or own  # the first site's; a site on another engine names its own
        code = sv["sunlight_division_code"]
        given = (control or {}).get(code)
        hosts = []
        for hv in body["hosts"].values():
            addresses = dict(hv["sunlight_addresses"])
            entry: dict[str, Any] = {
                "name": hv["sunlight_host"], "address": addresses.pop(Net.MGMT.value),
                "ssh": {"user": hv.get("ansible_user", ADMIN_USER)},
                "roles": list(hv["sunlight_roles"]), "zone": hv["sunlight_zone"],
                "networks": addresses}
            if PUBLIC_URL in hv:
                entry["public_url"] = hv[PUBLIC_URL]
            hosts.append(entry)
        sites.append({
            "code": code, "parent": sv["sunlight_parent_code"],
            "subnets": {n.value: nets[n.value]["subnet"] for n in SITE_NETWORKS},
            **({"backbone": own} if own != backbone else {}),
            **({"engine": {"name": sv["sunlight_engine"],
                           "address": sv["sunlight_engine_address"]}}
               if "sunlight_engine_address" in sv else {}),
            "control": ({k: list(v) for k, v in given.items()} if given else
                        {n.value: [nets[n.value]["gateway"]] for n in SITE_NETWORKS}),
            "hosts": hosts})
    return {"version": 1, "deployment": deployment, "backbone": backbone, "sites": sites}
