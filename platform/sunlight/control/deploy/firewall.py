"""flows.yaml, host by host: what each host's firewall accepts, where its services listen,
and where its roles connect.

The same expansion the segregation proof uses (:func:`sunlight.topology.matrix.expand`)
decides, for every (source, destination address, port) the matrix allows, one accept rule
on the destination host; everything else is dropped (default deny). Sources are the
deployment's hosts (:class:`HostView`, from the inventory), other sites' backbone hosts
the inventory names but does not manage, and the control node, whose address on each site
network is given per site (by default the bridge's gateway: the Docker host itself).

Hosts of the external zone and the gateway (:data:`EGRESS_ZONES`) also have a default-drop
output policy: :func:`egress` lists the connections flows.yaml lets them open to other
hosts (one accept rule each); replies, loopback (roles sharing the host) and nothing else
leave them.

A service listens on its host's address on exactly the networks where flows.yaml allows
some row to reach its port (:func:`listens`, :func:`listen_addresses`); traffic between
roles sharing a host uses those addresses too and stays on the loopback interface. Where a
role connects — its database, core's API, the parent's broker, the scrape targets — is
:func:`peers`. The inventory writer (:mod:`sunlight.control.deploy.inventory`) hands all of
it to Ansible as host variables, computed once.

Example::

    >>> from sunlight.control.deploy.firewall import accepts
    >>> rules = accepts(matrix, hosts, "320703-int", control)  # doctest: +SKIP
    >>> rules[0].service, rules[0].saddrs  # doctest: +SKIP
    ('ssh', ('10.200.12.1',))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sunlight.topology.flows import FlowMatrix
from sunlight.topology.layout import NODE, ROLE_ZONE, Net, Zone
from sunlight.topology.matrix import (
    Endpoint,
    Expect,
    backbone_stand_in,
    control_endpoint,
    expand,
    local_flows,
    network_ref,
    relation,
)

ControlSources = Mapping[str, Mapping[str, Sequence[str]]]  # site -> network kind -> addresses


@dataclass(frozen=True)
class HostView:
    """A host as the inventory describes it; ``managed`` False for another site's peer."""

    name: str
    site: str
    parent: str | None
    roles: tuple[str, ...]
    addresses: Mapping[str, str]  # network kind -> address
    managed: bool = True

    def endpoint(self) -> Endpoint:
        if not self.managed:
            return backbone_stand_in(self.name, self.roles, self.site, self.parent)
        nets = frozenset(network_ref(Net(kind), self.site) for kind in self.addresses)
        return Endpoint(self.name, (*self.roles, NODE), self.site, self.parent, nets)


@dataclass(frozen=True)
class Source:
    """Who may connect: a host or the control node, the roles allowed, at one address."""

    name: str
    roles: tuple[str, ...]
    address: str


@dataclass(frozen=True)
class Accept:
    """One accept rule on a host: these sources may reach ``daddr:port`` on ``network``."""

    network: str
    daddr: str
    port: int
    sources: tuple[Source, ...]
    why: tuple[str, ...]
    service: str = ""  # flows.yaml's name for ``port``

    @property
    def saddrs(self) -> tuple[str, ...]:
        return tuple(sorted({s.address for s in self.sources}))


def _source_addresses(src: Endpoint, kind: Net, views: Mapping[str, HostView],
                      dst_site: str, control: ControlSources) -> list[str]:
    if src.control:
        return list(control.get(dst_site, {}).get(kind.value, ()))
    return [views[src.name].addresses[kind.value]]


def accepts(matrix: FlowMatrix, hosts: Sequence[HostView], host: str,
            control: ControlSources) -> list[Accept]:
    """The accept rules of ``host``: one per (network, port), sources merged and sorted."""
    views = {h.name: h for h in hosts}
    if host not in views or not views[host].managed:
        raise KeyError(f"{host} is not a managed host of the inventory")
    target = views[host]
    endpoints = [control_endpoint(), *(h.endpoint() for h in hosts)]
    dst = next(e for e in endpoints if e.name == host and not e.control)
    grouped: dict[tuple[str, int], tuple[list[Source], list[str]]] = {}
    for probe in expand(matrix, [dst], sources=endpoints):  # every probe towards ``host``
        if probe.expect is not Expect.OPEN:
            continue
        kind = probe.network.kind
        sources, whys = grouped.setdefault((kind.value, probe.port), ([], []))
        # The roles the rows allow (not every role of the source host): pg_hba maps them.
        roles = tuple(sorted({r.source for r in probe.rows if r.allow}))
        for address in _source_addresses(probe.source, kind, views, target.site, control):
            sources.append(Source(probe.source.name, roles, address))
        if probe.why not in whys:
            whys.append(probe.why)
    rules = []
    for (network, port), (sources, whys) in sorted(grouped.items()):
        unique = tuple(sorted(set(sources), key=lambda s: (s.address, s.name)))
        if unique:
            rules.append(Accept(network, target.addresses[network], port, unique, tuple(whys),
                                matrix.service(port)))
    return rules


def listen_networks(matrix: FlowMatrix, roles: Iterable[str], port: int,
                    networks: Iterable[str]) -> list[str]:
    """The host's networks on which some allowed row reaches ``port`` of one of ``roles``."""
    wanted = {*roles, NODE}
    allowed = {f.network.value for f in matrix.allowed
               if f.destination in wanted and f.port == port}
    return [n for n in networks if n in allowed]


def listen_addresses(matrix: FlowMatrix, roles: Iterable[str], port: int,
                     addresses: Mapping[str, str]) -> list[str]:
    """The addresses a service on ``port`` binds (in the order of ``addresses``)."""
    return [addresses[n] for n in listen_networks(matrix, roles, port, addresses)]


def default_control_sources(networks: Mapping[str, Mapping[str, str]]) -> dict[str, list[str]]:
    """The control node's address on each site network: the bridge's gateway."""
    return {kind: [net["gateway"]] for kind, net in networks.items()
            if kind != Net.BACKBONE.value}


def peer_views(sites: Mapping[str, Mapping[str, object]]) -> list[HostView]:
    """Backbone hosts of unmanaged sites, from the inventory's ``sunlight_sites``."""
    views = []
    for code, site in sorted(sites.items()):
        if site.get("managed"):
            continue
        parent = site.get("parent")
        backbone = site.get("backbone") or []
        assert isinstance(backbone, list)
        for peer in backbone:
            views.append(HostView(str(peer["name"]), code, str(parent) if parent else None,
                                  tuple(peer["roles"]),
                                  {Net.BACKBONE.value: str(peer["address"])}, managed=False))
    return views


@dataclass(frozen=True)
class Listen:
    """One service of a host: its port, the addresses it binds, the host's roles serving it."""

    service: str
    port: int
    addresses: tuple[str, ...]
    roles: tuple[str, ...]


def listens(matrix: FlowMatrix, view: HostView) -> list[Listen]:
    """Every service of the host's roles (``node`` included), in flows.yaml's order.

    A service nobody may reach still appears, with no address (it must not listen).
    """
    roles = (*view.roles, NODE)
    out = []
    for service in matrix.services_of(roles):
        port = matrix.port(service)
        serving = tuple(r for r in roles if service in matrix.role_services[r])
        out.append(Listen(service, port,
                          tuple(listen_addresses(matrix, roles, port, view.addresses)), serving))
    return out


RELATIONS = {"same": "same", "up": "parent", "down": "child"}  # seen from the source's site


@dataclass(frozen=True)
class Peer:
    """Somewhere a role of a host may connect: ``role`` of ``host``, at ``address:port``.

    ``source_role`` is the connecting role on this host; ``relation`` says whose the
    destination is: this site's (``same``), the parent site's or a child site's.
    """

    source_role: str
    role: str
    service: str
    host: str
    site: str
    relation: str
    network: str
    address: str
    port: int


def _local(matrix: FlowMatrix, view: HostView) -> list[tuple[str, int, str, str]]:
    """(network, port, source role, destination role) of allowed rows within one host."""
    found = local_flows(matrix, [view.endpoint()])
    return [(f.network.value, f.port, f.source, f.destination) for _, f in found
            if f.network.value in view.addresses]


def peers(matrix: FlowMatrix, hosts: Sequence[HostView], host: str) -> list[Peer]:
    """Where the roles of ``host`` may connect: other hosts and peers flows.yaml allows, and
    roles on the host itself (reached on its own address); by source role, port, address."""
    views = {h.name: h for h in hosts}
    me = views[host]
    endpoints = [h.endpoint() for h in hosts]
    src = next(e for e in endpoints if e.name == host)
    out = set()
    for probe in expand(matrix, endpoints, sources=[src]):
        if probe.expect is not Expect.OPEN:
            continue
        dst = views[probe.destination.name]
        kind = probe.network.kind.value
        found = relation(src, probe.destination)
        rel = RELATIONS.get(found, found)
        for row in probe.rows:
            if row.allow:
                out.add(Peer(row.source, row.destination, matrix.service(probe.port), dst.name,
                             dst.site, rel, kind, dst.addresses[kind], probe.port))
    for network, port, source, destination in _local(matrix, me):
        out.add(Peer(source, destination, matrix.service(port), me.name, me.site, "same",
                     network, me.addresses[network], port))
    return sorted(out, key=lambda p: (p.source_role, p.port, p.address, p.role, p.network))


def clients(matrix: FlowMatrix, hosts: Sequence[HostView], host: str,
            control: ControlSources,
            rules: Sequence[Accept] | None = None) -> dict[int, list[Source]]:
    """Who may connect to each port of ``host``: remote sources, and roles on the host.

    A role on the same host connects to the host's own address on the allowed network,
    so that address is its source (pg_hba needs it; the firewall never sees it).
    ``rules``: the host's :func:`accepts`, if already worked out.
    """
    found: dict[int, set[Source]] = {}
    for rule in rules if rules is not None else accepts(matrix, hosts, host, control):
        found.setdefault(rule.port, set()).update(rule.sources)
    view = {h.name: h for h in hosts}[host]
    for network, port, role, _destination in _local(matrix, view):
        found.setdefault(port, set()).add(Source(view.name, (role,), view.addresses[network]))
    return {port: sorted(sources, key=lambda s: (s.address, s.name))
            for port, sources in sorted(found.items())}


EGRESS_ZONES = frozenset({Zone.EXTERNAL, Zone.BOTH})
"""Zones whose hosts may open only the connections flows.yaml gives their roles."""


def restricts_egress(roles: Iterable[str]) -> bool:
    """Whether a host carrying ``roles`` gets the default-drop output policy."""
    return any(ROLE_ZONE.get(r) in EGRESS_ZONES for r in roles)


@dataclass(frozen=True)
class Egress:
    """One output accept rule: this host may open connections to ``daddr:port``."""

    network: str
    daddr: str
    port: int
    service: str
    why: tuple[str, ...]


def egress(matrix: FlowMatrix, hosts: Sequence[HostView], host: str) -> list[Egress]:
    """The output accept rules of ``host``: every other host (peers of other sites
    included) that an allowed row lets one of its roles reach, by network, address and port.

    Roles sharing the host reach each other over loopback, which the policy always passes.
    """
    views = {h.name: h for h in hosts}
    if host not in views or not views[host].managed:
        raise KeyError(f"{host} is not a managed host of the inventory")
    endpoints = [h.endpoint() for h in hosts]
    src = next(e for e in endpoints if e.name == host)
    grouped: dict[tuple[str, str, int], list[str]] = {}
    for probe in expand(matrix, endpoints, sources=[src]):
        if probe.expect is not Expect.OPEN:
            continue
        kind = probe.network.kind.value
        address = views[probe.destination.name].addresses[kind]
        whys = grouped.setdefault((kind, address, probe.port), [])
        if probe.why not in whys:
            whys.append(probe.why)
    return [Egress(network, daddr, port, matrix.service(port), tuple(whys))
            for (network, daddr, port), whys in sorted(grouped.items())]
