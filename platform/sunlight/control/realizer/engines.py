"""Several Docker engines: one client per engine, a backbone per engine, published listeners.

A topology's sites may run on different engines (:mod:`sunlight.topology.engines`). The
realizer then keeps one docker client per engine (:class:`Engines`, made by a
:data:`ClientFactory`, replaced in tests), makes sure the node image is on every engine
(:func:`ensure_image`: loaded from the engine it was built on), and realizes each site on
its own engine.

The backbone between engines is the routed network between the machines, not a shared
bridge: each engine has its own backbone bridge (a normal, routed one, in its own ``/22`` of
the deployment's block: :func:`sunlight.topology.addressing.plan_in_block`), and a backbone
listener that a site on *another* engine must reach — flows.yaml's allowed backbone rows: the
parent's broker (``amqps``, the child's shovel) and the child's Prometheus (the parent's
federation) — is published on its engine's address at its own port
(:func:`backbone_publishes`). The inventory then gives the peer that address
(:func:`sunlight.control.deploy.inventory.dial_address`). A single-engine topology is
realized exactly as before: one internal backbone bridge, nothing published.

Example::

    >>> engines = Engines(spec)  # doctest: +SKIP
    >>> engines.client_for("320703").info()["Name"]  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Any, Protocol

import docker
import docker.errors
import docker.tls
import requests.exceptions

from sunlight.control.hosts import PublishedPort
from sunlight.control.realizer.plan import RealizerError
from sunlight.control.resources import Run
from sunlight.topology.addressing import (
    DEFAULT_POOL,
    GATEWAY_NUMBER,
    DeploymentPlan,
    free_blocks,
    plan_in_block,
)
from sunlight.topology.engines import LOCAL, EngineSpec
from sunlight.topology.flows import Direction, FlowMatrix
from sunlight.topology.layout import Net

if TYPE_CHECKING:
    from sunlight.control.realizer.apply import PlannedSite

MASQUERADE_OPTION = "com.docker.network.bridge.enable_ip_masquerade"
ClientFactory = Callable[[EngineSpec], docker.DockerClient]
Progress = Callable[[str], None]


class Site(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def parent(self) -> str | None: ...


class TopologySpec(Protocol):
    """What the realizer reads of a topology (``sunlight.control.stack.topology``'s)."""

    @property
    def sites(self) -> Sequence[Site]: ...
    @property
    def engine_names(self) -> list[str]: ...
    def engine_of(self, code: str) -> str: ...
    def engine(self, name: str) -> EngineSpec: ...


def connect(spec: EngineSpec) -> docker.DockerClient:
    """A client of ``spec``'s engine: the environment's for the local one, else its URL
    (a ``tcp://`` engine verified against its CA, with the client's certificate)."""
    if spec.url is None:
        return docker.from_env()
    tls: docker.tls.TLSConfig | bool = False
    if spec.tls is not None:
        for field_name in ("ca", "cert", "key"):
            path = getattr(spec.tls, field_name)
            if not path.is_file():
                raise RealizerError(f"engine {spec.url}: tls.{field_name} {path} is not a "
                                    "readable file")
        tls = docker.tls.TLSConfig(client_cert=(str(spec.tls.cert), str(spec.tls.key)),
                                   ca_cert=str(spec.tls.ca), verify=True)
        return _tls_client(spec.url, tls)
    return docker.DockerClient(base_url=spec.url, tls=tls)


def _tls_client(url: str, tls: docker.tls.TLSConfig) -> docker.DockerClient:
    """A client that trusts the engine's CA alone. requests lets REQUESTS_CA_BUNDLE or
    CURL_CA_BUNDLE (set on many machines) replace a session's CA file on every request,
    and the engine's certificate then fails to verify: the session ignores the environment
    (its CA variables, proxies and .netrc). The API version is the engine's, as ``auto``
    would ask, but asked by a session that already ignores the environment."""
    from docker.constants import MINIMUM_DOCKER_API_VERSION

    probe = docker.DockerClient(base_url=url, tls=tls, version=MINIMUM_DOCKER_API_VERSION)
    try:
        probe.api.trust_env = False
        version = str(probe.version()["ApiVersion"])
    except requests.exceptions.RequestException as exc:  # as `auto` reports it
        raise docker.errors.DockerException(
            f"Error while fetching server API version: {exc}") from exc
    finally:
        probe.close()
    client = docker.DockerClient(base_url=url, tls=tls, version=version)
    client.api.trust_env = False
    return client


# Where machine_address asks the routing table to go (TEST-NET-2, never sent to): a unicast
# address. TEST-NET-1's 192.0.2.255 was refused (EACCES) on a machine whose own network is
# 192.0.2.0/24, where it is the broadcast address.
ROUTE_PROBE = ("198.51.100.1", 9)


def machine_address() -> IPv4Address:
    """This machine's own address: the source of its route out (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(ROUTE_PROBE)  # a UDP connect asks the routing table only
        except OSError as exc:
            raise RealizerError("this machine has no IPv4 route to find its own address: "
                                "give each engine an `address` in the topology") from exc
        return IPv4Address(probe.getsockname()[0])


@dataclass
class Engines:
    """The engines of one topology, each with one client, made on first use."""

    spec: TopologySpec
    factory: ClientFactory = connect
    local: docker.DockerClient | None = None  # an already made client of the local engine
    _clients: dict[str, docker.DockerClient] = field(default_factory=dict)

    def client(self, name: str) -> docker.DockerClient:
        if name not in self._clients:
            if name == LOCAL and self.local is not None:
                self._clients[name] = self.local
            else:
                try:
                    self._clients[name] = self.factory(self.spec.engine(name))
                except docker.errors.DockerException as exc:
                    raise RealizerError(f"engine {name}: does not answer ({exc}); for the "
                                        "second engine run `sunlight engine second up`") from exc
        return self._clients[name]

    def client_for(self, code: str) -> docker.DockerClient:
        return self.client(self.spec.engine_of(code))

    @property
    def names(self) -> list[str]:
        return self.spec.engine_names

    def address(self, name: str) -> IPv4Address:
        """Where ``name``'s engine publishes backbone listeners."""
        return self.spec.engine(name).address or machine_address()

    def site_engines(self) -> dict[str, str]:
        return {s.code: self.spec.engine_of(s.code) for s in self.spec.sites}


# --- what crosses engines -----------------------------------------------------------------


def backbone_publishes(matrix: FlowMatrix, spec: TopologySpec, code: str) -> dict[str, int]:
    """Role -> port of each backbone listener of site ``code`` that a site on another engine
    must reach: an allowed backbone row whose source site is on another engine."""
    engine = spec.engine_of(code)
    site = next(s for s in spec.sites if s.code == code)
    children = [s.code for s in spec.sites if s.parent == code]
    out: dict[str, int] = {}
    for row in matrix.allowed:
        if row.network is not Net.BACKBONE or row.direction is None:
            continue
        # up: the source is a child of the destination's site; down: its parent.
        sources = children if row.direction is Direction.UP else [site.parent or ""]
        if any(s and spec.engine_of(s) != engine for s in sources):
            out.setdefault(row.destination, row.port)
    return out


def check_publish_clashes(matrix: FlowMatrix, spec: TopologySpec,
                          addresses: Mapping[str, IPv4Address]) -> None:
    """Refuse two sites publishing one port on the same engine address (naming them)."""
    taken: dict[tuple[IPv4Address, int], str] = {}
    for site in spec.sites:
        address = addresses[spec.engine_of(site.code)]
        for role, port in backbone_publishes(matrix, spec, site.code).items():
            other = taken.setdefault((address, port), site.code)
            if other != site.code:
                raise RealizerError(
                    f"site {site.code}: its {role} would publish port {port} on {address}, "
                    f"which site {other} publishes already: give one of them another engine "
                    "(or another engine address)")


def with_publishes(planned: PlannedSite, ports: Mapping[str, int],
                   address: IPv4Address, roles: Mapping[str, Sequence[str]]) -> PlannedSite:
    """``planned`` with each backbone listener of ``ports`` (role -> port) published on
    ``address`` at the same port, on the host carrying the role (``roles``: host -> roles)."""
    if not ports:
        return planned
    hosts = []
    for host in planned.plan.hosts:
        carried = roles.get(host.spec.name, ())
        extra = tuple(PublishedPort(port, str(address), port)
                      for role, port in sorted(ports.items()) if role in carried)
        if extra:
            host = replace(host, spec=replace(host.spec,
                                              published=(*host.spec.published, *extra)))
        hosts.append(host)
    return replace(planned, plan=replace(planned.plan, hosts=hosts))


# --- backbones and images -----------------------------------------------------------------


def engine_subnets(clients: Sequence[docker.DockerClient]) -> list[IPv4Network]:
    from sunlight.control.realizer.apply import engine_subnets as one

    return [subnet for client in clients for subnet in one(client)]


def create_backbone(client: docker.DockerClient, run: Run, name: str, subnet: IPv4Network,
                    internal: bool) -> Any:
    """One engine's backbone bridge (routed when the deployment spans engines)."""
    from sunlight.control.realizer.apply import _ipam, _remove_stale_network

    _remove_stale_network(client, run, name)
    # Routed, never masqueraded: its hosts reach other engines' published listeners with
    # their own backbone addresses (which the hosts' firewalls check), and nothing beyond.
    return client.networks.create(
        name, driver="bridge", internal=internal, check_duplicate=True,
        ipam=_ipam(str(subnet), str(subnet.network_address + GATEWAY_NUMBER)),
        options={MASQUERADE_OPTION: "false"},
        labels=run.labels(zone="backbone", network="backbone"))


def reserve_backbones(engines: Engines, run: Run, codes: Sequence[str], name: str,
                      pool: IPv4Network = DEFAULT_POOL) -> DeploymentPlan:
    """Pick a block free on every engine and create each engine's backbone in it.

    One engine: exactly :func:`~sunlight.control.realizer.apply.reserve_local_backbone`.
    """
    names = engines.names
    if len(names) == 1:
        from sunlight.control.realizer.apply import reserve_local_backbone

        plan, _net = reserve_local_backbone(engines.client(names[0]), run, codes, pool, name)
        return plan
    clients = {n: engines.client(n) for n in names}
    taken = engine_subnets(list(clients.values()))
    for block in free_blocks(taken, pool):
        plan = plan_in_block(block, codes, engines.site_engines())
        assert plan.backbones is not None
        made: list[Any] = []
        try:
            for engine, subnet in plan.backbones.items():
                made.append(create_backbone(clients[engine], run, name, subnet, False))
        except docker.errors.APIError as exc:
            for net in made:
                with contextlib.suppress(docker.errors.APIError):
                    net.remove()
            if "overlap" in str(exc).lower():
                continue
            raise
        return plan
    raise RealizerError(f"no /16 in {pool} is free on every engine ({', '.join(names)})")


def ensure_image(source: docker.DockerClient, target: docker.DockerClient, image: str,
                 progress: Progress) -> bool:
    """Load ``image`` into ``target`` from ``source`` unless it is there; True if loaded."""
    if source is target:
        return False
    try:
        target.images.get(image)
        return False
    except docker.errors.ImageNotFound:
        pass
    progress(f"loading image {image} into another engine")
    try:
        target.images.load(source.images.get(image).save(named=True))
    except docker.errors.ImageNotFound:
        raise RealizerError(f"image {image} is on no engine: run `sunlight images build`"
                            ) from None
    target.images.get(image)  # raises if the load did not leave it there
    return True
