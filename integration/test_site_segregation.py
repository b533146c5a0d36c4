"""Segregation proof on real containers: the compact county site 320703, realized.

The realizer creates exactly what the Pulumi program declares. Every destination port of
every host gets a real listener; a stand-in for the parent site's backbone host (booted
from the node image, on the backbone only) plays the other end of the backbone rows. From
each source — every host and the stand-in over SSH (paramiko, pinned host keys), and the
control node itself — every row of the host-level matrix is tried: flows.yaml's rows and
their denied complement.

A flow counts as blocked only on a timeout or "no route" (EHOSTUNREACH, ENETUNREACH); a
reset means reachable. Every denied target has a passing control probe from the control
node beside it, before and after. Rows only the host firewall can deny are printed as
pending with what was observed, never counted as blocked: no playbook has run here
(``test_topology_1_readonly.py`` proves the same rows blocked on every host of the topology,
where the playbooks have applied the firewall).

Then the control node's guard and the egress policy (issue 15, point 8), against sentinel
listeners of the test's own, never an outside address: with the guard ``sunlight up``
installs (:mod:`sunlight.control.hostguard`), no host reaches a sentinel on the Docker host —
on each of the site's bridge addresses and on another address of the host — and root
inside a host who flushes its nftables still cannot; with the firewall the playbooks render
(``nftables.conf.j2``, from the inventory's ``sunlight_egress``), the external host and the
gateway open nothing outside their flows.yaml rows, while those rows keep working.
"""

from __future__ import annotations

import base64
import contextlib
import selectors
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import jinja2
import pytest

from site_fixtures import (
    BLOCKED,
    GRANDPARENT,
    SITE,
    STAND_IN,
    STAND_IN_ROLES,
    Lab,
    Target,
    compact_site,
    format_matrix,
    probe_locally,
    probe_over_ssh,
    run_matrix,
    start_all_listeners,
    start_listeners,
    target,
    targets_of,
    verdict,
    wait_until_connected,
)
from sunlight.control import hostguard
from sunlight.control.deploy.inventory import PeerHost, deployment_inventory
from sunlight.control.realizer.apply import unrealize
from sunlight.control.realizer.capture import capture_site
from sunlight.control.realizer.plan import CONTAINER_TYPE, NETWORK_TYPE, VOLUME_TYPE
from sunlight.control.resources import Run
from sunlight.control.ssh import ControlKey
from sunlight.paths import repo_root
from sunlight.topology.layout import Net
from sunlight.topology.matrix import Expect, Probe, local_flows

PARENT = "320700"


@pytest.fixture(scope="module")
def lab(docker_client: docker.DockerClient, run: Run, node_image: str,
        control_key: ControlKey) -> Iterator[Lab]:
    with compact_site(docker_client, run, node_image, control_key) as lab:
        start_all_listeners(lab)
        yield lab


def _all_targets(lab: Lab) -> list[Target]:
    return sorted({t for ep in lab.endpoints if not ep.control
                   for t in targets_of(lab, ep.name)})


def _control_check(lab: Lab, deadline_s: float) -> dict[Target, str]:
    """Every listener answers the control node (retrying while listeners start)."""
    return wait_until_connected(probe_locally, _all_targets(lab), deadline_s)


def _format(lab: Lab, seen: dict[Probe, str]) -> str:
    lines = format_matrix(seen)
    counts = {r: sum(1 for p, v in seen.items() if verdict(p, v) == r)
              for r in ("ok", "MISMATCH", "pending")}
    local = local_flows(lab.matrix, [e for e in lab.endpoints if e.site == SITE])
    t = lab.realized.timings
    return "\n".join([
        f"site {SITE} (compact) realized in {t['total']:.1f} s (capture {t['capture']:.2f} s, "
        f"create {t['create']:.1f} s, boot {t['boot']:.1f} s); parent {PARENT} stand-in on "
        "the backbone",
        f"{len(seen)} probes: {counts['ok']} ok, {counts['MISMATCH']} mismatches, "
        f"{counts['pending']} pending (denied only by the host firewall, not applied here; "
        "observed state shown)",
        "blocked = timeout or no route; ECONNREFUSED would mean reachable", "", *lines, "",
        "local (roles sharing a host; no network rule applies): " + "; ".join(
            f"{host}: {f.source}->{f.destination}:{f.port}" for host, f in local),
    ])


def test_segregation_matrix(lab: Lab, control_key: ControlKey,
                            report: Callable[[str, str], None]) -> None:
    before = _control_check(lab, deadline_s=20)
    assert all(v == "connected" for v in before.values()), {
        t: v for t, v in before.items() if v != "connected"}
    seen = run_matrix(lab, control_key)
    after = _control_check(lab, deadline_s=0)
    text = _format(lab, seen)
    report("segregation matrix, site 320703", text)
    print("\n" + text)
    mismatches = [f"{p.label}: expected {p.expect}, saw {v}" for p, v in seen.items()
                  if verdict(p, v) == "MISMATCH"]
    assert not mismatches, "\n".join(mismatches)
    blocked = [p for p in seen if p.expect is Expect.BLOCKED]
    assert len(blocked) > 50 and sum(p.expect is Expect.OPEN for p in seen) >= 10
    for probe in blocked:  # the control row beside every denied row
        where = target(lab, probe)
        assert before[where] == after[where] == "connected", probe.label


def test_the_realizer_created_exactly_what_the_program_declares(
        lab: Lab, docker_client: docker.DockerClient, run: Run) -> None:
    capture = capture_site(lab.realized.config)
    flt = {"label": [f"io.sunlight.run-id={run.run_id}", f"io.sunlight.site={SITE}"]}
    have = {
        CONTAINER_TYPE: {c.name for c in docker_client.containers.list(all=True, filters=flt)},
        NETWORK_TYPE: {n.name for n in docker_client.networks.list(filters=flt)},
        VOLUME_TYPE: {v.name for v in docker_client.volumes.list(filters=flt)},
    }
    for token, names in have.items():
        assert names == {r.inputs["name"] for r in capture.of_type(token)}, token
    for net in docker_client.networks.list(filters=flt):
        net.reload()
        kind = net.attrs["Labels"]["io.sunlight.network"]
        assert net.attrs["Internal"] is (kind != "ext"), kind
        icc = net.attrs["Options"].get("com.docker.network.bridge.enable_icc")
        assert icc == ("false" if kind == "mgmt" else None), kind
    inv = lab.realized.inventory["all"]["children"][f"site_{SITE}"]["hosts"]
    for name, host in lab.realized.hosts.items():
        assert host.addresses == inv[f"{SITE}-{name}"]["sunlight_addresses"]
        config = host.container.attrs["HostConfig"]
        assert sorted(config["CapAdd"]) == ["NET_ADMIN", "SYS_ADMIN"]
        assert config["Privileged"] is False
    assert len(lab.realized.hosts) == 3


def test_only_the_portal_publishes_on_loopback(lab: Lab) -> None:
    bindings = {name: host.container.attrs["HostConfig"]["PortBindings"] or {}
                for name, host in lab.realized.hosts.items()}
    assert {n for n, b in bindings.items() if b} == {"ext"}
    (published,) = lab.realized.hosts["ext"].container.attrs["NetworkSettings"]["Ports"][
        "443/tcp"]
    assert published["HostIp"] == "127.0.0.1"
    assert lab.realized.portal_port == int(published["HostPort"]) > 0
    deadline = time.monotonic() + 20
    while probe_locally([("127.0.0.1", lab.realized.portal_port)]) != ["connected"]:
        assert time.monotonic() < deadline, "the published port never answered"
        time.sleep(0.5)


def test_removal_touches_only_its_own_run(lab: Lab, docker_client: docker.DockerClient) -> None:
    report = unrealize(docker_client, Run.ephemeral("other"), SITE)
    assert report.total == 0
    for host in lab.realized.hosts.values():
        host.container.reload()
        assert host.container.status == "running"


# --- the control node's guard and the egress policy (issue 15, point 8) ----------------------

SENTINEL_PORT = 47001  # a port no role of flows.yaml uses: the test's own listeners
TEMPLATES = repo_root() / "playbooks" / "roles" / "common" / "templates"


@contextlib.contextmanager
def _listening(addresses: Sequence[str]) -> Iterator[list[Target]]:
    """A sentinel on each address of the Docker host (any free port): accepts, closes."""
    sel = selectors.DefaultSelector()
    socks = []
    for address in addresses:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, 0))
        sock.listen(64)
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ)
        socks.append(sock)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            for key, _ in sel.select(timeout=0.2):
                with contextlib.suppress(OSError):
                    key.fileobj.accept()[0].close()  # type: ignore[union-attr]

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield [(str(s.getsockname()[0]), int(s.getsockname()[1])) for s in socks]
    finally:
        stop.set()
        thread.join()
        for sock in socks:
            sock.close()


def _bridge_gateways(client: docker.DockerClient, lab: Lab) -> dict[str, str]:
    """Each of the lab's networks (the backbone included) -> its bridge's address."""
    out = {}
    for kind, name in lab.realized.networks.items():
        (network,) = [n for n in client.networks.list(names=[name]) if n.name == name]
        out[kind] = network.attrs["IPAM"]["Config"][0]["Gateway"]
    return out


def _other_host_address(skip: Sequence[str]) -> str:
    """An address of the Docker host that is no project bridge's (its own uplink first)."""
    found = []
    for line in subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True,
                               text=True, check=True).stdout.splitlines():
        fields = line.split()
        iface, address = fields[1], fields[3].split("/")[0]
        if iface != "lo" and not iface.startswith(("br-", "veth")) and address not in skip:
            found.append((iface == "docker0", address))
    assert found, "the Docker host has no address besides its bridges"
    return sorted(found)[0][1]


@pytest.fixture(scope="module")
def sentinels(lab: Lab, docker_client: docker.DockerClient, run: Run) -> Iterator[list[Target]]:
    """The guard as `sunlight up` installs it, and the control node's sentinels."""
    had_guard = bool(hostguard.leftovers(run.run_id))  # the session's topology, if up
    guarded = hostguard.install(docker_client, run)
    try:
        assert len(guarded) >= 4, guarded  # ext, int, mgmt and the backbone
        gateways = _bridge_gateways(docker_client, lab)
        with _listening([*gateways.values(), _other_host_address(list(gateways.values()))]) \
                as targets:
            yield targets
    finally:
        if had_guard:
            hostguard.install(docker_client, run)
        else:
            hostguard.remove(run.run_id)


def _hosts(lab: Lab) -> list[str]:
    return [ep.name for ep in lab.endpoints if not ep.control]


def _probe_from(lab: Lab, key: ControlKey, name: str, targets: Sequence[Target]) -> list[str]:
    return probe_over_ssh(lab.ssh_address(name), key, lab.host_keys[name], targets)


def _from_every_host(lab: Lab, key: ControlKey,
                     targets: Sequence[Target]) -> dict[tuple[str, Target], str]:
    names = _hosts(lab)
    with ThreadPoolExecutor(len(names)) as pool:
        verdicts = pool.map(lambda name: _probe_from(lab, key, name, targets), names)
        return {(name, t): v for name, seen in zip(names, verdicts, strict=True)
                for t, v in zip(targets, seen, strict=True)}


def test_no_host_reaches_the_control_node_on_any_address(
        lab: Lab, sentinels: list[Target], control_key: ControlKey,
        report: Callable[[str, str], None]) -> None:
    before = wait_until_connected(probe_locally, sentinels, 10)
    assert set(before.values()) == {"connected"}, before  # every sentinel listens
    seen = _from_every_host(lab, control_key, sentinels)
    reached = {k: v for k, v in seen.items() if v not in BLOCKED}
    report("the control node's guard, site 320703", "\n".join(
        f"{host:>8} -> {ip}:{port}  {v}" for (host, (ip, port)), v in sorted(seen.items())))
    assert not reached, f"hosts reached the control node: {reached}"
    assert len(seen) == len(_hosts(lab)) * len(sentinels) >= 4 * 5
    # the control node still opens connections to every host (replies pass the guard)
    assert set(_control_check(lab, deadline_s=20).values()) == {"connected"}
    assert set(probe_locally(sentinels)) == {"connected"}


def _load_firewall(lab: Lab, name: str) -> str:
    """Render the playbooks' nftables.conf.j2 with the inventory's variables and load it
    on ``name``, as the common role does."""
    inventory = deployment_inventory(
        [lab.realized.inventory], deployment=lab.realized.config.run_id,
        control_key=Path("/nonexistent/key"), known_hosts=Path("/nonexistent/known_hosts"),
        secrets_dir=Path("/nonexistent/secrets"),
        peers=(PeerHost(PARENT, GRANDPARENT, STAND_IN, STAND_IN_ROLES, lab.parent_ip),))
    host = f"{SITE}-{name}"
    hv = inventory["all"]["children"][f"site_{SITE}"]["hosts"][host]
    text = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                              undefined=jinja2.StrictUndefined).get_template(
        "nftables.conf.j2").render(common_firewall_rules=hv["sunlight_firewall"],
                                   common_firewall_egress=hv["sunlight_egress"],
                                   inventory_hostname=host, ansible_managed="test")
    encoded = base64.b64encode(text.encode()).decode()
    done = lab.containers[name].exec_run(["sh", "-c", f"echo {encoded} | base64 -d > "
                                          "/run/sunlight-nftables.conf && nft -f "
                                          "/run/sunlight-nftables.conf"])
    assert done.exit_code == 0, done.output.decode(errors="replace")
    return text


def _addr(lab: Lab, name: str, kind: Net) -> str:
    return lab.addresses[name][kind]


def test_the_external_host_and_the_gateway_send_only_their_rows(
        lab: Lab, sentinels: list[Target], control_key: ControlKey) -> None:
    key = control_key
    gw_sentinel = (_addr(lab, "gw", Net.EXT), SENTINEL_PORT)  # ext reaches gw's ext address
    int_sentinel = (_addr(lab, "int", Net.INT), SENTINEL_PORT)  # gw reaches int's int address
    start_listeners(lab.containers["gw"], [gw_sentinel])
    start_listeners(lab.containers["int"], [int_sentinel])
    assert set(wait_until_connected(probe_locally, [gw_sentinel, int_sentinel], 20).values()
               ) == {"connected"}
    # without the output policy both would be open (the input firewall of a host cannot
    # stop what leaves it, and these destinations have none here)
    assert _probe_from(lab, key, "ext", [gw_sentinel]) == ["connected"]
    assert _probe_from(lab, key, "gw", [int_sentinel]) == ["connected"]

    assert "policy drop" in _load_firewall(lab, "ext").split("chain output", 1)[1]
    assert _probe_from(lab, key, "ext", [gw_sentinel]) == ["timeout"]
    ext_own = (_addr(lab, "ext", Net.EXT), lab.matrix.port("portal_api"))
    assert _probe_from(lab, key, "ext", [ext_own]) == ["connected"]  # nginx -> portal, local

    _load_firewall(lab, "gw")
    core_db = (_addr(lab, "int", Net.INT), lab.matrix.port("postgresql"))
    broker = (_addr(lab, "int", Net.INT), lab.matrix.port("amqp"))
    denied = _probe_from(lab, key, "gw", [int_sentinel, core_db, broker])
    assert denied == ["timeout"] * 3, denied
    rows = [(_addr(lab, "ext", Net.EXT), lab.matrix.port("postgresql")),  # the outbox
            (_addr(lab, "int", Net.INT), lab.matrix.port("core_api"))]  # core's API
    assert _probe_from(lab, key, "gw", rows) == ["connected", "connected"]
    # the control node's rows to both still work (the front door, SSH and scrapes)
    front = [(_addr(lab, "ext", Net.EXT), lab.matrix.port("https")),
             (_addr(lab, "gw", Net.MGMT), lab.matrix.port("node_exporter"))]
    assert probe_locally([*front, int_sentinel]) == ["connected"] * 3
    # ...and the control node stays out of their reach, firewall or not
    assert set(_probe_from(lab, key, "gw", sentinels)) <= BLOCKED


def test_root_inside_a_host_cannot_lift_the_control_nodes_guard(
        lab: Lab, sentinels: list[Target], control_key: ControlKey) -> None:
    int_sentinel = (_addr(lab, "int", Net.INT), SENTINEL_PORT)  # the test before started it
    for name in ("ext", "gw"):  # root inside each flushes every table of its own
        done = lab.containers[name].exec_run(["nft", "flush", "ruleset"], user="root")
        assert done.exit_code == 0, done.output
        assert lab.containers[name].exec_run(["nft", "list", "ruleset"]).output.strip() == b""
    # their own firewall is gone (the gateway's output is no longer filtered)...
    assert _probe_from(lab, control_key, "gw", [int_sentinel]) == ["connected"]
    # ...but the Docker host's rules are not theirs to change
    with ThreadPoolExecutor(2) as pool:
        for name, seen in zip(("ext", "gw"), pool.map(
                lambda n: _probe_from(lab, control_key, n, sentinels), ("ext", "gw")),
                strict=True):
            assert set(seen) <= BLOCKED, (name, dict(zip(sentinels, seen, strict=True)))
    assert set(probe_locally(sentinels)) == {"connected"}
