"""The hosts file: the documented example is valid and becomes the realizer path's inventory;
every bad input is refused naming its entry (site, host, field)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from sunlight.control.byoh.hostsfile import (
    HostsFileError,
    control_sources,
    document_from_inventory,
    load_hosts_file,
    parse_hosts_file,
    site_inventories,
    write_hosts_inventory,
)
from sunlight.control.deploy.inventory import deployment_inventory
from sunlight.topology import inventory as topo

from ..deploy.conftest import site_inventory
from .conftest import HOST_KEY


def _refused(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(HostsFileError) as caught:
        parse_hosts_file(doc, "hosts.yaml")
    return [str(p) for p in caught.value.problems]


def _host(doc: dict[str, Any], code: str, name: str) -> dict[str, Any]:
    site = next(s for s in doc["sites"] if s["code"] == code)
    host: dict[str, Any] = next(h for h in site["hosts"] if h["name"] == name)
    return host


def test_the_documented_example_is_valid(doc: dict[str, Any]) -> None:
    hf = parse_hosts_file(doc)
    assert [t.name for t in hf.hosts()] == ["320000-ext", "320000-gw", "320000-int",
                                            "320700-ext", "320700-gw", "320700-int"]
    assert {t.user for t in hf.hosts()} == {"admin", "sunlight-ops"}
    assert {t.port for t in hf.hosts()} == {22}


def test_unknown_role_is_refused_naming_the_host(doc: dict[str, Any]) -> None:
    _host(doc, "320700", "ext")["roles"] = ["nginx", "portal", "portal_db", "web"]
    problems = _refused(doc)
    assert problems == ["site 320700, host ext, field roles: unknown role(s) web (roles are "
                        "core, core_db, gateway, mon, mq, nginx, portal, portal_db)"]


def test_duplicate_address_is_refused_naming_both_entries(doc: dict[str, Any]) -> None:
    _host(doc, "320700", "gw")["networks"]["ext"] = "10.32.11.10"
    problems = _refused(doc)
    assert problems == ["site 320700, host gw, field networks.ext: duplicate address "
                        "10.32.11.10: already site 320700, host ext, field networks.ext"]


def test_duplicate_address_across_sites_is_refused(doc: dict[str, Any]) -> None:
    _host(doc, "320700", "int")["networks"]["backbone"] = "10.32.0.4"
    assert _refused(doc) == ["site 320700, host int, field networks.backbone: duplicate "
                             "address 10.32.0.4: already site 320000, host int, field "
                             "networks.backbone"]


def test_zone_that_does_not_match_the_roles_is_refused(doc: dict[str, Any]) -> None:
    _host(doc, "320000", "int")["zone"] = "external"
    assert _refused(doc) == ["site 320000, host int, field zone: external does not match its "
                             "roles: core, core_db, mq, mon run in the internal zone "
                             "(flows.yaml)"]


def test_roles_of_two_zones_on_one_host_are_refused(doc: dict[str, Any]) -> None:
    ext = _host(doc, "320000", "ext")
    ext["roles"] = ["nginx", "portal", "portal_db", "core"]
    _host(doc, "320000", "int")["roles"] = ["core_db", "mq", "mon"]
    assert _refused(doc) == ["site 320000, host ext, field roles: roles of different zones "
                             "cannot share a host: nginx (external), portal (external), "
                             "portal_db (external), core (internal)"]


def test_a_network_the_roles_are_not_on_is_refused(doc: dict[str, Any]) -> None:
    _host(doc, "320700", "ext")["networks"]["int"] = "10.32.12.10"
    assert _refused(doc) == ["site 320700, host ext, field networks.int: unexpected: its "
                             "roles (nginx, portal, portal_db) are not on int"]


def test_a_missing_network_is_refused(doc: dict[str, Any]) -> None:
    del _host(doc, "320700", "int")["networks"]["backbone"]
    assert _refused(doc) == ["site 320700, host int, field networks: no backbone address: "
                             "core, core_db, mq, mon need(s) one on backbone (flows.yaml)"]


def test_an_address_outside_its_subnet_is_refused(doc: dict[str, Any]) -> None:
    _host(doc, "320700", "gw")["networks"]["int"] = "10.32.2.99"  # the province's int
    assert _refused(doc) == ["site 320700, host gw, field networks.int: 10.32.2.99 is not in "
                             "the int subnet 10.32.12.0/24"]


@pytest.mark.parametrize(("code", "fragment"), [
    ("329000", "only groups counties the province administers directly"),
    ("990000", "99 is not a GB/T 2260 province-level prefix"),
    ("3207", "'3207' is not a six-digit GB/T 2260 code"),
    ("320007", "a county-level code needs a city part"),
])
def test_a_site_code_that_fails_gbt_2260_is_refused(doc: dict[str, Any], code: str,
                                                   fragment: str) -> None:
    doc["sites"][1]["code"] = code
    problems = _refused(doc)
    assert len(problems) == 1
    assert problems[0].startswith(f"site {code}, field ")
    assert fragment in problems[0]


def test_a_parent_that_is_not_the_codes_parent_is_refused(doc: dict[str, Any]) -> None:
    doc["sites"][1]["parent"] = "330000"
    assert _refused(doc) == ["site 320700, field parent: 330000 is not the parent of 320700: "
                             "a city's parent is its province (320000)"]


def test_a_parent_that_is_not_in_the_file_is_refused(doc: dict[str, Any]) -> None:
    del doc["sites"][0]
    problems = _refused(doc)
    assert len(problems) == 1
    assert problems[0].startswith("site 320700, field parent: 320000 is not in this file")


def test_a_site_missing_required_roles_is_refused(doc: dict[str, Any]) -> None:
    _host(doc, "320700", "int")["roles"] = ["core", "core_db"]
    del _host(doc, "320700", "int")["networks"]["backbone"]
    assert _refused(doc) == ["site 320700, field hosts: no host carries role(s) mon, mq: a "
                             "site runs every role of core, core_db, gateway, mon, mq, nginx, "
                             "portal, portal_db"]


def test_a_role_on_two_hosts_of_a_site_is_refused(doc: dict[str, Any]) -> None:
    _host(doc, "320000", "ext")["roles"] = ["nginx", "portal", "portal_db", "gateway"]
    _host(doc, "320000", "ext")["zone"] = "external"
    problems = _refused(doc)
    assert "site 320000, field hosts: role gateway is on ext and gw: each role runs on " \
           "exactly one host of a site" in problems


def test_a_site_listed_twice_is_refused(doc: dict[str, Any]) -> None:
    doc["sites"].append(copy.deepcopy(doc["sites"][1]))
    assert _refused(doc) == ["site 320700, field code: the site is listed twice"]


def test_an_ssh_port_other_than_flows_ssh_is_refused(doc: dict[str, Any]) -> None:
    _host(doc, "320000", "gw")["ssh"] = {"user": "admin", "port": 2222}
    problems = _refused(doc)
    assert len(problems) == 1
    assert problems[0].startswith("site 320000, host gw, field ssh.port: 2222 is not "
                                  "flows.yaml's ssh service (22)")


def test_structural_errors_name_the_entry(doc: dict[str, Any]) -> None:
    _host(doc, "320700", "gw")["zone"] = "dmz"
    _host(doc, "320700", "gw")["colour"] = "blue"
    del doc["sites"][0]["control"]
    problems = _refused(doc)
    assert any(p.startswith("site 320700, host gw, field zone: Input should be") for p in problems)
    assert "site 320700, host gw, field colour: Extra inputs are not permitted" in problems
    assert "site 320000, field control: Field required" in problems


def test_every_problem_is_listed_at_once(doc: dict[str, Any]) -> None:
    _host(doc, "320700", "ext")["roles"] = ["nginx", "portal", "portal_db", "web"]
    _host(doc, "320000", "int")["zone"] = "external"
    assert len(_refused(doc)) == 2


def test_mgmt_control_address_is_required(doc: dict[str, Any]) -> None:
    doc["sites"][0]["control"] = {"int": ["10.32.2.250"]}
    assert _refused(doc) == ["site 320000, field control.mgmt: the control node's address on "
                             "mgmt is required: Ansible and the prechecks log in from there"]


def test_load_names_the_file_on_bad_yaml(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text("version: [1\n")
    with pytest.raises(HostsFileError, match=f"hosts file {path} refused"):
        load_hosts_file(path)


def _strip_realizer_only(inv: dict[str, Any]) -> dict[str, Any]:
    """What only Docker-made hosts have: container names, a published port, bridge names
    and gateways (the control node's addresses are given explicitly instead); the public
    URL (the writer adds the realizer's, from the published port)."""
    out = copy.deepcopy(inv)
    for group, body in out["all"]["children"].items():
        for hv in body["hosts"].values():
            hv.pop("sunlight_container", None)
            hv.pop("sunlight_public_url", None)
        if group.startswith("site_"):
            body["vars"]["sunlight_portal_port"] = None
            for net in body["vars"]["sunlight_networks"].values():
                net.pop("gateway", None)
                net.pop("name", None)
    return out


def test_a_realizer_inventory_round_trips_through_a_hosts_file(tmp_path: Path) -> None:
    """Hosts the realizer made, described in a hosts file, give the same inventory: the same
    listen addresses, firewall, egress, clients and peers for every host."""
    realized = [site_inventory("320000", None, "compact"),
                site_inventory("320700", "320000", "standard"),
                site_inventory("320703", "320700", "compact")]
    merged = topo.merge_inventories(*realized)
    text = yaml.safe_dump(document_from_inventory(merged))
    hf = parse_hosts_file(yaml.safe_load(text))
    assert [s["all"]["children"] for s in map(_strip_realizer_only, site_inventories(hf))] == \
        [s["all"]["children"] for s in map(_strip_realizer_only, realized)]
    common = {"deployment": "dt-0001", "control_key": tmp_path / "k",
              "known_hosts": tmp_path / "kh", "secrets_dir": tmp_path / "s"}
    from_realizer = deployment_inventory(realized, **common)  # type: ignore[arg-type]
    from_file = deployment_inventory(site_inventories(hf), control=control_sources(hf),
                                     **common)  # type: ignore[arg-type]
    assert _strip_realizer_only(from_file) == _strip_realizer_only(from_realizer)


def test_the_inventory_is_written_by_the_one_writer(doc: dict[str, Any], tmp_path: Path) -> None:
    hf = parse_hosts_file(doc)
    keys = {t.address: HOST_KEY for t in hf.hosts()}
    files = write_hosts_inventory(hf, tmp_path / "inv", keys, control_key=tmp_path / "k",
                                  secrets_dir=tmp_path / "s")
    inv = yaml.safe_load(files.hosts.read_text())
    gw = inv["all"]["children"]["site_320700"]["hosts"]["320700-gw"]
    assert gw["ansible_host"] == "10.32.13.11"
    assert gw["sunlight_addresses"] == {"mgmt": "10.32.13.11", "ext": "10.32.11.11",
                                        "int": "10.32.12.11"}
    ssh = next(r for r in gw["sunlight_firewall"] if r["service"] == "ssh")
    assert ssh["saddrs"] == ["10.32.13.250"]  # the control node's mgmt address from the file
    site = inv["all"]["children"]["site_320700"]["vars"]
    assert site["sunlight_profile"] == "compact"
    assert inv["all"]["children"]["site_320000"]["vars"]["sunlight_child_codes"] == ["320700"]
    assert inv["all"]["children"]["role_core"]["hosts"] == {"320000-int": {}, "320700-int": {}}
    assert files.known_hosts.read_text().splitlines()[0] == f"10.32.13.10 {HOST_KEY}"
    user = inv["all"]["children"]["site_320700"]["hosts"]["320700-int"]["ansible_user"]
    assert user == "sunlight-ops"
    ext = inv["all"]["children"]["site_320700"]["hosts"]["320700-ext"]
    assert ext["sunlight_public_url"] == "https://10.32.11.10"  # the default: its ext address
    assert "sunlight_public_url" not in gw


def test_a_public_url_is_the_nginx_hosts_and_https(doc: dict[str, Any], tmp_path: Path) -> None:
    _host(doc, "320000", "ext")["public_url"] = "https://zwfw.jiangsu.example/"
    hf = parse_hosts_file(doc)
    inv = site_inventories(hf)[0]["all"]["children"]["site_320000"]["hosts"]
    assert inv["320000-ext"]["sunlight_public_url"] == "https://zwfw.jiangsu.example"
    _host(doc, "320000", "ext")["public_url"] = "http://zwfw.jiangsu.example"
    _host(doc, "320700", "gw")["public_url"] = "https://gw.example"
    assert _refused(doc) == [
        "site 320000, host ext, field public_url: 'http://zwfw.jiangsu.example' must start "
        "with https:// (nginx serves citizens over TLS only)",
        "site 320700, host gw, field public_url: only a host with role nginx has one "
        "(citizens reach the site there)"]


def test_an_unquoted_division_code_is_refused_with_the_fix(doc: dict[str, Any]) -> None:
    doc["sites"][1]["code"] = 320700
    doc["sites"][1]["parent"] = 320000
    assert _refused(doc) == [
        'site 320700, field code: 320700 is not a string: quote division codes in YAML '
        '("320703")',
        'site 320700, field parent: 320000 is not a string: quote division codes in YAML '
        '("320703")']


def _over_two_engines() -> list[dict[str, Any]]:
    """The realizer's inventories of a topology whose county runs on a second engine."""
    from ipaddress import IPv4Address

    from sunlight.topology.addressing import plan_deployment
    from sunlight.topology.layout import hosts_of

    from ..deploy.conftest import config

    engines = {"320000": "local", "320700": "local", "320703": "second"}
    plan = plan_deployment(list(engines), taken=[], engines=engines)
    out = []
    for code, parent in (("320000", None), ("320700", "320000"), ("320703", "320700")):
        cfg = config(code, parent, "compact").model_copy(update={
            "address_plan": plan.sites[code], "engine": engines[code],
            "engine_address": IPv4Address("192.0.2.2" if code != "320703" else "192.0.2.3")})
        out.append(topo.build_inventory(cfg, {h.name: topo.container_name(cfg, h)
                                              for h in hosts_of(cfg.profile)}))
    return out


def test_a_deployment_over_two_engines_round_trips_with_each_sites_engine(
        tmp_path: Path) -> None:
    """A site on another engine keeps its own backbone and the address its listeners are
    published on, so that its peers still dial it there (docs/engines.md)."""
    realized = _over_two_engines()
    doc = document_from_inventory(topo.merge_inventories(*realized))
    county = next(s for s in doc["sites"] if s["code"] == "320703")
    assert county["engine"] == {"name": "second", "address": "192.0.2.3"}
    assert county["backbone"] != doc["backbone"]
    assert "backbone" not in doc["sites"][1]  # the city shares the file's (first) backbone
    hf = parse_hosts_file(yaml.safe_load(yaml.safe_dump(doc)))
    common = {"deployment": "dt-0001", "control_key": tmp_path / "k",
              "known_hosts": tmp_path / "kh", "secrets_dir": tmp_path / "s"}
    from_realizer = deployment_inventory(realized, **common)  # type: ignore[arg-type]
    from_file = deployment_inventory(site_inventories(hf), control=control_sources(hf),
                                     **common)  # type: ignore[arg-type]
    assert _strip_realizer_only(from_file) == _strip_realizer_only(from_realizer)
    assert "192.0.2.3" in yaml.safe_dump(from_file["all"]["children"]["site_320700"])


def test_engines_named_for_some_sites_only_or_in_conflict_are_refused() -> None:
    doc = document_from_inventory(topo.merge_inventories(*_over_two_engines()))
    some = copy.deepcopy(doc)
    del some["sites"][0]["engine"]
    assert _refused(some) == ["site 320000, field engine: some sites name their engine: "
                              "name every site's (or none)"]
    clash = copy.deepcopy(doc)
    clash["sites"][1]["engine"]["address"] = "192.0.2.9"
    assert _refused(clash) == ["site 320700, field engine.address: 192.0.2.9, but site 320000 "
                               "gives engine local the address 192.0.2.2"]
    alone = copy.deepcopy(doc)
    for site in alone["sites"]:
        del site["engine"]
    problems = _refused(alone)
    assert problems == ["site 320703, field backbone: a site has a backbone of its own only "
                        "on an engine of its own: give every site its `engine`"]
