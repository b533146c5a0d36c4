"""Find a Docker engine, or start Debian's own when we may.

An engine that already answers is used as it is: Sunlight never reconfigures it. When
none answers and we are root on Debian, Debian's ``docker.io`` is installed (if needed)
and ``dockerd`` is started in the background with its log in :data:`DOCKERD_LOG`.

Every change made here to the machine is recorded in the host-changes ledger
(:mod:`sunlight.control.hostchanges`), so that ``scripts/reset-host`` can undo it; the functions
take the ledger and the ``/proc/sys`` root as arguments so that unit tests change nothing.

``sunlight engine second up|down`` starts and stops a second engine on this machine
(:func:`second_up`): its own dockerd, socket, data and exec roots, pidfile and bridge,
``--iptables=false``, isolated by Sunlight's nftables table (:mod:`sunlight.control.enginetable`).

Example::

    >>> from sunlight.control.engine import ensure_engine
    >>> info = ensure_engine(progress=print)  # doctest: +SKIP
    Docker engine 20.10.24 answers; leaving it as it is.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sunlight.control.hostchanges import (
    DOCKERD_LOG,
    HOST_PACKAGES,
    INOTIFY_LIMITS,
    SECOND_BRIDGE,
    SECOND_BRIDGE_ADDRESS,
    SECOND_CONFIG,
    SECOND_DATA_ROOT,
    SECOND_EXEC_ROOT,
    SECOND_LOG,
    SECOND_PIDFILE,
    SECOND_SOCKET,
    Ledger,
    read_sysctl,
)

DEBIAN_PACKAGES = ("docker.io",)
START_TIMEOUT_S = 90.0
SECOND_NAMESPACE = "sunlight-b"  # the second engine's containerd namespace (the first: moby)

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


# --- the second engine on this machine (docs/engines.md) ------------------------------------


def second_config() -> dict[str, object]:
    """The second dockerd's configuration (its ``--config-file``: never /etc/docker's).

    Its own socket, data root, exec root (and so its own containerd), pidfile and bridge;
    ``iptables`` off — two engines that both manage iptables overwrite each other's rules —
    so its isolation is Sunlight's nftables table (:mod:`sunlight.control.enginetable`).
    """
    return {
        "hosts": [f"unix://{SECOND_SOCKET}"],
        "data-root": str(SECOND_DATA_ROOT),
        "exec-root": str(SECOND_EXEC_ROOT),
        "pidfile": str(SECOND_PIDFILE),
        "bridge": SECOND_BRIDGE,
        "iptables": False,
        "ip6tables": False,
        "ip-masq": False,
        "ip-forward": False,  # the first engine's set-up has turned forwarding on
        "live-restore": False,
        # its own containerd namespace: never the first engine's, even on one containerd.
        # (No plugin namespace: Debian 12's dockerd 20.10 refuses "containerd-plugin-namespace"
        # in the file — seen when starting it on this machine — and the engine runs no plugins.)
        "containerd-namespace": SECOND_NAMESPACE,
    }


def second_command() -> list[str]:
    """How the second dockerd is started."""
    return ["dockerd", "--config-file", str(SECOND_CONFIG)]


def second_bridge_commands() -> list[list[str]]:
    """The second engine's bridge (dockerd uses a named bridge; it does not make one)."""
    return [["ip", "link", "add", SECOND_BRIDGE, "type", "bridge"],
            ["ip", "addr", "add", SECOND_BRIDGE_ADDRESS, "dev", SECOND_BRIDGE],
            ["ip", "link", "set", SECOND_BRIDGE, "up"]]


def _second_client() -> Any:
    import docker

    return docker.DockerClient(base_url=f"unix://{SECOND_SOCKET}", timeout=20)


def second_running() -> bool:
    import docker.errors

    if not SECOND_SOCKET.exists():
        return False
    try:
        _second_client().ping()
    except (docker.errors.DockerException, OSError):
        return False
    return True


def second_up(progress: Progress, timeout_s: float = START_TIMEOUT_S,
              ledger: Ledger | None = None) -> None:
    """Start the second engine with its table (root; idempotent: a running one is kept)."""
    from sunlight.control import enginetable

    if os.geteuid() != 0:
        raise EngineError("the second engine needs root (it starts dockerd, makes a bridge "
                          "and an nftables table): run `sunlight engine second up` as root")
    if shutil.which("dockerd") is None:
        raise EngineError("no dockerd: run `sunlight engine ensure` first")
    if shutil.which("nft") is None:
        if not _is_debian():
            raise EngineError("the second engine's isolation needs `nft`: install nftables")
        apt_install(("nftables",), progress, ledger)
    if not second_running():
        if subprocess.run(["ip", "link", "show", SECOND_BRIDGE], capture_output=True,
                          check=False).returncode != 0:
            for cmd in second_bridge_commands():
                subprocess.run(cmd, check=True, capture_output=True)
        SECOND_CONFIG.parent.mkdir(parents=True, exist_ok=True)
        SECOND_CONFIG.write_text(json.dumps(second_config(), indent=2) + "\n")
        # dockerd validates a configuration file since Docker 23 (Debian 12's is 20.10)
        helped = subprocess.run(["dockerd", "--help"], capture_output=True, text=True,
                                check=False)
        checked = subprocess.run([*second_command(), "--validate"], capture_output=True,
                                 text=True, check=False) if "--validate" in (
                                     helped.stdout or "") else None
        if checked is not None and checked.returncode != 0:
            raise EngineError(f"the second dockerd refuses {SECOND_CONFIG}: "
                              f"{(checked.stderr or checked.stdout).strip()}")
        SECOND_LOG.parent.mkdir(parents=True, exist_ok=True)
        progress(f"Starting the second dockerd ({SECOND_SOCKET}); its log is {SECOND_LOG}")
        with SECOND_LOG.open("ab") as log:
            subprocess.Popen(second_command(), stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True, close_fds=True)
        deadline = time.monotonic() + timeout_s
        while not second_running():
            if time.monotonic() > deadline:
                raise EngineError(f"the second dockerd did not answer within {timeout_s:.0f} "
                                  f"s. Last lines of {SECOND_LOG}:\n" + _tail(SECOND_LOG))
            time.sleep(0.5)
    enginetable.sync(_second_client())
    progress(f"Second engine up at unix://{SECOND_SOCKET}, isolated by nftables table "
             f"inet {enginetable.TABLE}")


def second_down(progress: Progress) -> None:
    """Stop the second engine (its containers with it) and remove its table and bridge."""
    from sunlight.control import enginetable

    if SECOND_PIDFILE.exists():
        pid = int(SECOND_PIDFILE.read_text().strip() or 0)
        if pid > 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + START_TIMEOUT_S
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.5)
            progress(f"Second dockerd (pid {pid}) stopped")
    if enginetable.remove():
        progress(f"nftables table inet {enginetable.TABLE} removed")
    if subprocess.run(["ip", "link", "delete", SECOND_BRIDGE], capture_output=True,
                      check=False).returncode == 0:
        progress(f"Bridge {SECOND_BRIDGE} removed")
