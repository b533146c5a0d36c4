"""VM-like hosts: systemd as PID 1 and sshd, started from the node image.

A host runs with exactly the flags ARCHITECTURE.md fixes (two added capabilities,
seccomp unconfined, the cgroup tree read-only, tmpfs on /run) and never ``--privileged``.
The control node's public key is injected before the first boot into
``/etc/ssh/authorized_keys.d/<admin user>``; :func:`wait_ready` then waits for systemd to
finish booting and for sshd to answer from the control node.

Example::

    >>> from sunlight.control.hosts import HostSpec, start_host, wait_ready
    >>> spec = HostSpec(name="db", image="sunlight/node:latest", networks=[net.name],
    ...                 authorized_key=open("id_ed25519.pub").read())  # doctest: +SKIP
    >>> host = start_host(client, run, spec)  # doctest: +SKIP
    >>> wait_ready(host)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import io
import socket
import tarfile
import time
from dataclasses import dataclass, field
from typing import Any

import docker
import docker.errors

from sunlight.control.resources import Run, is_sweepable
from sunlight.topology.layout import (  # how a host runs is the domain's; re-exported
    ADMIN_USER as ADMIN_USER,
)
from sunlight.topology.layout import (
    AUTHORIZED_KEYS_DIR as AUTHORIZED_KEYS_DIR,
)
from sunlight.topology.layout import (
    HOST_CAPABILITIES as HOST_CAPABILITIES,
)
from sunlight.topology.layout import (
    HOST_CGROUP_MOUNT as HOST_CGROUP_MOUNT,
)
from sunlight.topology.layout import (
    HOST_SECURITY_OPT as HOST_SECURITY_OPT,
)
from sunlight.topology.layout import (
    HOST_TMPFS as HOST_TMPFS,
)

BOOT_TIMEOUT_S = 120.0


class HostError(RuntimeError):
    """A host failed to start or to become ready; the message names host and step."""


@dataclass(frozen=True)
class NetworkAttachment:
    """One network a host joins, with an optional fixed address and aliases."""

    network: str
    ipv4_address: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PublishedPort:
    """A container port published on the engine's host (``host_port`` None: engine picks)."""

    container_port: int
    host_ip: str
    host_port: int | None = None
    protocol: str = "tcp"


@dataclass(frozen=True)
class HostSpec:
    """What to start; the first network is the one the control node reaches sshd on.

    ``labels`` are short keys (``site``, ``zone``...) added to the run's labels; a ``role``
    there overrides the default role label (the host's name).
    """

    name: str
    image: str
    networks: list[NetworkAttachment]
    authorized_key: str
    hostname: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    volumes: dict[str, str] = field(default_factory=dict)  # volume name -> mount point
    published: tuple[PublishedPort, ...] = ()
    memory_mib: int | None = None  # memory limit, no swap (None: none)
    pids_limit: int | None = None  # processes and threads (None: none)


def host_create_kwargs(spec: HostSpec, run: Run) -> dict[str, Any]:
    """The docker-py ``containers.create`` arguments for a host: the one place flags live."""
    volumes: dict[str, dict[str, str]] = dict(HOST_CGROUP_MOUNT)
    volumes.update({vol: {"bind": path, "mode": "rw"} for vol, path in spec.volumes.items()})
    first = spec.networks[0]
    kwargs: dict[str, Any] = {
        "image": spec.image,
        "name": run.name(spec.name),
        "hostname": spec.hostname or spec.name,
        "detach": True,
        "cap_add": list(HOST_CAPABILITIES),
        "security_opt": list(HOST_SECURITY_OPT),
        "tmpfs": dict(HOST_TMPFS),
        "volumes": volumes,
        "privileged": False,
        "labels": run.labels(**{"role": spec.name, **spec.labels}),
        "network": first.network,
        "networking_config": {
            first.network: docker.types.EndpointConfig(
                version="1.41", ipv4_address=first.ipv4_address,
                aliases=list(first.aliases) or None,
            )
        },
    }
    if spec.memory_mib is not None:
        kwargs["mem_limit"] = kwargs["memswap_limit"] = f"{spec.memory_mib}m"
    if spec.pids_limit is not None:
        kwargs["pids_limit"] = spec.pids_limit
    if spec.published:
        kwargs["ports"] = {f"{p.container_port}/{p.protocol}": (p.host_ip, p.host_port)
                           for p in spec.published}
    return kwargs


def _key_archive(user: str, public_key: str) -> bytes:
    data = (public_key.strip() + "\n").encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name=user)
        info.size, info.mode, info.uid, info.gid = len(data), 0o644, 0, 0
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def start_host(client: docker.DockerClient, run: Run, spec: HostSpec) -> Any:
    """Create (replacing a stale one of this run), inject the key, connect, and start."""
    if not spec.authorized_key.strip().startswith(("ssh-", "ecdsa-")):
        raise HostError(f"host {spec.name}: authorized_key is not an OpenSSH public key")
    name = run.name(spec.name)
    try:
        stale = client.containers.get(name)
    except docker.errors.NotFound:
        stale = None
    if stale is not None:
        if not is_sweepable(stale.labels, run.run_id):
            raise HostError(f"host {spec.name}: container {name} exists and is not this run's")
        stale.remove(force=True, v=True)
    container = client.containers.create(**host_create_kwargs(spec, run))
    try:
        archive = _key_archive(ADMIN_USER, spec.authorized_key)
        if not container.put_archive(AUTHORIZED_KEYS_DIR, archive):
            raise HostError(f"host {spec.name}: could not inject the SSH key")
        for extra in spec.networks[1:]:
            client.networks.get(extra.network).connect(
                container, ipv4_address=extra.ipv4_address, aliases=list(extra.aliases) or None
            )
        container.start()
    except Exception:
        container.remove(force=True, v=True)
        raise
    container.reload()
    return container


def address(container: Any, network: str | None = None) -> str:
    """The host's IPv4 address on ``network`` (default: its first network)."""
    container.reload()
    nets: dict[str, Any] = container.attrs["NetworkSettings"]["Networks"]
    if network is None:
        network = next(iter(nets))
    ip = str(nets.get(network, {}).get("IPAddress") or "")
    if not ip:
        raise HostError(f"host {container.name} has no address on network {network}")
    return ip


def _ssh_port() -> int:
    from sunlight.topology.flows import load_flows

    return load_flows().port("ssh")


def _ssh_banner(ip: str, timeout: float = 3.0) -> str:
    with socket.create_connection((ip, _ssh_port()), timeout=timeout) as sock:
        sock.settimeout(timeout)
        return sock.recv(64).decode(errors="replace")


def wait_ready(container: Any, network: str | None = None,
               timeout_s: float = BOOT_TIMEOUT_S) -> str:
    """Wait for systemd to finish booting and for sshd to answer; return the system state."""
    deadline = time.monotonic() + timeout_s
    state = ""
    while time.monotonic() < deadline:
        container.reload()
        if container.status not in ("created", "running"):
            logs = container.logs(tail=20).decode(errors="replace")
            raise HostError(
                f"host {container.name} stopped while booting ({container.status}):\n{logs}"
            )
        result = container.exec_run(["systemctl", "is-system-running"])
        state = str(result.output.decode(errors="replace").strip())
        if state in ("running", "degraded"):
            break
        time.sleep(0.5)
    else:
        raise HostError(f"host {container.name}: systemd did not finish booting in "
                        f"{timeout_s:.0f} s (last state {state!r})")
    ip = address(container, network)
    while time.monotonic() < deadline:
        try:
            if _ssh_banner(ip).startswith("SSH-2.0-"):
                return state
        except OSError:
            pass
        time.sleep(0.5)
    raise HostError(f"host {container.name}: sshd did not answer on {ip}:{_ssh_port()} in "
                    f"{timeout_s:.0f} s")


def remove_host(container: Any) -> None:
    """Stop (systemd shuts down cleanly on SIGRTMIN+3) and remove, with anonymous volumes."""
    with contextlib.suppress(docker.errors.NotFound):
        container.remove(force=True, v=True)
