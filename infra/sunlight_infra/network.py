"""SiteNetworks: a site's ext, int and mgmt bridges, with declared subnets and gateways.

``ext`` is a normal bridge (a published port needs a non-internal gateway network);
``int`` and ``mgmt`` are internal, and ``mgmt`` has inter-container traffic disabled so the
control node reaches every host while hosts cannot reach each other there. The backbone is
not declared here: it exists already (the government network) and is named by config.

Example::

    >>> nets = SiteNetworks("320703-networks", SiteNetworksArgs(config))  # doctest: +SKIP
    >>> nets.names[Net.MGMT]  # doctest: +SKIP  (an Output[str])
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from sunlight.topology.config import SiteConfig
from sunlight.topology.inventory import network_name
from sunlight.topology.layout import (
    ICC_DISABLED,
    ICC_OPTION,
    INTERNAL_NETWORKS,
    NETWORK_ZONE,
    SITE_NETWORKS,
    Net,
)

COMPONENT_TYPE = "sunlight:infra:SiteNetworks"


@dataclass(frozen=True)
class SiteNetworksArgs:
    config: SiteConfig


class SiteNetworks(pulumi.ComponentResource):
    """The site's own networks; ``names`` maps each kind to its Docker name (an Output)."""

    names: dict[Net, pulumi.Output[str]]

    def __init__(self, name: str, args: SiteNetworksArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        self.names = {kind: self._create_network(name, args.config, kind).name
                      for kind in SITE_NETWORKS}
        self.register_outputs({str(kind): value for kind, value in self.names.items()})

    def _create_network(self, name: str, config: SiteConfig, kind: Net) -> docker.Network:
        plan = config.address_plan
        labels = config.run().labels(site=config.division_code, tier=config.tier.value,
                                     zone=NETWORK_ZONE[kind], network=kind.value)
        return docker.Network(
            f"{name}-{kind}",
            name=network_name(config, kind),
            driver="bridge",
            internal=kind in INTERNAL_NETWORKS,
            ipam_configs=[docker.NetworkIpamConfigArgs(
                subnet=str(plan.subnet(kind)), gateway=str(plan.gateway(kind)))],
            options={ICC_OPTION: "false"} if kind in ICC_DISABLED else {},
            labels=[docker.NetworkLabelArgs(label=k, value=v) for k, v in labels.items()],
            opts=pulumi.ResourceOptions(parent=self),
        )
