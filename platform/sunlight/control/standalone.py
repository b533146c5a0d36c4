"""One standalone host on its own management network: what ``make demo`` boots for now.

The host belongs to a persistent run (default ``demo``) so test sweeps never touch it; the
control node's key and a known_hosts file with the pinned host key are kept in the state
directory, so a person can ``ssh`` in with host-key checking on.

Example::

    >>> from sunlight.control.standalone import boot_standalone
    >>> booted = boot_standalone("demo", "node1", progress=print)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker

from sunlight.control.hostcheck import HostReport, check_host
from sunlight.control.hosts import ADMIN_USER, HostSpec, NetworkAttachment, start_host, wait_ready
from sunlight.control.images.build import expected_image
from sunlight.control.resources import Run, create_network, sweep
from sunlight.control.ssh import control_key
from sunlight.paths import state_dir

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Booted:
    """A booted, checked host and how to reach it."""

    report: HostReport
    key_path: Path
    known_hosts: Path

    @property
    def ssh_command(self) -> str:
        return (f"ssh -i {self.key_path} -o UserKnownHostsFile={self.known_hosts} "
                f"{ADMIN_USER}@{self.report.ip}")


def boot_standalone(run_id: str, name: str, progress: Progress,
                    client: docker.DockerClient | None = None) -> Booted:
    """(Re)create run ``run_id``'s network and host ``name``, wait, and check it over SSH."""
    client = client or docker.from_env()
    run = Run.named(run_id)
    image = expected_image()
    client.images.get(image)  # fail early, with the engine's message, when it is missing
    sweep(client, run.run_id, progress)
    key = control_key()
    progress(f"Creating management network {run.name('mgmt')} (internal)")
    net = create_network(client, run, "mgmt", internal=True, zone="mgmt")
    progress(f"Starting host {run.name(name)} from {image}")
    container = start_host(client, run, HostSpec(
        name=name, image=image, networks=[NetworkAttachment(net.name)],
        authorized_key=key.public,
    ))
    progress("Waiting for systemd to finish booting and sshd to answer")
    wait_ready(container)
    progress("Checking the host over SSH with the pinned host key")
    report = check_host(container, key)
    known_hosts = state_dir() / f"known_hosts.{run.run_id}"
    known_hosts.write_text(f"{report.ip} {report.host_key}\n")
    return Booted(report, key.path, known_hosts)
