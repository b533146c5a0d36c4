"""Stand a deployment up (or converge it), add a node, take it down.

``up``: the node image, the backbone (the existing government network, stood in for
locally), every site realized from the Pulumi program — or attached to, if already
running — the control node's guard on every bridge (:mod:`sunlight.control.hostguard`),
then the inventory (with the pinned host keys and each portal's public URL), then the
playbooks from that inventory alone (:mod:`.configure`), then readiness. Re-running
converges. A failure names the site, host and step, and the log. ``down`` removes the
guard with the rest.

Example::

    >>> from sunlight.control.stack.up import up
    >>> result = up(DEFAULT, progress=print)  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import docker
import docker.errors

from sunlight.control import hostguard
from sunlight.control.deploy.inventory import write_inventory
from sunlight.control.deploy.inventory_view import InventoryError
from sunlight.control.images.build import build_node_image
from sunlight.control.realizer.apply import (
    Realized,
    attach,
    plan_site,
    realize,
    unrealize,
)
from sunlight.control.realizer.engines import (
    ClientFactory,
    Engines,
    backbone_publishes,
    check_publish_clashes,
    connect,
    ensure_image,
    reserve_backbones,
    with_publishes,
)
from sunlight.control.resources import Run
from sunlight.control.ssh import ControlKey, control_key
from sunlight.control.stack.ansible import PlaybookResult
from sunlight.control.stack.configure import configure as configure_from_inventory
from sunlight.control.stack.deployment import Deployment
from sunlight.control.stack.topology import TopologySpec
from sunlight.topology.addressing import DeploymentPlan, plan_in_block
from sunlight.topology.config import SiteConfig, parse_site_config
from sunlight.topology.engines import LOCAL
from sunlight.topology.flows import load_flows
from sunlight.topology.layout import hostname, hosts_of

Progress = Callable[[str], None]


class StackError(RuntimeError):
    """Standing up failed; the message names the site and step."""


@dataclass
class UpResult:
    deployment: Deployment
    sites: list[Realized]
    playbook: PlaybookResult | None
    stages: dict[str, float] = field(default_factory=dict)


def _plan(engines: Engines, run: Run, dep: Deployment,
          codes: list[str]) -> tuple[DeploymentPlan, str]:
    """The deployment's address plan; the backbones' creation reserves its block."""
    backbone = run.name("backbone")
    saved = dep.block()
    several = len(engines.names) > 1
    found = [bool(engines.client(n).networks.list(names=[backbone])) for n in engines.names]
    exists = all(found)
    if saved and exists:
        block, order = saved
        order += [c for c in codes if c not in order]  # a new node takes the next slot
        dep.save_block(block, order)
        return plan_in_block(block, order, engines.site_engines() if several else None), backbone
    if any(found):
        raise StackError(f"network {backbone} exists but deployment {dep.name} has no saved "
                         f"plan: run `sunlight down --name {dep.name}` first")
    plan = reserve_backbones(engines, run, codes, backbone)
    dep.save_block(plan.block, list(codes))
    return plan, backbone


def site_configs(spec: TopologySpec, run: Run, image: str, public_key: str,
                 plan: DeploymentPlan, backbone: str,
                 engines: Engines | None = None) -> list[SiteConfig]:
    """Each site's config, made the one way a SiteConfig is made: the stack file's keys
    (``sunlight:<key>`` in infra/Pulumi.<code>.yaml) through ``parse_site_config``.
    Over several engines, each also names its engine and the address it publishes on."""
    owner = None if run.persistent else run.owner
    several = engines is not None and len(engines.names) > 1

    def engine(code: str) -> dict[str, str]:
        if not several or engines is None:
            return {}
        name = spec.engine_of(code)
        return {"engine": name, "engine_address": str(engines.address(name))}

    return [parse_site_config({
        "run_id": run.run_id, "owner": owner, "division_code": s.code, "parent_code": s.parent,
        "profile": spec.profile_of(s.code), "image": image, "portal_port": 0,
        "control_public_key": public_key, "backbone_network": backbone,
        "address_plan": plan.sites[s.code].model_dump(mode="json"), **engine(s.code)})
        for s in spec.sites]


def realize_all(engines: Engines, run: Run, configs: list[SiteConfig],
                progress: Progress) -> list[Realized]:
    """Realize (or attach to) each site on its own engine; over several engines, each
    backbone listener a site on another engine reaches is published on the engine's address."""
    matrix = load_flows()
    spec = engines.spec
    if len(engines.names) > 1:
        check_publish_clashes(matrix, spec, {n: engines.address(n) for n in engines.names})
    out = []
    for config in configs:
        client = engines.client_for(config.division_code)
        planned = plan_site(run, config)  # captured and planned once, for attach or realize
        if config.engine_address is not None:
            roles = {hostname(config.division_code, h): h.roles
                     for h in hosts_of(config.profile)}
            planned = with_publishes(planned, backbone_publishes(matrix, spec,
                                                                 config.division_code),
                                     config.engine_address, roles)
        site = attach(client, run, planned)
        if site is not None:
            progress(f"site {config.division_code}: running, kept")
        else:
            unrealize(client, run, config.division_code)  # what a broken earlier run left
            progress(f"site {config.division_code}: realizing ({config.profile})")
            try:
                site = realize(client, run, planned, progress=progress)
            except Exception as exc:
                raise StackError(f"site {config.division_code}: realize failed: {exc}") from exc
        out.append(site)
    return out


def up(spec: TopologySpec, progress: Progress, *, configure: bool = True,
       playbook: str = "site.yml", extra_args: tuple[str, ...] = (),
       client: docker.DockerClient | None = None, run: Run | None = None,
       key: ControlKey | None = None, factory: ClientFactory = connect) -> UpResult:
    """Realize every site of ``spec`` and configure it; converge what already runs.

    The deployment is a persistent run named after the topology, unless ``run`` is given
    (the test suite stands its topology up as an ephemeral run of its own). ``client`` is
    the local engine's; a site naming another engine is realized there (``factory`` makes
    its client).
    """
    engines = Engines(spec, factory, local=client)
    client = engines.client(LOCAL)
    dep = Deployment(spec.name)
    previous = dep.topology()
    if previous is not None:
        known = {s.code for s in previous.sites}
        if not known <= {s.code for s in spec.sites}:
            raise StackError(f"deployment {spec.name} has sites {sorted(known)}; this topology "
                             f"drops some: `sunlight down --name {spec.name}` first")
    stages: dict[str, float] = {}
    t = time.monotonic()
    image = build_node_image(progress, client=client).image
    for name in engines.names:
        ensure_image(client, engines.client(name), image, progress)
    stages["image"] = time.monotonic() - t
    run = run or Run.named(spec.name)
    if run.run_id != spec.name:
        raise StackError(f"run {run.run_id} and topology {spec.name} must share one name")
    key = key or control_key()
    t = time.monotonic()
    plan, backbone = _plan(engines, run, dep, [s.code for s in spec.sites])
    sites = realize_all(engines, run,
                        site_configs(spec, run, image, key.public, plan, backbone, engines),
                        progress)
    dep.save_topology(spec)
    try:
        guarded = hostguard.install(client, run)
    except hostguard.HostGuardError as exc:
        raise StackError(f"deployment {spec.name}: {exc}") from exc
    progress(f"control node guarded from {len(guarded)} bridges "
             f"(iptables chain {hostguard.chain_name(run.run_id)})")
    _sync_engine_tables(engines, progress)
    stages["realize"] = time.monotonic() - t
    # The hand-off: from here on the deployment is its inventory and pinned host keys.
    write_inventory(dep.inventory_dir, sites, control_key=key.path,
                    deployment=spec.name, secrets_dir=dep.secrets_dir)
    result = None
    if configure:
        t = time.monotonic()
        result = configure_from_inventory(dep, playbook, progress, extra_args)
        stages["configure"] = time.monotonic() - t
    return UpResult(dep, sites, result, stages)


def configure(name: str, progress: Progress, playbook: str = "site.yml") -> PlaybookResult:
    """Run only the playbooks against deployment ``name``'s existing inventory (an earlier
    ``up``, or ``sunlight inventory from-pulumi`` for sites applied with ``pulumi up``)."""
    dep = Deployment(name)
    if not dep.hosts_file.is_file():
        raise StackError(f"deployment {name} has no inventory ({dep.hosts_file}): run "
                         "`sunlight up` or `sunlight inventory from-pulumi` first")
    try:
        return configure_from_inventory(dep, playbook, progress)
    except InventoryError as exc:
        raise StackError(f"deployment {name}: {exc}") from exc


def _sync_engine_tables(engines: Engines, progress: Progress) -> None:
    """Bring the nftables table of the second engine on this machine up to date with its
    bridges and published listeners (other machines' engines are isolated there)."""
    from sunlight.control import enginetable

    for name in engines.names:
        if enginetable.owns(engines.spec.engine(name)):
            try:
                enginetable.sync(engines.client(name))
            except enginetable.EngineTableError as exc:
                raise StackError(f"engine {name}: {exc}") from exc
            progress(f"engine {name}: nftables table {enginetable.TABLE} brought up to date")


def down(name: str, progress: Progress, client: docker.DockerClient | None = None,
         run: Run | None = None, factory: ClientFactory = connect) -> int:
    """Remove every resource of deployment ``name`` (on each of its engines) and its state
    (secrets are kept)."""
    run = run or Run.named(name)
    spec = Deployment(name).topology()
    client = client or docker.from_env()
    report = unrealize(client, run)
    if spec is not None:
        engines = Engines(spec, factory, local=client)
        for engine in engines.names:
            if engine != LOCAL:
                other = unrealize(engines.client(engine), run)
                report.containers += other.containers
                report.networks += other.networks
                report.volumes += other.volumes
        _sync_engine_tables(engines, progress)  # its bridges and listeners are gone
    report.guards = hostguard.remove(run.run_id)
    Deployment(name).forget()
    progress(f"removed {len(report.containers)} containers, {len(report.networks)} networks, "
             f"{len(report.volumes)} volumes and {len(report.guards)} host guards of "
             f"deployment {name}")
    return report.total
