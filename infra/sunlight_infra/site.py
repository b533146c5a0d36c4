"""Site: a site's networks and its profile's hosts, and the stack outputs.

Example::

    >>> site = Site("320703", SiteArgs(config, load_flows()))  # doctest: +SKIP
    >>> sorted(site.outputs)  # doctest: +SKIP
    ['containers', 'division_code', 'inventory', ...]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from sunlight.topology import inventory
from sunlight.topology.config import SiteConfig
from sunlight.topology.flows import FlowMatrix
from sunlight.topology.layout import Net, hosts_of

from .host import Host, HostArgs
from .network import SiteNetworks, SiteNetworksArgs

COMPONENT_TYPE = "sunlight:infra:Site"


@dataclass(frozen=True)
class SiteArgs:
    config: SiteConfig
    flows: FlowMatrix


class Site(pulumi.ComponentResource):
    """One site; ``outputs`` holds the stack outputs under ``inventory.OUTPUT_KEY_*``."""

    networks: SiteNetworks
    hosts: dict[str, Host]
    outputs: dict[str, pulumi.Output[Any]]

    def __init__(self, name: str, args: SiteArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.networks = SiteNetworks(f"{name}-networks", SiteNetworksArgs(args.config), child)
        names: dict[Net, pulumi.Input[str]] = dict(self.networks.names)
        names[Net.BACKBONE] = args.config.backbone_network
        self.hosts = {
            layout.name: Host(f"{name}-{layout.name}",
                              HostArgs(args.config, layout, names, args.flows.publish), child)
            for layout in hosts_of(args.config.profile)
        }
        self.outputs = self._outputs(args.config)
        self.register_outputs(dict(self.outputs))

    def _outputs(self, config: SiteConfig) -> dict[str, pulumi.Output[Any]]:
        containers = pulumi.Output.all(
            **{name: host.container_name for name, host in self.hosts.items()})
        return {
            inventory.OUTPUT_KEY_INVENTORY: containers.apply(
                lambda names: inventory.build_inventory(config, names)),
            inventory.OUTPUT_KEY_DIVISION_CODE: pulumi.Output.from_input(config.division_code),
            inventory.OUTPUT_KEY_PARENT_CODE: pulumi.Output.from_input(config.parent_code),
            inventory.OUTPUT_KEY_TIER: pulumi.Output.from_input(config.tier.value),
            inventory.OUTPUT_KEY_PROFILE: pulumi.Output.from_input(config.profile.value),
            inventory.OUTPUT_KEY_NETWORKS: pulumi.Output.all(
                **{str(k): v for k, v in self.networks.names.items()},
                backbone=config.backbone_network),
            inventory.OUTPUT_KEY_CONTAINERS: containers,
            inventory.OUTPUT_KEY_MGMT_ADDRESSES: pulumi.Output.from_input(
                inventory.mgmt_addresses(config)),
            inventory.OUTPUT_KEY_PUBLISHED: pulumi.Output.all(
                **{name: host.published for name, host in self.hosts.items()}).apply(
                    lambda published: {n: p for n, p in published.items() if p}),
        }
