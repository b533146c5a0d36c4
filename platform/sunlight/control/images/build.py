"""Build the node image: base, wheelhouse, build context, ``docker build``; never twice.

The tag is the source hash (:mod:`sunlight.control.images.source_hash`), so an image whose tag is
present is current and is not rebuilt unless forced.

Example::

    >>> from sunlight.control.images.build import build_node_image
    >>> result = build_node_image(progress=print)  # doctest: +SKIP
    Image sunlight/node:3f9a... is current (sources unchanged); not rebuilding.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

import sunlight
from sunlight.control.images.base import BaseSpec, ensure_base
from sunlight.control.images.mirror import MirrorError
from sunlight.control.images.source_hash import image_tag, source_hash
from sunlight.paths import build_dir, node_image_dir, repo_root

NODE_REPOSITORY = "sunlight/node"
LABEL_SOURCE_HASH = "io.sunlight.source-hash"
LABEL_VERSION = "org.opencontainers.image.version"
LABEL_REVISION = "org.opencontainers.image.revision"

Progress = Callable[[str], None]


class ImageBuildError(RuntimeError):
    """The build failed; the message carries the failing step's last output."""


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build_node_image` did."""

    image: str
    built: bool
    size_bytes: int
    seconds: float


def expected_image(root: Path | None = None) -> str:
    """The reference the current sources build to, e.g. ``sunlight/node:3f9a0c1d2e4b5a6f``."""
    return f"{NODE_REPOSITORY}:{image_tag(root or repo_root())}"


def git_revision(root: Path) -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True,
        check=False,
    )
    revision = out.stdout.strip() if out.returncode == 0 else "unknown"
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
        capture_output=True, text=True, check=False,
    ).stdout.strip()
    return f"{revision}-dirty" if dirty and revision != "unknown" else revision


def build_wheelhouse(root: Path, wheelhouse: Path, progress: Progress,
                     locks: tuple[str, ...] = ("node.lock",)) -> None:
    """Wheels for each lock's pins (``requirements/<lock>``) and for sunlight itself; the
    node image takes the node lock's, the air-gap bundle the control lock's too."""
    if wheelhouse.exists():
        shutil.rmtree(wheelhouse)
    wheelhouse.mkdir(parents=True)
    steps = [(f"dependencies ({lock})", ["-r", str(root / "requirements" / lock)])
             for lock in locks]
    steps.append(("sunlight", ["--no-deps", str(root)]))
    for label, args in steps:
        progress(f"Building wheels: {label}")
        cmd = [sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(wheelhouse), *args]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise ImageBuildError(f"pip wheel ({label}) failed:\n{out.stderr[-3000:]}")
    progress(f"Wheelhouse ready: {len(list(wheelhouse.glob('*.whl')))} wheels")


def _assemble_context(root: Path, context: Path, progress: Progress) -> None:
    src = node_image_dir(root)
    if context.exists():
        shutil.rmtree(context)
    context.mkdir(parents=True)
    shutil.copy2(src / "Dockerfile", context / "Dockerfile")
    shutil.copy2(src / "packages.txt", context / "packages.txt")
    shutil.copytree(src / "rootfs", context / "rootfs")
    shutil.copy2(root / "requirements" / "node.lock", context / "node.lock")
    build_wheelhouse(root, context / "wheelhouse", progress)


def _stream_build(client: docker.DockerClient, context: Path, tag: str, buildargs: dict[str, str],
                  progress: Progress) -> None:
    tail: list[str] = []
    stream = client.api.build(
        path=str(context), tag=tag, buildargs=buildargs, rm=True, forcerm=True, decode=True,
        pull=False,
    )
    for chunk in stream:
        if "error" in chunk:
            raise ImageBuildError(
                f"docker build failed: {chunk['error']}\n" + "".join(tail[-25:])
            )
        text = chunk.get("stream", "")
        if not text:
            continue
        tail.append(text)
        line = text.strip()
        if line.startswith("Step "):
            progress(line)


@contextlib.contextmanager
def _build_lock(root: Path) -> Iterator[None]:
    """One build at a time per checkout: a second builder waits, then finds the image."""
    with (build_dir(root) / "node-image.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_node_image(progress: Progress, force: bool = False,
                     client: docker.DockerClient | None = None) -> BuildResult:
    """Build ``sunlight/node:<source hash>`` unless it is present (``force`` rebuilds)."""
    started = time.monotonic()
    root = repo_root()
    client = client or docker.from_env()
    with _build_lock(root):
        full_hash = source_hash(root)
        image = f"{NODE_REPOSITORY}:{image_tag(root)}"
        if not force:
            try:
                existing = client.images.get(image)
                progress(f"Image {image} is current (sources unchanged); not rebuilding.")
                return BuildResult(image, False, int(existing.attrs.get("Size", 0)),
                                   time.monotonic() - started)
            except docker.errors.ImageNotFound:
                pass
        progress(f"Building {image} (source hash {full_hash[:16]})")
        try:
            spec = BaseSpec()  # the mirror is configuration: SUNLIGHT_APT_MIRROR
        except MirrorError as exc:
            raise ImageBuildError(str(exc)) from exc
        base = ensure_base(client, spec, progress)
        context = build_dir(root) / "node-image-context"
        _assemble_context(root, context, progress)
        buildargs = {
            "BASE": base,
            "VERSION": sunlight.__version__,
            "REVISION": git_revision(root),
            "SOURCE_HASH": full_hash,
        }
        _stream_build(client, context, image, buildargs, progress)
    built = client.images.get(image)
    built.tag(NODE_REPOSITORY, "latest")
    size = int(built.attrs.get("Size", 0))
    progress(f"Built {image}: {size / 2**20:.0f} MiB")
    return BuildResult(image, True, size, time.monotonic() - started)
