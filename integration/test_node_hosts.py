"""Hosts booted from the node image: systemd, SSH policy, identity, dormant services, isolation.

Two hosts share an internal network. A sentinel (the stand-in for "outside") listens on
another network; a control prober sits beside it to prove the listener answers, so a
failed connection from a host means isolation, not a dead sentinel.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker
import paramiko
import pytest
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from sunlight.control.hosts import HostSpec, NetworkAttachment, address, start_host, wait_ready
from sunlight.control.images.build import LABEL_VERSION
from sunlight.control.resources import Run, create_network
from sunlight.control.ssh import ControlKey, HostSSH, pinned_host_key

SENTINEL_PORT = 8080
# Prints "connected", "timeout" or "unreachable: <errno name>".
PROBE = (
    "import errno, socket, sys\n"
    "s = socket.socket(); s.settimeout(3)\n"
    "try:\n"
    "    s.connect((sys.argv[1], int(sys.argv[2]))); print('connected')\n"
    "except socket.timeout:\n"
    "    print('timeout')\n"
    "except OSError as e:\n"
    "    print('unreachable: ' + errno.errorcode.get(e.errno, str(e.errno)))\n"
)
BLOCKED_ERRNOS = ("EHOSTUNREACH", "ENETUNREACH")


@dataclass
class Lab:
    hosts: list[Any]
    host_keys: dict[str, str]
    sentinel_ip: str
    prober: DockerContainer


@pytest.fixture(scope="module")
def lab(docker_client: docker.DockerClient, run: Run, node_image: str,
        control_key: ControlKey) -> Iterator[Lab]:
    lan = create_network(docker_client, run, "lan", internal=True)
    outside = Network(docker_network_kw={"internal": True, "labels": run.labels(zone="outside")})
    outside.create()
    # The sentinel: a plain process listening, not a host (no systemd needed).
    sentinel = (
        DockerContainer(node_image)
        .with_command(["python3", "-m", "http.server", str(SENTINEL_PORT)])
        .with_network(outside)
        .with_kwargs(labels=run.labels(role="sentinel"))
    )
    prober = (
        DockerContainer(node_image)
        .with_command(["sleep", "infinity"])
        .with_network(outside)
        .with_kwargs(labels=run.labels(role="prober"))
    )
    hosts: list[Any] = []
    try:
        sentinel.start()
        prober.start()
        for name in ("host-a", "host-b"):
            hosts.append(start_host(docker_client, run, HostSpec(
                name=name, image=node_image, networks=[NetworkAttachment(lan.name)],
                authorized_key=control_key.public,
            )))
        for host in hosts:
            wait_ready(host)
        sentinel_container = sentinel.get_wrapped_container()
        sentinel_container.reload()
        sentinel_ip = sentinel_container.attrs["NetworkSettings"]["Networks"][outside.name][
            "IPAddress"]
        yield Lab(hosts, {h.name: pinned_host_key(h) for h in hosts}, sentinel_ip, prober)
    finally:
        for host in hosts:
            host.remove(force=True, v=True)
        sentinel.stop()
        prober.stop()
        outside.remove()
        lan.remove()


def _ssh(lab: Lab, host: Any, key: ControlKey) -> HostSSH:
    return HostSSH(address(host), key, lab.host_keys[host.name])


def test_systemd_is_running_and_only_the_base_services_run(
        lab: Lab, control_key: ControlKey) -> None:
    for host in lab.hosts:
        with _ssh(lab, host, control_key) as ssh:
            assert ssh.run("systemctl is-system-running").stdout == "running"
            units = ssh.run(
                "systemctl list-units --type=service --state=running --no-legend --plain"
            ).stdout
            running = {line.split()[0] for line in units.splitlines()}
            assert running <= {"systemd-journald.service", "ssh.service", "dbus.service"}
            assert "ssh.service" in running


def test_sshd_refuses_password_login(lab: Lab) -> None:
    ip = address(lab.hosts[0])
    transport = paramiko.Transport((ip, 22))
    try:
        transport.start_client(timeout=10)
        with pytest.raises(paramiko.BadAuthenticationType) as offered:
            transport.auth_none("admin")
        assert offered.value.allowed_types == ["publickey"]
        with pytest.raises(paramiko.AuthenticationException):
            transport.auth_password("admin", "admin")
        with pytest.raises(paramiko.AuthenticationException):
            transport.auth_password("root", "root")
    finally:
        transport.close()


def test_root_cannot_log_in_even_with_the_key(lab: Lab, control_key: ControlKey) -> None:
    host = lab.hosts[0]
    with pytest.raises(paramiko.AuthenticationException):
        HostSSH(address(host), control_key, lab.host_keys[host.name], user="root").__enter__()


def _identity(lab: Lab, host: Any, key: ControlKey) -> tuple[str, str]:
    with _ssh(lab, host, key) as ssh:  # connecting at all proves the pinned host key held
        machine_id = ssh.run("cat /etc/machine-id").stdout
        host_key = ssh.run("cat /etc/ssh/ssh_host_ed25519_key.pub").stdout
    assert len(machine_id) == 32
    return machine_id, host_key


def test_each_host_has_its_own_identity_kept_across_restarts(
        lab: Lab, control_key: ControlKey) -> None:
    a, b = lab.hosts
    before_a, before_b = _identity(lab, a, control_key), _identity(lab, b, control_key)
    assert before_a[0] != before_b[0], "machine ids must differ"
    assert before_a[1] != before_b[1], "SSH host keys must differ"
    a.restart(timeout=30)
    wait_ready(a)
    assert _identity(lab, a, control_key) == before_a


def test_services_installed_but_not_running(lab: Lab, control_key: ControlKey) -> None:
    with _ssh(lab, lab.hosts[1], control_key) as ssh:
        for package in ("postgresql-15", "rabbitmq-server", "nginx", "prometheus"):
            status = ssh.run(f"dpkg-query -W -f='${{Status}}' {package}").stdout
            assert status == "install ok installed", package
        for unit in ("postgresql", "rabbitmq-server", "nginx", "prometheus"):
            result = ssh.run(f"systemctl is-active {unit}")
            assert result.stdout == "inactive", f"{unit}: {result.stdout}"


def test_application_version_matches_the_image(lab: Lab, control_key: ControlKey) -> None:
    host = lab.hosts[0]
    expected = host.image.labels[LABEL_VERSION]
    with _ssh(lab, host, control_key) as ssh:
        assert ssh.run("/opt/sunlight/venv/bin/sunlight --version").stdout == f"sunlight {expected}"


def test_host_cannot_reach_the_sentinel(lab: Lab, control_key: ControlKey) -> None:
    # Control: the sentinel really listens (from a container on its own network).
    wrapped = lab.prober.get_wrapped_container()
    deadline = time.monotonic() + 20
    control = ""
    while time.monotonic() < deadline and control != "connected":
        control = wrapped.exec_run(
            ["python3", "-c", PROBE, lab.sentinel_ip, str(SENTINEL_PORT)]
        ).output.decode().strip()
        time.sleep(0.5)
    assert control == "connected"
    # The host on the other network cannot open a connection to it.
    with _ssh(lab, lab.hosts[0], control_key) as ssh:
        quoted = PROBE.replace("'", "'\"'\"'")
        verdict = ssh.run(f"python3 -c '{quoted}' {lab.sentinel_ip} {SENTINEL_PORT}").stdout
    assert verdict == "timeout" or verdict.split(": ")[-1] in BLOCKED_ERRNOS, verdict
