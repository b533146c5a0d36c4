"""``sunlight bundle install``: verify a bundle, then set a control node up from it alone.

Steps, none of which uses the network:

1. unpack it beside the destination and check every file against the manifest — a changed,
   missing or added file refuses the whole bundle, naming the file, and nothing is kept;
2. ``docker load`` the node image;
3. a fresh virtual environment: ``pip install --no-index --find-links`` the wheelhouse,
   constrained by the control lock (pip's own configuration and ``PIP_*`` are ignored);
4. check that every collection the playbooks use is installed, at the manifest's version
   (the community ones come with the ``ansible`` wheel, ``sunlight.deploy`` with the source);
5. write ``sunlight.env``: ``SUNLIGHT_ROOT`` (the source tree), ``SUNLIGHT_APT_BUNDLE`` (the
   apt repository the roles copy to each host over SSH), ``SUNLIGHT_NODE_WHEELHOUSE`` (the
   wheels a host without the application installs it from) and the venv on ``PATH``.

Example::

    >>> from pathlib import Path
    >>> from sunlight.control.bundle.install import install_bundle
    >>> install_bundle(Path("b.tar.gz"), Path("/srv/sunlight"), print)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sunlight.control.bundle.create import APT_FILE, IMAGE_FILE, SOURCE_DIR, TOP, WHEELS_DIR
from sunlight.control.bundle.manifest import (
    BundleError,
    BundleTampered,
    Manifest,
    sha256_file,
    verify_tree,
)

Progress = Callable[[str], None]

CONTROL_EXTRAS = "sunlight[control,load]"
ENV_FILE = "sunlight.env"


@dataclass(frozen=True)
class InstallResult:
    dest: Path
    manifest: Manifest
    sha256: str
    image: str | None
    venv: Path | None
    env_file: Path
    seconds: float


def _check_member(member: tarfile.TarInfo) -> None:
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts or path.parts[:1] != (TOP,):
        raise BundleTampered(f"{member.name}: outside the bundle's {TOP}/ directory")
    if not (member.isfile() or member.isdir()):
        raise BundleTampered(f"{member.name}: not a regular file (bundles hold plain files only)")


def unpack_bundle(archive: Path, into: Path) -> Path:
    """Unpack ``archive`` into ``into`` (plain files under :data:`TOP` only); returns
    ``into/TOP``."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member)
            # Every member was checked above; the data filter checks again where it exists.
            if hasattr(tarfile, "data_filter"):
                tar.extractall(into, members=members, filter="data")
            else:  # pragma: no cover - Pythons without extraction filters
                tar.extractall(into, members=members)  # noqa: S202
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BundleTampered(f"{archive}: not a readable bundle archive ({exc})") from exc
    return into / TOP


def _load_image(top: Path, manifest: Manifest, client: Any, progress: Progress) -> str:
    if not manifest.facts.get("image"):
        raise BundleError("this bundle has no node image (made with `bundle create "
                          "--no-image`): install it with --no-image")
    reference = str(manifest.facts["image"]["reference"])
    progress(f"docker load {IMAGE_FILE} ({manifest.files[IMAGE_FILE].size / 2**20:.0f} MiB)")
    with (top / IMAGE_FILE).open("rb") as fh:
        client.images.load(fh)
    image = client.images.get(reference)  # raises if the load did not produce it
    repository = reference.split(":")[0]
    image.tag(repository, "latest")
    return reference


def pip_env() -> dict[str, str]:
    """The environment pip runs in: no ``PIP_*`` variables and no configuration files, so
    that nothing but the wheelhouse is ever consulted."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INPUT": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def pip_install_command(venv: Path, top: Path) -> list[str]:
    return [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
            "--find-links", str(top / WHEELS_DIR / "control"),
            "--constraint", str(top / SOURCE_DIR / "requirements" / "control.lock"),
            CONTROL_EXTRAS]


def _make_venv(top: Path, venv: Path, progress: Progress) -> None:
    progress(f"Creating a fresh virtual environment {venv}")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    progress(f"pip install --no-index {CONTROL_EXTRAS} from the wheelhouse (about 2 min)")
    out = subprocess.run(pip_install_command(venv, top), env=pip_env(), capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise BundleError(f"pip install --no-index failed:\n{out.stderr[-3000:]}")


def _check_collections(top: Path, venv: Path, manifest: Manifest, progress: Progress) -> None:
    playbooks = top / SOURCE_DIR / "playbooks"
    env = {**os.environ, "ANSIBLE_CONFIG": str(playbooks / "ansible.cfg"),
           "ANSIBLE_HOME": str(top / ".ansible"), "ANSIBLE_NOCOLOR": "1"}
    out = subprocess.run([str(venv / "bin" / "ansible-galaxy"), "collection", "list",
                          "--format", "json"], cwd=playbooks, env=env, capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise BundleError(f"ansible-galaxy collection list failed:\n{out.stderr[-2000:]}")
    installed: dict[str, str] = {}
    for collections in json.loads(out.stdout).values():
        for name, info in collections.items():
            installed.setdefault(name, str(info.get("version")))
    for name, version in sorted(manifest.facts.get("collections", {}).items()):
        if installed.get(name) != version:
            raise BundleError(f"collection {name} {version}: the new environment has "
                              f"{installed.get(name, 'none')}")
    progress(f"Collections present: {', '.join(sorted(manifest.facts.get('collections', {})))}")


def role_settings(dest: Path) -> dict[str, str]:
    """What points the roles at a bundle installed in ``dest``: its apt repository and the
    wheels a host without the application installs it from."""
    return {"SUNLIGHT_APT_BUNDLE": str(dest / APT_FILE),
            "SUNLIGHT_NODE_WHEELHOUSE": str(dest / WHEELS_DIR / "node")}


def env_lines(dest: Path) -> list[str]:
    """The shell lines that point the ``sunlight`` command and the roles at the bundle."""
    return [
        f"export SUNLIGHT_ROOT={shlex.quote(str(dest / SOURCE_DIR))}",
        *(f"export {name}={shlex.quote(value)}" for name, value in role_settings(dest).items()),
        f"export PATH={shlex.quote(str(dest / 'venv' / 'bin'))}:\"$PATH\"",
    ]


def install_bundle(archive: Path, dest: Path, progress: Progress, *, load_image: bool = True,
                   make_venv: bool = True, client: Any = None) -> InstallResult:
    """Verify ``archive`` and install it into ``dest`` (new or empty; see the module)."""
    started = time.monotonic()
    if not archive.is_file():
        raise BundleError(f"{archive}: no such bundle file")
    if dest.exists() and any(dest.iterdir()):
        raise BundleError(f"{dest} is not empty: give a new directory (--dest) or remove it")
    digest = sha256_file(archive)
    progress(f"Bundle {archive.name}: SHA-256 {digest}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    incoming = dest.parent / f".{dest.name}.incoming"
    if incoming.exists():
        shutil.rmtree(incoming)
    try:
        progress(f"Unpacking into {incoming}")
        top = unpack_bundle(archive, incoming)
        progress("Checking every file against the manifest (SHA-256)")
        manifest = verify_tree(top)
        if dest.exists():
            dest.rmdir()
        top.replace(dest)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    progress(f"Verified {len(manifest.files)} files; bundle key {manifest.key[:16]}")
    image = None
    if load_image:
        if client is None:
            import docker

            client = docker.from_env()
        image = _load_image(dest, manifest, client, progress)
    venv = None
    if make_venv:
        venv = dest / "venv"
        _make_venv(dest, venv, progress)
        _check_collections(dest, venv, manifest, progress)
    env_file = dest / ENV_FILE
    env_file.write_text("\n".join(env_lines(dest)) + "\n")
    return InstallResult(dest, manifest, digest, image, venv, env_file,
                         time.monotonic() - started)

