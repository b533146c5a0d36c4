"""Find a Docker engine, or start Debian's own when we may.

An engine that already answers is used as it is: Sunlight never reconfigures it. When
none answers and we are root on Debian, Debian's ``docker.io`` is installed (if needed)
and ``dockerd`` is started in the background with its log in :data:`DOCKERD_LOG`.

Every change made here to the machine is recorded in the host-changes ledger
(:mod:`sunlight.control.hostchanges`), so that ``scripts/reset-host`` can undo it; the functions
take the ledger and the ``/proc/sys`` root as arguments so that unit tests change nothing.

Example::

    >>> from sunlight.control.engine import ensure_engine
    >>> info = ensure_engine(progress=print)  # doctest: +SKIP
    Docker engine 20.10.24 answers; leaving it as it is.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sunlight.control.hostchanges import (
    DOCKERD_LOG,
    HOST_PACKAGES,
    INOTIFY_LIMITS,
    Ledger,
    read_sysctl,
)

DEBIAN_PACKAGES = ("docker.io",)
START_TIMEOUT_S = 90.0

Progress = Callable[[str], None]


class EngineError(RuntimeError):
    """No engine answers and we cannot start one; the message says what to do."""


@dataclass(frozen=True)
class EngineInfo:
    """What ``docker info`` said about the engine that answered."""

    server_version: str
    root_dir: str
    cgroup_version: str
    started_by_us: bool


def probe() -> EngineInfo | None:
    """Ask ``docker info``; None when no engine answers (a client alone is not enough)."""
    if shutil.which("docker") is None:
        return None
    try:
        out = subprocess.run(
            ["docker", "info", "--format", "{{json .}}"],
            capture_output=True, text=True, timeout=20, check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    if out.returncode != 0:
        return None
    try:
        info = json.loads(out.stdout)
    except json.JSONDecodeError:
        return None
    if not info.get("ServerVersion"):
        return None
    return EngineInfo(
        server_version=str(info["ServerVersion"]),
        root_dir=str(info.get("DockerRootDir", "")),
        cgroup_version=str(info.get("CgroupVersion", "")),
        started_by_us=False,
    )


def _is_debian() -> bool:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return False
    return any(line.strip() in ("ID=debian", 'ID="debian"') for line in text.splitlines())


def apt_install(packages: tuple[str, ...] | list[str], progress: Progress,
                ledger: Ledger | None = None) -> None:
    """Install Debian packages non-interactively (root only), refreshing lists once if needed.

    Only the packages named in :data:`sunlight.control.hostchanges.HOST_PACKAGES` (which the reset
    removes again) may be installed; each is recorded in the ledger before apt runs.
    """
    unknown = sorted(set(packages) - set(HOST_PACKAGES))
    if unknown:
        raise ValueError(f"{', '.join(unknown)} not in sunlight.control.hostchanges.HOST_PACKAGES: "
                         "add it there, so that scripts/reset-host removes it again")
    (ledger or Ledger.load()).installed(packages)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    progress(f"Installing Debian packages: {' '.join(packages)}")
    if subprocess.run(cmd, env=env, check=False, stdout=subprocess.DEVNULL).returncode == 0:
        return
    progress("apt-get install failed; refreshing package lists (apt-get update) and retrying")
    subprocess.run(["apt-get", "update", "-q"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)


def _start_dockerd(progress: Progress, ledger: Ledger | None = None) -> None:
    forwarding = read_sysctl("net.ipv4.ip_forward")
    if forwarding is not None:  # dockerd turns it on
        (ledger or Ledger.load()).raised("net.ipv4.ip_forward", forwarding)
    DOCKERD_LOG.parent.mkdir(parents=True, exist_ok=True)
    progress(f"Starting dockerd in the background; its log is {DOCKERD_LOG}")
    log = DOCKERD_LOG.open("ab")
    # A new session: the engine outlives this command (and `make`), as a service would.
    subprocess.Popen(
        ["dockerd"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True, close_fds=True,
    )


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def raise_host_limits(progress: Progress, *, sysctl_root: Path = Path("/proc/sys"),
                      ledger: Ledger | None = None, is_root: bool | None = None) -> list[str]:
    """Raise the inotify limits systemd hosts need (root only); return what is still low.

    The value each limit had before is recorded in the ledger, for the reset.
    """
    root_user = os.geteuid() == 0 if is_root is None else is_root
    low = []
    for name, wanted in INOTIFY_LIMITS.items():
        current = read_sysctl(name, sysctl_root)
        if current is None or current >= wanted:
            continue
        if root_user:
            try:
                (ledger or Ledger.load()).raised(name, current)
                sysctl_root.joinpath(*name.split(".")).write_text(str(wanted))
                progress(f"Raised {name} from {current} to {wanted} (systemd hosts need it)")
                continue
            except OSError:
                pass
        low.append(f"{name}={current} (needs {wanted}: sysctl -w {name}={wanted})")
    return low


def ensure_engine(progress: Progress, timeout_s: float = START_TIMEOUT_S) -> EngineInfo:
    """Return the running engine, starting Debian's when none answers and we may.

    The host's kernel limits are :func:`raise_host_limits`'s job (``sunlight engine ensure``
    calls both).
    """
    info = probe()
    if info is not None:
        progress(f"Docker engine {info.server_version} answers; leaving it as it is.")
        return info
    if os.geteuid() != 0 or not _is_debian():
        raise EngineError(
            "No Docker engine answers `docker info`. Start your engine (for example "
            "`sudo systemctl start docker`), or run `make setup` as root on Debian so "
            "Sunlight can install Debian's docker.io and start dockerd itself."
        )
    if shutil.which("dockerd") is None:
        apt_install(DEBIAN_PACKAGES, progress)
    if shutil.which("dockerd") is None:
        raise EngineError("docker.io was installed but `dockerd` is not on PATH")
    _start_dockerd(progress)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        info = probe()
        if info is not None:
            progress(f"Docker engine {info.server_version} is up.")
            return EngineInfo(info.server_version, info.root_dir, info.cgroup_version, True)
        time.sleep(1.0)
    raise EngineError(
        f"dockerd did not answer within {timeout_s:.0f} s. Last lines of {DOCKERD_LOG}:\n"
        + _tail(DOCKERD_LOG)
    )
