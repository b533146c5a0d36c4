"""Address plans: a free block per deployment, distinct addresses everywhere."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from sunlight.topology.addressing import DEFAULT_POOL, free_blocks, plan_deployment
from sunlight.topology.layout import Profile, hosts_of

CODES = ["320000", "320700", "320703", "320705"]


def test_the_first_block_no_network_overlaps_is_taken() -> None:
    taken = [IPv4Network("10.200.3.0/24"), IPv4Network("10.201.0.0/16"),
             IPv4Network("172.17.0.0/16")]
    plan = plan_deployment(CODES, taken)
    assert plan.block == IPv4Network("10.202.0.0/16")
    for site in plan.sites.values():
        for subnet in (site.ext_subnet, site.int_subnet, site.mgmt_subnet):
            assert subnet.subnet_of(plan.block)
            assert not any(subnet.overlaps(t) for t in taken)


def test_a_pool_with_no_free_block_is_an_error() -> None:
    with pytest.raises(ValueError, match="no free /16"):
        plan_deployment(CODES, [DEFAULT_POOL])
    assert list(free_blocks([DEFAULT_POOL])) == []


@pytest.mark.parametrize("profile", list(Profile))
def test_addresses_are_distinct_across_hosts_networks_and_sites(profile: Profile) -> None:
    plan = plan_deployment(CODES, [])
    seen = []
    for site in plan.sites.values():
        for host in hosts_of(profile):
            for net in host.networks:
                address = site.address(profile, host, net)
                assert address in site.subnet(net)
                assert address != site.gateway(net)
                seen.append(address)
    assert len(seen) == len(set(seen)) > 3 * len(CODES)


def test_a_host_has_no_address_on_a_network_it_is_not_on() -> None:
    plan = plan_deployment(["320703"], [])
    ext_host = hosts_of(Profile.COMPACT)[0]
    with pytest.raises(ValueError, match="not on int"):
        plan.sites["320703"].address(Profile.COMPACT, ext_host, "int")  # type: ignore[arg-type]
