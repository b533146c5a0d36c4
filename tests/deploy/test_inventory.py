"""The deployment inventory: merged stack outputs, pinned known_hosts, sites and peers."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from sunlight.control.deploy.inventory import (
    PeerHost,
    ancestors,
    children,
    default_secrets_dir,
    deployment_sites,
    kin,
    known_hosts_line,
    write_inventory_files,
)
from sunlight.topology import inventory as topo
from sunlight.topology.flows import load_flows
from sunlight.topology.layout import NODE

from .conftest import HOST_KEY

STAND_IN = PeerHost("320700", "320000", "320700-standin", ("mq", "mon"), "10.200.0.4")


def _addresses(*invs: dict[str, Any]) -> list[str]:
    merged = topo.merge_inventories(*invs)
    return sorted(hv["ansible_host"] for g, body in merged["all"]["children"].items()
                  if g.startswith("site_") for hv in body["hosts"].values())


def _write(tmp_path: Path, *invs: dict[str, Any], peers: tuple[PeerHost, ...] = (),
           keys: dict[str, str] | None = None) -> dict[str, Any]:
    keys = keys if keys is not None else {a: HOST_KEY for a in _addresses(*invs)}
    files = write_inventory_files(tmp_path / "inv", list(invs), keys,
                                  control_key=tmp_path / "control_ed25519",
                                  deployment="dt-0001", secrets_dir=tmp_path / "secrets",
                                  peers=peers)
    for path in (files.hosts, files.known_hosts):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded: dict[str, Any] = yaml.safe_load(files.hosts.read_text())
    loaded["_known_hosts"] = files.known_hosts.read_text().splitlines()
    return loaded


def test_known_hosts_pin_every_host_and_checking_stays_on(tmp_path: Path,
                                                           county: dict[str, Any]) -> None:
    inv = _write(tmp_path, county)
    hosts = inv["all"]["children"]["site_320703"]["hosts"]
    assert sorted(line.split()[0] for line in inv["_known_hosts"]) == sorted(
        hv["ansible_host"] for hv in hosts.values())
    assert all(line.split()[1:] == HOST_KEY.split()[:2] for line in inv["_known_hosts"])
    args = inv["all"]["vars"]["ansible_ssh_common_args"]
    assert "StrictHostKeyChecking=yes" in args and "=no" not in args
    assert f"UserKnownHostsFile={(tmp_path / 'inv' / 'known_hosts').resolve()}" in args
    assert inv["all"]["vars"]["ansible_ssh_private_key_file"] == str(tmp_path / "control_ed25519")
    assert all(hv["ansible_user"] == "admin" for hv in hosts.values())


def test_a_host_without_a_pinned_key_is_refused(tmp_path: Path, county: dict[str, Any]) -> None:
    keys = {a: HOST_KEY for a in _addresses(county)[1:]}
    with pytest.raises(ValueError, match="no pinned host key"):
        _write(tmp_path, county, keys=keys)


def test_sites_name_parents_backbone_hosts_and_unmanaged_peers(
        tmp_path: Path, county: dict[str, Any]) -> None:
    sites = _write(tmp_path, county, peers=(STAND_IN,))["all"]["vars"]["sunlight_sites"]
    assert sites["320703"]["managed"] is True and sites["320703"]["parent"] == "320700"
    assert [h["name"] for h in sites["320703"]["backbone"]] == ["320703-int"]
    assert sites["320703"]["backbone"][0]["roles"] == ["core", "core_db", "mq", "mon"]
    assert sites["320700"] == {"parent": "320000", "managed": False, "backbone": [
        {"name": "320700-standin", "roles": ["mq", "mon"], "address": "10.200.0.4"}]}


def test_two_sites_merge_and_a_peer_cannot_shadow_a_managed_site(
        county: dict[str, Any], city: dict[str, Any]) -> None:
    merged = topo.merge_inventories(county, city)
    sites = deployment_sites(merged)
    assert set(sites) == {"320700", "320703"}
    assert [h["name"] for h in sites["320700"]["backbone"]] == ["320700-mon", "320700-mq"]
    with pytest.raises(ValueError, match="managed"):
        deployment_sites(merged, [STAND_IN])


def test_kin_is_ancestors_and_descendants_the_inventory_knows() -> None:
    sites = {"320000": {"parent": None}, "320700": {"parent": "320000"},
             "320703": {"parent": "320700"}, "320706": {"parent": "320700"},
             "329001": {"parent": "320000"}, "110105": {"parent": "110000"}}
    assert ancestors(sites, "320703") == ["320700", "320000"]
    assert ancestors(sites, "110105") == []  # its parent is not in the deployment
    assert kin(sites, "320703") == ["320000", "320700"]
    assert kin(sites, "320700") == ["320000", "320703", "320706"]
    assert kin(sites, "320000") == ["320700", "320703", "320706", "329001"]
    assert children(sites, "320700") == ["320703", "320706"]


def test_known_hosts_line_wants_an_openssh_key() -> None:
    assert known_hosts_line("10.0.0.1", HOST_KEY) == "10.0.0.1 " + " ".join(HOST_KEY.split()[:2])
    with pytest.raises(ValueError):
        known_hosts_line("10.0.0.1", "not a key")


def test_secrets_live_outside_the_checkout(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_secrets_dir("prod") == tmp_path / "state" / "sunlight" / "secrets" / "prod"


PROVINCE = PeerHost("320000", None, "320000-standin", ("mq", "mon"), "10.200.0.4")


def test_every_host_carries_what_flows_yaml_means_for_it(
        tmp_path: Path, county: dict[str, Any], city: dict[str, Any]) -> None:
    matrix = load_flows()
    inv = _write(tmp_path, county, city, peers=(PROVINCE,))
    groups = inv["all"]["children"]
    assert groups["site_320700"]["vars"]["sunlight_child_codes"] == ["320703"]
    assert groups["site_320703"]["vars"]["sunlight_child_codes"] == []
    for code in ("320700", "320703"):
        for hv in groups[f"site_{code}"]["hosts"].values():
            roles = hv["sunlight_roles"]
            assert hv["ansible_port"] == matrix.port("ssh")
            assert list(hv["sunlight_listen"]) == list(matrix.services_of([*roles, NODE]))
            for service, listen in hv["sunlight_listen"].items():
                assert listen["port"] == matrix.port(service)
                assert set(listen["addresses"]) <= set(hv["sunlight_addresses"].values())
            assert hv["sunlight_listen"]["ssh"]["addresses"] == [hv["ansible_host"]]
            for rule in hv["sunlight_firewall"]:
                assert rule["daddr"] == hv["sunlight_addresses"][rule["network"]]
                assert rule["port"] == matrix.port(rule["service"]) and rule["saddrs"]
            assert set(hv["sunlight_clients"]) <= set(hv["sunlight_listen"])
            assert set(hv["sunlight_peers"]) == set(roles)
            for peers in hv["sunlight_peers"].values():
                assert all(p["port"] == matrix.port(p["service"]) for p in peers)
                assert {p["relation"] for p in peers} <= {"same", "parent", "child"}
    gw = groups["site_320703"]["hosts"]["320703-gw"]
    internal = groups["site_320703"]["hosts"]["320703-int"]["sunlight_addresses"]["int"]
    ext = groups["site_320703"]["hosts"]["320703-ext"]["sunlight_addresses"]["ext"]
    assert gw["sunlight_listen"] == {
        "ssh": {"port": 22, "addresses": [gw["ansible_host"]], "roles": ["node"]},
        "node_exporter": {"port": 9100, "addresses": [gw["ansible_host"],
                                                      gw["sunlight_addresses"]["int"]],
                          "roles": ["node"]},
        "gateway_api": {"port": 8002, "addresses": [gw["sunlight_addresses"]["int"]],
                        "roles": ["gateway"]},
    }
    assert gw["sunlight_peers"] == {"gateway": [
        {"role": "portal_db", "service": "postgresql", "host": "320703-ext", "site": "320703",
         "relation": "same", "network": "ext", "address": ext, "port": 5432},
        {"role": "core", "service": "core_api", "host": "320703-int", "site": "320703",
         "relation": "same", "network": "int", "address": internal, "port": 8003},
    ]}
    city_mq = groups["site_320700"]["hosts"]["320700-mq"]["sunlight_peers"]["mq"]
    assert [(p["host"], p["relation"], p["address"]) for p in city_mq] == [
        ("320000-standin", "parent", "10.200.0.4")]
