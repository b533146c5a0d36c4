"""Where things live: the source checkout, the per-user cache, the logs.

Example::

    >>> from sunlight.paths import repo_root
    >>> (repo_root() / "pyproject.toml").is_file()  # doctest: +SKIP
    True
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent  # platform/sunlight


class SourceTreeNotFound(RuntimeError):
    """Raised when a command that needs the source checkout runs from an installed wheel."""


def repo_root() -> Path:
    """The checkout this package was installed from (editable install), or $SUNLIGHT_ROOT."""
    env = os.environ.get("SUNLIGHT_ROOT")
    if env:
        return Path(env).resolve()
    # platform/sunlight -> the checkout is two levels above the package.
    candidate = PACKAGE_DIR.parent.parent
    if (candidate / "pyproject.toml").is_file() and (candidate / "platform").is_dir():
        return candidate
    raise SourceTreeNotFound(
        "this command needs the Sunlight source checkout; run it from the checkout's "
        "virtual environment (make setup) or set SUNLIGHT_ROOT to the checkout"
    )


def node_image_dir(root: Path | None = None) -> Path:
    """The node image's build inputs: Dockerfile, package list, files copied into the root."""
    return (root or repo_root()) / "platform" / "node-image"


def cache_dir() -> Path:
    """Per-user cache (debootstrap tarballs) that outlives checkouts: $XDG_CACHE_HOME/sunlight."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    path = Path(base) / "sunlight"
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_dir() -> Path:
    """Per-user state (the control node's SSH key): $XDG_STATE_HOME/sunlight."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    path = Path(base) / "sunlight"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def build_dir(root: Path | None = None) -> Path:
    """Scratch space for built artefacts (wheelhouse, build context); never hashed."""
    path = (root or repo_root()) / "build"
    path.mkdir(parents=True, exist_ok=True)
    return path
