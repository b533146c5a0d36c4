"""``sunlight bundle create``: stage every part, write the manifest, pack one gzip tar, cache it.

The archive (``sunlight-bundle-<key>.tar.gz``) holds, under one top directory::

    manifest.json              versions and every other file's size and SHA-256
    image/node-image.tar       `docker save` of the node image the realizer uses
    wheels/node/*.whl          what hosts run: node.lock's pins and sunlight (the image's)
    wheels/control/*.whl       what the control node runs: control.lock's pins and sunlight
    source/...                 the checkout's files (playbooks, collections, infra, locks...)
    apt/sunlight-apt.tar       the flat apt repository the roles copy to hosts

It is cached in ``$XDG_CACHE_HOME/sunlight/bundles`` by the hash of its inputs
(:mod:`sunlight.control.bundle.key`): the same inputs are packed once.

Example::

    >>> from sunlight.control.bundle.create import create_bundle
    >>> result = create_bundle(print)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
import shutil
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sunlight
from sunlight.control.bundle import apt_repo
from sunlight.control.bundle.key import bundle_key, python_tag, tree_files
from sunlight.control.bundle.manifest import (
    MANIFEST_NAME,
    BundleError,
    Manifest,
    file_entries,
    sha256_file,
)
from sunlight.control.images.mirror import ARCHITECTURE, SUITE, apt_mirror
from sunlight.control.images.packages import read_package_list
from sunlight.paths import cache_dir, repo_root

Progress = Callable[[str], None]

TOP = "sunlight-bundle"
IMAGE_FILE = "image/node-image.tar"
APT_FILE = "apt/sunlight-apt.tar"
WHEELS_DIR = "wheels"
#: Each wheelhouse and the lock it is built from: hosts' (sunlight_app_wheelhouse) and the
#: control node's (`bundle install`'s venv).
WHEELHOUSES = {"node": "node.lock", "control": "control.lock"}
SOURCE_DIR = "source"
GZIP_LEVEL = 1  # fast: the debs, wheels and image layers are mostly compressed already
# Where the playbooks name a collection's plugin by its FQCN: a task's module (a YAML key),
# a filter (``| sunlight.deploy.packages``), a lookup or query, a callback in ansible.cfg.
_FQCN = re.compile(
    r"^\s*(?:-\s+)?([a-z_]+)\.([a-z_]+)\.[a-z_]+:"
    r"|\|\s*([a-z_]+)\.([a-z_]+)\.[a-z_]+"
    r"|(?:lookup|query|q)\(\s*['\"]([a-z_]+)\.([a-z_]+)\.[a-z_]+"
    r"|^\s*[a-z_]+\s*=\s*([a-z_]+)\.([a-z_]+)\.[a-z_]+\s*$",
    re.MULTILINE)


@dataclass(frozen=True)
class CreateResult:
    """What :func:`create_bundle` did: the archive, its key, size and SHA-256."""

    path: Path
    key: str
    size_bytes: int
    sha256: str
    built: bool
    seconds: float


def bundles_dir() -> Path:
    path = cache_dir() / "bundles"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_path(key: str) -> Path:
    return bundles_dir() / f"sunlight-bundle-{key[:16]}.tar.gz"


# --- what the playbooks use -------------------------------------------------------------------


def collections_used(playbooks: Path) -> list[str]:
    """The collections (``namespace.name``) the playbooks, roles and ansible.cfg name, but
    ``ansible.builtin`` (part of ansible-core)."""
    found: set[str] = set()
    files = [p for p in playbooks.rglob("*") if p.suffix in (".yml", ".j2", ".cfg")
             and "collections" not in p.relative_to(playbooks).parts]
    for path in files:
        for groups in _FQCN.findall(path.read_text(encoding="utf-8")):
            ns, name = [g for g in groups if g][:2]
            if f"{ns}.{name}" != "ansible.builtin":
                found.add(f"{ns}.{name}")
    return sorted(found)


def collection_versions(names: list[str], wheels: Path, playbooks: Path) -> dict[str, str]:
    """Each collection's version: from the ``ansible`` wheel in ``wheels`` (the community
    collections) or from the checkout's ``playbooks/collections`` (sunlight.deploy)."""
    versions: dict[str, str] = {}
    ansible = sorted(wheels.glob("ansible-[0-9]*.whl"))
    archive = zipfile.ZipFile(ansible[0]) if ansible else None
    try:
        for name in names:
            ns, coll = name.split(".")
            local = playbooks / "collections" / "ansible_collections" / ns / coll / "galaxy.yml"
            if local.is_file():
                match = re.search(r"^version:\s*['\"]?([^'\"\s]+)", local.read_text(), re.M)
                versions[name] = match.group(1) if match else "unknown"
                continue
            member = f"ansible_collections/{ns}/{coll}/MANIFEST.json"
            if archive is None or member not in archive.namelist():
                raise BundleError(f"collection {name}: in neither the ansible wheel nor "
                                  f"{playbooks / 'collections'}")
            versions[name] = json.loads(archive.read(member))["collection_info"]["version"]
    finally:
        if archive is not None:
            archive.close()
    return versions


# --- staging ----------------------------------------------------------------------------------


def _stage_source(root: Path, dest: Path, progress: Progress) -> None:
    files = tree_files(root)
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)
    progress(f"Source tree: {len(files)} files")


def pack_tree(top: Path, archive: Path, arcname: str = "") -> None:
    """An uncompressed tar of ``top``'s files, in path order, owned by root, dated 0."""
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(top.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=f"{arcname}{path.relative_to(top)}")
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            if path.is_file():
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)


def _stage_apt(mirror: str, dest: Path, progress: Progress) -> dict[str, Any]:
    names = read_package_list()
    root = bundles_dir() / "apt-root"  # apt's lists and archives: a cache between runs
    repo = dest.parent / "apt-repo"
    if repo.exists():
        shutil.rmtree(repo)
    apt_repo.download_packages(names, mirror, root, repo, progress)
    versions = apt_repo.write_index(repo, progress)
    missing = sorted(set(names) - set(versions))
    if missing:
        raise BundleError(f"the apt repository lacks {', '.join(missing)} of the package list")
    dest.parent.mkdir(parents=True, exist_ok=True)
    pack_tree(repo, dest)
    shutil.rmtree(repo)
    return {"mirror": mirror, "suite": SUITE, "architecture": ARCHITECTURE,
            "package_list": names, "packages": versions}


def _stage_image(client: Any, dest: Path, progress: Progress) -> dict[str, Any]:
    from sunlight.control.images.build import ImageBuildError, build_node_image

    try:
        built = build_node_image(progress, client=client)
    except ImageBuildError as exc:
        raise BundleError(str(exc)) from exc
    image = client.images.get(built.image)
    dest.parent.mkdir(parents=True, exist_ok=True)
    progress(f"Saving {built.image} ({int(image.attrs.get('Size', 0)) / 2**20:.0f} MiB)")
    written, shown = 0, 0
    with dest.open("wb") as fh:
        for chunk in image.save(named=built.image):
            fh.write(chunk)
            written += len(chunk)
            if written - shown >= 256 * 2**20:
                shown = written
                progress(f"docker save: {written / 2**20:.0f} MiB written")
    return {"reference": built.image, "id": image.id,
            "source_hash": image.labels.get("io.sunlight.source-hash", "")}


def _stage_wheels(root: Path, dest: Path, progress: Progress) -> dict[str, list[str]]:
    from sunlight.control.images.build import ImageBuildError, build_wheelhouse

    wheels: dict[str, list[str]] = {}
    for name, lock in WHEELHOUSES.items():
        try:
            build_wheelhouse(root, dest / name, progress, locks=(lock,))
        except ImageBuildError as exc:
            raise BundleError(str(exc)) from exc
        wheels[name] = sorted(p.name for p in (dest / name).glob("*.whl"))
    return wheels


def stage_bundle(stage: Path, key: str, mirror: str, client: Any, progress: Progress,
                 root: Path | None = None) -> Manifest:
    """Every part of the bundle under ``stage``, then its manifest (written there too);
    ``client`` None: no node image (the manifest's ``image`` is null)."""
    root = root or repo_root()
    image = _stage_image(client, stage / IMAGE_FILE, progress) if client is not None else None
    wheels = _stage_wheels(root, stage / WHEELS_DIR, progress)
    collections = collection_versions(collections_used(root / "playbooks"),
                                      stage / WHEELS_DIR / "control", root / "playbooks")
    apt = _stage_apt(mirror, stage / APT_FILE, progress)
    _stage_source(root, stage / SOURCE_DIR, progress)
    progress("Checksumming every file (SHA-256)")
    facts = {"sunlight_version": sunlight.__version__, "python": python_tag(),
             "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
             "image": image, "wheels": wheels,
             "collections": collections, "apt": apt}
    manifest = Manifest(key=key, facts=facts, files=file_entries(stage))
    (stage / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def pack_bundle(stage: Path, archive: Path, progress: Progress) -> None:
    """``stage`` as one gzip tar under :data:`TOP`, the manifest first; written to a
    ``.partial`` file renamed at the end (a killed run leaves no half archive in place)."""
    partial = archive.with_name(archive.name + ".partial")
    names = [MANIFEST_NAME, *sorted(p.relative_to(stage).as_posix()
                                    for p in stage.rglob("*") if p.is_file()
                                    and p.name != MANIFEST_NAME)]
    total = sum((stage / n).stat().st_size for n in names)
    done = 0
    with tarfile.open(partial, "w:gz", compresslevel=GZIP_LEVEL,
                      format=tarfile.PAX_FORMAT) as tar:
        for name in names:
            info = tar.gettarinfo(str(stage / name), arcname=f"{TOP}/{name}")
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            with (stage / name).open("rb") as fh:
                tar.addfile(info, fh)
            done += info.size
            if info.size >= 64 * 2**20:
                progress(f"Packed {name} ({info.size / 2**20:.0f} MiB); "
                         f"{done * 100 // max(total, 1)}% of {total / 2**20:.0f} MiB")
    partial.replace(archive)


@contextlib.contextmanager
def _key_lock(key: str) -> Iterator[None]:
    """One creator per key: a second waits, then finds the cached archive."""
    with (bundles_dir() / f"{key[:16]}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def create_bundle(progress: Progress, out: Path | None = None, force: bool = False,
                  connect: Callable[[], Any] | None = None, image: bool = True) -> CreateResult:
    """The bundle of the current sources and mirror: from the cache when its key is there
    (``force`` rebuilds), else built; copied to ``out`` when given. ``connect`` returns the
    Docker client (called only when the bundle is built with its image; default:
    ``docker.from_env``). ``image`` False: without the node image, for sites of machines
    Sunlight did not create (they need the wheels and packages only)."""
    started = time.monotonic()
    root = repo_root()
    mirror = apt_mirror()
    key = bundle_key(root, mirror, image=image)
    cached = cache_path(key)
    progress(f"Bundle key {key[:16]} (sources, locks, package list, mirror {mirror})")
    built = False
    with _key_lock(key):
        if cached.is_file() and not force:
            progress(f"Cached bundle {cached} matches the inputs; not rebuilding")
        else:
            if connect is None:
                import docker

                connect = docker.from_env
            client = connect() if image else None
            stage = bundles_dir() / f"stage-{key[:16]}"
            if stage.exists():
                shutil.rmtree(stage)
            stage.mkdir()
            try:
                manifest = stage_bundle(stage, key, mirror, client, progress, root)
                progress(f"Packing {len(manifest.files) + 1} files "
                         f"({manifest.total_bytes() / 2**20:.0f} MiB) into {cached.name}")
                pack_bundle(stage, cached, progress)
            finally:
                shutil.rmtree(stage, ignore_errors=True)
            built = True
    target = cached
    if out is not None and out.resolve() != cached.resolve():
        out.parent.mkdir(parents=True, exist_ok=True)
        progress(f"Copying to {out}")
        shutil.copyfile(cached, out)
        target = out
    digest = sha256_file(target)
    return CreateResult(target, key, target.stat().st_size, digest, built,
                        time.monotonic() - started)
