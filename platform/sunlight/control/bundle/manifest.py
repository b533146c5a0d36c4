"""The bundle's manifest: what it holds (versions) and every file's size and SHA-256.

The manifest is ``manifest.json`` at the top of the bundle; ``files`` maps each other file's
path (relative, ``/``-separated) to its size and SHA-256. :func:`verify_tree` refuses a tree
that differs from it in any way — a changed, missing or added file — naming the file.

Example::

    >>> from pathlib import Path
    >>> from sunlight.control.bundle.manifest import Manifest, file_entries
    >>> m = Manifest(key="k", facts={}, files=file_entries(Path("some/dir")))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"
FORMAT = 1
CHUNK = 1 << 20


class BundleError(RuntimeError):
    """The bundle cannot be made or used; the message names the step or file."""


class BundleTampered(BundleError):
    """A file differs from the manifest (changed, missing or not listed); the message names it."""


@dataclass(frozen=True)
class FileEntry:
    size: int
    sha256: str


@dataclass
class Manifest:
    """``key``: the cache key of the inputs; ``facts``: versions (image, wheels, packages...);
    ``files``: path -> :class:`FileEntry` for every file but the manifest itself."""

    key: str
    facts: dict[str, Any]
    files: dict[str, FileEntry] = field(default_factory=dict)
    format: int = FORMAT

    def to_json(self) -> str:
        return json.dumps({
            "format": self.format, "key": self.key, **self.facts,
            "files": {p: {"size": e.size, "sha256": e.sha256}
                      for p, e in sorted(self.files.items())},
        }, indent=2, sort_keys=False, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        try:
            data = json.loads(text)
            fmt = int(data.pop("format"))
            key = str(data.pop("key"))
            files = {str(p): FileEntry(int(e["size"]), str(e["sha256"]))
                     for p, e in data.pop("files").items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BundleTampered(f"{MANIFEST_NAME}: not a bundle manifest ({exc})") from exc
        if fmt != FORMAT:
            raise BundleError(f"{MANIFEST_NAME}: format {fmt}; this sunlight reads format {FORMAT}")
        return cls(key=key, facts=data, files=files, format=fmt)

    def total_bytes(self) -> int:
        return sum(e.size for e in self.files.values())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def walk_files(top: Path) -> Iterator[str]:
    """Relative ``/``-separated paths of the regular files under ``top``, sorted; a symlink
    or other special file is refused (a bundle holds plain files only)."""
    for path in sorted(top.rglob("*")):
        rel = path.relative_to(top).as_posix()
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise BundleTampered(f"{rel}: not a regular file (bundles hold plain files only)")
        if path.is_file():
            yield rel


def file_entries(top: Path, skip: tuple[str, ...] = (MANIFEST_NAME,)) -> dict[str, FileEntry]:
    """Size and SHA-256 of every file under ``top`` (but ``skip``)."""
    return {rel: FileEntry((top / rel).stat().st_size, sha256_file(top / rel))
            for rel in walk_files(top) if rel not in skip}


def read_manifest(top: Path) -> Manifest:
    path = top / MANIFEST_NAME
    if not path.is_file():
        raise BundleTampered(f"{MANIFEST_NAME}: missing (not a Sunlight bundle)")
    return Manifest.from_json(path.read_text(encoding="utf-8"))


def verify_tree(top: Path) -> Manifest:
    """The manifest of the unpacked bundle at ``top``, once every file matches it; otherwise
    :class:`BundleTampered` naming the first file that does not (in path order)."""
    manifest = read_manifest(top)
    found = set(walk_files(top)) - {MANIFEST_NAME}
    for rel in sorted(found | set(manifest.files)):
        entry = manifest.files.get(rel)
        if entry is None:
            raise BundleTampered(f"{rel}: not listed in the manifest (added to the bundle)")
        if rel not in found:
            raise BundleTampered(f"{rel}: listed in the manifest but missing from the bundle")
        path = top / rel
        size = path.stat().st_size
        if size != entry.size:
            raise BundleTampered(f"{rel}: size {size} bytes, the manifest says {entry.size}")
        digest = sha256_file(path)
        if digest != entry.sha256:
            raise BundleTampered(f"{rel}: SHA-256 {digest}, the manifest says {entry.sha256}")
    return manifest
