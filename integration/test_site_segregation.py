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
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import docker
import pytest

from site_fixtures import (
    SITE,
    Lab,
    Target,
    compact_site,
    format_matrix,
    probe_locally,
    run_matrix,
    start_all_listeners,
    target,
    targets_of,
    verdict,
    wait_until_connected,
)
from sunlight.control.realizer.apply import unrealize
from sunlight.control.realizer.capture import capture_site
from sunlight.control.realizer.plan import CONTAINER_TYPE, NETWORK_TYPE, VOLUME_TYPE
from sunlight.control.resources import Run
from sunlight.control.ssh import ControlKey
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
