"""flows.yaml host by host: accept rules, listen addresses, database clients, peers.

Everything here is what the inventory writer hands each host (``sunlight_firewall``,
``sunlight_egress``, ``sunlight_listen``, ``sunlight_clients``, ``sunlight_peers``),
computed from flows.yaml.
"""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from typing import Any

import pytest

from sunlight.control.deploy.firewall import (
    HostView,
    accepts,
    default_control_sources,
    egress,
    listen_addresses,
    listens,
    restricts_egress,
)
from sunlight.control.deploy.inventory import PeerHost
from sunlight.topology.flows import load_flows

from .plugin import deployed

MATRIX = load_flows()
STAND_IN = PeerHost("320700", "320000", "320700-standin", ("mq", "mon"), "10.200.0.4")


def _rules(hostvars: dict[str, Any], host: str) -> dict[tuple[str, int], list[str]]:
    return {(r["network"], r["port"]): r["saddrs"] for r in hostvars[host]["sunlight_firewall"]}


def _peers(hostvars: dict[str, Any], host: str, role: str, service: str) -> list[dict[str, Any]]:
    return [p for p in hostvars[host]["sunlight_peers"][role] if p["service"] == service]


def test_county_int_host_accepts_exactly_its_allowed_rows(county: dict[str, Any]) -> None:
    hv = deployed(county, peers=(STAND_IN,))
    me, gw = hv["320703-int"], hv["320703-gw"]
    nets = me["sunlight_networks"]
    rules = _rules(hv, "320703-int")
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
    assert {(r["port"], r["service"]) for r in me["sunlight_firewall"]} == {
        (22, "ssh"), (9100, "node_exporter"), (8003, "core_api"), (9090, "prometheus"),
        (9093, "alertmanager"), (15672, "rabbitmq_management")}


def test_gateway_and_external_hosts(county: dict[str, Any]) -> None:
    hv = deployed(county)
    int_ip = hv["320703-int"]["sunlight_addresses"]["int"]
    gw_ext = hv["320703-gw"]["sunlight_addresses"]["ext"]
    ext_gateway = hv["320703-ext"]["sunlight_networks"]["ext"]["gateway"]
    gw_rules = _rules(hv, "320703-gw")
    assert gw_rules[("int", 8002)] == gw_rules[("int", 9100)] == [int_ip]
    assert ("ext", 8002) not in gw_rules  # nobody in the external zone reaches the gateway
    ext_rules = _rules(hv, "320703-ext")
    assert ext_rules[("ext", 5432)] == [gw_ext]
    assert ext_rules[("ext", 443)] == [ext_gateway]  # the published front door
    assert ("ext", 8001) not in ext_rules  # nginx reaches the portal on the same host


def test_a_city_admits_its_childs_broker_but_never_scrapes_upward(
        county: dict[str, Any], city: dict[str, Any]) -> None:
    hv = deployed(county, city)
    child_mq = hv["320703-int"]["sunlight_addresses"]["backbone"]
    city_mon = hv["320700-mon"]["sunlight_addresses"]["backbone"]
    assert _rules(hv, "320700-mq")[("backbone", 5671)] == [child_mq]  # TLS only
    assert ("backbone", 5672) not in _rules(hv, "320700-mq")
    assert ("backbone", 9090) not in _rules(hv, "320700-mon")
    assert _rules(hv, "320703-int")[("backbone", 9090)] == [city_mon]
    federated = [p for p in hv["320700-mon"]["sunlight_peers"]["mon"]
                 if p["network"] == "backbone"]
    assert [(p["host"], p["service"], p["port"], p["relation"]) for p in federated] == [
        ("320703-int", "prometheus", 9090, "child")]
    # ...and the child's broker shovels to its parent's, never the reverse
    (parent,) = _peers(hv, "320703-int", "mq", "amqps")
    assert (parent["host"], parent["relation"], parent["address"], parent["port"]) == (
        "320700-mq", "parent", hv["320700-mq"]["sunlight_addresses"]["backbone"], 5671)
    assert _peers(hv, "320700-mq", "mq", "amqps") == []
    assert _peers(hv, "320703-int", "mq", "amqp") == []
    assert hv["320700-mq"]["sunlight_child_codes"] == ["320703"]
    assert hv["320703-int"]["sunlight_child_codes"] == []


def test_every_source_is_on_the_rules_network(county: dict[str, Any],
                                              city: dict[str, Any]) -> None:
    hv = deployed(county, city)
    for host, variables in hv.items():
        for rule in variables["sunlight_firewall"]:
            subnet = ip_network(variables["sunlight_networks"][rule["network"]]["subnet"])
            assert ip_address(rule["daddr"]) in subnet
            assert all(ip_address(a) in subnet for a in rule["saddrs"]), (host, rule)
            assert MATRIX.port(rule["service"]) == rule["port"]


@pytest.mark.parametrize(("roles", "port", "networks"), [
    (("core", "core_db", "mq", "mon"), 5432, ["int"]),
    (("core", "core_db", "mq", "mon"), 5672, ["int"]),  # core, plain, on int only
    (("core", "core_db", "mq", "mon"), 5671, ["backbone"]),  # the shovels, TLS
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
    view = HostView("h", "320703", "320700", roles, addresses)
    by_service = {s.service: s for s in listens(MATRIX, view)}
    assert by_service[MATRIX.service(port)].addresses == tuple(expected)


def test_every_service_of_a_host_is_listed_with_its_roles(county: dict[str, Any]) -> None:
    listen = deployed(county)["320703-ext"]["sunlight_listen"]
    assert list(listen) == ["ssh", "node_exporter", "https", "http", "portal_api", "postgresql",
                            "postgres_exporter"]
    assert listen["postgresql"]["roles"] == ["portal_db"]
    assert listen["ssh"]["roles"] == ["node"]
    assert listen["http"]["addresses"] == []  # nobody may reach it: it must not listen
    assert all(entry["port"] == MATRIX.port(name) for name, entry in listen.items())


def test_database_clients_include_roles_on_the_same_host(county: dict[str, Any]) -> None:
    hv = deployed(county)
    ext_addr = hv["320703-ext"]["sunlight_addresses"]["ext"]
    gw_addr = hv["320703-gw"]["sunlight_addresses"]["ext"]
    portal_db = hv["320703-ext"]["sunlight_clients"]["postgresql"]
    assert {(c["address"], tuple(c["roles"])) for c in portal_db} == {
        (ext_addr, ("portal",)), (gw_addr, ("gateway",))}
    core_db = hv["320703-int"]["sunlight_clients"]["postgresql"]
    assert [c["roles"] for c in core_db] == [["core"]]  # the gateway never reaches it


def test_each_role_finds_its_peers(county: dict[str, Any], city: dict[str, Any]) -> None:
    hv = deployed(county, city)
    addr = {name: v["sunlight_addresses"] for name, v in hv.items()}

    def one(host: str, role: str, service: str) -> tuple[str, str, int]:
        (peer,) = [p for p in _peers(hv, host, role, service) if p["relation"] == "same"]
        return peer["host"], peer["address"], peer["port"]

    assert one("320700-gw", "gateway", "core_api") == ("320700-core", addr["320700-core"]["int"],
                                                       8003)
    assert one("320700-gw", "gateway", "postgresql") == (
        "320700-portal-db", addr["320700-portal-db"]["ext"], 5432)
    assert one("320700-portal", "portal", "postgresql") == (
        "320700-portal-db", addr["320700-portal-db"]["ext"], 5432)
    assert one("320700-core", "core", "postgresql") == ("320700-db", addr["320700-db"]["int"],
                                                        5432)
    assert one("320700-core", "core", "amqp") == ("320700-mq", addr["320700-mq"]["int"], 5672)
    # roles sharing a host reach each other on the host's own address
    assert one("320703-ext", "nginx", "portal_api") == ("320703-ext", addr["320703-ext"]["ext"],
                                                        8001)
    assert one("320703-int", "core", "postgresql") == ("320703-int", addr["320703-int"]["int"],
                                                       5432)
    scraped = {(p["host"], p["service"]) for p in hv["320700-mon"]["sunlight_peers"]["mon"]
               if p["relation"] == "same"}
    assert {("320700-gw", "gateway_api"), ("320700-core", "core_api"),
            ("320700-db", "postgres_exporter"), ("320700-mq", "rabbitmq_prometheus"),
            ("320700-mon", "alertmanager"), ("320700-portal", "node_exporter")} - scraped == {
        ("320700-portal", "node_exporter")}  # the external zone is not on int
    assert hv["320700-portal-db"]["sunlight_peers"] == {"portal_db": []}
    assert all(v["ansible_port"] == MATRIX.port("ssh") for v in hv.values())


def test_the_control_node_defaults_to_each_bridge_gateway(county: dict[str, Any]) -> None:
    nets = {"mgmt": {"gateway": "10.0.2.1"}, "backbone": {"gateway": "10.0.3.1"}}
    assert default_control_sources(nets) == {"mgmt": ["10.0.2.1"]}
    view = HostView("h", "320703", "320700", ("gateway",), {"mgmt": "10.0.2.9"})
    rules = accepts(MATRIX, [view], "h", {"320703": {"mgmt": ["192.168.5.5"]}})
    assert {(r.port, r.saddrs) for r in rules} == {(22, ("192.168.5.5",)),
                                                   (9100, ("192.168.5.5",))}
    with pytest.raises(KeyError):
        accepts(MATRIX, [view], "elsewhere", {})
    given = deployed(county, control={"320703": {"mgmt": ["192.168.5.5"]}})
    assert _rules(given, "320703-gw")[("mgmt", 22)] == ["192.168.5.5"]


def test_egress_is_restricted_to_the_external_zone_and_the_gateway(
        county: dict[str, Any], city: dict[str, Any]) -> None:
    hv = deployed(county, city)
    policies = {host: v["sunlight_egress"]["policy"] for host, v in hv.items()}
    assert {h for h, p in policies.items() if p == "drop"} == {
        "320703-ext", "320703-gw", "320700-portal", "320700-portal-db", "320700-gw"}
    addr = {name: v["sunlight_addresses"] for name, v in hv.items()}

    def rows(host: str) -> set[tuple[str, str, int, str]]:
        return {(r["network"], r["daddr"], r["port"], r["service"])
                for r in hv[host]["sunlight_egress"]["rules"]}

    assert rows("320700-gw") == {("ext", addr["320700-portal-db"]["ext"], 5432, "postgresql"),
                                 ("int", addr["320700-core"]["int"], 8003, "core_api")}
    assert rows("320700-portal") == {("ext", addr["320700-portal-db"]["ext"], 5432,
                                      "postgresql")}
    assert rows("320700-portal-db") == set()  # a database opens nothing
    assert rows("320703-ext") == set()  # its roles talk over loopback only
    assert all(v["sunlight_egress"]["rules"] == [] for h, v in hv.items()
               if policies[h] == "accept")
    assert restricts_egress(("gateway",)) and restricts_egress(("nginx", "portal"))
    assert not restricts_egress(("core", "core_db", "mq", "mon"))
    with pytest.raises(KeyError):
        egress(MATRIX, [], "elsewhere")
