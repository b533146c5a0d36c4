"""The bundle's cache key: a hash of its inputs, never of what was built from them.

The inputs are the source tree (every file git tracks or would track: the application, the
Dockerfile, the package list, the locks, the playbooks and their collections), the apt
mirror, suite and architecture the packages come from, the Python the wheels are for and the
bundle format. The same inputs give the same key, and ``sunlight bundle create`` then reuses
the cached archive; the mirror's *contents* are not an input (a point release of bookworm
does not change the key: ``--force`` rebuilds).

Example::

    >>> from pathlib import Path
    >>> from sunlight.control.bundle.key import bundle_key
    >>> len(bundle_key(Path("."), "http://deb.debian.org/debian"))  # doctest: +SKIP
    64
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from sunlight.control.bundle.manifest import FORMAT, BundleError
from sunlight.control.images.mirror import ARCHITECTURE, SUITE


def tree_files(root: Path) -> list[str]:
    """Relative paths, sorted, of the checkout's files (tracked, or untracked and not ignored)
    that still exist; byte-code never counts."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root, capture_output=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BundleError(f"cannot list the source tree under {root} (a git checkout?): {exc}") \
            from exc
    names = {p for p in out.decode().split("\0") if p}
    return sorted(p for p in names if "__pycache__" not in p and not p.endswith(".pyc")
                  and (root / p).is_file() and not (root / p).is_symlink())


def python_tag() -> str:
    """The interpreter the wheelhouse is for, e.g. ``cp311-linux-x86_64``."""
    return f"cp{sys.version_info.major}{sys.version_info.minor}-{sys.platform}-x86_64"


def bundle_key(root: Path, mirror: str, python: str | None = None, image: bool = True) -> str:
    """SHA-256 over the bundle's inputs (see the module's docstring); ``image``: whether
    the bundle carries the node image (``bundle create --no-image`` makes one without)."""
    digest = hashlib.sha256()
    head = f"format={FORMAT}\0mirror={mirror}\0suite={SUITE}\0arch={ARCHITECTURE}\0" \
           f"python={python or python_tag()}\0" + ("" if image else "image=none\0")
    digest.update(head.encode())
    for rel in tree_files(root):
        path = root / rel
        content = path.read_bytes()
        executable = path.stat().st_mode & 0o111 != 0
        digest.update(f"{rel}\0{int(executable)}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()
