"""``sunlight doctor``: is this machine ready to run Sunlight hosts?

Each check says what it found and, when it fails, the remedy. The capability check starts
a throwaway container with exactly the host flags and reads its effective capabilities,
so it proves what systemd hosts need rather than guessing from versions.

Example::

    >>> from sunlight.control.doctor import run_checks
    >>> [c.name for c in run_checks()]  # doctest: +SKIP
    ['engine', 'image', 'capabilities', 'disk']
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import docker
import docker.errors

from sunlight.control.hosts import (
    HOST_CAPABILITIES,
    HOST_CGROUP_MOUNT,
    HOST_SECURITY_OPT,
    HOST_TMPFS,
)
from sunlight.control.images.build import LABEL_SOURCE_HASH, expected_image
from sunlight.control.resources import Run
from sunlight.paths import cache_dir

MIN_FREE_GIB = 5.0
# Bit numbers from linux/capability.h.
CAP_BITS = {"NET_ADMIN": 12, "SYS_ADMIN": 21}


class Status(StrEnum):
    OK = "ok"
    FAIL = "fail"
    SKIP = "not checked"


@dataclass(frozen=True)
class Check:
    """One check's verdict; ``remedy`` is what to run or change when it failed."""

    name: str
    status: Status
    detail: str
    remedy: str = ""


def _engine() -> tuple[Check, Any | None]:
    try:
        client = docker.from_env()
        version = client.version().get("Version", "?")
    except docker.errors.DockerException as exc:
        return Check("engine", Status.FAIL, f"no engine answers ({exc.__class__.__name__})",
                     "run `make setup` (root on Debian starts dockerd) or start your engine"), None
    return Check("engine", Status.OK, f"Docker engine {version} answers"), client


def _image(client: Any) -> tuple[Check, str | None]:
    want = expected_image()
    try:
        image = client.images.get(want)
    except docker.errors.ImageNotFound:
        stale = [t for img in client.images.list(name="sunlight/node") for t in img.tags]
        found = f"; present but stale: {', '.join(sorted(stale)[:3])}" if stale else ""
        return Check("image", Status.FAIL, f"{want} is missing{found}",
                     "run `sunlight images build` (or `make image`)"), None
    source_hash = image.labels.get(LABEL_SOURCE_HASH, "")
    size = int(image.attrs.get("Size", 0)) / 2**20
    return Check("image", Status.OK,
                 f"{want} is current ({size:.0f} MiB, source {source_hash[:12]})"), want


def _capabilities(client: Any, image: str | None) -> Check:
    if image is None:
        return Check("capabilities", Status.SKIP, "needs the node image",
                     "build the image, then run doctor again")
    run = Run.ephemeral("doctor")
    script = "grep CapEff /proc/self/status; test -d /sys/fs/cgroup && touch /run/probe && echo ok"
    try:
        out = client.containers.run(
            image, ["sh", "-c", script], remove=True, cap_add=list(HOST_CAPABILITIES),
            security_opt=list(HOST_SECURITY_OPT), tmpfs=dict(HOST_TMPFS),
            volumes=dict(HOST_CGROUP_MOUNT), network_mode="none", labels=run.labels(),
            name=run.name("capcheck"),
        ).decode()
    except docker.errors.DockerException as exc:
        return Check("capabilities", Status.FAIL, f"a host container could not start: {exc}",
                     "the engine must allow --cap-add SYS_ADMIN/NET_ADMIN, seccomp=unconfined "
                     "and a read-only /sys/fs/cgroup bind mount")
    lines = out.split()
    cap_eff = int(lines[1], 16) if len(lines) > 1 else 0
    missing = [name for name, bit in CAP_BITS.items() if not cap_eff >> bit & 1]
    if missing or "ok" not in lines:
        return Check("capabilities", Status.FAIL,
                     f"missing {', '.join(missing) or 'cgroup tree or writable /run'}",
                     "run the engine as root without a restrictive default seccomp/AppArmor "
                     "profile (rootless engines cannot run systemd hosts)")
    return Check("capabilities", Status.OK,
                 "SYS_ADMIN and NET_ADMIN effective; cgroup tree and /run tmpfs mounted")


def _disk(client: Any | None) -> Check:
    paths = [str(cache_dir())]
    if client is not None:
        root_dir = client.info().get("DockerRootDir")
        if root_dir and os.path.isdir(root_dir):
            paths.insert(0, root_dir)
    worst = min(paths, key=lambda p: shutil.disk_usage(p).free)
    free_gib = shutil.disk_usage(worst).free / 2**30
    detail = f"{free_gib:.1f} GiB free at {worst}"
    if free_gib < MIN_FREE_GIB:
        return Check("disk", Status.FAIL, detail,
                     f"free at least {MIN_FREE_GIB:.0f} GiB (`docker image prune`, "
                     "old images: `docker images sunlight/node`)")
    return Check("disk", Status.OK, detail)


def _limits() -> Check:
    from sunlight.control.hostchanges import INOTIFY_LIMITS, read_sysctl

    low = [f"{n}={read_sysctl(n)}" for n, want in INOTIFY_LIMITS.items()
           if (read_sysctl(n) or 0) < want]
    if low:
        return Check("host limits", Status.FAIL, f"too low for many systemd hosts: "
                     f"{', '.join(low)}", "run `sunlight engine ensure` as root, or "
                     + "; ".join(f"sysctl -w {n}={w}" for n, w in INOTIFY_LIMITS.items()))
    return Check("host limits", Status.OK, "inotify limits fit dozens of systemd hosts")


def run_checks() -> list[Check]:
    """Every check, in order; later checks are skipped when what they need is missing."""
    engine, client = _engine()
    checks = [engine]
    if client is None:
        checks.append(Check("image", Status.SKIP, "needs an engine", "fix the engine first"))
        checks.append(Check("capabilities", Status.SKIP, "needs an engine", "fix the engine first"))
    else:
        image_check, image = _image(client)
        checks += [image_check, _capabilities(client, image)]
    checks.append(_limits())
    checks.append(_disk(client))
    return checks


def healthy(checks: list[Check]) -> bool:
    return all(c.status is Status.OK for c in checks)
