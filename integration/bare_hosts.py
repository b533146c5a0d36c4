"""Bare hosts: VM-like containers that stand for an IT centre's own Debian 12 machines.

``sunlight up --hosts`` is proved on machines Sunlight did not make: these start from the
debootstrapped bookworm minbase (systemd, sshd, python3) plus what the hosts file asks of
any machine (``docs/hosts-file.md``): ``sudo``, an ``admin`` login with passwordless sudo and
the control key, and host keys of their own made at first boot. No role package, no
venv, no wheelhouse — the roles must install everything (from the bundle of issue 16's
point 5, copied over SSH), as on a VM.

They are started outside the realizer, but with the realizer's plan for the site (the
same networks, addresses and flags — :func:`sunlight.control.hosts.start_host`), so the
hosts file describing them (:func:`hosts_document`) is the one an operator of those
networks would write, and its inventory equals the realizer's (tests/byoh).

Example (the once-off try; Docker serialized with flock; ``--refusals`` then squats a port
and regenerates a host key, and expects both refused)::

    flock /var/tmp/sunlight-docker.lock env PYTHONPATH=platform:infra:integration \\
        .venv/bin/python integration/bare_hosts.py try-prechecks --refusals
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import shutil
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors

from sunlight.control.byoh.hostsfile import document_from_inventory
from sunlight.control.hosts import start_host, wait_ready
from sunlight.control.images.base import BaseSpec, ensure_base
from sunlight.control.realizer.apply import plan_site
from sunlight.control.resources import Run
from sunlight.control.ssh import ControlKey, pinned_host_key
from sunlight.paths import node_image_dir
from sunlight.topology import inventory as topo_inventory
from sunlight.topology.config import SiteConfig

BARE_REPOSITORY = "sunlight/bare-bookworm"
# What a centre's Debian 12 VM has that minbase lacks, and nothing a role installs.
DOCKERFILE = """\
ARG BASE
FROM ${BASE}
ENV container=docker LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive
RUN set -eux; apt-get update; apt-get install -y --no-install-recommends sudo; \\
    apt-get clean; rm -rf /var/lib/apt/lists/*; \\
    systemctl mask systemd-remount-fs.service getty@tty1.service console-getty.service \\
      systemd-logind.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \\
      e2scrub_reap.service fstrim.timer
COPY rootfs/ /
RUN set -eux; useradd --create-home --shell /bin/bash --groups sudo admin; \\
    passwd --lock admin; install -d -m 0755 /etc/ssh/authorized_keys.d; \\
    chmod 0440 /etc/sudoers.d/sunlight-admin; chmod 0755 /usr/local/sbin/sunlight-firstboot; \\
    systemctl enable sunlight-firstboot.service ssh.service; \\
    rm -f /etc/ssh/ssh_host_*; rm -f /var/lib/dbus/machine-id; : > /etc/machine-id
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
"""
# From the node image's root: the SSH hardening and key directory, the admin's sudoers
# entry, and the first-boot unit that makes each host's own SSH keys.
ROOTFS = ("etc/ssh/sshd_config.d/10-sunlight.conf", "etc/sudoers.d/sunlight-admin",
          "etc/systemd/system/sunlight-firstboot.service", "usr/local/sbin/sunlight-firstboot")
Progress = Callable[[str], None]


def _context() -> bytes:
    """The build context as a tar: the Dockerfile and the few root files."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add(name: str, data: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 0
            tar.addfile(info, io.BytesIO(data))

        add("Dockerfile", DOCKERFILE.encode())
        root = node_image_dir() / "rootfs"
        for rel in ROOTFS:
            add(f"rootfs/{rel}", (root / rel).read_bytes(), (root / rel).stat().st_mode & 0o777)
    return buf.getvalue()


def bare_image(client: docker.DockerClient, progress: Progress) -> str:
    """``sunlight/bare-bookworm:<hash of base and context>``, built if absent."""
    base = ensure_base(client, BaseSpec(), progress)
    context = _context()
    tag = hashlib.sha256(base.encode() + context).hexdigest()[:16]
    image = f"{BARE_REPOSITORY}:{tag}"
    try:
        client.images.get(image)
        return image
    except docker.errors.ImageNotFound:
        pass
    progress(f"building {image}")
    for chunk in client.api.build(fileobj=io.BytesIO(context), custom_context=True, tag=image,
                                  buildargs={"BASE": base}, rm=True, forcerm=True, decode=True,
                                  pull=False):
        if "error" in chunk:
            raise RuntimeError(f"building {image}: {chunk['error']}")
    return image


@dataclass(frozen=True)
class BareSite:
    """Bare hosts standing where the realizer would put a site's hosts."""

    config: SiteConfig
    containers: dict[str, Any]  # host name in the site -> container
    inventory: dict[str, Any]  # the site's planned inventory (addresses, networks)

    def known_hosts(self) -> str:
        """OpenSSH lines of the hosts' keys, read through the engine (a trusted channel):
        what an operator's inventory of machines would hand over as ``--known-hosts``."""
        by_name = {hv["sunlight_host"]: hv["ansible_host"] for body in
                   self.inventory["all"]["children"].values() if "vars" in body
                   for hv in body["hosts"].values()}
        return "".join(f"{by_name[name]} {pinned_host_key(c)}\n"
                       for name, c in sorted(self.containers.items()))


def start_bare_site(client: docker.DockerClient, run: Run, config: SiteConfig, image: str,
                    progress: Progress, no_route_out: bool = False) -> BareSite:
    """The site's networks and its hosts from the bare image (no data volumes: a VM keeps
    its data on its own disk), each booted and answering SSH. ``no_route_out``: every
    network internal (ext too: nothing is published, the control node reaches nginx on
    its ext address), so that the hosts reach nothing beyond the engine's bridges."""
    planned = plan_site(run, config)
    made: list[Any] = []
    try:
        for net in planned.plan.networks:
            made.append(client.networks.create(
                net.name, driver="bridge", internal=net.internal or no_route_out,
                check_duplicate=True,
                ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(
                    subnet=net.subnet, gateway=net.gateway)]),
                options=net.options, labels=net.labels))
        containers = []
        for host in planned.plan.hosts:
            spec = dataclasses.replace(host.spec, image=image, volumes={},
                                       published=() if no_route_out else host.spec.published)
            progress(f"starting bare host {spec.name}")
            container = start_host(client, run, spec)
            made.append(container)
            containers.append((container, host.mgmt_network))
        for container, mgmt in containers:
            wait_ready(container, mgmt)
    except BaseException:
        for obj in reversed(made):
            obj.remove(**({"force": True, "v": True} if hasattr(obj, "stop") else {}))
        raise
    inventory = planned.capture.outputs[topo_inventory.OUTPUT_KEY_INVENTORY]
    by_container = {hv["sunlight_container"]: hv["sunlight_host"]
                    for hv in inventory["all"]["children"][
                        f"site_{config.division_code}"]["hosts"].values()}
    return BareSite(config, {by_container[c.name]: c for c, _ in containers}, inventory)


def hosts_document(sites: list[BareSite], others: dict[str, Any] | None = None,
                   ) -> dict[str, Any]:
    """A hosts file for the bare sites (and the sites of ``others``, an existing deployment
    inventory the new sites join, e.g. the topology suite's)."""
    merged = topo_inventory.merge_inventories(*[s.inventory for s in sites],
                                              *([others] if others else []))
    return document_from_inventory(merged)


def _try_refusals(site: BareSite, work: Path, app: Any) -> int:
    """On the same bare hosts: a port squatted on the int host fails ``ports`` naming it;
    a host key regenerated on the gw host is refused as changed, never re-pinned."""
    import json

    from typer.testing import CliRunner

    from sunlight.topology.flows import load_flows

    args = ["prechecks", "--hosts", str(work / "hosts.yaml"), "--json"]
    port = load_flows().port("core_api")
    squat = site.containers["int"].exec_run(
        ["systemd-run", "--unit=squatter", "python3", "-m", "http.server", str(port)])
    assert squat.exit_code == 0, squat.output
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until it listens
        if site.containers["int"].exec_run(["python3", "-c", f"import socket; socket."
                                            f"create_connection(('127.0.0.1', {port}), 1)"]
                                           ).exit_code == 0:
            break
    result = CliRunner().invoke(app, args)
    failed = [c for c in json.loads(result.stdout)["checks"] if c["status"] == "fail"]
    print("squatted:", result.exit_code, json.dumps(failed, ensure_ascii=False, indent=1))
    ok_port = result.exit_code == 1 and [(c["host"], c["name"]) for c in failed] == \
        [("320000-int", "ports")]
    gw = site.containers["gw"]
    regen = gw.exec_run(["sh", "-c", "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A && "
                         "systemctl restart ssh"])
    assert regen.exit_code == 0, regen.output
    pinned = (work / "state" / "sunlight" / "deployments" / site.config.run_id / "inventory" /
              "known_hosts").read_text()
    result = CliRunner().invoke(app, args)
    print("changed key:", result.exit_code, result.stderr)
    after = (work / "state" / "sunlight" / "deployments" / site.config.run_id / "inventory" /
             "known_hosts").read_text()
    ok_key = result.exit_code == 1 and "host 320000-gw: its host key CHANGED" in \
        " ".join(result.stderr.split()) and after == pinned
    print(f"refusals: ports {'as expected' if ok_port else 'WRONG'}, changed key "
          f"{'as expected' if ok_key else 'WRONG'}")
    return 0 if ok_port and ok_key else 1


def _try_prechecks(refusals: bool = False) -> int:
    """Start one bare compact province, pin its keys from the engine, run the prechecks."""
    import yaml
    from typer.testing import CliRunner

    from sunlight.cli.main import app
    from sunlight.control.realizer.apply import reserve_local_backbone, unrealize
    from sunlight.control.resources import sweep
    from sunlight.control.ssh import control_key
    from sunlight.topology.config import parse_site_config

    client = docker.from_env()
    run = Run.ephemeral("byoh")
    say = print
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f"sunlight-{run.run_id}-"))
    os.environ["XDG_STATE_HOME"] = str(work / "state")  # pins and the key: nothing kept
    key: ControlKey = control_key()
    try:
        image = bare_image(client, say)
        plan, backbone = reserve_local_backbone(client, run, ["320000"])
        config = parse_site_config({
            "run_id": run.run_id, "owner": run.owner, "division_code": "320000",
            "parent_code": None, "profile": "compact", "image": image, "portal_port": 0,
            "control_public_key": key.public, "backbone_network": backbone.name,
            "address_plan": plan.sites["320000"].model_dump(mode="json")})
        site = start_bare_site(client, run, config, image, say)
        say(f"bare site up in {time.monotonic() - started:.0f} s")
        (work / "hosts.yaml").write_text(yaml.safe_dump(hosts_document([site])))
        (work / "known_hosts").write_text(site.known_hosts())
        result = CliRunner().invoke(app, ["prechecks", "--hosts", str(work / "hosts.yaml"),
                                          "--known-hosts", str(work / "known_hosts"), "--json"])
        print(result.stdout)
        print(result.stderr, file=sys.stderr)
        say(f"prechecks exit {result.exit_code} after {time.monotonic() - started:.0f} s")
        if result.exit_code or not refusals:
            return int(result.exit_code)
        return _try_refusals(site, work, app)
    finally:
        unrealize(client, run)
        sweep(client, run.run_id)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["try-prechecks"] and sys.argv[2:] in ([], ["--refusals"]):
        sys.exit(_try_prechecks(refusals=sys.argv[2:] == ["--refusals"]))
    sys.exit("usage: bare_hosts.py try-prechecks [--refusals]")
