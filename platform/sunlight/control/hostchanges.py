"""Everything Sunlight changes on the machine it runs on, recorded so it can be undone.

Sunlight's set-up stages may install Debian packages, start ``dockerd`` (and a second one,
with its bridge and nftables tables: ``sunlight engine second up``), raise kernel limits and
keep caches and state. Each such change is named here, in one place, and the
ones made at run time are recorded in a ledger (:data:`LEDGER`, with the value each
setting had before), so that ``scripts/reset-host`` can return a machine to the state of a
fresh one — which is how a fresh-machine rehearsal starts (``scripts/rehearse-fresh-machine``).

This module uses the standard library only: the reset runs before any virtual environment
exists (``PYTHONPATH=platform python3 -m sunlight.control.hostchanges reset``).

Example::

    >>> from sunlight.control.hostchanges import HOST_PACKAGES
    >>> "docker.io" in HOST_PACKAGES
    True
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Progress = Callable[[str], None]
Runner = Callable[..., "subprocess.CompletedProcess[Any]"]

LEDGER = Path("/var/lib/sunlight/host-changes.json")
"""What this machine's Sunlight changed, with the values before (root's set-up only)."""

HOST_PACKAGES = ("docker.io", "debootstrap", "apt-utils", "nftables", "chromium",
                 "libnss3-tools", "fonts-noto-cjk")
"""Every Debian package Sunlight may install on the host; nothing else is installed: the
engine (:mod:`sunlight.control.engine`), the image's bootstrapper
(:mod:`sunlight.control.images.base`), apt-ftparchive for ``sunlight bundle create``
(``apt-utils``), the second engine's table (``nftables``, ``sunlight engine second up``),
and the browser the page tests drive with its certificate tool and a Chinese font
(:mod:`sunlight.control.browser`)."""

HOST_GROUPS = ("docker",)
"""System groups those packages create and purging leaves behind (docker.io's postinst)."""

INOTIFY_LIMITS = {"fs.inotify.max_user_instances": 8192, "fs.inotify.max_user_watches": 524288}
"""Every systemd host holds several inotify instances; the kernel's default of 128 per user
runs out at about two dozen hosts (systemd then exits at boot: "Too many open files")."""

KERNEL_DEFAULTS = {"fs.inotify.max_user_instances": 128, "net.ipv4.ip_forward": 0}
"""What a fresh machine has, for a reset without a ledger (older runs kept none);
``dockerd`` turns forwarding on when it starts."""

DOCKERD_LOG = Path("/var/log/sunlight/dockerd.log")

# --- the second engine (``sunlight engine second up|down``, docs/engines.md) ------------------
SECOND_DIR = Path("/run/sunlight")
SECOND_SOCKET = SECOND_DIR / "dockerd-b.sock"
"""Also stated in :mod:`sunlight.topology.engines` (this module uses the standard library
only); tests/test_engine_second.py checks the two agree."""
SECOND_PIDFILE = SECOND_DIR / "dockerd-b.pid"
SECOND_EXEC_ROOT = SECOND_DIR / "docker-b"
SECOND_DATA_ROOT = Path("/var/lib/sunlight/docker-b")  # under LEDGER.parent: reset removes it
SECOND_CONFIG = Path("/var/lib/sunlight/dockerd-b.json")
SECOND_LOG = DOCKERD_LOG.parent / "dockerd-b.log"
SECOND_BRIDGE = "sl-b0"  # its default bridge, made by the set-up (dockerd's --bridge)
SECOND_BRIDGE_ADDRESS = "10.199.255.1/24"  # outside the deployments' pool (10.200.0.0/13)
SECOND_TABLE = "sunlight_engine_b"  # nftables, family inet: its isolation
SECOND_PATHS = (SECOND_DIR, SECOND_DATA_ROOT, SECOND_CONFIG)

HOST_PATHS = (
    Path("/var/lib/docker"), Path("/var/lib/containerd"), Path("/etc/docker"),
    Path("/run/docker"), Path("/run/containerd"), Path("/var/run/docker.sock"),
    DOCKERD_LOG.parent, LEDGER.parent, *SECOND_PATHS,
)
"""Directories and files the engine Sunlight starts, and Sunlight itself, leave behind."""

ENGINE_PROCESSES = ("dockerd", "containerd")



def user_dirs() -> tuple[Path, Path]:
    """The per-user cache and state directories (see :mod:`sunlight.paths`)."""
    home = Path.home()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "sunlight"
    state = Path(os.environ.get("XDG_STATE_HOME") or home / ".local" / "state") / "sunlight"
    return cache, state


# --- the ledger ---------------------------------------------------------------------------


@dataclass
class Ledger:
    """The changes recorded so far; saved after each one, so a crash loses nothing."""

    path: Path = LEDGER
    packages: list[str] = field(default_factory=list)
    sysctls: dict[str, int] = field(default_factory=dict)  # name -> value before

    @classmethod
    def load(cls, path: Path = LEDGER) -> Ledger:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return cls(path)
        return cls(path, list(data.get("packages", [])),
                   {str(k): int(v) for k, v in data.get("sysctls", {}).items()})

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"packages": self.packages, "sysctls": self.sysctls},
                                  indent=2, sort_keys=True) + "\n")
        tmp.replace(self.path)

    def installed(self, packages: Iterable[str]) -> None:
        for name in packages:
            if name not in self.packages:
                self.packages.append(name)
        self.save()

    def raised(self, name: str, before: int) -> None:
        self.sysctls.setdefault(name, before)  # the first value seen is the machine's own
        self.save()


# --- sysctls ------------------------------------------------------------------------------


def read_sysctl(name: str, root: Path = Path("/proc/sys")) -> int | None:
    try:
        return int(root.joinpath(*name.split(".")).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def write_sysctl(name: str, value: int, root: Path = Path("/proc/sys")) -> None:
    root.joinpath(*name.split(".")).write_text(str(value))


# --- a snapshot of what a test must not change ----------------------------------------------


def _etc_checksum(root: Path) -> str:
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if path.is_symlink():
                digest.update(f"{path} -> {os.readlink(path)}\n".encode())
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            digest.update(f"{path} {hashlib.sha256(data).hexdigest()}\n".encode())
    return digest.hexdigest()


def _dpkg_checksum() -> str:
    if shutil.which("dpkg-query") is None:
        return "(no dpkg)"
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${Status}\n"],
                         capture_output=True, text=True, check=False)
    return hashlib.sha256(out.stdout.encode()).hexdigest()


def snapshot(etc: Path = Path("/etc")) -> dict[str, str]:
    """What a host-neutral run leaves exactly as it found: kernel limits, packages, /etc."""
    cache, state = user_dirs()
    shot = {name: str(read_sysctl(name)) for name in INOTIFY_LIMITS}
    shot["dpkg -l (sha256)"] = _dpkg_checksum()
    shot["/etc (sha256)"] = _etc_checksum(etc)
    for label, path in (("cache dir", cache), ("state dir", state), ("ledger", LEDGER)):
        shot[f"{label} {path} exists"] = str(path.exists())
    return shot


# --- the reset ----------------------------------------------------------------------------


def _installed(package: str) -> bool:
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", package],
                         capture_output=True, text=True, check=False)
    return out.returncode == 0 and "install ok installed" in out.stdout


def _pids(name: str) -> list[int]:
    out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


def _stop_engine(progress: Progress) -> None:
    if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True,
                                                 check=False, timeout=30).returncode == 0:
        ids = subprocess.run(["docker", "ps", "-aq"], capture_output=True, text=True,
                             check=False).stdout.split()
        if ids:
            progress(f"Removing {len(ids)} containers")
            subprocess.run(["docker", "rm", "-f", "-v", *ids], capture_output=True, check=False)
    for name in ENGINE_PROCESSES:
        pids = _pids(name)
        if not pids:
            continue
        progress(f"Stopping {name} (pid {', '.join(map(str, pids))})")
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while _pids(name) and time.monotonic() < deadline:
            time.sleep(0.5)
        for pid in _pids(name):
            os.kill(pid, signal.SIGKILL)


def _stop_second_engine(progress: Progress, run: Runner = subprocess.run,
                        kill: Callable[[int, int], None] = os.kill,
                        alive: Callable[[int], bool] = lambda pid: Path(f"/proc/{pid}").exists(),
                        pidfile: Path = SECOND_PIDFILE) -> None:
    """Stop the second engine (its pidfile) and remove its nftables table and bridge.

    ``run``, ``kill`` and ``alive`` are the host's unless a test gives stand-ins."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        pid = 0
    if pid > 0 and alive(pid):
        progress(f"Stopping the second engine (pid {pid})")
        with contextlib.suppress(ProcessLookupError):
            kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 60
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.5)
            if alive(pid):
                kill(pid, signal.SIGKILL)
    for family in ("inet", "bridge"):
        with contextlib.suppress(FileNotFoundError):  # no nft: no table either
            if run(["nft", "delete", "table", family, SECOND_TABLE], capture_output=True,
                   check=False).returncode == 0:
                progress(f"Removed nftables table {family} {SECOND_TABLE}")
    if run(["ip", "link", "delete", SECOND_BRIDGE], capture_output=True,
           check=False).returncode == 0:
        progress(f"Removed network link {SECOND_BRIDGE}")


def _flush_firewall(progress: Progress) -> None:
    """Remove the chains and rules Docker added (a fresh machine has none)."""
    for tool in ("iptables", "ip6tables", "iptables-legacy", "ip6tables-legacy"):
        if shutil.which(tool) is None:
            continue
        for table in ("filter", "nat", "mangle", "raw"):
            subprocess.run([tool, "-t", table, "-F"], capture_output=True, check=False)
            subprocess.run([tool, "-t", table, "-X"], capture_output=True, check=False)
        for chain in ("INPUT", "FORWARD", "OUTPUT"):
            subprocess.run([tool, "-P", chain, "ACCEPT"], capture_output=True, check=False)
    if shutil.which("nft"):
        subprocess.run(["nft", "flush", "ruleset"], capture_output=True, check=False)
    progress("Host firewall rules flushed")


def _remove_links(progress: Progress) -> None:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                         check=False).stdout
    for line in out.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name in ("docker0", SECOND_BRIDGE) or name.startswith(("br-", "veth")):
            subprocess.run(["ip", "link", "delete", name], capture_output=True, check=False)
            progress(f"Removed network link {name}")


def _unmount_under(paths: Iterable[Path]) -> None:
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    targets = [line.split()[1] for line in mounts]
    for target in sorted(targets, key=len, reverse=True):
        if any(target == str(p) or target.startswith(f"{p}/") for p in paths):
            subprocess.run(["umount", "-l", target], capture_output=True, check=False)


def reset(progress: Progress = print) -> None:
    """Undo what Sunlight changed on this machine (root only): a fresh machine again."""
    if os.geteuid() != 0:
        raise SystemExit("reset-host: run as root (it removes packages and kernel settings)")
    ledger = Ledger.load()
    _stop_second_engine(progress)
    _stop_engine(progress)
    _flush_firewall(progress)
    packages = [p for p in dict.fromkeys([*ledger.packages, *HOST_PACKAGES]) if _installed(p)]
    if packages:
        progress(f"Purging Debian packages: {' '.join(packages)} (and what they pulled in)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "purge", "-y", "-q", *packages], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "autoremove", "--purge", "-y", "-q"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    for group in HOST_GROUPS:
        if subprocess.run(["getent", "group", group], capture_output=True,
                          check=False).returncode == 0:
            subprocess.run(["groupdel", group], check=False, capture_output=True)
            progress(f"Removed group {group}")
    _remove_links(progress)
    cache, state = user_dirs()
    paths = [*HOST_PATHS, cache, state]
    _unmount_under(paths)
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            progress(f"Removed {path}")
        elif path.exists() or path.is_symlink():
            path.unlink()
            progress(f"Removed {path}")
    for name, before in {**KERNEL_DEFAULTS, **ledger.sysctls}.items():
        if read_sysctl(name) != before:
            write_sysctl(name, before)
            progress(f"Restored {name} = {before}")


def main(argv: list[str]) -> int:
    if argv[:1] == ["reset"]:
        reset()
        return 0
    if argv[:1] == ["snapshot"]:
        for key, value in snapshot().items():
            print(f"{key}: {value}")
        return 0
    print("usage: python3 -m sunlight.control.hostchanges reset|snapshot", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
