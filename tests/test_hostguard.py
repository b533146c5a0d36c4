"""The control node's guard: which host rules a run installs, and who may remove them.

The host's iptables is never touched here: :class:`Table` keeps a filter table in memory and
answers the few commands the guard uses (``-S -N -F -X -A -I -D``) as iptables does, with
its ``-S`` output in iptables' own format.
"""

from __future__ import annotations

import shlex
import subprocess

import pytest

from sunlight.control import hostguard
from sunlight.control.hostguard import (
    chain_name,
    chain_rules,
    comment,
    control_ports,
    leftovers,
    parse_rules,
    remove,
    sweep,
    sync,
)
from sunlight.topology.flows import load_flows
from sunlight.topology.runs import Run

DEAD = "00000000-dead-boot:1:1"


class Table:
    """A filter table: built-in chains, user chains, rules as iptables prints them."""

    def __init__(self) -> None:
        self.chains: dict[str, list[tuple[str, ...]]] = {"INPUT": [], "FORWARD": [],
                                                         "OUTPUT": []}
        self.chains["INPUT"].append(("-i", "eth0", "-j", "ACCEPT"))  # someone else's rule

    def __call__(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        op, rest = args[0], args[1:]
        out, rc, err = "", 0, ""
        if op == "-S":
            lines = [f"-P {c} ACCEPT" for c in ("INPUT", "FORWARD", "OUTPUT")]
            lines += [f"-N {c}" for c in self.chains if c not in ("INPUT", "FORWARD", "OUTPUT")]
            lines += [f"-A {c} {self._show(r)}" for c, rules in self.chains.items()
                      for r in rules]
            out = "\n".join(lines) + "\n"
        elif op == "-N":
            if rest[0] in self.chains:
                rc, err = 1, "Chain already exists."
            self.chains.setdefault(rest[0], [])
        elif rest and rest[0] not in self.chains:
            rc, err = 1, "No chain/target/match by that name."
        elif op == "-F":
            self.chains[rest[0]] = []
        elif op == "-X":
            if self.chains[rest[0]] or any(r[-1] == rest[0] for rules in self.chains.values()
                                           for r in rules):
                rc, err = 1, "Directory not empty / in use"
            else:
                del self.chains[rest[0]]
        elif op == "-A":
            self.chains[rest[0]].append(tuple(rest[1:]))
        elif op == "-I":
            self.chains[rest[0]].insert(int(rest[1]) - 1, tuple(rest[2:]))
        elif op == "-D":
            if tuple(rest[1:]) in self.chains[rest[0]]:
                self.chains[rest[0]].remove(tuple(rest[1:]))
            else:
                rc, err = 1, "Bad rule (does a matching rule exist in that chain?)."
        return subprocess.CompletedProcess(args, rc, out, err)

    @staticmethod
    def _show(rule: tuple[str, ...]) -> str:
        # iptables quotes a comment with spaces in double quotes
        return " ".join(f'"{a}"' if " " in a else a for a in rule)

    def text(self) -> str:
        return self(["-S"]).stdout


def test_chain_names_fit_iptables_and_stay_unique() -> None:
    assert chain_name("demo") == "SUNLIGHT-demo"
    long_a, long_b = "a" * 31 + "1", "a" * 31 + "2"
    assert len(chain_name(long_a)) <= 28 and chain_name(long_a) != chain_name(long_b)


def test_the_chain_passes_replies_and_drops_every_new_connection() -> None:
    run = Run("it-1234", owner="boot:42:7")
    assert control_ports(load_flows()) == []  # flows.yaml lets no host reach the control node
    rules = [shlex.join(r) for r in chain_rules(run, [])]
    assert rules == [
        "-m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "
        "'sunlight run=it-1234 owner=boot:42:7' -j RETURN",
        "-m comment --comment 'sunlight run=it-1234 owner=boot:42:7' -j DROP"]
    with_port = chain_rules(run, [8443])
    assert with_port[1][:4] == ["-p", "tcp", "--dport", "8443"] and with_port[-1][-1] == "DROP"
    assert comment(Run.named("demo")) == "sunlight run=demo persistent"


def test_sync_jumps_from_each_bridge_first_and_converges() -> None:
    table = Table()
    run = Run("it-1234", owner="boot:42:7")
    sync(run, ["br-aaa", "br-bbb"], [], table)
    first = table.text()
    assert [r[:2] for r in table.chains["INPUT"]] == [("-i", "br-aaa"), ("-i", "br-bbb"),
                                                      ("-i", "eth0")]
    assert all(r[-1] == "SUNLIGHT-it-1234" for r in table.chains["INPUT"][:2])
    sync(run, ["br-aaa", "br-bbb"], [], table)
    assert table.text() == first  # a second up changes nothing
    sync(run, ["br-bbb", "br-ccc"], [], table)  # a bridge gone, one new
    assert sorted(r[1] for r in table.chains["INPUT"] if r[-1] == "SUNLIGHT-it-1234") == [
        "br-bbb", "br-ccc"]
    chains, rules = parse_rules(table.text())
    assert "SUNLIGHT-it-1234" in chains
    assert {r.tag.run_id for r in rules if r.tag} == {"it-1234"}


def test_down_removes_its_own_guard_and_nothing_else() -> None:
    table = Table()
    mine, demo = Run("it-1234", owner="boot:42:7"), Run.named("demo")
    sync(mine, ["br-aaa"], [], table)
    sync(demo, ["br-ddd"], [], table)
    assert leftovers("it-1234", table) == [
        "iptables chain SUNLIGHT-it-1234",
        "iptables rule -A INPUT -i br-aaa -m comment --comment "
        "'sunlight run=it-1234 owner=boot:42:7' -j SUNLIGHT-it-1234"]
    assert remove("it-1234", table) == ["SUNLIGHT-it-1234"]
    assert leftovers("it-1234", table) == [] and remove("it-1234", table) == []
    assert leftovers("demo", table)  # the demo's guard stays
    assert ("-i", "eth0", "-j", "ACCEPT") in table.chains["INPUT"]


def test_sweep_reaps_dead_runs_and_never_a_live_or_persistent_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    table = Table()
    alive = Run("it-live", owner="boot:1:1")
    monkeypatch.setattr(hostguard, "owner_alive", lambda token: token == "boot:1:1")
    sync(Run("it-dead", owner=DEAD), ["br-dead"], [], table)
    sync(alive, ["br-live"], [], table)
    sync(Run.named("demo"), ["br-demo"], [], table)
    sync(Run("it-mine", owner="boot:1:1"), ["br-mine"], [], table)
    assert sweep("it-mine", table) == ["SUNLIGHT-it-dead", "SUNLIGHT-it-mine"]
    chains, _rules = parse_rules(table.text())
    assert sorted(chains) == ["SUNLIGHT-demo", "SUNLIGHT-it-live"]
    table.chains["SUNLIGHT-it-gone"] = []  # a crash between -N and the first -A
    assert sweep("it-gone", table) == ["SUNLIGHT-it-gone"]


def test_without_root_install_refuses_and_the_rest_finds_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hostguard, "available", lambda: False)
    with pytest.raises(hostguard.HostGuardError, match="needs root and iptables"):
        hostguard.install(object(), Run("it-1234"))
    assert remove("it-1234") == sweep("it-1234") == leftovers("it-1234") == []


def test_a_concurrent_removal_is_not_an_error() -> None:
    table = Table()
    run = Run("it-1234", owner="boot:42:7")
    sync(run, ["br-aaa"], [], table)
    stale = table.text()  # what a second sweep listed before the first removed it all
    assert remove("it-1234", table) == ["SUNLIGHT-it-1234"]
    _chains, rules = parse_rules(stale)
    hostguard._remove_chains(["SUNLIGHT-it-1234"], rules, table)  # nothing left: fine
    assert leftovers("it-1234", table) == []
