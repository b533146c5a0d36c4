"""The second engine's nftables table: generated from its bridges, its published listeners
and flows.yaml, replaced atomically, removed without leftovers.

The host's nftables is never touched: :class:`Nft` keeps tables in memory and answers the
few commands the module uses (``-f -``, ``list tables``, ``delete table``) as nft does.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import replace
from typing import Any

import pytest

from sunlight.control import enginetable
from sunlight.control.enginetable import (
    EngineState,
    EngineTableError,
    Published,
    crossing_ports,
    read_state,
    remove,
    ruleset,
    sync,
)
from sunlight.topology.flows import load_flows
from sunlight.topology.layout import ICC_OPTION, Net


class Nft:
    """Tables by (family, name) -> their text; someone else's table is there too."""

    def __init__(self) -> None:
        self.tables: dict[tuple[str, str], str] = {("inet", "filter"): "chain input {}"}
        self.applied: list[str] = []

    def __call__(self, args: list[str], stdin: str | None) -> subprocess.CompletedProcess[str]:
        out, rc, err = "", 0, ""
        if args == ["-f", "-"]:
            assert stdin is not None
            self.applied.append(stdin)
            staged = dict(self.tables)  # one transaction: all or nothing
            lines = iter(stdin.splitlines())
            for line in lines:
                words = line.split()
                if words[:1] == ["table"] and line.endswith("{}"):
                    staged.setdefault((words[1], words[2]), "")
                elif words[:2] == ["delete", "table"]:
                    if (words[2], words[3]) not in staged:
                        return subprocess.CompletedProcess(args, 1, "", "No such file")
                    del staged[(words[2], words[3])]
                elif words[:1] == ["table"]:
                    body = []
                    for inner in lines:
                        if inner == "}":
                            break
                        body.append(inner)
                    staged[(words[1], words[2])] = "\n".join(body)
            self.tables = staged
        elif args == ["list", "tables"]:
            out = "".join(f"table {f} {n}\n" for f, n in self.tables)
        elif args[:2] == ["delete", "table"]:
            if (args[2], args[3]) in self.tables:
                del self.tables[(args[2], args[3])]
            else:
                rc, err = 1, "Error: No such file or directory"
        return subprocess.CompletedProcess(args, rc, out, err)


STATE = EngineState(
    bridges=("br-aaaaaaaaaaaa", "br-bbbbbbbbbbbb", "br-cccccccccccc", "sl-b0"),
    backbones=("br-aaaaaaaaaaaa",),
    published=(Published("192.0.2.20", 9090, "10.202.252.12", 9090,
                         "sunlight-eng-320703-int"),),
    isolated=("br-cccccccccccc",),
)


def test_the_crossing_ports_are_flows_yamls_allowed_backbone_rows() -> None:
    matrix = load_flows()
    assert crossing_ports(matrix) == sorted([matrix.port("amqps"), matrix.port("prometheus")])
    without = replace(matrix, flows=tuple(f for f in matrix.flows
                                          if not (f.destination == "mon"
                                                  and f.network is Net.BACKBONE)))
    assert crossing_ports(without) == [matrix.port("amqps")]


def test_the_ruleset_isolates_the_engines_bridges() -> None:
    matrix = load_flows()
    text = ruleset(STATE, matrix)
    lines = [line.strip() for line in text.splitlines()]
    # replaced atomically: created if missing, deleted, written, in one `nft -f`
    assert lines[:3] == ["table inet sunlight_engine_b {}", "delete table inet sunlight_engine_b",
                         "table inet sunlight_engine_b {"]
    assert ('elements = { "br-aaaaaaaaaaaa", "br-bbbbbbbbbbbb", "br-cccccccccccc", "sl-b0" }'
            in lines)
    forward = lines[lines.index("chain forward {"):lines.index("chain prerouting {")]
    amqps, prometheus = matrix.port("amqps"), matrix.port("prometheus")
    crossing = next(line for line in forward if "tcp dport {" in line)
    assert crossing.startswith(f"iifname @backbones oifname != @bridges tcp dport "
                               f"{{ {amqps}, {prometheus} }} accept")
    assert f"mq -> mq:{amqps} on backbone (up)" in crossing
    assert f"mon -> mon:{prometheus} on backbone (down)" in crossing
    assert ('iifname "br-bbbbbbbbbbbb" oifname "br-bbbbbbbbbbbb" accept '
            'comment "within one bridge"') in forward
    assert ("oifname @backbones ip daddr 10.202.252.12 tcp dport 9090 ct status dnat accept "
            'comment "published: sunlight-eng-320703-int"') in forward
    # the drops come last: whatever the accepts above did not let through
    assert forward[-3].startswith("iifname @bridges drop")
    assert forward[-2].startswith("oifname @bridges drop")
    assert ('ip daddr 192.0.2.20 tcp dport 9090 dnat ip to 10.202.252.12:9090 '
            'comment "sunlight-eng-320703-int"') in lines
    assert 'iifname @bridges drop comment "no host opens a connection to this machine"' in lines
    # mgmt: traffic between its hosts is dropped (seen through br_netfilter), before the
    # accept within one bridge; no `meta ibrname` (nft_meta_bridge is missing on some kernels)
    isolate = ('iifname "br-cccccccccccc" oifname "br-cccccccccccc" drop comment "hosts never '
               'reach each other here (inter-container traffic disabled)"')
    assert forward.index(isolate) < forward.index(
        'iifname "br-cccccccccccc" oifname "br-cccccccccccc" accept comment "within one bridge"')
    assert "ibrname" not in text
    # an earlier version's bridge-family table goes in the same transaction
    assert lines[-2:] == ["table bridge sunlight_engine_b {}",
                          "delete table bridge sunlight_engine_b"]


def test_an_engine_without_sites_still_drops_what_crosses() -> None:
    text = ruleset(EngineState(("sl-b0",), (), ()), load_flows())
    assert "dnat" not in text.split("chain prerouting")[1].split("}")[0]
    assert 'iifname @bridges drop comment "nothing else leaves' in text
    assert "set backbones {\n\t\ttype ifname\n\t}" in text  # an empty set has no elements line


class _Net:
    def __init__(self, name: str, nid: str, options: dict[str, str],
                 labels: dict[str, str], driver: str = "bridge") -> None:
        self.name, self.id = name, nid
        self.attrs = {"Driver": driver, "Options": options, "Labels": labels}


class _Container:
    def __init__(self, name: str, networks: dict[str, str], ports: dict[str, Any]) -> None:
        self.name = name
        self.attrs = {"NetworkSettings": {
            "Networks": {n: {"IPAddress": ip} for n, ip in networks.items()}, "Ports": ports}}


class FakeClient:
    def __init__(self) -> None:
        self.networks = self
        self.containers = self
        self._nets = [
            _Net("bridge", "0" * 64, {"com.docker.network.bridge.name": "sl-b0"}, {}),
            _Net("host", "1" * 64, {}, {}, driver="host"),
            _Net("eng-backbone", "a" * 64, {}, {"io.sunlight.zone": "backbone"}),
            _Net("eng-320703-mgmt-net", "c" * 64, {ICC_OPTION: "false"}, {}),
        ]
        self._containers = [
            _Container("sunlight-eng-320703-int",
                       {"eng-backbone": "10.202.252.12", "eng-320703-mgmt-net": "10.202.9.12"},
                       {"9090/tcp": [{"HostIp": "192.0.2.20", "HostPort": "9090"}],
                        "5672/tcp": None}),
            _Container("sunlight-eng-320703-ext", {"eng-320703-mgmt-net": "10.202.9.10"},
                       {"443/tcp": [{"HostIp": "127.0.0.1", "HostPort": "32768"}]}),
        ]

    def list(self, **kwargs: Any) -> list[Any]:
        return self._containers if "filters" in kwargs else self._nets


def test_the_state_is_read_from_the_engine() -> None:
    state = read_state(FakeClient())
    assert state.bridges == ("br-aaaaaaaaaaaa", "br-cccccccccccc", "sl-b0")
    assert state.backbones == ("br-aaaaaaaaaaaa",)
    assert state.isolated == ("br-cccccccccccc",)
    # the loopback front door is the engine's own business; the backbone listener is ours
    assert state.published == (Published("192.0.2.20", 9090, "10.202.252.12", 9090,
                                          "sunlight-eng-320703-int"),)


def test_sync_replaces_the_table_and_remove_leaves_nothing() -> None:
    nft = Nft()
    nft.tables[("bridge", "sunlight_engine_b")] = "an earlier version's table"
    sync(FakeClient(), runner=nft, bridged=lambda: True)
    sync(FakeClient(), runner=nft, bridged=lambda: True)  # a re-run replaces, never duplicates
    assert set(nft.tables) == {("inet", "filter"), ("inet", "sunlight_engine_b")}
    assert "dnat ip to 10.202.252.12:9090" in nft.tables[("inet", "sunlight_engine_b")]
    assert remove(runner=nft) is True
    assert set(nft.tables) == {("inet", "filter")}  # someone else's table stays
    assert remove(runner=nft) is False


def test_a_table_that_will_not_go_is_reported() -> None:
    nft = Nft()
    sync(FakeClient(), runner=nft, bridged=lambda: True)

    def stubborn(args: list[str], stdin: str | None) -> subprocess.CompletedProcess[str]:
        if args[:2] == ["delete", "table"]:
            return subprocess.CompletedProcess(args, 1, "", "Error: Device or resource busy")
        return nft(args, stdin)

    with pytest.raises(EngineTableError, match=r"sunlight_engine_b \(inet\).*busy"):
        remove(runner=stubborn)


def test_without_root_or_nft_the_fix_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(enginetable, "available", lambda: False)
    with pytest.raises(EngineTableError, match=r"needs root and `nft`.*engine second up"):
        sync(FakeClient(), bridged=lambda: True)


def test_mgmt_isolation_without_br_netfilter_is_refused_naming_the_fix() -> None:
    nft = Nft()
    with pytest.raises(EngineTableError, match=r"br_netfilter.*modprobe br_netfilter"):
        sync(FakeClient(), runner=nft, bridged=lambda: False)
    assert ("inet", "sunlight_engine_b") not in nft.tables  # nothing half-written


class Iptables:
    """DOCKER-USER as `iptables -S` shows it, with someone else's rule in it."""

    def __init__(self) -> None:
        self.rules: list[list[str]] = [["-s", "10.9.9.9/32", "-j", "DROP"], ["-j", "RETURN"]]

    def __call__(self, args: list[str], stdin: str | None) -> subprocess.CompletedProcess[str]:
        assert args[:2] == ["iptables", "-w"] and args[3] == "DOCKER-USER"
        op, rule = args[2], args[4:]
        if op == "-S":
            lines = ["-N DOCKER-USER", *(shlex.join(["-A", "DOCKER-USER", *r])
                                         for r in self.rules)]
            return subprocess.CompletedProcess(args, 0, "\n".join(lines) + "\n", "")
        if op == "-I":
            self.rules.insert(0, rule)
        elif op == "-D":
            self.rules.remove(rule)
        return subprocess.CompletedProcess(args, 0, "", "")


def test_the_first_engines_forward_drop_hands_the_second_engines_bridges_to_the_table() -> None:
    """The first engine's FORWARD policy DROP sees the second engine's bridged traffic
    (br_netfilter): DOCKER-USER accepts exactly its bridges' traffic, both ways, and the
    table decides; someone else's rule stays; remove takes ours away."""
    nft, ipt = Nft(), Iptables()
    sync(FakeClient(), runner=nft, bridged=lambda: True, iptables=ipt)
    ours = [r for r in ipt.rules if enginetable.HANDOFF_COMMENT in r]
    assert sorted((r[0], r[1]) for r in ours) == sorted(
        (d, b) for b in ("br-aaaaaaaaaaaa", "br-cccccccccccc", "sl-b0") for d in ("-i", "-o"))
    assert all(r[-2:] == ["-j", "ACCEPT"] for r in ours)
    sync(FakeClient(), runner=nft, bridged=lambda: True, iptables=ipt)  # no duplicates
    assert len([r for r in ipt.rules if enginetable.HANDOFF_COMMENT in r]) == 6
    assert remove(runner=nft, iptables=ipt) is True
    assert ipt.rules == [["-s", "10.9.9.9/32", "-j", "DROP"], ["-j", "RETURN"]]
