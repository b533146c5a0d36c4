"""The control node's own SSH work (paramiko): its key, host-key pinning, commands.

Host keys are read from each host through the engine right after boot (a channel we
already trust) and pinned; connections reject any other key. Host-key checking is never
disabled. Hosts Sunlight did not boot (``sunlight up --hosts``, ``sunlight inventory
from-pulumi``) have their key collected and pinned by :mod:`sunlight.control.byoh.hostkeys`.

Example::

    >>> from sunlight.control.ssh import ControlKey, HostSSH
    >>> key = ControlKey.load_or_create(path)  # doctest: +SKIP
    >>> with HostSSH(ip, key, pinned_host_key(container)) as ssh:  # doctest: +SKIP
    ...     ssh.run("systemctl is-system-running").stdout
    'running'
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sunlight.paths import state_dir
from sunlight.topology.layout import ADMIN_USER

HOST_KEY_FILE = "/etc/ssh/ssh_host_ed25519_key.pub"
OPENSSH_PORT = paramiko.config.SSH_PORT  # where ssh connects when no port is given


def known_hosts_name(address: str, port: int = OPENSSH_PORT) -> str:
    """How OpenSSH's known_hosts names a host: ``[address]:port`` off the default port."""
    return address if port == OPENSSH_PORT else f"[{address}]:{port}"


@dataclass(frozen=True)
class ControlKey:
    """An Ed25519 key pair on disk (private key 0600, OpenSSH format)."""

    path: Path

    @classmethod
    def load_or_create(cls, path: Path) -> ControlKey:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            private = Ed25519PrivateKey.generate()
            pem = private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                serialization.NoEncryption(),
            )
            public = private.public_key().public_bytes(
                serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            path.with_suffix(".pub").write_bytes(public + b" sunlight-control\n")
        return cls(path)

    @property
    def public(self) -> str:
        return self.path.with_suffix(".pub").read_text().strip()

    def pkey(self) -> paramiko.PKey:
        return paramiko.Ed25519Key.from_private_key_file(str(self.path))


def control_key() -> ControlKey:
    """The control node's key pair, created once per user in the state directory."""
    return ControlKey.load_or_create(state_dir() / "control_ed25519")


def pinned_host_key(container: Any) -> str:
    """The host's Ed25519 public key line, read through the engine after first boot."""
    result = container.exec_run(["cat", HOST_KEY_FILE])
    if result.exit_code != 0:
        raise RuntimeError(f"host {container.name} has no SSH host key yet")
    return str(result.output.decode().strip())


@dataclass(frozen=True)
class CommandResult:
    exit_code: int
    stdout: str
    stderr: str


class HostSSH:
    """A pinned-key SSH session to one host as the admin user (or ``user``, on ``port``)."""

    def __init__(self, ip: str, key: ControlKey, host_key_line: str,
                 user: str = ADMIN_USER, timeout: float = 10.0,
                 port: int = OPENSSH_PORT) -> None:
        self.ip, self.user, self.timeout, self.port = ip, user, timeout, port
        self._key = key
        keytype, blob = host_key_line.split()[:2]
        # any type OpenSSH pins (ed25519 on Sunlight's hosts; ecdsa or rsa on others)
        self.host_key = paramiko.PKey.from_type_string(keytype, base64.b64decode(blob))
        self._keytype = keytype
        self.client = paramiko.SSHClient()

    def __enter__(self) -> HostSSH:
        self.client.get_host_keys().add(known_hosts_name(self.ip, self.port), self._keytype,
                                        self.host_key)
        self.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        self.client.connect(
            self.ip, port=self.port, username=self.user, pkey=self._key.pkey(),
            timeout=self.timeout, allow_agent=False, look_for_keys=False,
        )
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.client.close()

    def run(self, command: str, timeout: float = 60.0) -> CommandResult:
        _, stdout, stderr = self.client.exec_command(command, timeout=timeout)
        code = stdout.channel.recv_exit_status()
        return CommandResult(code, stdout.read().decode(errors="replace").strip(),
                             stderr.read().decode(errors="replace").strip())
