"""A site's stack outputs: their keys, the resource names, and the Ansible inventory.

The output keys are snake_case constants shared by the Pulumi program, the realizer, the
inventory generator and the tests; refer to them qualified
(``inventory.OUTPUT_KEY_INVENTORY``). The inventory is an Ansible YAML inventory as a dict:
hosts under their site group with their variables (``ansible_host`` is the mgmt address),
plus groups by role, zone and tier; :func:`merge_inventories` joins several sites.

Example::

    >>> from sunlight.topology import inventory
    >>> inv = inventory.build_inventory(config, containers)  # doctest: +SKIP
    >>> inv["all"]["children"]["role_core"]["hosts"]  # doctest: +SKIP
    {'320703-int': {}}
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sunlight.topology.config import SiteConfig
from sunlight.topology.layout import (
    ADMIN_USER,
    SITE_NETWORKS,
    HostLayout,
    Net,
    hostname,
    hosts_of,
)

OUTPUT_KEY_INVENTORY = "inventory"
OUTPUT_KEY_DIVISION_CODE = "division_code"
OUTPUT_KEY_PARENT_CODE = "parent_code"
OUTPUT_KEY_TIER = "tier"
OUTPUT_KEY_PROFILE = "profile"
OUTPUT_KEY_NETWORKS = "networks"  # network kind -> Docker network name
OUTPUT_KEY_CONTAINERS = "containers"  # host -> container name
OUTPUT_KEY_MGMT_ADDRESSES = "mgmt_addresses"  # host -> address the control node uses
# host -> [{port, host_port, ip}]: what the engine published (host_port as the engine chose
# it when portal_port is 0); hosts that publish nothing are left out.
OUTPUT_KEY_PUBLISHED = "published"
OUTPUT_KEYS = (OUTPUT_KEY_INVENTORY, OUTPUT_KEY_DIVISION_CODE, OUTPUT_KEY_PARENT_CODE,
               OUTPUT_KEY_TIER, OUTPUT_KEY_PROFILE, OUTPUT_KEY_NETWORKS, OUTPUT_KEY_CONTAINERS,
               OUTPUT_KEY_MGMT_ADDRESSES, OUTPUT_KEY_PUBLISHED)


def network_name(config: SiteConfig, kind: Net) -> str:
    """The Docker name of a site network (the backbone's is given by the config)."""
    if kind is Net.BACKBONE:
        return config.backbone_network
    # "-net": a compact site has a host and a network both called ext (and int).
    return config.run().name(f"{config.division_code}-{kind}-net")


def container_name(config: SiteConfig, host: HostLayout) -> str:
    return config.run().name(f"{config.division_code}-{host.name}")


def volume_name(config: SiteConfig, host: HostLayout, purpose: str) -> str:
    return config.run().name(f"{config.division_code}-{host.name}-{purpose}")


def mgmt_addresses(config: SiteConfig) -> dict[str, str]:
    plan = config.address_plan
    return {h.name: str(plan.address(config.profile, h, Net.MGMT))
            for h in hosts_of(config.profile)}


def _host_vars(config: SiteConfig, host: HostLayout, container: str) -> dict[str, Any]:
    plan = config.address_plan
    return {
        "ansible_host": str(plan.address(config.profile, host, Net.MGMT)),
        "ansible_user": ADMIN_USER,
        "sunlight_host": host.name,
        "sunlight_roles": list(host.roles),
        "sunlight_zone": host.zone.value,
        "sunlight_addresses": {str(n): str(plan.address(config.profile, host, n))
                               for n in host.networks},
        "sunlight_container": container,
    }


def site_vars(config: SiteConfig) -> dict[str, Any]:
    plan = config.address_plan
    engine = {} if config.engine_address is None else {
        # several engines: where peers on other engines dial this site's backbone listeners
        "sunlight_engine": config.engine, "sunlight_engine_address": str(config.engine_address)}
    return {
        "sunlight_run_id": config.run_id,
        "sunlight_division_code": config.division_code,
        "sunlight_parent_code": config.parent_code,
        "sunlight_tier": config.tier.value,
        "sunlight_profile": config.profile.value,
        "sunlight_portal_port": config.portal_port,
        "sunlight_networks": {
            str(n): {"name": network_name(config, n), "subnet": str(plan.subnet(n)),
                     "gateway": str(plan.gateway(n))}
            for n in (*SITE_NETWORKS, Net.BACKBONE)
        },
        **engine,
    }


def build_inventory(config: SiteConfig, containers: Mapping[str, str]) -> dict[str, Any]:
    """The site's inventory; ``containers`` maps each host to its container's name."""
    site_group = f"site_{config.division_code}"
    groups: dict[str, dict[str, Any]] = {site_group: {"hosts": {}, "vars": site_vars(config)}}
    for host in hosts_of(config.profile):
        name = hostname(config.division_code, host)
        groups[site_group]["hosts"][name] = _host_vars(config, host, containers[host.name])
        for group in (*(f"role_{r}" for r in host.roles), f"zone_{host.zone.value}",
                      f"tier_{config.tier.value}"):
            groups.setdefault(group, {"hosts": {}})["hosts"][name] = {}
    return {"all": {"children": dict(sorted(groups.items()))}}


def merge_inventories(*inventories: Mapping[str, Any]) -> dict[str, Any]:
    """One inventory for several sites (groups by role, zone and tier span them all)."""
    merged: dict[str, dict[str, Any]] = {}
    for inv in inventories:
        for group, body in inv["all"]["children"].items():
            target = merged.setdefault(group, {"hosts": {}})
            target["hosts"].update(copy.deepcopy(body["hosts"]))
            if "vars" in body:
                target["vars"] = copy.deepcopy(body["vars"])
    return {"all": {"children": dict(sorted(merged.items()))}}
