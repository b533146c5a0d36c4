"""The realizer: apply a site's Pulumi program to the local engine without the Pulumi CLI.

:func:`realize` runs the program under mocks (:mod:`sunlight.control.realizer.capture`), checks
and plans every captured resource (:mod:`sunlight.control.realizer.plan`), then creates
exactly those networks, volumes and containers with docker-py — containers through the
host helper (:func:`sunlight.control.hosts.start_host`) — and waits for every host to boot and
answer SSH. The backbone stands for the existing government network: the caller creates
it (:func:`reserve_local_backbone` for local topologies). :func:`unrealize` removes only
what carries the run's id (and site). ``sunlight up`` and the test fixtures use this.

Example::

    >>> from sunlight.control.realizer.apply import realize, reserve_local_backbone, unrealize
    >>> plan, backbone = reserve_local_backbone(client, run, ["320703"])  # doctest: +SKIP
    >>> site = realize(client, run, config)  # doctest: +SKIP
    >>> site.hosts["gw"].mgmt_ip, site.timings["total"]  # doctest: +SKIP
    ('10.200.12.11', 14.2)
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network, ip_network
from typing import Any

import docker
import docker.errors

from sunlight.control.hosts import BOOT_TIMEOUT_S, start_host, wait_ready
from sunlight.control.realizer.capture import Capture, Declare, capture_site
from sunlight.control.realizer.plan import (
    NetworkPlan,
    RealizationPlan,
    RealizerError,
    plan_realization,
)
from sunlight.control.resources import LABEL_RUN_ID, Run, SweepReport, is_sweepable
from sunlight.control.ssh import pinned_host_key
from sunlight.topology import inventory
from sunlight.topology.addressing import (
    DEFAULT_POOL,
    GATEWAY_NUMBER,
    DeploymentPlan,
    free_blocks,
    plan_in_block,
)
from sunlight.topology.config import SiteConfig
from sunlight.topology.layout import PUBLISH_BIND, Net

__all__ = ["Realized", "RealizedHost", "RealizerError", "attach", "realize",
           "reserve_local_backbone", "unrealize"]

LABEL_SITE = "io.sunlight.site"
LABEL_HOST = "io.sunlight.host"
LABEL_ROLE = "io.sunlight.role"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class RealizedHost:
    """A running host: its container, addresses by network kind, and pinned SSH host key."""

    name: str
    roles: tuple[str, ...]
    container: Any
    addresses: dict[str, str]
    host_key: str

    @property
    def mgmt_ip(self) -> str:
        return self.addresses[Net.MGMT.value]


@dataclass(frozen=True)
class Realized:
    """What :func:`realize` made, with the program's outputs and how long each step took."""

    config: SiteConfig
    hosts: dict[str, RealizedHost]
    networks: dict[str, str]  # kind -> Docker name (the backbone included)
    volumes: list[str]
    outputs: dict[str, Any]
    portal_port: int | None  # the loopback port nginx's 443 is published on
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def inventory(self) -> dict[str, Any]:
        value: dict[str, Any] = self.outputs[inventory.OUTPUT_KEY_INVENTORY]
        return value


def engine_subnets(client: docker.DockerClient) -> list[IPv4Network]:
    """Every IPv4 subnet any network on the engine uses (ours, other runs', anyone's)."""
    out = []
    for network in client.networks.list():
        for cfg in (network.attrs.get("IPAM") or {}).get("Config") or []:
            with contextlib.suppress(ValueError, TypeError):
                subnet = ip_network(cfg.get("Subnet"), strict=False)
                if isinstance(subnet, IPv4Network):
                    out.append(subnet)
    return out


def reserve_local_backbone(client: docker.DockerClient, run: Run, codes: Sequence[str],
                           pool: IPv4Network = DEFAULT_POOL,
                           name: str | None = None) -> tuple[DeploymentPlan, Any]:
    """Pick a free address block and create the backbone in it (the block's reservation).

    Another run choosing the same block at the same moment loses at creation (Docker
    refuses overlapping subnets) and moves on to the next free block.
    """
    name = name or run.name("backbone")
    _remove_stale_network(client, run, name)
    taken = engine_subnets(client)
    for block in free_blocks(taken, pool):
        plan = plan_in_block(block, codes)
        try:
            network = client.networks.create(
                name, driver="bridge", internal=True, check_duplicate=True,
                ipam=_ipam(str(plan.backbone_subnet),
                           str(plan.backbone_subnet.network_address + GATEWAY_NUMBER)),
                labels=run.labels(zone="backbone", network="backbone"),
            )
        except docker.errors.APIError as exc:
            if "overlap" in str(exc).lower():
                continue
            raise
        return plan, network
    raise RealizerError(f"no free /16 in {pool} for a local deployment")


def _ipam(subnet: str, gateway: str | None) -> docker.types.IPAMConfig:
    return docker.types.IPAMConfig(
        pool_configs=[docker.types.IPAMPool(subnet=subnet, gateway=gateway)])


def _remove_stale_network(client: docker.DockerClient, run: Run, name: str) -> None:
    for stale in client.networks.list(names=[name]):
        if stale.name == name:
            if not is_sweepable(stale.attrs.get("Labels"), run.run_id):
                raise RealizerError(f"network {name} exists and is not run {run.run_id}'s")
            with contextlib.suppress(docker.errors.NotFound):
                stale.remove()


def _check_engine(client: docker.DockerClient, plan: RealizationPlan) -> None:
    for name in sorted(plan.external_networks):
        if not client.networks.list(names=[name]):
            raise RealizerError(f"network {name} is joined but not declared: create it first "
                                "(the backbone stands for the existing government network)")
    for image in sorted({h.spec.image for h in plan.hosts}):
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            raise RealizerError(f"image {image} is not on the engine: run "
                                "`sunlight images build`") from None


def _create_network(client: docker.DockerClient, run: Run, net: NetworkPlan) -> Any:
    _remove_stale_network(client, run, net.name)
    return client.networks.create(
        net.name, driver="bridge", internal=net.internal, check_duplicate=True,
        ipam=_ipam(net.subnet, net.gateway), options=net.options, labels=net.labels)


def _create(client: docker.DockerClient, run: Run, plan: RealizationPlan,
            made: list[Any], say: Progress) -> list[Any]:
    for net in plan.networks:
        made.append(_create_network(client, run, net))
    for vol in plan.volumes:
        made.append(client.volumes.create(name=vol.name, driver="local", labels=vol.labels))
    containers = []
    for host in plan.hosts:
        say(f"starting {run.name(host.spec.name)}")
        container = start_host(client, run, host.spec)
        made.append(container)
        containers.append(container)
    return containers


def _undo(made: Iterable[Any]) -> None:
    # Containers were appended last: remove in reverse so networks are free when reached.
    for obj in reversed(list(made)):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            if hasattr(obj, "stop"):
                obj.remove(force=True, v=True)
            else:
                obj.remove()


def _published_port(container: Any) -> int | None:
    """The front door's port on loopback (a backbone listener published for another
    engine's sites binds the engine's address instead, and is not it)."""
    for bindings in (container.attrs["NetworkSettings"].get("Ports") or {}).values():
        for binding in bindings or []:
            if binding.get("HostIp") == PUBLISH_BIND:
                return int(binding["HostPort"])
    return None


def _realized_host(container: Any, kinds: dict[str, str]) -> RealizedHost:
    container.reload()
    nets = container.attrs["NetworkSettings"]["Networks"]
    addresses = {kinds[name]: str(info["IPAddress"]) for name, info in nets.items()
                 if name in kinds}
    return RealizedHost(container.labels[LABEL_HOST],
                        tuple(container.labels[LABEL_ROLE].split(",")), container,
                        addresses, pinned_host_key(container))


@dataclass(frozen=True)
class PlannedSite:
    """A site's program captured and planned once: what attach and realize both use."""

    config: SiteConfig
    capture: Capture
    plan: RealizationPlan


def plan_site(run: Run, config: SiteConfig, declare: Declare | None = None) -> PlannedSite:
    """Capture the site's program under mocks and plan its resources (no engine needed)."""
    if config.run_id != run.run_id:
        raise RealizerError(f"config is for run {config.run_id}, not {run.run_id}")
    capture = capture_site(config, declare)
    return PlannedSite(config, capture, plan_realization(capture.resources, run))


def _planned(run: Run, site: SiteConfig | PlannedSite, declare: Declare | None) -> PlannedSite:
    return site if isinstance(site, PlannedSite) else plan_site(run, site, declare)


def realize(client: docker.DockerClient, run: Run, site: SiteConfig | PlannedSite, *,
            declare: Declare | None = None, progress: Progress | None = None,
            boot_timeout_s: float = BOOT_TIMEOUT_S) -> Realized:
    """Create exactly what the site's program declares, and wait until every host is up."""
    say = progress or (lambda _m: None)
    started = time.monotonic()
    planned = _planned(run, site, declare)
    config, capture, plan = planned.config, planned.capture, planned.plan
    _check_engine(client, plan)
    timings = {"capture": time.monotonic() - started}
    made: list[Any] = []
    try:
        containers = _create(client, run, plan, made, say)
        timings["create"] = time.monotonic() - started - timings["capture"]
        for host, container in zip(plan.hosts, containers, strict=True):
            wait_ready(container, host.mgmt_network, timeout_s=boot_timeout_s)
        kinds = {name: kind for kind, name in capture.outputs[
            inventory.OUTPUT_KEY_NETWORKS].items()}
        hosts = {h.name: h for h in (_realized_host(c, kinds) for c in containers)}
    except BaseException:
        _undo(made)
        raise
    timings["boot"] = time.monotonic() - started - timings["capture"] - timings["create"]
    timings["total"] = time.monotonic() - started
    say(f"site {config.division_code} realized in {timings['total']:.1f} s")
    portal = [p for p in (_published_port(h.container) for h in hosts.values()) if p]
    return Realized(config, hosts, dict(capture.outputs[inventory.OUTPUT_KEY_NETWORKS]),
                    [v.name for v in plan.volumes], capture.outputs,
                    portal[0] if portal else None, timings)


def unrealize(client: docker.DockerClient, run: Run, site: str | None = None) -> SweepReport:
    """Remove the run's containers, networks and volumes (only ``site``'s, if given)."""
    labels = [f"{LABEL_RUN_ID}={run.run_id}"] + ([f"{LABEL_SITE}={site}"] if site else [])
    flt = {"label": labels}
    report = SweepReport()
    for container in client.containers.list(all=True, filters=flt):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True, v=True)
        report.containers.append(container.name)
    for network in client.networks.list(filters=flt):
        with contextlib.suppress(docker.errors.NotFound):
            network.remove()
        report.networks.append(network.name)
    for volume in client.volumes.list(filters=flt):
        with contextlib.suppress(docker.errors.NotFound):
            volume.remove(force=True)
        report.volumes.append(volume.name)
    return report


def attach(client: docker.DockerClient, run: Run, site: SiteConfig | PlannedSite, *,
           declare: Declare | None = None) -> Realized | None:
    """The site as already realized, if every declared host is there and running.

    Lets a re-run converge instead of recreating: the planned program (its outputs are a
    function of the config) is matched to the containers carrying the run's and the site's
    labels. None when anything is missing or stopped.
    """
    planned = _planned(run, site, declare)
    config, capture, plan = planned.config, planned.capture, planned.plan
    flt = {"label": [f"{LABEL_RUN_ID}={run.run_id}", f"{LABEL_SITE}={config.division_code}"]}
    found = {c.name: c for c in client.containers.list(all=True, filters=flt)}
    wanted = [run.name(h.spec.name) for h in plan.hosts]
    if set(wanted) - set(found) or any(found[n].status != "running" for n in wanted):
        return None
    if any(config.image not in found[n].image.tags for n in wanted):
        return None  # an older image: recreate (the playbooks' upgrade path is separate)
    kinds = {name: kind for kind, name in capture.outputs[inventory.OUTPUT_KEY_NETWORKS].items()}
    hosts = {h.name: h for h in (_realized_host(found[n], kinds) for n in wanted)}
    portal = [p for p in (_published_port(h.container) for h in hosts.values()) if p]
    return Realized(config, hosts, dict(capture.outputs[inventory.OUTPUT_KEY_NETWORKS]),
                    [v.name for v in plan.volumes], capture.outputs,
                    portal[0] if portal else None, {"total": 0.0})
