"""flows.yaml, host by host: what each host's firewall accepts and where its services listen.

The same expansion the segregation proof uses (:func:`sunlight.topology.matrix.expand`)
decides, for every (source, destination address, port) the matrix allows, one accept rule
on the destination host; everything else is dropped (default deny). Sources are the
deployment's hosts (:class:`HostView`, from the inventory), other sites' backbone hosts
the inventory names but does not manage, and the control node, whose address on each site
network is given per site (by default the bridge's gateway: the Docker host itself).

A service listens on its host's address on exactly the networks where flows.yaml allows
some row to reach its port (:func:`listen_addresses`); traffic between roles sharing a
host uses those addresses too and stays on the loopback interface.

Example::

    >>> from sunlight.control.deploy.firewall import accepts
    >>> rules = accepts(matrix, hosts, "320703-int", control)  # doctest: +SKIP
    >>> rules[0].port, rules[0].saddrs  # doctest: +SKIP
    (22, ('10.200.12.1',))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sunlight.topology.flows import FlowMatrix
from sunlight.topology.layout import NODE, Net
from sunlight.topology.matrix import (
    Endpoint,
    Expect,
    backbone_stand_in,
    control_endpoint,
    expand,
    local_flows,
    network_ref,
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
    for probe in expand(matrix, endpoints):
        if probe.destination is not dst or probe.expect is not Expect.OPEN:
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
            rules.append(Accept(network, target.addresses[network], port, unique, tuple(whys)))
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
class Target:
    """Somewhere a host may connect to: a host (name, roles) at ``address:port``."""

    name: str
    roles: tuple[str, ...]
    network: str
    address: str
    port: int


def _local(matrix: FlowMatrix, view: HostView) -> list[tuple[str, int, str]]:
    """(network, port, source role) of allowed rows between roles of this one host."""
    found = local_flows(matrix, [view.endpoint()])
    return [(f.network.value, f.port, f.source) for _, f in found
            if f.network.value in view.addresses]


def clients(matrix: FlowMatrix, hosts: Sequence[HostView], host: str,
            control: ControlSources, port: int) -> list[Source]:
    """Who may connect to ``port`` of ``host``: remote sources, and roles on the host itself.

    A role on the same host connects to the host's own address on the allowed network,
    so that address is its source (pg_hba needs it; the firewall never sees it).
    """
    out = {s for rule in accepts(matrix, hosts, host, control) if rule.port == port
           for s in rule.sources}
    view = {h.name: h for h in hosts}[host]
    for network, local_port, role in _local(matrix, view):
        if local_port == port:
            out.add(Source(view.name, (role,), view.addresses[network]))
    return sorted(out, key=lambda s: (s.address, s.name))


def reachable(matrix: FlowMatrix, hosts: Sequence[HostView], host: str) -> list[Target]:
    """Where ``host`` may connect: other hosts (and peers) flows.yaml allows, and itself."""
    views = {h.name: h for h in hosts}
    me = views[host]
    endpoints = [h.endpoint() for h in hosts]
    src = next(e for e in endpoints if e.name == host)
    out = set()
    for probe in expand(matrix, endpoints, sources=[src]):
        if probe.expect is Expect.OPEN:
            dst = views[probe.destination.name]
            kind = probe.network.kind.value
            out.add(Target(dst.name, dst.roles, kind, dst.addresses[kind], probe.port))
    for network, port, _role in _local(matrix, me):
        out.add(Target(me.name, me.roles, network, me.addresses[network], port))
    return sorted(out, key=lambda t: (t.port, t.address))
