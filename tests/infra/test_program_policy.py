"""Policy facts of the Pulumi program, for every profile and tier, under mocks.

Each test counts what it checked and asserts the count, so an empty capture (or a check
that silently saw nothing) fails instead of passing.
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

import pulumi
import pytest

from sunlight.control.hosts import (
    AUTHORIZED_KEYS_DIR,
    HOST_CGROUP_MOUNT,
    HOST_SECURITY_OPT,
    HOST_TMPFS,
)
from sunlight.control.realizer.capture import Capture, CapturedResource, load_declare
from sunlight.control.realizer.plan import CONTAINER_TYPE, NETWORK_TYPE, VOLUME_TYPE
from sunlight.topology import inventory
from sunlight.topology.config import SiteConfig
from sunlight.topology.flows import load_flows
from sunlight.topology.layout import (
    ICC_OPTION,
    PUBLISH_BIND,
    ROLE_ZONE,
    Net,
    Zone,
    aliases,
    hostname,
    hosts_of,
)
from sunlight.topology.matrix import Basis, control_endpoint, expand, site_endpoints

from .conftest import KEY, PORTAL_PORT, make_config

Site = tuple[SiteConfig, Capture]
REQUIRED_LABELS = ("project", "run-id", "lifetime", "owner", "site", "tier", "role", "zone")


def labels(res: CapturedResource) -> dict[str, str]:
    return {item["label"]: item["value"] for item in res.inputs["labels"]}


def containers(capture: Capture) -> dict[str, CapturedResource]:
    """Containers by host name (their io.sunlight.host label)."""
    return {labels(c)["io.sunlight.host"]: c for c in capture.of_type(CONTAINER_TYPE)}


def networks_by_kind(config: SiteConfig, capture: Capture) -> dict[Net, CapturedResource]:
    return {Net(labels(n)["io.sunlight.network"]): n for n in capture.of_type(NETWORK_TYPE)}


def joined(config: SiteConfig, res: CapturedResource) -> dict[Net, dict[str, Any]]:
    """The networks a container joins, by kind (the backbone by its configured name)."""
    kind_of = {inventory.network_name(config, k): k for k in Net}
    return {kind_of[a["name"]]: a for a in res.inputs["networksAdvanced"]}


def test_only_known_resource_types_are_declared(site: Site) -> None:
    config, capture = site
    hosts = hosts_of(config.profile)
    assert len(capture.of_type(NETWORK_TYPE)) == 3
    assert len(capture.of_type(CONTAINER_TYPE)) == len(hosts)
    assert len(capture.of_type(VOLUME_TYPE)) == sum(len(h.volumes) for h in hosts)
    custom = [r for r in capture.resources if r.custom]
    assert {r.type for r in custom} == {NETWORK_TYPE, CONTAINER_TYPE, VOLUME_TYPE}


def test_int_mgmt_internal_mgmt_without_icc_ext_publishable(site: Site) -> None:
    config, capture = site
    nets = networks_by_kind(config, capture)
    assert set(nets) == {Net.EXT, Net.INT, Net.MGMT}
    assert nets[Net.INT].inputs["internal"] is True
    assert nets[Net.MGMT].inputs["internal"] is True
    assert nets[Net.MGMT].inputs["options"] == {ICC_OPTION: "false"}
    assert nets[Net.INT].inputs["options"] == {} and nets[Net.EXT].inputs["options"] == {}
    # ext is the one normal bridge: a published port needs a non-internal gateway network.
    assert nets[Net.EXT].inputs["internal"] is False
    for kind, net in nets.items():
        (ipam,) = net.inputs["ipamConfigs"]
        assert ipam == {"subnet": str(config.address_plan.subnet(kind)),
                        "gateway": str(config.address_plan.gateway(kind))}


def test_the_backbone_is_joined_but_never_declared(site: Site) -> None:
    config, capture = site
    names = {n.inputs["name"] for n in capture.of_type(NETWORK_TYPE)}
    assert config.backbone_network not in names
    on_backbone = {h for h, c in containers(capture).items()
                   if Net.BACKBONE in joined(config, c)}
    assert on_backbone
    for host in on_backbone:
        roles = set(labels(containers(capture)[host])["io.sunlight.role"].split(","))
        assert roles & {"mq", "mon"}, host


def test_zones_keep_to_their_networks(site: Site) -> None:
    config, capture = site
    checked = 0
    for host, res in containers(capture).items():
        nets, zone = set(joined(config, res)), Zone(labels(res)["io.sunlight.zone"])
        roles = labels(res)["io.sunlight.role"].split(",")
        assert Net.MGMT in nets
        if zone is Zone.EXTERNAL:
            assert not nets & {Net.INT, Net.BACKBONE}, host
        if "core_db" in roles:
            assert Net.EXT not in nets, "the core database is never on ext"
        both = {Net.EXT, Net.INT} <= nets
        assert both == (zone is Zone.BOTH) == (roles == ["gateway"]), host
        checked += 1
    assert checked == len(hosts_of(config.profile))


def test_hosts_join_exactly_their_layout_at_planned_addresses(site: Site) -> None:
    config, capture = site
    found = containers(capture)
    for layout in hosts_of(config.profile):
        attachments = found[layout.name].inputs["networksAdvanced"]
        kinds = list(joined(config, found[layout.name]))
        assert kinds == list(layout.networks) and kinds[0] is Net.MGMT
        for kind, attachment in zip(kinds, attachments, strict=True):
            address = ip_address(attachment["ipv4Address"])
            assert address == config.address_plan.address(config.profile, layout, kind)
            assert address in config.address_plan.subnet(kind)
            assert attachment["aliases"] == list(aliases(layout, kind, config.division_code))
        assert found[layout.name].inputs["hostname"] == hostname(config.division_code, layout)
    assert len(found) == len(hosts_of(config.profile))


def test_only_the_portal_publishes_and_only_on_loopback(site: Site) -> None:
    _, capture = site
    publishing = {h: c.inputs["ports"] for h, c in containers(capture).items()
                  if c.inputs.get("ports")}
    assert len(publishing) == 1
    ((host, ports),) = publishing.items()
    assert "nginx" in labels(containers(capture)[host])["io.sunlight.role"].split(",")
    assert ports == [{"internal": 443, "external": PORTAL_PORT, "ip": PUBLISH_BIND,
                      "protocol": "tcp"}]


def test_portal_port_zero_lets_the_engine_choose() -> None:
    from sunlight.control.realizer.capture import capture_site

    capture = capture_site(make_config(portal_port=0))
    (ports,) = [c.inputs["ports"] for c in capture.of_type(CONTAINER_TYPE) if c.inputs["ports"]]
    assert ports == [{"internal": 443, "ip": PUBLISH_BIND, "protocol": "tcp"}]


def test_host_flags_exactly_two_capabilities_never_privileged(site: Site) -> None:
    _, capture = site
    checked = 0
    for res in capture.of_type(CONTAINER_TYPE):
        inputs = res.inputs
        assert sorted(inputs["capabilities"]["adds"]) == ["NET_ADMIN", "SYS_ADMIN"]
        assert "drops" not in inputs["capabilities"]
        assert inputs["privileged"] is False
        assert inputs["securityOpts"] == list(HOST_SECURITY_OPT)
        assert inputs["tmpfs"] == HOST_TMPFS
        binds = [v for v in inputs["volumes"] if "hostPath" in v]
        assert binds == [{"hostPath": src, "containerPath": b["bind"], "readOnly": True}
                         for src, b in HOST_CGROUP_MOUNT.items()]
        assert inputs["uploads"] == [{"file": f"{AUTHORIZED_KEYS_DIR}/admin",
                                      "content": KEY + "\n"}]
        checked += 1
    assert checked >= 3


def test_every_host_has_memory_and_pid_limits_from_its_roles(site: Site) -> None:
    """Issue 15 point 10: each host container declares a memory limit without swap and a
    pids limit, the sum of its roles' budgets and the node's (before: none at all)."""
    from sunlight_infra.host import (
        NODE_MEMORY_MIB,
        NODE_PIDS,
        ROLE_MEMORY_MIB,
        ROLE_PIDS,
    )

    assert set(ROLE_MEMORY_MIB) == set(ROLE_PIDS) == set(ROLE_ZONE)  # every role budgeted
    config, capture = site
    for layout in hosts_of(config.profile):
        inputs = containers(capture)[layout.name].inputs
        memory = NODE_MEMORY_MIB + sum(ROLE_MEMORY_MIB[r] for r in layout.roles)
        assert inputs["memory"] == inputs["memorySwap"] == memory, layout.name
        pids = NODE_PIDS + sum(ROLE_PIDS[r] for r in layout.roles)
        assert labels(containers(capture)[layout.name])["io.sunlight.pids-limit"] == str(pids)
        # Room above what the topology suite measured (a compact internal host: ~420 MiB
        # resident after load), and within what the 2-core, 24 GiB CI machine can give.
        assert 256 <= memory <= 4096 and 200 <= pids <= 2048, (layout.name, memory, pids)
    if config.profile == "compact":
        assert NODE_MEMORY_MIB + sum(ROLE_MEMORY_MIB[r] for r in
                                     ("core", "core_db", "mq", "mon")) >= 2 * 420


def test_data_lives_in_named_volumes(site: Site) -> None:
    config, capture = site
    declared = {v.inputs["name"] for v in capture.of_type(VOLUME_TYPE)}
    mounted = 0
    for layout in hosts_of(config.profile):
        res = containers(capture)[layout.name]
        named = {v["containerPath"]: v["volumeName"] for v in res.inputs["volumes"]
                 if "volumeName" in v}
        assert set(named) == set(layout.volumes.values())
        assert set(named.values()) <= declared
        mounted += len(named)
    assert mounted == len(declared) > 0


def test_every_resource_carries_complete_labels(site: Site) -> None:
    config, capture = site
    custom = [r for r in capture.resources if r.custom]
    for res in custom:
        got = labels(res)
        expected_keys = REQUIRED_LABELS if res.type != NETWORK_TYPE else (
            *(k for k in REQUIRED_LABELS if k != "role"), "network")
        for key in expected_keys:
            assert got.get(f"io.sunlight.{key}"), (res.name, key)
        assert got["io.sunlight.run-id"] == config.run_id
        assert got["io.sunlight.site"] == config.division_code
        assert got["io.sunlight.tier"] == config.tier.value
        assert res.inputs["name"].startswith(f"sunlight-{config.run_id}-{config.division_code}-")
    assert len(custom) >= 7


def test_outputs_are_complete_and_keyed_by_the_constants(site: Site) -> None:
    config, capture = site
    out = capture.outputs
    assert set(out) == set(inventory.OUTPUT_KEYS)
    assert out[inventory.OUTPUT_KEY_DIVISION_CODE] == config.division_code
    assert out[inventory.OUTPUT_KEY_PARENT_CODE] == config.parent_code
    assert out[inventory.OUTPUT_KEY_TIER] == config.tier.value
    assert out[inventory.OUTPUT_KEY_NETWORKS][Net.BACKBONE] == config.backbone_network
    assert set(out[inventory.OUTPUT_KEY_CONTAINERS]) == {h.name for h in hosts_of(config.profile)}
    assert out[inventory.OUTPUT_KEY_MGMT_ADDRESSES] == inventory.mgmt_addresses(config)


def test_inventory_groups_hosts_by_role_zone_tier_and_site(site: Site) -> None:
    config, capture = site
    groups = capture.outputs[inventory.OUTPUT_KEY_INVENTORY]["all"]["children"]
    site_group = groups[f"site_{config.division_code}"]
    assert site_group["vars"]["sunlight_division_code"] == config.division_code
    assert site_group["vars"]["sunlight_parent_code"] == config.parent_code
    assert site_group["vars"]["sunlight_tier"] == config.tier.value
    mgmt = inventory.mgmt_addresses(config)
    for layout in hosts_of(config.profile):
        name = hostname(config.division_code, layout)
        assert site_group["hosts"][name]["ansible_host"] == mgmt[layout.name]
        for role in layout.roles:
            assert name in groups[f"role_{role}"]["hosts"]
        assert name in groups[f"zone_{layout.zone.value}"]["hosts"]
        assert name in groups[f"tier_{config.tier.value}"]["hosts"]
    assert len(site_group["hosts"]) == len(hosts_of(config.profile))


@pytest.mark.parametrize("profile", ["compact", "standard"])
def test_flows_and_layout_agree(profile: str) -> None:
    """No allowed flow is impossible, and every `enforced_by: network` row really is."""
    from sunlight.topology.matrix import layout_problems

    matrix = load_flows()
    endpoints = [control_endpoint(), *site_endpoints(profile, "320700", "320000"),
                 *site_endpoints(profile, "320703", "320700")]
    assert layout_problems(matrix, endpoints) == []
    probes = expand(matrix, endpoints)
    external = {"nginx", "portal", "portal_db"}
    ext_hosts = [e for e in endpoints if set(e.roles) & external]
    denied = [p for p in probes if p.source in ext_hosts and p.network.kind in (
        Net.INT, Net.BACKBONE)]
    assert denied and all(p.basis is Basis.LAYOUT for p in denied)
    peers = [p for p in probes if p.network.kind is Net.MGMT and not p.source.control
             and p.source.site == p.destination.site]
    assert peers and all(p.basis is Basis.ICC for p in peers)
    other_sites = [p for p in probes if p.network.kind in (Net.EXT, Net.INT, Net.MGMT)
                   and not p.source.control and p.source.site != p.destination.site]
    assert other_sites and all(p.basis is Basis.LAYOUT for p in other_sites)


def test_a_classic_mocked_output_assertion_runs() -> None:
    """The SDK's own idiom, with a flag proving the apply really ran."""
    ran: list[str] = []
    declare = load_declare()
    from sunlight.control.realizer.capture import PULUMI_PROJECT, CaptureMocks

    pulumi.runtime.set_mocks(CaptureMocks(), project=PULUMI_PROJECT, stack="320703",
                             preview=False)

    @pulumi.runtime.test
    def check() -> pulumi.Output[None]:
        site = declare(make_config())

        def verify(tier: str) -> None:
            assert tier == "county"
            ran.append(tier)
        return site.outputs[inventory.OUTPUT_KEY_TIER].apply(verify)

    check()
    assert ran == ["county"]
