"""The base image: a debootstrapped Debian bookworm minbase root, imported with no registry.

The root is built once per set of debootstrap parameters and cached as a tarball in the
user cache; ``docker import`` turns it into ``sunlight/bookworm-minbase:<key>``.

Example::

    >>> from sunlight.control.images.base import BaseSpec
    >>> BaseSpec().key()  # doctest: +SKIP
    '5d1c0a9e4f2b7c31'
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors

from sunlight.control.engine import apt_install
from sunlight.control.images.mirror import SUITE, apt_mirror
from sunlight.paths import cache_dir

BASE_REPOSITORY = "sunlight/bookworm-minbase"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BaseSpec:
    """The debootstrap parameters; its :meth:`key` names both the tarball and the image.

    ``mirror`` defaults to the configured one (``SUNLIGHT_APT_MIRROR``,
    :mod:`sunlight.control.images.mirror`), read when the spec is made.
    """

    suite: str = SUITE
    variant: str = "minbase"
    mirror: str = field(default_factory=apt_mirror)
    include: tuple[str, ...] = field(
        default=("systemd", "systemd-sysv", "dbus", "openssh-server", "python3")
    )

    def key(self) -> str:
        text = "|".join((self.suite, self.variant, self.mirror, ",".join(self.include)))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def image(self) -> str:
        return f"{BASE_REPOSITORY}:{self.key()}"

    def tarball(self) -> Path:
        return cache_dir() / f"{self.suite}-{self.variant}-{self.key()}.tar"

    def debootstrap_command(self, root: Path) -> list[str]:
        """The debootstrap command line that builds this root into ``root``."""
        return [
            "debootstrap", f"--variant={self.variant}", f"--include={','.join(self.include)}",
            self.suite, str(root), self.mirror,
        ]


def _debootstrap(spec: BaseSpec, progress: Progress) -> Path:
    target = spec.tarball()
    if target.is_file():
        progress(f"Using cached root tarball {target}")
        return target
    if shutil.which("debootstrap") is None:
        if os.geteuid() != 0:
            raise RuntimeError("debootstrap is missing: install it (apt-get install debootstrap)")
        apt_install(["debootstrap"], progress)
    with tempfile.TemporaryDirectory(prefix="sunlight-rootfs-", dir=cache_dir()) as tmp:
        root = Path(tmp) / "root"
        progress(f"debootstrap {spec.suite} ({spec.variant}) from {spec.mirror}; about 75 s")
        cmd = spec.debootstrap_command(root)
        log = Path(tmp) / "debootstrap.log"
        with log.open("w") as fh:
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            assert proc.stdout is not None
            seen: set[str] = set()
            for line in proc.stdout:
                fh.write(line)
                # Show each phase once (Retrieving, Extracting, Configuring...), not each package.
                words = line.split()
                if len(words) >= 2 and words[0] == "I:" and words[1] not in seen:
                    seen.add(words[1])
                    progress(line.strip())
            if proc.wait() != 0:
                raise RuntimeError(
                    "debootstrap failed:\n" + "\n".join(log.read_text().splitlines()[-15:])
                )
        partial = target.with_suffix(".tar.partial")
        progress(f"Packing the root into {target}")
        subprocess.run(
            ["tar", "--numeric-owner", "--xattrs", "-C", str(root), "-cf", str(partial), "."],
            check=True,
        )
        partial.rename(target)  # atomic: a killed run never leaves a half tarball in place
    return target


def ensure_base(client: docker.DockerClient, spec: BaseSpec, progress: Progress) -> str:
    """Return the base image reference, debootstrapping and importing only what is missing."""
    try:
        client.images.get(spec.image)
        progress(f"Base image {spec.image} is present")
        return spec.image
    except docker.errors.ImageNotFound:
        pass
    tarball = _debootstrap(spec, progress)
    progress(f"Importing {tarball.name} as {spec.image}")
    repository, tag = spec.image.split(":")
    client.api.import_image_from_file(str(tarball), repository=repository, tag=tag)
    client.images.get(spec.image)  # raises if the import did not produce it
    return spec.image
