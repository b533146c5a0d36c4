"""The node image's tag: a hash of its *source* inputs, never of built artefacts.

Inputs are the node lock, ``pyproject.toml`` and the files git tracks (or would track: not
ignored) under ``platform/`` — which includes the Dockerfile, the package list and the
application. Wheels and tarballs are not byte-reproducible, so they are never hashed:
rebuilding the wheelhouse never changes the tag, and unchanged sources never rebuild.

Example::

    >>> from pathlib import Path
    >>> from sunlight.control.images.source_hash import source_hash
    >>> len(source_hash(Path(".")))  # doctest: +SKIP
    64
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

#: Files outside platform/ that shape the image.
EXTRA_INPUTS = ("requirements/node.lock", "pyproject.toml")
#: The tree whose tracked files shape the image.
SOURCE_TREE = "platform"
TAG_LENGTH = 16


class SourceHashError(RuntimeError):
    """The inputs cannot be listed (not a git checkout, a required file missing)."""


def _walked(root: Path) -> set[str]:
    """The files under ``root/SOURCE_TREE`` of a tree that is not a git checkout (an
    installed air-gap bundle's source: exactly the files git listed where it was made)."""
    return {p.relative_to(root).as_posix() for p in (root / SOURCE_TREE).rglob("*")
            if p.is_file()}


def source_files(root: Path) -> list[str]:
    """Relative paths, sorted, of every file that goes into the hash."""
    if (root / SOURCE_TREE).is_dir() and not (root / ".git").exists():
        listed = _walked(root)
        return _with_extras(root, listed)
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", SOURCE_TREE],
            cwd=root, capture_output=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SourceHashError(f"cannot list the sources under {root}/{SOURCE_TREE}: {exc}") from exc
    listed = {p for p in out.decode().split("\0") if p}
    return _with_extras(root, listed)


def _with_extras(root: Path, listed: set[str]) -> list[str]:
    for extra in EXTRA_INPUTS:
        if not (root / extra).is_file():
            raise SourceHashError(f"required image input {extra} is missing under {root}")
        listed.add(extra)
    # Python byte-code never counts, even where .gitignore forgot it.
    return sorted(p for p in listed if "__pycache__" not in p and not p.endswith(".pyc"))


def source_hash(root: Path) -> str:
    """SHA-256 over (path, mode, content) of every source input; stable across machines."""
    digest = hashlib.sha256()
    for rel in source_files(root):
        path = root / rel
        if not path.is_file():  # deleted in the work tree but still in the index
            continue
        executable = path.stat().st_mode & 0o111 != 0
        content = path.read_bytes()
        digest.update(f"{rel}\0{int(executable)}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def image_tag(root: Path) -> str:
    """The short tag used on the image (a prefix of :func:`source_hash`)."""
    return source_hash(root)[:TAG_LENGTH]
