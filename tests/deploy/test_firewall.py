"""flows.yaml host by host: accept rules, listen addresses, database clients, scrape targets."""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from typing import Any

import pytest

from sunlight.control.deploy.firewall import (
    HostView,
    accepts,
    default_control_sources,
    listen_addresses,
)
from sunlight.control.deploy.inventory import PeerHost, deployment_sites
from sunlight.topology import inventory as topo
from sunlight.topology.flows import load_flows

from .plugin import FLOWS, filters, hostvars_of

MATRIX = load_flows()
F = filters()
STAND_IN = PeerHost("320700", "320000", "320700-standin", ("mq", "mon"), "10.200.0.4")


def _setup(*invs: dict[str, Any], peers: tuple[PeerHost, ...] = ()) -> tuple[
        dict[str, dict[str, Any]], dict[str, Any]]:
    merged = topo.merge_inventories(*invs)
    return hostvars_of(merged), deployment_sites(merged, peers)


def _rules(hostvars: dict[str, Any], sites: dict[str, Any], host: str) -> dict[tuple[str, int],
                                                                               list[str]]:
    rules = F["firewall"](hostvars, sorted(hostvars), host, sites, FLOWS)
    return {(r["network"], r["port"]): r["saddrs"] for r in rules}


def test_county_int_host_accepts_exactly_its_allowed_rows(county: dict[str, Any]) -> None:
    hv, sites = _setup(county, peers=(STAND_IN,))
    me, gw = hv["320703-int"], hv["320703-gw"]
    nets = me["sunlight_networks"]
    rules = _rules(hv, sites, "320703-int")
    assert rules == {
        ("mgmt", 22): [nets["mgmt"]["gateway"]],
        ("mgmt", 9100): [nets["mgmt"]["gateway"]],
        ("int", 8003): sorted([nets["int"]["gateway"], gw["sunlight_addresses"]["int"]]),
        ("int", 9090): [nets["int"]["gateway"]],
        ("int", 9093): [nets["int"]["gateway"]],
        ("int", 15672): [nets["int"]["gateway"]],
        # the parent federates this site's Prometheus; it never opens the child's broker
        ("backbone", 9090): ["10.200.0.4"],
    }


def test_gateway_and_external_hosts(county: dict[str, Any]) -> None:
    hv, sites = _setup(county)
    int_ip = hv["320703-int"]["sunlight_addresses"]["int"]
    gw_ext = hv["320703-gw"]["sunlight_addresses"]["ext"]
    ext_gateway = hv["320703-ext"]["sunlight_networks"]["ext"]["gateway"]
    gw_rules = _rules(hv, sites, "320703-gw")
    assert gw_rules[("int", 8002)] == gw_rules[("int", 9100)] == [int_ip]
    assert ("ext", 8002) not in gw_rules  # nobody in the external zone reaches the gateway
    ext_rules = _rules(hv, sites, "320703-ext")
    assert ext_rules[("ext", 5432)] == [gw_ext]
    assert ext_rules[("ext", 443)] == [ext_gateway]  # the published front door
    assert ("ext", 8001) not in ext_rules  # nginx reaches the portal on the same host


def test_a_city_admits_its_childs_broker_but_never_scrapes_upward(
        county: dict[str, Any], city: dict[str, Any]) -> None:
    hv, sites = _setup(county, city)
    child_mq = hv["320703-int"]["sunlight_addresses"]["backbone"]
    city_mon = hv["320700-mon"]["sunlight_addresses"]["backbone"]
    assert _rules(hv, sites, "320700-mq")[("backbone", 5672)] == [child_mq]
    assert ("backbone", 9090) not in _rules(hv, sites, "320700-mon")
    assert _rules(hv, sites, "320703-int")[("backbone", 9090)] == [city_mon]
    targets = F["reachable"](hv, sorted(hv), "320700-mon", sites, FLOWS)
    federated = [t for t in targets if t["network"] == "backbone"]
    assert [(t["name"], t["port"]) for t in federated] == [("320703-int", 9090)]


def test_every_source_is_on_the_rules_network(county: dict[str, Any],
                                              city: dict[str, Any]) -> None:
    hv, sites = _setup(county, city)
    for host, variables in hv.items():
        for rule in F["firewall"](hv, sorted(hv), host, sites, FLOWS):
            subnet = ip_network(variables["sunlight_networks"][rule["network"]]["subnet"])
            assert ip_address(rule["daddr"]) in subnet
            assert all(ip_address(a) in subnet for a in rule["saddrs"]), (host, rule)


@pytest.mark.parametrize(("roles", "port", "networks"), [
    (("core", "core_db", "mq", "mon"), 5432, ["int"]),
    (("core", "core_db", "mq", "mon"), 5672, ["int", "backbone"]),
    (("core", "core_db", "mq", "mon"), 9090, ["int", "backbone"]),
    (("nginx", "portal", "portal_db"), 443, ["ext"]),
    (("nginx", "portal", "portal_db"), 8001, ["ext"]),
    (("nginx", "portal", "portal_db"), 9187, []),  # nobody may scrape the external zone's DB
    (("gateway",), 22, ["mgmt"]),
    (("gateway",), 9100, ["mgmt", "int"]),
])
def test_services_listen_where_a_row_reaches_them(roles: tuple[str, ...], port: int,
                                                  networks: list[str]) -> None:
    addresses = {"mgmt": "10.0.2.9", "ext": "10.0.0.9", "int": "10.0.1.9",
                 "backbone": "10.0.3.9"}
    expected = [addresses[n] for n in networks]
    assert listen_addresses(MATRIX, roles, port, addresses) == expected
    assert F["listen"](addresses, list(roles), port, FLOWS) == expected


def test_database_clients_include_roles_on_the_same_host(county: dict[str, Any]) -> None:
    hv, sites = _setup(county)
    ext_addr = hv["320703-ext"]["sunlight_addresses"]["ext"]
    gw_addr = hv["320703-gw"]["sunlight_addresses"]["ext"]
    portal_db = F["clients"](hv, sorted(hv), "320703-ext", sites, 5432, FLOWS)
    assert {(c["address"], tuple(c["roles"])) for c in portal_db} == {
        (ext_addr, ("portal",)), (gw_addr, ("gateway",))}
    core_db = F["clients"](hv, sorted(hv), "320703-int", sites, 5432, FLOWS)
    assert [c["roles"] for c in core_db] == [["core"]]  # the gateway never reaches it


def test_the_control_node_defaults_to_each_bridge_gateway() -> None:
    nets = {"mgmt": {"gateway": "10.0.2.1"}, "backbone": {"gateway": "10.0.3.1"}}
    assert default_control_sources(nets) == {"mgmt": ["10.0.2.1"]}
    view = HostView("h", "320703", "320700", ("gateway",), {"mgmt": "10.0.2.9"})
    rules = accepts(MATRIX, [view], "h", {"320703": {"mgmt": ["192.168.5.5"]}})
    assert {(r.port, r.saddrs) for r in rules} == {(22, ("192.168.5.5",)),
                                                   (9100, ("192.168.5.5",))}
    with pytest.raises(KeyError):
        accepts(MATRIX, [view], "elsewhere", {})
