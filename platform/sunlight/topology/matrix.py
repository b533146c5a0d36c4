"""The flow matrix seen from hosts: what every connection attempt between endpoints should do.

Roles live on hosts, so a probe is host-level: from a source endpoint to a destination's
address on one of its networks, on one of its ports. A probe is *allowed* if any role on
the source may reach any role on the destination there (flows.yaml). Otherwise it is denied
and its basis says what denies it today:

- ``layout``: the source is not on that network (bridges are isolated) — must be blocked;
- ``mgmt-icc``: two hosts on mgmt, where inter-container traffic is off — must be blocked;
- ``firewall``: they share the network; only the destination's nftables firewall can deny
  it. Until that firewall is applied the proof reports it as pending and never counts it
  as blocked; for destinations named in ``expand(..., firewalled=...)`` (the playbooks
  applied their firewall) it must be blocked like the rest.

Example::

    >>> from sunlight.topology.matrix import control_endpoint, expand, site_endpoints
    >>> hosts = site_endpoints("compact", "320703", "320700")
    >>> probes = expand(matrix, [control_endpoint(), *hosts])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sunlight.topology.flows import Enforced, Flow, FlowMatrix, Relation
from sunlight.topology.layout import CONTROL, ICC_DISABLED, NODE, Net, Profile, hosts_of


class Basis(StrEnum):
    ALLOWED = "allowed"
    LAYOUT = "layout"
    ICC = "mgmt-icc"
    FIREWALL = "firewall"


class Expect(StrEnum):
    OPEN = "open"
    BLOCKED = "blocked"
    PENDING = "pending"  # denied, but only the host firewall can deny it


@dataclass(frozen=True)
class NetworkRef:
    """A network instance: a site's own (ext, int, mgmt) or the shared backbone."""

    kind: Net
    site: str | None

    def __str__(self) -> str:
        return str(self.kind) if self.site is None else f"{self.site}/{self.kind}"


@dataclass(frozen=True)
class Endpoint:
    """Something that opens or accepts connections: a host, the control node, a stand-in."""

    name: str
    roles: tuple[str, ...]
    site: str | None
    parent: str | None
    networks: frozenset[NetworkRef]
    control: bool = False

    def on(self, ref: NetworkRef) -> bool:
        # The control node is the Docker host: it has an address on every bridge.
        return self.control or ref in self.networks


@dataclass(frozen=True)
class Probe:
    source: Endpoint
    destination: Endpoint
    network: NetworkRef
    port: int
    expect: Expect
    basis: Basis
    rows: tuple[Flow, ...]

    @property
    def label(self) -> str:
        src, dst = self.source, self.destination
        where = f"{src.site}/" if src.site and src.site != dst.site else ""
        return f"{where}{src.name} -> {dst.name}:{self.port} on {self.network}"

    @property
    def why(self) -> str:
        chosen = [r for r in self.rows if r.allow] if self.expect is Expect.OPEN else self.rows
        return chosen[0].why if chosen else "default deny"


def network_ref(kind: Net, site: str) -> NetworkRef:
    return NetworkRef(kind, None if kind is Net.BACKBONE else site)


def site_endpoints(profile: Profile | str, site: str, parent: str | None) -> list[Endpoint]:
    """The hosts of one site (each also carries the ``node`` pseudo-role)."""
    return [Endpoint(h.name, (*h.roles, NODE), site, parent,
                     frozenset(network_ref(n, site) for n in h.networks))
            for h in hosts_of(profile)]


def control_endpoint() -> Endpoint:
    return Endpoint(CONTROL, (CONTROL,), None, None, frozenset(), control=True)


def backbone_stand_in(name: str, roles: Sequence[str], site: str,
                      parent: str | None) -> Endpoint:
    """Another site's backbone host, seen only on the backbone (e.g. a parent in tests)."""
    return Endpoint(name, tuple(roles), site, parent,
                    frozenset({NetworkRef(Net.BACKBONE, None)}))


def relation(src: Endpoint, dst: Endpoint) -> Relation:
    if src.control:
        return "control"
    if src.site == dst.site:
        return "same"
    if src.parent is not None and src.parent == dst.site:
        return "up"
    if dst.parent is not None and dst.parent == src.site:
        return "down"
    return "other"


def classify(src: Endpoint, ref: NetworkRef) -> Basis:
    """What would deny a connection from ``src`` to an address on ``ref``."""
    if not src.on(ref):
        return Basis.LAYOUT
    if ref.kind in ICC_DISABLED and not src.control:
        return Basis.ICC
    return Basis.FIREWALL


def expand(matrix: FlowMatrix, endpoints: Sequence[Endpoint],
           sources: Iterable[Endpoint] | None = None,
           firewalled: Collection[str] = frozenset()) -> list[Probe]:
    """Every probe from each source to every other endpoint's address and port.

    ``firewalled`` names the destinations whose host firewall is in place: a denial only
    the firewall can enforce is expected blocked there, and pending elsewhere.
    """
    probes = []
    for src in sources if sources is not None else endpoints:
        for dst in endpoints:
            if dst is src or dst.control:
                continue
            rel = relation(src, dst)
            for ref in sorted(dst.networks, key=str):
                for port in matrix.ports_of(dst.roles):
                    rows = tuple(matrix.rows(src.roles, dst.roles, ref.kind, port, rel))
                    if any(r.allow for r in rows):
                        expect, basis = Expect.OPEN, Basis.ALLOWED
                    else:
                        basis = classify(src, ref)
                        pending = basis is Basis.FIREWALL and dst.name not in firewalled
                        expect = Expect.PENDING if pending else Expect.BLOCKED
                    probes.append(Probe(src, dst, ref, port, expect, basis, rows))
    return probes


def local_flows(matrix: FlowMatrix, endpoints: Sequence[Endpoint]) -> list[tuple[str, Flow]]:
    """Allowed rows whose two roles share a host: local traffic no network rule can see."""
    out = []
    for ep in endpoints:
        if ep.control:
            continue
        for flow in matrix.allowed:
            if flow.source in ep.roles and flow.destination in ep.roles and flow.matches("same"):
                out.append((ep.name, flow))
    return out


def layout_problems(matrix: FlowMatrix, endpoints: Sequence[Endpoint]) -> list[str]:
    """Where flows.yaml and the layout disagree (empty when they agree).

    An allowed probe must be physically possible (the source shares the destination's
    network, and they are not mgmt peers); a row denied with ``enforced_by: network`` must
    be denied by the layout wherever it applies between two different hosts.
    """
    problems = []
    for probe in expand(matrix, endpoints):
        physical = classify(probe.source, probe.network)
        if probe.expect is Expect.OPEN and physical is not Basis.FIREWALL:
            problems.append(f"{probe.label} is allowed but impossible ({physical})")
        for row in probe.rows:
            if row.enforced_by is Enforced.NETWORK and probe.basis not in (Basis.LAYOUT,
                                                                           Basis.ICC):
                problems.append(f"{row.label} is declared enforced by the network, but "
                                f"{probe.label} is {probe.basis}")
    return problems
