"""A realized compact county site with a parent stand-in, and the probes that test its flows.

Used by the segregation proof (``test_site_segregation.py``: the network layout alone); the
topology suite (``test_topology_1_readonly.py``) runs the same matrix over every host of the
topology, where the playbooks have applied the firewall.

The realizer creates exactly what the Pulumi program declares for the compact county
320703; a stand-in for its parent's backbone host (booted from the node image, on the
backbone only) plays the other end of the backbone rows. A probe connects from a source —
a host or the stand-in over SSH (paramiko, pinned host keys), or the control node itself —
to a destination address and port. A flow counts as blocked only on a timeout or "no
route" (EHOSTUNREACH, ENETUNREACH); a reset means reachable.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import socket
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import docker

from sunlight.control.hosts import HostSpec, NetworkAttachment, start_host, wait_ready
from sunlight.control.realizer.apply import Realized, realize, reserve_local_backbone, unrealize
from sunlight.control.resources import Run
from sunlight.control.ssh import ControlKey, HostSSH, pinned_host_key
from sunlight.topology.config import SiteConfig
from sunlight.topology.flows import FlowMatrix, load_flows
from sunlight.topology.layout import Net, Profile
from sunlight.topology.matrix import (
    Endpoint,
    Expect,
    Probe,
    backbone_stand_in,
    control_endpoint,
    expand,
    site_endpoints,
)

SITE, PARENT, GRANDPARENT = "320703", "320700", "320000"
STAND_IN = "parent"  # the stand-in's endpoint name
STAND_IN_ROLES = ("mq", "mon")
PROBE_TIMEOUT_S = 3.0
BLOCKED = frozenset({"timeout", "EHOSTUNREACH", "ENETUNREACH"})
# Runs on a source: connects to every (ip, port) at once, prints one verdict per target:
# "connected", "timeout", or the errno name (ECONNREFUSED means reachable but closed).
PROBE = f"""
import errno, json, socket, sys
from concurrent.futures import ThreadPoolExecutor
def probe(target):
    s = socket.socket(); s.settimeout({PROBE_TIMEOUT_S})
    try:
        s.connect((target[0], target[1])); return "connected"
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()
with ThreadPoolExecutor(64) as pool:
    print(json.dumps(list(pool.map(probe, json.loads(sys.argv[1])))))
"""
# A real listener on each given address:port that nothing listens on yet (a service that
# holds the port already is the listener): accepts and closes, forever.
LISTENER_MARK = "sunlight-probe-listener"
LISTENER = f"""
# {LISTENER_MARK}
import selectors, socket, sys
sel = selectors.DefaultSelector()
for target in sys.argv[1:]:
    address, port = target.rsplit(":", 1)
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((address, int(port)))
    except OSError:
        s.close(); continue
    s.listen(128); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        try:
            key.fileobj.accept()[0].close()
        except OSError:
            pass
"""
Target = tuple[str, int]


@dataclass
class Lab:
    """The realized site, the stand-in, and how to reach every endpoint."""

    realized: Realized
    matrix: FlowMatrix
    endpoints: list[Endpoint]
    addresses: dict[str, dict[Net, str]]  # endpoint -> kind -> address
    host_keys: dict[str, str]
    containers: dict[str, Any]
    parent_ip: str
    # Over several engines: endpoint -> its engine, and -> {port: address} of the backbone
    # listeners it publishes on its engine's address (what a host on another engine dials).
    engine_of: dict[str, str] = field(default_factory=dict)
    published: dict[str, dict[int, str]] = field(default_factory=dict)

    def ssh_address(self, name: str) -> str:
        kind = Net.BACKBONE if name == STAND_IN else Net.MGMT
        return self.addresses[name][kind]


def probe_locally(targets: Sequence[Target]) -> list[str]:
    """Probe from the control node itself."""
    def one(target: Target) -> str:
        try:
            with socket.create_connection(target, timeout=PROBE_TIMEOUT_S):
                return "connected"
        except TimeoutError:
            return "timeout"
        except OSError as exc:
            return errno.errorcode.get(exc.errno or 0, str(exc.errno))
    with ThreadPoolExecutor(64) as pool:
        return list(pool.map(one, targets))


def probe_over_ssh(ip: str, key: ControlKey, host_key: str,
                   targets: Sequence[Target]) -> list[str]:
    """Probe from a host: the probe script runs there, over a pinned-key SSH session."""
    script = base64.b64encode(PROBE.encode()).decode()
    data = json.dumps([list(t) for t in targets])
    with HostSSH(ip, key, host_key) as ssh:
        result = ssh.run(f"python3 -c \"import base64,sys; exec(base64.b64decode('{script}'))\""
                         f" '{data}'", timeout=60)
    assert result.exit_code == 0, result.stderr
    verdicts: list[str] = json.loads(result.stdout)
    return verdicts


def start_listeners(container: Any, targets: Sequence[Target]) -> None:
    """Listen on each target of a host that no service holds (sshd, once configured,
    holds 22 on mgmt only)."""
    args = [f"{ip}:{port}" for ip, port in targets]
    if args:
        container.exec_run(["python3", "-c", LISTENER, *args], detach=True)


def boot_parent_stand_in(client: docker.DockerClient, run: Run, image: str, key: ControlKey,
                         backbone: str, address: str) -> Any:
    spec = HostSpec(name=f"{PARENT}-standin", image=image,
                    networks=[NetworkAttachment(backbone, address, (f"mq-{PARENT}",))],
                    authorized_key=key.public, hostname=f"{PARENT}-standin",
                    labels={"site": PARENT, "role": ",".join(STAND_IN_ROLES),
                            "zone": "backbone"})
    container = start_host(client, run, spec)
    wait_ready(container, backbone)
    return container


@contextlib.contextmanager
def compact_site(client: docker.DockerClient, run: Run, image: str,
                 key: ControlKey) -> Iterator[Lab]:
    """Realize 320703 (compact) and the parent's stand-in; remove both afterwards."""
    plan, backbone = reserve_local_backbone(client, run, [PARENT, SITE])
    try:
        config = SiteConfig(
            run_id=run.run_id, owner=run.owner, division_code=SITE, parent_code=PARENT,
            profile=Profile.COMPACT, image=image, portal_port=0, control_public_key=key.public,
            backbone_network=backbone.name, address_plan=plan.sites[SITE])
        realized = realize(client, run, config)
        parent_ip = str(plan.sites[PARENT].backbone_address(0))
        parent = boot_parent_stand_in(client, run, image, key, backbone.name, parent_ip)
        yield build_lab(realized, parent, parent_ip)
    finally:
        unrealize(client, run, SITE)
        unrealize(client, run, PARENT)
        with contextlib.suppress(docker.errors.NotFound):
            backbone.remove()


def build_lab(realized: Realized, parent: Any, parent_ip: str) -> Lab:
    matrix = load_flows()
    endpoints = [control_endpoint(), *site_endpoints("compact", SITE, PARENT),
                 backbone_stand_in(STAND_IN, STAND_IN_ROLES, PARENT, GRANDPARENT)]
    addresses = {name: {Net(k): ip for k, ip in host.addresses.items()}
                 for name, host in realized.hosts.items()}
    addresses[STAND_IN] = {Net.BACKBONE: parent_ip}
    containers = {name: host.container for name, host in realized.hosts.items()}
    containers[STAND_IN] = parent
    keys = {name: host.host_key for name, host in realized.hosts.items()}
    keys[STAND_IN] = pinned_host_key(parent)
    return Lab(realized, matrix, endpoints, addresses, keys, containers, parent_ip)


def targets_of(lab: Lab, name: str) -> list[Target]:
    """Every (address, port) of an endpoint: each of its addresses, each of its ports."""
    ep = next(e for e in lab.endpoints if e.name == name)
    return sorted({(ip, port) for ip in lab.addresses[name].values()
                   for port in lab.matrix.ports_of(ep.roles)})


def start_all_listeners(lab: Lab) -> None:
    for ep in lab.endpoints:
        if not ep.control:
            start_listeners(lab.containers[ep.name], targets_of(lab, ep.name))


def stop_all_listeners(lab: Lab) -> None:
    """Stop what :func:`start_all_listeners` started (a shared topology is left as found)."""
    for ep in lab.endpoints:
        if not ep.control:
            lab.containers[ep.name].exec_run(["pkill", "-f", LISTENER_MARK])


def local_answers(lab: Lab, key: ControlKey,
                  deadline_s: float) -> dict[tuple[str, str, int], str]:
    """Each endpoint's targets probed from the endpoint itself (the firewall never filters
    loopback): a live listener beside every target of the matrix. The stand-in, which has
    no firewall, is probed from the control node."""
    def one(name: str) -> dict[tuple[str, str, int], str]:
        if name == STAND_IN:
            probe: Any = probe_locally
        else:
            def probe(targets: list[Target]) -> list[str]:
                return probe_over_ssh(lab.ssh_address(name), key, lab.host_keys[name], targets)
        answers = wait_until_connected(probe, targets_of(lab, name), deadline_s)
        return {(name, *t): v for t, v in answers.items()}

    names = [ep.name for ep in lab.endpoints if not ep.control]
    seen: dict[tuple[str, str, int], str] = {}
    with ThreadPoolExecutor(len(names)) as pool:
        for answers in pool.map(one, names):
            seen.update(answers)
    return seen


def assert_listeners_lived(lab: Lab, seen: dict[Probe, str],
                           before: dict[tuple[str, str, int], str],
                           after: dict[tuple[str, str, int], str]) -> None:
    """A blocked verdict counts only if the target's listener answered locally before and
    after the matrix ran."""
    for probe in seen:
        at = (probe.destination.name,
              lab.addresses[probe.destination.name][probe.network.kind], probe.port)
        assert before[at] == after[at] == "connected", probe.label


def target(lab: Lab, probe: Probe) -> Target:
    """Where the probe dials: the destination's address on the network — or, from another
    engine, the listener the destination publishes on its engine's address (as its peers
    dial it); a port it does not publish is tried at its own address, across the engines."""
    src, dst = probe.source.name, probe.destination.name
    crossing = src in lab.engine_of and lab.engine_of[src] != lab.engine_of.get(dst)
    if crossing and probe.network.kind is Net.BACKBONE and probe.port in lab.published.get(dst, {}):
        return lab.published[dst][probe.port], probe.port
    return lab.addresses[dst][probe.network.kind], probe.port


def run_matrix(lab: Lab, key: ControlKey,
               firewalled: Sequence[str] = ()) -> dict[Probe, str]:
    """Every probe of the host-level matrix, from every source at once."""
    probes = expand(lab.matrix, lab.endpoints, firewalled=frozenset(firewalled))
    by_source: dict[str, list[Probe]] = {}
    for probe in probes:
        by_source.setdefault(probe.source.name, []).append(probe)

    def run_source(name: str) -> list[str]:
        targets = [target(lab, p) for p in by_source[name]]
        if name == "control":
            return probe_locally(targets)
        return probe_over_ssh(lab.ssh_address(name), key, lab.host_keys[name], targets)

    with ThreadPoolExecutor(len(by_source)) as pool:
        verdicts = dict(zip(by_source, pool.map(run_source, by_source), strict=True))
    return {p: v for name, ps in by_source.items() for p, v in zip(ps, verdicts[name],
                                                                     strict=True)}


def verdict(probe: Probe, seen: str) -> str:
    """ok, MISMATCH, or pending (a firewall row on a host without its firewall)."""
    if probe.expect is Expect.OPEN:
        return "ok" if seen == "connected" else "MISMATCH"
    if probe.expect is Expect.BLOCKED:
        return "ok" if seen in BLOCKED else "MISMATCH"
    return "pending"


def format_matrix(seen: dict[Probe, str]) -> list[str]:
    """One line per (source, destination, network, expectation, observation): its ports."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for probe, observed in seen.items():
        key = (probe.source.name, probe.destination.name, str(probe.network),
               probe.expect.value, probe.basis.value, observed, verdict(probe, observed))
        groups.setdefault(key, []).append(probe.port)
    head = ("source", "dest", "network", "expect", "basis", "observed", "result", "ports")
    rows = [head, *[(*k, ",".join(map(str, sorted(v)))) for k, v in sorted(groups.items())]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head) - 1)]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]
            for r in rows]


def wait_until_connected(probe: Any, targets: Sequence[Target],
                         deadline_s: float) -> dict[Target, str]:
    """Probe ``targets`` with ``probe`` until all connect or the deadline passes."""
    deadline = time.monotonic() + deadline_s
    while True:
        seen = dict(zip(targets, probe(targets), strict=True))
        if all(v == "connected" for v in seen.values()) or time.monotonic() > deadline:
            return seen
        time.sleep(0.5)
