"""The flow matrix (``infra/flows.yaml``): loaded, validated, expanded into atomic rows.

The file names every TCP port once, as a *service* (``core_api``, ``amqp``...); roles list
the services they listen on and rows name services, never numbers, so flows.yaml is the
one place a port is stated (:attr:`FlowMatrix.services`, :meth:`FlowMatrix.port`).

Each row of the file may name several sources, destinations and services; :func:`load_flows`
expands them into one :class:`Flow` per (source, destination, network, port, direction)
and refuses unknown roles and services, services a destination does not listen on, a port
stated twice, a row both allowed and denied, and denied rows without an ``enforced_by``.
Whatever no row allows is denied.

Example::

    >>> from sunlight.topology.flows import load_flows
    >>> matrix = load_flows()  # doctest: +SKIP
    >>> core_api = matrix.port("core_api")  # doctest: +SKIP
    >>> matrix.allows("gateway", "core", "int", core_api, relation="same")  # doctest: +SKIP
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sunlight.paths import repo_root
from sunlight.topology.layout import CONTROL, NODE, PUBLISH_BIND, ROLES, Net

FLOWS_FILE = Path("infra") / "flows.yaml"
KNOWN_ROLES = frozenset(ROLES | {NODE, CONTROL})
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # a YAML key and an Ansible attribute


class Enforced(StrEnum):
    """What denies a denied row: the network layout (provable now) or the host firewall."""

    NETWORK = "network"
    FIREWALL = "firewall"


class Direction(StrEnum):
    """How the source's site relates to the destination's on the backbone."""

    UP = "up"  # source site is the destination site's child
    DOWN = "down"  # source site is the destination site's parent


Relation = Literal["same", "up", "down", "other", "control"]


class FlowsError(ValueError):
    """flows.yaml is malformed or contradicts itself; the message names the row."""


@dataclass(frozen=True)
class Flow:
    """One atomic row: may ``source`` open a TCP connection to ``destination:port``?"""

    source: str
    destination: str
    network: Net
    port: int
    allow: bool
    why: str
    direction: Direction | None = None
    enforced_by: Enforced | None = None

    def matches(self, relation: Relation) -> bool:
        """Whether the row applies between endpoints related as ``relation``."""
        if relation == "control" or self.source == CONTROL:
            return relation == "control" and self.source == CONTROL
        if self.direction is not None:
            return relation == self.direction.value
        # Site networks join one site; a backbone row without direction joins any two.
        return self.network is Net.BACKBONE or relation == "same"

    @property
    def label(self) -> str:
        arrow = f" ({self.direction.value})" if self.direction else ""
        return f"{self.source} -> {self.destination}:{self.port} on {self.network}{arrow}"


@dataclass(frozen=True)
class Publish:
    role: str
    port: int
    bind: str


@dataclass(frozen=True)
class FlowMatrix:
    """The validated matrix: each role's ports, what is published, and the atomic rows.

    ``services`` maps each service name to its port (the one statement of every port);
    ``role_services`` lists the services of each role, ``ports`` their port numbers.
    """

    ports: dict[str, tuple[int, ...]]
    publish: tuple[Publish, ...]
    flows: tuple[Flow, ...]
    services: dict[str, int] = field(default_factory=dict)
    role_services: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def ports_of(self, roles: Iterable[str]) -> tuple[int, ...]:
        """The ports a host carrying ``roles`` listens on (sorted, without duplicates)."""
        return tuple(sorted({p for role in roles for p in self.ports[role]}))

    def port(self, service: str) -> int:
        """The port of a service of flows.yaml (``matrix.port("core_api")``)."""
        try:
            return self.services[service]
        except KeyError:
            raise FlowsError(f"flows.yaml names no service {service!r}") from None

    def service(self, port: int) -> str:
        """The name flows.yaml gives ``port`` (each port has exactly one)."""
        for name, number in self.services.items():
            if number == port:
                return name
        raise FlowsError(f"flows.yaml names no service on port {port}")

    def services_of(self, roles: Iterable[str]) -> tuple[str, ...]:
        """The services a host carrying ``roles`` runs, in flows.yaml's order."""
        wanted = {s for role in roles for s in self.role_services[role]}
        return tuple(s for s in self.services if s in wanted)

    def rows(self, sources: Iterable[str], destinations: Iterable[str], network: Net | str,
             port: int, relation: Relation) -> list[Flow]:
        """Every row from one of ``sources`` to one of ``destinations`` that applies."""
        src, dst, net = set(sources), set(destinations), Net(network)
        return [f for f in self.flows if f.source in src and f.destination in dst
                and f.network is net and f.port == port and f.matches(relation)]

    def allows(self, sources: Iterable[str] | str, destinations: Iterable[str] | str,
               network: Net | str, port: int, relation: Relation) -> bool:
        srcs = [sources] if isinstance(sources, str) else sources
        dsts = [destinations] if isinstance(destinations, str) else destinations
        return any(f.allow for f in self.rows(srcs, dsts, network, port, relation))

    @property
    def allowed(self) -> tuple[Flow, ...]:
        return tuple(f for f in self.flows if f.allow)

    @property
    def denied(self) -> tuple[Flow, ...]:
        return tuple(f for f in self.flows if not f.allow)


class _RawRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str | list[str]
    destination: str | list[str]
    network: Net
    port: str | list[str]  # service names, or "any"
    allow: bool
    why: str = Field(min_length=3)
    direction: Direction | None = None
    enforced_by: Enforced | None = None


class _RawPublish(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str
    port: str  # a service name
    bind: str


class _RawFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1]
    services: dict[str, int]
    roles: dict[str, list[str]]
    publish: list[_RawPublish]
    flows: list[_RawRow]


def _listify(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _expand(index: int, row: _RawRow, services: dict[str, int],
            role_services: dict[str, tuple[str, ...]]) -> list[Flow]:
    where = f"flows[{index}]"
    sources, destinations = _listify(row.source), _listify(row.destination)
    for role in sources + destinations:
        if role not in KNOWN_ROLES:
            raise FlowsError(f"{where}: unknown role {role!r}")
    if CONTROL in destinations or NODE in sources:
        raise FlowsError(f"{where}: `control` is only a source and `node` only a destination")
    if row.allow == (row.enforced_by is not None):
        raise FlowsError(f"{where}: a denied row needs `enforced_by`; an allowed row has none")
    if row.direction is not None and row.network is not Net.BACKBONE:
        raise FlowsError(f"{where}: `direction` is only for backbone rows")
    if row.allow and row.network is Net.BACKBONE and row.direction is None:
        raise FlowsError(f"{where}: an allowed backbone row needs a `direction`")
    named = [row.port] if isinstance(row.port, str) else list(row.port)
    for name in named:
        if name not in services and name != "any":
            raise FlowsError(f"{where}: unknown service {name!r} (ports are named under "
                             "`services:`)")
    out = []
    for dst in destinations:
        wanted = list(role_services[dst]) if named == ["any"] else named
        for name in wanted:
            if name not in role_services[dst]:
                raise FlowsError(f"{where}: {dst} does not listen on {name}")
            out += [Flow(src, dst, row.network, services[name], row.allow, row.why,
                         row.direction, row.enforced_by) for src in sources]
    return out


def parse_flows(data: Any) -> FlowMatrix:
    """Validate the parsed YAML document into a :class:`FlowMatrix`."""
    try:
        raw = _RawFile.model_validate(data)
    except ValidationError as exc:
        raise FlowsError(f"flows.yaml: {exc}") from None
    if set(raw.roles) != KNOWN_ROLES:
        raise FlowsError(f"flows.yaml: roles must be exactly {sorted(KNOWN_ROLES)}")
    services = _services(raw.services)
    role_services = {role: tuple(s) for role, s in raw.roles.items()}
    for role, listed in role_services.items():
        unknown = [s for s in listed if s not in services]
        if unknown:
            raise FlowsError(f"roles.{role}: unknown services {unknown} (name them under "
                             "`services:`)")
        if len(set(listed)) != len(listed):
            raise FlowsError(f"roles.{role}: services must be distinct")
    ports = {role: tuple(services[s] for s in listed) for role, listed in role_services.items()}
    publish = []
    for pub in raw.publish:
        if (pub.role not in ROLES or pub.port not in role_services[pub.role]
                or pub.bind != PUBLISH_BIND):
            raise FlowsError(f"publish: {pub} must be a role's own service on {PUBLISH_BIND}")
        publish.append(Publish(pub.role, services[pub.port], pub.bind))
    seen: dict[tuple[str, str, Net, int, Direction | None], Flow] = {}
    for index, row in enumerate(raw.flows):
        for flow in _expand(index, row, services, role_services):
            key = (flow.source, flow.destination, flow.network, flow.port, flow.direction)
            if key in seen:
                raise FlowsError(f"flows[{index}]: {flow.label} is already stated "
                                 f"({'allowed' if seen[key].allow else 'denied'})")
            seen[key] = flow
    _check_no_contradiction(list(seen.values()))
    return FlowMatrix(ports=ports, publish=tuple(publish), flows=tuple(seen.values()),
                      services=services, role_services=role_services)


def _services(raw: dict[str, int]) -> dict[str, int]:
    """``services:``: each a name fit for YAML keys and Ansible, each port stated once."""
    owner: dict[int, str] = {}
    for name, port in raw.items():
        if not SERVICE_NAME.match(name) or name == "any":
            raise FlowsError(f"services.{name}: a service name is lower case, digits and _ "
                             "(and not `any`, which rows use for all of a role's services)")
        if not 0 < port < 65536:
            raise FlowsError(f"services.{name}: {port} is not a TCP port")
        if port in owner:
            raise FlowsError(f"services.{name}: port {port} is already {owner[port]}'s "
                             "(each port is stated once)")
        owner[port] = name
    return dict(raw)


def _check_no_contradiction(flows: list[Flow]) -> None:
    # A denied row without direction covers every direction: it must not meet an allowed one.
    denied = {(f.source, f.destination, f.network, f.port) for f in flows
              if not f.allow and f.direction is None}
    for flow in flows:
        if flow.allow and (flow.source, flow.destination, flow.network, flow.port) in denied:
            raise FlowsError(f"{flow.label} is both allowed and denied")


def load_flows(path: Path | None = None) -> FlowMatrix:
    """Load ``infra/flows.yaml`` of the checkout (or ``path``)."""
    path = path or repo_root() / FLOWS_FILE
    return parse_flows(yaml.safe_load(path.read_text()))
