"""The control node's SSH against a real SSH server (paramiko's, in-process, on a loopback
port): a host off port 22 with an ECDSA key, as an inventory of machines Sunlight did not
create names it, is reached with its pinned key and its inventory user; a changed key is
refused; ``status`` asks it for its units over that connection."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
import pytest
import yaml

from sunlight.control.ssh import ControlKey, HostSSH
from sunlight.control.stack import status
from sunlight.control.stack.access import DeploymentAccess
from sunlight.control.stack.deployment import Deployment

USER = "operator"


@dataclass
class Host:
    """One SSH server: its key, who may log in, and what ``systemctl is-active`` answers."""

    key: paramiko.PKey
    client_key: paramiko.PKey
    states: dict[str, str]
    port: int = 0
    commands: list[str] = field(default_factory=list)

    @property
    def key_line(self) -> str:
        return f"{self.key.get_name()} {self.key.get_base64()}"


class _Server(paramiko.ServerInterface):
    def __init__(self, host: Host) -> None:
        self.host, self.command = host, threading.Event()

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = username == USER and key.asbytes() == self.host.client_key.asbytes()
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return (paramiko.OPEN_SUCCEEDED if kind == "session"
                else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED)

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        self.host.commands.append(command.decode())
        self.command.set()
        return True


def _serve(sock: socket.socket, host: Host) -> None:
    transport = paramiko.Transport(sock)
    transport.add_server_key(host.key)
    server = _Server(host)
    try:
        transport.start_server(server=server)
        channel = transport.accept(10)
        if channel is None or not server.command.wait(10):
            return
        units = host.commands[-1].split()[2:]
        answers = [host.states.get(u, "active") for u in units]
        channel.sendall(("\n".join(answers) + "\n").encode())
        channel.send_exit_status(0 if set(answers) == {"active"} else 3)
        channel.close()
    except (paramiko.SSHException, EOFError, OSError):
        pass  # the client refused the key, or went away
    finally:
        transport.close()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    control = ControlKey.load_or_create(tmp_path / "control_ed25519")
    served = Host(paramiko.ECDSAKey.generate(), control.pkey(), {"sunlight-core": "failed"})
    listener = socket.create_server(("127.0.0.1", 0))
    served.port = listener.getsockname()[1]

    def accept() -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_serve, args=(sock, served), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield served
    finally:
        listener.close()


def test_a_host_off_port_22_with_an_ecdsa_key_is_reached_with_its_pin(
        host: Host, tmp_path: Path) -> None:
    key = ControlKey(tmp_path / "control_ed25519")
    with HostSSH("127.0.0.1", key, host.key_line, user=USER, port=host.port) as ssh:
        done = ssh.run("systemctl is-active ssh sunlight-core")
    assert (done.exit_code, done.stdout) == (3, "active\nfailed")
    other = paramiko.ECDSAKey.generate()
    with pytest.raises(paramiko.BadHostKeyException), HostSSH(
            "127.0.0.1", key, f"{other.get_name()} {other.get_base64()}", user=USER,
            port=host.port):
        pass


def test_status_asks_a_host_of_the_inventory_over_real_ssh(host: Host, tmp_path: Path) -> None:
    dep = Deployment("ssh-real")
    dep.inventory_dir.mkdir(parents=True, exist_ok=True)
    dep.hosts_file.write_text(yaml.safe_dump({"all": {
        "vars": {"sunlight_deployment": "ssh-real", "sunlight_secrets_dir": str(tmp_path)},
        "children": {"site_320703": {"vars": {"sunlight_parent_code": None}, "hosts": {
            "320703-int": {"ansible_host": "127.0.0.1", "ansible_user": USER,
                           "ansible_port": host.port, "sunlight_roles": ["core"],
                           "sunlight_zone": "internal",
                           "sunlight_addresses": {"mgmt": "127.0.0.1"}}}}}}}))
    known = dep.inventory_dir / "known_hosts"
    known.write_text(f"[127.0.0.1]:{host.port} {host.key_line}\n")
    access = DeploymentAccess(dep, ControlKey(tmp_path / "control_ed25519"))
    (row,) = status.host_rows(access)
    assert row.state == "inactive: sunlight-core=failed"
    assert host.commands == [
        "systemctl is-active nftables prometheus-node-exporter ssh sunlight-core"]
    other = paramiko.ECDSAKey.generate()
    known.write_text(f"[127.0.0.1]:{host.port} {other.get_name()} {other.get_base64()}\n")
    (row,) = status.host_rows(DeploymentAccess(dep, ControlKey(tmp_path / "control_ed25519")))
    assert row.state.startswith("unreachable (Host key for server '127.0.0.1' does not match")
    assert len(host.commands) == 1  # never asked with a key it does not hold
