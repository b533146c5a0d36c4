"""Address plans: declared subnets per site network, a fixed address per host per network.

Docker refuses overlapping subnets, so concurrent deployments on one engine (a demo left
running, a test session) each take their own block: :func:`plan_deployment` picks the
first ``/16`` of :data:`DEFAULT_POOL` that no existing network overlaps, puts the shared
backbone in its first ``/22`` and gives every site three ``/24``s after it. A host's
address is ``subnet + host number`` on each of its site networks (the same last octet
everywhere), and ``backbone + BACKBONE_BLOCK * (slot + 1) + i`` on the backbone, where
``slot`` is the site's place in the deployment. The bridge's gateway is ``subnet + 1``.

A deployment over several engines (docs/engines.md) has one backbone bridge per engine:
the first engine's in the block's first ``/22``, each further engine's in a ``/22`` taken
from the block's end (:attr:`DeploymentPlan.backbones`), so every backbone address stays
unique across engines and routable between them; a site keeps its slot.

Example::

    >>> from ipaddress import ip_network
    >>> from sunlight.topology.addressing import plan_deployment
    >>> plan = plan_deployment(["320700", "320703"], taken=[ip_network("10.200.0.0/24")])
    >>> str(plan.block), str(plan.sites["320703"].mgmt_subnet)
    ('10.201.0.0/16', '10.201.9.0/24')
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from itertools import combinations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sunlight.topology.layout import HostLayout, Net, Profile, backbone_hosts

DEFAULT_POOL = IPv4Network("10.200.0.0/13")
BLOCK_PREFIX = 16
BACKBONE_PREFIX = 22
SITE_PREFIX = 24
BACKBONE_BLOCK = 4  # backbone addresses reserved per site (a site has at most 2 there)
GATEWAY_NUMBER = 1
MIN_PREFIX, MAX_PREFIX = 16, 27  # a subnet must hold the host numbers (up to 16)


class SiteAddressPlan(BaseModel):
    """The subnets of one site's networks, the backbone's subnet and the site's slot on it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ext_subnet: IPv4Network
    int_subnet: IPv4Network
    mgmt_subnet: IPv4Network
    backbone_subnet: IPv4Network
    backbone_slot: int = Field(ge=0)

    @field_validator("ext_subnet", "int_subnet", "mgmt_subnet", "backbone_subnet")
    @classmethod
    def _private_and_sized(cls, value: IPv4Network) -> IPv4Network:
        # Only our own containers are ever addressed: never a routable public range.
        if not value.is_private:
            raise ValueError(f"{value} is not a private range")
        if not MIN_PREFIX <= value.prefixlen <= MAX_PREFIX:
            raise ValueError(f"{value}: prefix must be /{MIN_PREFIX} to /{MAX_PREFIX}")
        return value

    @model_validator(mode="after")
    def _disjoint_and_slot_fits(self) -> SiteAddressPlan:
        named = {"ext_subnet": self.ext_subnet, "int_subnet": self.int_subnet,
                 "mgmt_subnet": self.mgmt_subnet, "backbone_subnet": self.backbone_subnet}
        for (a, net_a), (b, net_b) in combinations(named.items(), 2):
            if net_a.overlaps(net_b):
                raise ValueError(f"{a} {net_a} overlaps {b} {net_b}")
        last = BACKBONE_BLOCK * (self.backbone_slot + 2) - 1
        if last >= self.backbone_subnet.num_addresses - 1:
            raise ValueError(f"backbone_slot {self.backbone_slot} does not fit in "
                             f"{self.backbone_subnet}")
        return self

    def subnet(self, network: Net) -> IPv4Network:
        return {Net.EXT: self.ext_subnet, Net.INT: self.int_subnet, Net.MGMT: self.mgmt_subnet,
                Net.BACKBONE: self.backbone_subnet}[network]

    def gateway(self, network: Net) -> IPv4Address:
        return self.subnet(network).network_address + GATEWAY_NUMBER

    def address(self, profile: Profile | str, host: HostLayout, network: Net) -> IPv4Address:
        """The fixed address of ``host`` on ``network`` (which it must be on)."""
        if network not in host.networks:
            raise ValueError(f"host {host.name} is not on {network}")
        if network is Net.BACKBONE:
            index = [h.name for h in backbone_hosts(profile)].index(host.name)
            offset = BACKBONE_BLOCK * (self.backbone_slot + 1) + index
            return self.backbone_subnet.network_address + offset
        return self.subnet(network).network_address + host.number

    def backbone_address(self, index: int) -> IPv4Address:
        """A backbone address in this site's block (for stand-ins in tests)."""
        base = BACKBONE_BLOCK * (self.backbone_slot + 1)
        return self.backbone_subnet.network_address + base + index


@dataclass(frozen=True)
class DeploymentPlan:
    """The address block of one deployment and the plan of each of its sites."""

    block: IPv4Network
    backbone_subnet: IPv4Network
    sites: dict[str, SiteAddressPlan]
    backbones: dict[str, IPv4Network] | None = None  # engine -> its backbone (several only)


def free_blocks(taken: Iterable[IPv4Network], pool: IPv4Network = DEFAULT_POOL,
                prefix: int = BLOCK_PREFIX) -> Iterator[IPv4Network]:
    """The ``/prefix`` blocks of ``pool`` that overlap none of ``taken``, in order."""
    used = list(taken)
    for block in pool.subnets(new_prefix=prefix):
        if not any(block.overlaps(t) for t in used):
            yield block


def plan_in_block(block: IPv4Network, codes: Sequence[str],
                  engines: Mapping[str, str] | None = None) -> DeploymentPlan:
    """Lay out a backbone and three /24s per site (ext, int, mgmt) inside ``block``.

    ``engines`` (site -> engine name) gives each further engine a backbone of its own.
    """
    quarters = list(block.subnets(new_prefix=BACKBONE_PREFIX))
    backbone = quarters[0]
    per_site = list(block.subnets(new_prefix=SITE_PREFIX))
    first = backbone.num_addresses // per_site[0].num_addresses
    names = list(dict.fromkeys((engines or {}).get(c, "") for c in codes))
    backbones = {name: quarters[-index] if index else backbone
                 for index, name in enumerate(names)}
    reserved = (len(names) - 1) * first  # the /24s the further engines' backbones take
    if first + 3 * len(codes) + reserved > len(per_site):
        raise ValueError(f"{len(codes)} sites do not fit in {block}")
    sites = {}
    for slot, code in enumerate(codes):
        ext, int_, mgmt = per_site[first + 3 * slot: first + 3 * slot + 3]
        own = backbones[(engines or {}).get(code, "")]
        sites[code] = SiteAddressPlan(ext_subnet=ext, int_subnet=int_, mgmt_subnet=mgmt,
                                      backbone_subnet=own, backbone_slot=slot)
    several = len(names) > 1
    return DeploymentPlan(block=block, backbone_subnet=backbone, sites=sites,
                          backbones=backbones if several else None)


def plan_deployment(codes: Sequence[str], taken: Iterable[IPv4Network],
                    pool: IPv4Network = DEFAULT_POOL,
                    engines: Mapping[str, str] | None = None) -> DeploymentPlan:
    """The plan in the first free block of ``pool``; raises if every block is taken."""
    for block in free_blocks(taken, pool):
        return plan_in_block(block, codes, engines)
    raise ValueError(f"no free /{BLOCK_PREFIX} left in {pool}: remove old deployments")
