"""The bundle's Debian packages: the one package list and its dependencies, as a flat apt repo.

The packages are the one package list (``platform/node-image/packages.txt``: the node image
installs it, every role installs from it — a unit test reads the roles to keep it so). They
are resolved and downloaded for bookworm amd64 by the host's own ``apt-get`` with a private
root (its own sources, lists, cache and an *empty* dpkg status): nothing of the host's apt
is read or changed, the host need not be bookworm, and the download is the whole dependency
closure, so that any Debian 12 machine — a minbase one included — can install from it alone.
``apt-ftparchive`` (Debian's ``apt-utils``, which the set-up installs when missing) writes
the index (:func:`index_command`); a ``Release`` file carries the index's SHA-256 and the
index each package's, so apt checks every package against the manifest's checksum of the
repository.

Hosts use it as ``deb [trusted=yes] file:/var/lib/sunlight/apt ./`` (see docs/bundle.md).

Example::

    >>> from pathlib import Path
    >>> from sunlight.control.bundle.apt_repo import parse_packages
    >>> parse_packages("Package: acl\\nVersion: 2.3.1-3\\n")[0]["Version"]
    '2.3.1-3'
"""

from __future__ import annotations

import getpass
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from email.utils import formatdate
from pathlib import Path

from sunlight.control.bundle.manifest import BundleError
from sunlight.control.engine import apt_install
from sunlight.control.images.mirror import ARCHITECTURE, COMPONENT, SUITE

Progress = Callable[[str], None]

KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
"""Debian's archive keys: the private root's source is signed by them (http mirrors)."""
INDEX_PACKAGE = "apt-utils"
INDEX_FILES = ("Packages", "Packages.gz", "Release")


def apt_options(root: Path) -> list[str]:
    """``apt-get`` options that confine it to ``root`` for bookworm amd64: its own
    configuration, sources, lists, archives cache and (empty) dpkg status."""
    return [
        "-o", f"Dir={root}/",
        "-o", f"Dir::State::status={root}/var/lib/dpkg/status",
        "-o", f"Dir::Etc::SourceList={root}/etc/apt/sources.list",
        "-o", "Dir::Etc::SourceParts=-",
        "-o", f"APT::Architecture={ARCHITECTURE}",
        "-o", f"APT::Architectures={ARCHITECTURE}",
        "-o", "APT::Install-Recommends=false",
        "-o", "APT::Get::AllowUnauthenticated=false",
        "-o", f"APT::Sandbox::User={getpass.getuser()}",
        "-o", "Debug::NoLocking=true",
        "-o", "Acquire::Languages=none",
    ]


def source_line(mirror: str, keyring: Path = KEYRING) -> str:
    return f"deb [signed-by={keyring}] {mirror} {SUITE} {COMPONENT}"


def prepare_root(root: Path, mirror: str, keyring: Path = KEYRING) -> None:
    """The private apt root: its directories, its one source line and an empty dpkg status."""
    if not keyring.is_file():
        raise BundleError(
            f"{keyring} is missing: Debian's archive keys verify the mirror "
            "(install debian-archive-keyring)")
    for sub in ("etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/trusted.gpg.d",
                "var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/lib/dpkg"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "etc/apt/sources.list").write_text(source_line(mirror, keyring) + "\n")
    status = root / "var/lib/dpkg/status"
    status.write_text("")


def _apt_get(root: Path, args: Sequence[str], label: str, progress: Progress,
             every: int = 40) -> list[str]:
    if shutil.which("apt-get") is None:
        raise BundleError("apt-get is missing: `sunlight bundle create` needs a Debian or "
                          "Ubuntu control node (its own apt downloads bookworm's packages)")
    cmd = ["apt-get", *apt_options(root), *args]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
    env.pop("APT_CONFIG", None)
    lines: list[str] = []
    fetched = 0
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip())
        if line.startswith("Get:"):
            fetched += 1
            if fetched % every == 1:
                progress(f"{label}: {line.strip()[:100]} ({fetched} fetched so far)")
    if proc.wait() != 0:
        raise BundleError(f"{label} failed (apt-get {' '.join(args)}):\n"
                          + "\n".join(lines[-30:]))
    return lines


_INST = re.compile(r"^Inst (\S+) \((\S+) .*\[(\S+)\]\)")


def planned_debs(simulation: Sequence[str]) -> list[str]:
    """The archive file names (``name_version_arch.deb``, the epoch's ':' as ``%3a``) of the
    packages an ``apt-get install -s`` run would install."""
    names = []
    for line in simulation:
        if match := _INST.match(line):
            name, version, arch = match.groups()
            names.append(f"{name}_{version.replace(':', '%3a')}_{arch}.deb")
    return names


def download_packages(names: Sequence[str], mirror: str, root: Path, repo: Path,
                      progress: Progress) -> list[Path]:
    """Download ``names`` and their whole dependency closure into ``repo`` (flat); the
    private root ``root`` keeps apt's lists and archives between runs (a cache)."""
    prepare_root(root, mirror)
    progress(f"Reading {SUITE} {ARCHITECTURE}'s package lists from {mirror}")
    _apt_get(root, ["update", "-q"], "apt-get update", progress)
    install = ["install", "-y", "-q", "--no-install-recommends", *names]
    plan = planned_debs(_apt_get(root, [*install[:3], "-s", *install[3:]],
                                 "apt-get install -s", progress))
    if not plan:
        raise BundleError(f"apt planned no packages for {', '.join(names)}")
    progress(f"Downloading {len(names)} packages and their dependencies: {len(plan)} in all")
    _apt_get(root, [*install[:3], "--download-only", *install[3:]],
             "apt-get install --download-only", progress)
    archives = root / "var/cache/apt/archives"
    missing = [name for name in plan if not (archives / name).is_file()]
    if missing:
        raise BundleError(f"apt did not download {', '.join(missing[:5])} into {archives}")
    repo.mkdir(parents=True, exist_ok=True)
    for name in plan:  # only this plan's: the cache may hold older versions
        shutil.copy2(archives / name, repo / name)
    size = sum((repo / n).stat().st_size for n in plan)
    progress(f"{len(plan)} packages, {size / 2**20:.0f} MiB")
    return [repo / n for n in plan]


def index_command(progress: Progress) -> list[str]:
    """The command that writes a flat repository's ``Packages`` index to stdout:
    ``apt-ftparchive packages .`` (Debian's apt-utils, which the set-up installs when
    missing, as root), or ``dpkg-scanpackages --multiversion .`` where dpkg-dev is already
    installed (it is never installed for this: removing it would take build tools along)."""
    if found := shutil.which("apt-ftparchive"):
        return [found, "packages", "."]
    if found := shutil.which("dpkg-scanpackages"):
        return [found, "--multiversion", "."]
    if os.geteuid() != 0:
        raise BundleError(f"apt-ftparchive is missing: install {INDEX_PACKAGE} "
                          f"(apt-get install {INDEX_PACKAGE}) or run as root")
    apt_install([INDEX_PACKAGE], progress)
    found = shutil.which("apt-ftparchive")
    if not found:
        raise BundleError(f"{INDEX_PACKAGE} was installed but apt-ftparchive is not on PATH")
    return [found, "packages", "."]


def parse_packages(text: str) -> list[dict[str, str]]:
    """The paragraphs of an apt ``Packages`` index (continuation lines joined with '\\n')."""
    paragraphs: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in [*text.splitlines(), ""]:
        if not line.strip():
            if current:
                paragraphs.append(current)
            current, last = {}, ""
        elif line[0] in " \t" and last:
            current[last] += "\n" + line.strip()
        else:
            name, _, value = line.partition(":")
            last = name.strip()
            current[last] = value.strip()
    return paragraphs


def _release(repo: Path, files: Sequence[str]) -> str:
    lines = [
        "Origin: Sunlight bundle", "Label: sunlight-bundle", f"Suite: {SUITE}",
        f"Architectures: {ARCHITECTURE}", f"Components: {COMPONENT}",
        f"Date: {formatdate(time.time(), usegmt=True)}", "SHA256:",
    ]
    for name in files:
        data = (repo / name).read_bytes()
        lines.append(f" {hashlib.sha256(data).hexdigest()} {len(data)} {name}")
    return "\n".join(lines) + "\n"


def write_index(repo: Path, progress: Progress,
                command: Sequence[str] | None = None) -> dict[str, str]:
    """``Packages``, ``Packages.gz`` and ``Release`` for the ``.deb`` files in ``repo`` (a flat
    repository); returns package name -> version."""
    cmd = list(command or index_command(progress))
    out = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, check=False)
    if out.returncode != 0 or "Package:" not in out.stdout:
        raise BundleError(f"{Path(cmd[0]).name} found no packages in {repo}:\n"
                          f"{out.stderr[-2000:]}")
    (repo / "Packages").write_text(out.stdout)
    with gzip.GzipFile(repo / "Packages.gz", "wb", mtime=0) as fh:
        fh.write(out.stdout.encode())
    (repo / "Release").write_text(_release(repo, ("Packages", "Packages.gz")))
    versions = {p["Package"]: p["Version"] for p in parse_packages(out.stdout)}
    progress(f"Indexed {len(versions)} packages in {repo}")
    return versions
