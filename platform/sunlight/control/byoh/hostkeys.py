"""Host keys of machines Sunlight did not create: collected over SSH, pinned only when trusted.

The realizer reads a new host's key through the engine (a channel it already trusts); for a
machine of the operator's there is no such channel, so :func:`pin_host_keys` collects each
host's Ed25519 key with an SSH handshake (paramiko, no authentication) and pins it only

- if the deployment already pins the same key (a re-run), or
- if the operator's ``--known-hosts`` file names the host with that key, or
- after the operator confirms its ``SHA256:`` fingerprint (``confirm``).

A host pinned before that now presents another key is refused and never re-pinned; so is
a host whose key differs from the operator's file, a declined fingerprint, or a new host
with nobody to ask. Keys confirmed before a refusal are written all the same (nothing
accepted is lost). The pins live in the deployment's ``known_hosts`` in the format the
inventory writer writes and :mod:`sunlight.control.stack.access` reads
(``<address> ssh-ed25519 <base64>``).

Example::

    >>> pins = pin_host_keys(list(hf.hosts()), dep.inventory_dir / "known_hosts",
    ...                      confirm=ask_operator)  # doctest: +SKIP
    >>> pins.keys["10.32.3.10"]  # doctest: +SKIP
    'ssh-ed25519 AAAAC3Nza...'
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from sunlight.control.byoh.hostsfile import Target
from sunlight.control.deploy.inventory import known_hosts_line
from sunlight.control.ssh import known_hosts_name

KEY_TYPE = "ssh-ed25519"  # the only host keys Sunlight pins (as for the hosts it creates)
HOST_KEY_FILE = "/etc/ssh/ssh_host_ed25519_key.pub"


class HostKeyError(RuntimeError):
    """One or more hosts were refused; ``refusals`` holds (host name, reason)."""

    def __init__(self, refusals: Sequence[tuple[str, str]]) -> None:
        self.refusals = list(refusals)
        lines = "\n".join(f"  host {name}: {why}" for name, why in self.refusals)
        super().__init__(f"host keys refused, nothing was configured:\n{lines}")


@dataclass(frozen=True)
class HostKey:
    """An OpenSSH public key: its type and base64 blob."""

    key_type: str
    blob: str

    @classmethod
    def from_line(cls, line: str) -> HostKey:
        parts = line.split()
        if len(parts) < 2:
            raise ValueError(f"not an OpenSSH public key: {line!r}")
        return cls(parts[0], parts[1])

    @property
    def line(self) -> str:
        return f"{self.key_type} {self.blob}"

    @property
    def fingerprint(self) -> str:
        """``SHA256:<base64, unpadded>``, as ``ssh-keygen -lf`` prints it."""
        digest = hashlib.sha256(base64.b64decode(self.blob)).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


Collect = Callable[[Target], HostKey]
Confirm = Callable[[Target, HostKey], bool]


def collect_host_key(target: Target, timeout: float = 10.0) -> HostKey:
    """The Ed25519 key ``target`` presents, from an SSH handshake (no login)."""
    try:
        sock = socket.create_connection((target.address, target.port), timeout=timeout)
    except OSError as exc:
        raise HostKeyError([(target.name, f"no SSH answer at {target.address}:{target.port} "
                             f"({exc}): is sshd running and the address right?")]) from exc
    transport = paramiko.Transport(sock)
    transport.get_security_options().key_types = (KEY_TYPE,)
    try:
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise HostKeyError([(target.name, f"no {KEY_TYPE} host key from "
                             f"{target.address}:{target.port} ({exc}): Sunlight pins Ed25519 "
                             f"host keys ({HOST_KEY_FILE}, `ssh-keygen -A` makes one)")]) from exc
    finally:
        transport.close()
    return HostKey(key.get_name(), key.get_base64())


def read_pins(path: Path) -> dict[str, HostKey]:
    """The deployment's pinned keys: address -> key (empty when nothing is pinned yet)."""
    if not path.is_file():
        return {}
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            address, rest = line.split(" ", 1)
            pins[address] = HostKey.from_line(rest)
    return pins


def write_pins(path: Path, pins: dict[str, HostKey]) -> None:
    """Write ``pins`` (owner-only), one ``known_hosts_line`` per address."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = "".join(known_hosts_line(a, pins[a].line) + "\n" for a in sorted(pins))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def operator_key(known: paramiko.HostKeys, target: Target) -> HostKey | None:
    """The Ed25519 key the operator's known_hosts file gives ``target`` (hashed names too)."""
    entry = known.lookup(known_hosts_name(target.address, target.port))
    if entry is None or KEY_TYPE not in entry:
        return None
    key = entry[KEY_TYPE]
    return HostKey(key.get_name(), key.get_base64())


def load_operator_file(path: Path) -> paramiko.HostKeys:
    """The operator's known_hosts file (OpenSSH format, hashed names included)."""
    try:
        return paramiko.HostKeys(str(path))
    except (OSError, paramiko.SSHException) as exc:
        raise HostKeyError([("(all)", f"cannot read --known-hosts {path}: {exc}")]) from exc


@dataclass
class Pins:
    """What :func:`pin_host_keys` found: key lines by address, and how each was trusted."""

    keys: dict[str, str] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)  # host name -> pinned|file|confirmed


def pin_host_keys(targets: Sequence[Target], pinned_path: Path, *,
                  collect: Collect | None = None, confirm: Confirm | None = None,
                  operator_file: Path | None = None) -> Pins:
    """Collect, check and pin every target's host key (see the module doc).

    ``collect`` replaces the SSH handshake (default :func:`collect_host_key`); ``confirm``
    asks the operator (None: nobody to ask). Raises :class:`HostKeyError` naming every
    refused host, after writing the keys that were accepted.
    """
    collect = collect or collect_host_key
    pinned = read_pins(pinned_path)
    known = load_operator_file(operator_file) if operator_file else None
    refusals: list[tuple[str, str]] = []
    out = Pins()
    added = False
    for target in targets:
        try:
            key = collect(target)
        except HostKeyError as exc:
            refusals += exc.refusals
            continue
        if key.key_type != KEY_TYPE:
            refusals.append((target.name, f"presents a {key.key_type} key; Sunlight pins "
                             f"{KEY_TYPE} host keys"))
            continue
        old = pinned.get(target.address)
        if old is not None:
            if old != key:
                refusals.append((target.name, _changed(target, old, key, pinned_path)))
                continue
            out.how[target.name] = "pinned"
        elif known is not None and (given := operator_key(known, target)) is not None:
            if given != key:
                refusals.append((target.name, f"presents {key.fingerprint}, but "
                                 f"{operator_file} gives {given.fingerprint} for "
                                 f"{target.address}: refused (is that file current, and is "
                                 f"this the host?)"))
                continue
            out.how[target.name] = "file"
        elif confirm is None:
            refusals.append((target.name, f"{key.fingerprint} is not pinned and nobody can "
                             "confirm it here: give --known-hosts FILE, or run on a terminal"))
            continue
        elif confirm(target, key):
            out.how[target.name] = "confirmed"
        else:
            refusals.append((target.name, f"{key.fingerprint} was not confirmed; nothing "
                             "pinned for it"))
            continue
        if old is None:
            pinned[target.address] = key
            added = True
        out.keys[target.address] = key.line
    if added:
        write_pins(pinned_path, pinned)
    if refusals:
        raise HostKeyError(refusals)
    return out


def _changed(target: Target, old: HostKey, new: HostKey, path: Path) -> str:
    return (f"its host key CHANGED since it was pinned (pinned {old.fingerprint}, now "
            f"{new.fingerprint}) — another machine may be answering at {target.address}. "
            f"Refused, and not re-pinned. If the host was really reinstalled, check the new "
            f"fingerprint on its console (`ssh-keygen -lf {HOST_KEY_FILE}`) and remove the "
            f"line of {target.address} from {path} yourself")


def prompt_text(target: Target, key: HostKey) -> str:
    """The question the CLI asks before pinning a new host's key."""
    return (f"host {target.name} ({target.user}@{target.address}:{target.port}) presents "
            f"{key.key_type} key {key.fingerprint}.\n  Compare it with `ssh-keygen -lf "
            f"{HOST_KEY_FILE}` on the host's console. Pin it?")
