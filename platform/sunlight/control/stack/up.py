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
from sunlight.control.images.build import build_node_image
from sunlight.control.realizer.apply import (
    Realized,
    attach,
    plan_site,
    realize,
    reserve_local_backbone,
    unrealize,
)
from sunlight.control.resources import Run
from sunlight.control.ssh import ControlKey, control_key
from sunlight.control.stack.ansible import PlaybookResult
from sunlight.control.stack.configure import configure as configure_from_inventory
from sunlight.control.stack.deployment import Deployment
from sunlight.control.stack.topology import TopologySpec
from sunlight.topology.addressing import DeploymentPlan, plan_in_block
from sunlight.topology.config import SiteConfig, parse_site_config

Progress = Callable[[str], None]


class StackError(RuntimeError):
    """Standing up failed; the message names the site and step."""


@dataclass
class UpResult:
    deployment: Deployment
    sites: list[Realized]
    playbook: PlaybookResult | None
    stages: dict[str, float] = field(default_factory=dict)


def _plan(client: docker.DockerClient, run: Run, dep: Deployment,
          codes: list[str]) -> tuple[DeploymentPlan, str]:
    """The deployment's address plan; the backbone's creation reserves its block."""
    backbone = run.name("backbone")
    saved = dep.block()
    exists = bool(client.networks.list(names=[backbone]))
    if saved and exists:
        block, order = saved
        order += [c for c in codes if c not in order]  # a new node takes the next slot
        dep.save_block(block, order)
        return plan_in_block(block, order), backbone
    if exists:
        raise StackError(f"network {backbone} exists but deployment {dep.name} has no saved "
                         f"plan: run `sunlight down --name {dep.name}` first")
    plan, _net = reserve_local_backbone(client, run, codes, name=backbone)
    dep.save_block(plan.block, list(codes))
    return plan, backbone


def site_configs(spec: TopologySpec, run: Run, image: str, public_key: str,
                 plan: DeploymentPlan, backbone: str) -> list[SiteConfig]:
    """Each site's config, made the one way a SiteConfig is made: the stack file's keys
    (``sunlight:<key>`` in infra/Pulumi.<code>.yaml) through ``parse_site_config``."""
    owner = None if run.persistent else run.owner
    return [parse_site_config({
        "run_id": run.run_id, "owner": owner, "division_code": s.code, "parent_code": s.parent,
        "profile": spec.profile_of(s.code), "image": image, "portal_port": 0,
        "control_public_key": public_key, "backbone_network": backbone,
        "address_plan": plan.sites[s.code].model_dump(mode="json")}) for s in spec.sites]


def realize_all(client: docker.DockerClient, run: Run, configs: list[SiteConfig],
                progress: Progress) -> list[Realized]:
    out = []
    for config in configs:
        planned = plan_site(run, config)  # captured and planned once, for attach or realize
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
       key: ControlKey | None = None) -> UpResult:
    """Realize every site of ``spec`` and configure it; converge what already runs.

    The deployment is a persistent run named after the topology, unless ``run`` is given
    (the test suite stands its topology up as an ephemeral run of its own).
    """
    client = client or docker.from_env()
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
    stages["image"] = time.monotonic() - t
    run = run or Run.named(spec.name)
    if run.run_id != spec.name:
        raise StackError(f"run {run.run_id} and topology {spec.name} must share one name")
    key = key or control_key()
    t = time.monotonic()
    plan, backbone = _plan(client, run, dep, [s.code for s in spec.sites])
    sites = realize_all(client, run, site_configs(spec, run, image, key.public, plan, backbone),
                        progress)
    dep.save_topology(spec)
    try:
        guarded = hostguard.install(client, run)
    except hostguard.HostGuardError as exc:
        raise StackError(f"deployment {spec.name}: {exc}") from exc
    progress(f"control node guarded from {len(guarded)} bridges "
             f"(iptables chain {hostguard.chain_name(run.run_id)})")
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
    return run_playbook(playbook, dep.hosts_file, dep.log(playbook.removesuffix(".yml")),
                        progress=progress)


def down(name: str, progress: Progress, client: docker.DockerClient | None = None,
         run: Run | None = None) -> int:
    """Remove every resource of deployment ``name`` and its state (secrets are kept)."""
    client = client or docker.from_env()
    run = run or Run.named(name)
    report = unrealize(client, run)
    report.guards = hostguard.remove(run.run_id)
    Deployment(name).forget()
    progress(f"removed {len(report.containers)} containers, {len(report.networks)} networks, "
             f"{len(report.volumes)} volumes and {len(report.guards)} host guards of "
             f"deployment {name}")
    return report.total
