"""The second engine's isolation: Sunlight's own nftables table, ``inet sunlight_engine_b``.

The second engine on this machine (``sunlight engine second up``, :mod:`sunlight.control.engine`)
runs with ``--iptables=false``: two engines that both manage iptables overwrite each other's
rules. So nothing of Docker's isolates its bridges; this table does, generated from the
engine's bridges and published listeners and from ``infra/flows.yaml``:

- ``input``: a host on the engine opens no connection to this machine (replies to the
  control node's connections pass) — the control node's guard, as :mod:`hostguard` is for
  the first engine;
- ``forward``: replies pass; traffic stays within its bridge (no routing between the
  engine's networks: the layout's zones stay apart); from the engine's backbone bridges to
  other engines only the ports of flows.yaml's allowed backbone rows
  (:func:`crossing_ports`); into them only those published listeners; everything else
  entering or leaving the engine's bridges is dropped;
- in ``forward`` too, traffic between hosts on a bridge whose inter-container traffic is
  disabled (mgmt) is dropped — Docker enforces that with iptables, here off. Frames within
  one bridge reach the ``inet`` hooks through ``br_netfilter`` (``bridge-nf-call-iptables``
  = 1, as Docker's own rule needs): :func:`sync` refuses without it. (A ``bridge`` family
  rule on ``meta ibrname`` needs the kernel's ``nft_meta_bridge``, which some kernels lack:
  "Operation not supported" on a 6.18 kernel without modules);
- ``prerouting`` (nat): each listener published on the engine's address is forwarded to
  its host's backbone address (the first engine does this with iptables; here, no NAT
  hides the source: the host's firewall sees the peer's own backbone address).

The first engine's iptables ``FORWARD`` chain has policy ``DROP`` and, through
``br_netfilter``, sees the second engine's traffic too (even within one bridge): the
second engine's hosts could not reach each other at all. So :func:`sync` also keeps, in
``DOCKER-USER`` (the chain Docker leaves to its users), one ``ACCEPT`` per direction of each
of the engine's bridges, commented :data:`HANDOFF_COMMENT`: what crosses them is decided by
this table alone. :func:`remove` deletes them; without that chain (no first engine managing
iptables) there is nothing to do.

:func:`sync` replaces the table atomically (``nft -f``) — at ``engine second up`` and after
every ``sunlight up`` that realizes sites there; :func:`remove` deletes it (``engine second
down``, the fresh-machine reset). The host needs Debian's ``nftables`` (the set-up installs
it). By hand: ``nft list table inet sunlight_engine_b``; ``nft delete table inet
sunlight_engine_b``.

Example::

    >>> from sunlight.control.enginetable import EngineState, ruleset
    >>> "table inet sunlight_engine_b" in ruleset(EngineState(("sl-b0",), (), ()), matrix)
    ... # doctest: +SKIP
    True
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from sunlight.control.hostchanges import SECOND_BRIDGE, SECOND_SOCKET, SECOND_TABLE
from sunlight.topology.engines import EngineSpec
from sunlight.topology.flows import FlowMatrix, load_flows
from sunlight.topology.layout import ICC_OPTION, Net
from sunlight.topology.runs import LABEL_RUN_ID

TABLE = SECOND_TABLE
FAMILY = "inet"
BRIDGE_FAMILY = "bridge"  # an earlier version's table of that family is removed
BRIDGE_NF_CALL = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
BRIDGE_NAME_OPTION = "com.docker.network.bridge.name"
LABEL_ZONE = "io.sunlight.zone"
NFT = "nft"
IPTABLES = "iptables"
DOCKER_USER = "DOCKER-USER"
HANDOFF_COMMENT = f"sunlight: a second engine bridge, decided by nftables table {TABLE}"

Runner = Callable[[list[str], str | None], "subprocess.CompletedProcess[str]"]


class EngineTableError(RuntimeError):
    """The table could not be written or removed; the message says what to do."""


@dataclass(frozen=True)
class Published:
    """A listener published on the engine's address, and the host address behind it."""

    address: str  # the engine's address
    port: int
    host: str  # the host's address on its backbone
    host_port: int
    container: str


@dataclass(frozen=True)
class EngineState:
    """What the table is generated from: the engine's bridges and published listeners."""

    bridges: tuple[str, ...]
    backbones: tuple[str, ...]  # the bridges of backbone networks
    published: tuple[Published, ...]
    isolated: tuple[str, ...] = ()  # bridges whose hosts must not reach each other (mgmt)


def owns(spec: EngineSpec) -> bool:
    """Whether ``spec`` is the second engine on this machine (whose table this is)."""
    return spec.url == f"unix://{SECOND_SOCKET}"


def crossing_ports(matrix: FlowMatrix) -> list[int]:
    """The ports flows.yaml lets a host open towards another site over the backbone."""
    return sorted({f.port for f in matrix.allowed
                   if f.network is Net.BACKBONE and f.direction is not None})


def _crossing_why(matrix: FlowMatrix) -> str:
    rows = sorted({f.label for f in matrix.allowed
                   if f.network is Net.BACKBONE and f.direction is not None})
    return "flows.yaml: " + "; ".join(rows)


def _bridge(network: Any) -> str:
    options = network.attrs.get("Options") or {}
    return str(options.get(BRIDGE_NAME_OPTION) or f"br-{network.id[:12]}")


def read_state(client: Any) -> EngineState:
    """The engine's bridge interfaces and the listeners its hosts publish."""
    bridges, backbones, isolated = [SECOND_BRIDGE], [], []
    backbone_ids = set()
    for network in client.networks.list():
        if network.attrs.get("Driver") != "bridge":
            continue
        name = _bridge(network)
        bridges.append(name)
        if (network.attrs.get("Options") or {}).get(ICC_OPTION) == "false":
            isolated.append(name)
        if (network.attrs.get("Labels") or {}).get(LABEL_ZONE) == "backbone":
            backbones.append(name)
            backbone_ids.add(network.name)
    published = []
    for container in client.containers.list(filters={"label": LABEL_RUN_ID}):
        settings = container.attrs.get("NetworkSettings") or {}
        nets = settings.get("Networks") or {}
        host = next((str(info.get("IPAddress")) for name, info in nets.items()
                     if name in backbone_ids and info.get("IPAddress")), None)
        if host is None:
            continue
        for key, bindings in (settings.get("Ports") or {}).items():
            port, _, proto = key.partition("/")
            for binding in bindings or []:
                address = str(binding.get("HostIp") or "")
                if proto != "tcp" or not address or IPv4Address(address).is_loopback:
                    continue
                published.append(Published(address, int(binding["HostPort"]), host,
                                           int(port), container.name))
    return EngineState(tuple(sorted(set(bridges))), tuple(sorted(set(backbones))),
                       tuple(sorted(set(published), key=lambda p: (p.address, p.port))),
                       tuple(sorted(set(isolated))))


def _set(name: str, elements: Sequence[str]) -> list[str]:
    lines = [f"\tset {name} {{", "\t\ttype ifname"]
    if elements:
        lines.append("\t\telements = { " + ", ".join(f'"{e}"' for e in elements) + " }")
    return [*lines, "\t}"]


def ruleset(state: EngineState, matrix: FlowMatrix) -> str:
    """The table's text, replacing any earlier one when given to ``nft -f`` (atomically)."""
    ports = crossing_ports(matrix)
    lines = [f"table {FAMILY} {TABLE} {{}}", f"delete table {FAMILY} {TABLE}",
             f"table {FAMILY} {TABLE} {{",
             '\tcomment "sunlight: the second engine\'s isolation (sunlight engine second)"',
             *_set("bridges", state.bridges), *_set("backbones", state.backbones),
             "\tchain input {", "\t\ttype filter hook input priority filter; policy accept;",
             "\t\tiifname @bridges ct state established,related accept",
             '\t\tiifname @bridges drop comment "no host opens a connection to this machine"',
             "\t}",
             "\tchain forward {", "\t\ttype filter hook forward priority filter; policy accept;",
             "\t\tct state established,related accept"]
    for bridge in state.isolated:
        lines.append(f'\t\tiifname "{bridge}" oifname "{bridge}" drop comment "hosts never '
                     'reach each other here (inter-container traffic disabled)"')
    for bridge in state.bridges:
        lines.append(f'\t\tiifname "{bridge}" oifname "{bridge}" accept '
                     'comment "within one bridge"')
    if ports:
        lines.append("\t\tiifname @backbones oifname != @bridges tcp dport { "
                     + ", ".join(map(str, ports)) + f' }} accept comment "{_crossing_why(matrix)}"')
    for pub in state.published:
        lines.append(f"\t\toifname @backbones ip daddr {pub.host} tcp dport {pub.host_port} "
                     f'ct status dnat accept comment "published: {pub.container}"')
    lines += ['\t\tiifname @bridges drop comment "nothing else leaves the engine\'s bridges"',
              '\t\toifname @bridges drop comment "nothing else enters them"',
              "\t}",
              "\tchain prerouting {",
              "\t\ttype nat hook prerouting priority dstnat; policy accept;"]
    for pub in state.published:
        lines.append(f"\t\tip daddr {pub.address} tcp dport {pub.port} "
                     f'dnat ip to {pub.host}:{pub.host_port} comment "{pub.container}"')
    lines += ["\t}", "}",
              f"table {BRIDGE_FAMILY} {TABLE} {{}}", f"delete table {BRIDGE_FAMILY} {TABLE}"]
    return "\n".join(lines) + "\n"


def _run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([NFT, *args], input=stdin, capture_output=True, text=True,
                          check=False)


def _run_command(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if shutil.which(args[0]) is None:  # no iptables: no first engine's chain either
        return subprocess.CompletedProcess(args, 127, "", f"{args[0]}: not found")
    return subprocess.run(args, input=stdin, capture_output=True, text=True, check=False)


def available() -> bool:
    return os.geteuid() == 0 and shutil.which(NFT) is not None


def _runner(runner: Runner | None) -> Runner:
    if runner is not None:
        return runner
    if not available():
        raise EngineTableError("the second engine's isolation needs root and `nft` (Debian's "
                               "nftables): run `sunlight engine second up` as root")
    return _run


def apply(text: str, runner: Runner | None = None) -> None:
    done = _runner(runner)(["-f", "-"], text)
    if done.returncode != 0:
        raise EngineTableError(f"nft -f: {done.stderr.strip()}")


def handoff_rules(bridges: Sequence[str]) -> list[list[str]]:
    """The ``DOCKER-USER`` rules (``iptables`` arguments after the chain) for ``bridges``."""
    return [[direction, bridge, "-m", "comment", "--comment", HANDOFF_COMMENT, "-j", "ACCEPT"]
            for bridge in bridges for direction in ("-i", "-o")]


def _ours(runner: Runner) -> list[list[str]] | None:
    """Our rules now in ``DOCKER-USER`` (None: no such chain)."""
    done = runner([IPTABLES, "-w", "-S", DOCKER_USER], None)
    if done.returncode != 0:
        return None
    rules = [shlex.split(line) for line in done.stdout.splitlines()]
    return [r[2:] for r in rules if r[:2] == ["-A", DOCKER_USER] and HANDOFF_COMMENT in r]


def _no_chain(args: list[str], _stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(args, 1, "", "iptables: No chain by that name")


def _iptables(nft: Runner | None, given: Runner | None) -> Runner:
    """The iptables runner: ``given``; else the real one, unless nft's is a stand-in (a
    test), whose host's chains are then never touched."""
    return given or (_run_command if nft is None else _no_chain)


def sync_handoff(bridges: Sequence[str], runner: Runner | None = None) -> None:
    """``DOCKER-USER`` accepts exactly ``bridges``' traffic (ours; other rules untouched)."""
    run = runner or _run_command
    present_rules = _ours(run)
    if present_rules is None:
        return
    wanted = handoff_rules(bridges)
    for rule in present_rules:
        if rule not in wanted:
            run([IPTABLES, "-w", "-D", DOCKER_USER, *rule], None)
    for rule in wanted:
        if rule not in present_rules:
            done = run([IPTABLES, "-w", "-I", DOCKER_USER, *rule], None)
            if done.returncode != 0:
                raise EngineTableError(f"iptables -I {DOCKER_USER}: {done.stderr.strip()}")


def bridge_netfilter(path: Path = BRIDGE_NF_CALL) -> bool:
    """Whether frames within a bridge pass the ``inet`` hooks (``br_netfilter``)."""
    try:
        return path.read_text().strip() == "1"
    except OSError:
        return False


def sync(client: Any, matrix: FlowMatrix | None = None, runner: Runner | None = None,
         bridged: Callable[[], bool] = bridge_netfilter, iptables: Runner | None = None) -> str:
    """Write the table for the engine as it is now; return the text applied."""
    state = read_state(client)
    if state.isolated and not bridged():
        raise EngineTableError(
            "the second engine's mgmt bridges keep their hosts apart only with br_netfilter "
            f"({BRIDGE_NF_CALL} = 1, as Docker's own rule needs): `modprobe br_netfilter` "
            "and `sysctl net.bridge.bridge-nf-call-iptables=1`, then again")
    text = ruleset(state, matrix or load_flows())
    apply(text, runner)
    sync_handoff(state.bridges, _iptables(runner, iptables))
    return text


def present(runner: Runner | None = None) -> list[str]:
    """The families in which the table exists (``nft list tables``)."""
    done = _runner(runner)(["list", "tables"], None)
    lines = set(done.stdout.splitlines())
    return [f for f in (FAMILY, BRIDGE_FAMILY) if f"table {f} {TABLE}" in lines]


def remove(runner: Runner | None = None, iptables: Runner | None = None) -> bool:
    """Delete the table (both families) and our ``DOCKER-USER`` rules; True if there was a
    table. Without nft there is none."""
    if runner is None and shutil.which(NFT) is None:
        return False
    run = _runner(runner)
    sync_handoff((), _iptables(runner, iptables))
    found = present(run)
    errors = [run(["delete", "table", family, TABLE], None).stderr.strip() for family in found]
    left = present(run)
    if left:
        raise EngineTableError(f"nft delete table {TABLE} ({', '.join(left)}): "
                               + "; ".join(e for e in errors if e))
    return bool(found)
