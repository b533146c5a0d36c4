"""The prechecks over a real SSH session: an in-process paramiko server on a loopback port
(so ``HostSSH`` names its pinned key ``[127.0.0.1]:<port>``, as OpenSSH does), answering the
fixed commands from recordings and running the probe itself with this machine's Python."""

from __future__ import annotations

import shlex
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from sunlight.control.byoh.prechecks import HostPlan, Reach, Status, evaluate, gather
from sunlight.control.ssh import ControlKey

DEBIAN_12 = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
ANSWERS = {"cat /etc/os-release": (0, DEBIAN_12), "sudo -n true": (0, ""),
           "command -v python3": (0, "/usr/bin/python3")}


class FakeHost(paramiko.ServerInterface):
    """Accepts the control key for ``admin``; runs ``date`` and the probe for real."""

    def __init__(self, allowed: paramiko.PKey) -> None:
        self.allowed = allowed

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = username == "admin" and key.asbytes() == self.allowed.asbytes()
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED if kind == "session" else \
            paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        threading.Thread(target=self._run, args=(channel, command.decode()), daemon=True).start()
        return True

    @staticmethod
    def _run(channel: paramiko.Channel, command: str) -> None:
        if command in ANSWERS:
            code, out = ANSWERS[command]
        else:
            words = shlex.split(command)
            if words[:2] == ["sudo", "-n"]:
                words = words[2:]  # the probe, without root
            if words[0] == "python3":
                words[0] = sys.executable
            done = subprocess.run(words, capture_output=True, text=True, timeout=60)
            code, out = done.returncode, done.stdout
        channel.sendall(out.encode())
        channel.send_exit_status(code)
        channel.shutdown_write()  # EOF; closing now could beat the exec request's reply


@pytest.fixture
def host(tmp_path: Path) -> Iterator[tuple[int, str, ControlKey]]:
    """(port, host key line, control key) of a fake host serving one session."""
    control = ControlKey.load_or_create(tmp_path / "control_ed25519")
    host_key = ControlKey.load_or_create(tmp_path / "host_ed25519")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(10)
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        transport = paramiko.Transport(conn)
        transport.add_server_key(host_key.pkey())
        transport.start_server(server=FakeHost(control.pkey()))
        stop.wait(30)
        transport.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port, " ".join(host_key.public.split()[:2]), control
    stop.set()
    listener.close()
    thread.join(5)


def test_gather_over_real_ssh_runs_the_probe_and_judges_it(
        host: tuple[int, str, ControlKey]) -> None:
    port, host_key, control = host
    with socket.create_server(("127.0.0.1", 0)) as peer:
        peer_port = peer.getsockname()[1]
        plan = HostPlan("320703-int", "320703", "127.0.0.1", "admin", port, (),
                        (Reach("core_api", "320703-gw", "127.0.0.1", peer_port, "int"),))
        facts = gather(plan, control, host_key)
    assert facts.errors == {}
    checks = {c.name: c for c in evaluate(plan, facts)}
    assert {n: c.status for n, c in checks.items()} == {
        "ssh": Status.OK, "os": Status.OK, "sudo": Status.OK, "clock": Status.OK,
        "python": Status.OK, "disk": Status.OK, "ports": Status.OK,
        "reach core_api 320703-gw": Status.OK}
    assert checks["reach core_api 320703-gw"].detail.endswith(": listening")
    assert abs(float(checks["clock"].detail.split()[1])) < 1.0


def test_a_host_presenting_another_key_fails_ssh(host: tuple[int, str, ControlKey],
                                                 tmp_path: Path) -> None:
    port, _, control = host
    impostor = ControlKey.load_or_create(tmp_path / "other_ed25519").public
    plan = HostPlan("320703-int", "320703", "127.0.0.1", "admin", port, (), ())
    facts = gather(plan, control, " ".join(impostor.split()[:2]))
    check = evaluate(plan, facts)[0]
    assert (check.name, check.status) == ("ssh", Status.FAIL)
    assert "another key than the pinned one" in check.detail
    assert "remove its line" in check.remedy
