"""The one package list shared by the node image and the Ansible roles.

Example::

    >>> from sunlight.control.images.packages import read_package_list
    >>> "openssh-server" in read_package_list()  # doctest: +SKIP
    True
"""

from __future__ import annotations

from pathlib import Path

from sunlight.paths import node_image_dir


def parse_package_list(text: str) -> list[str]:
    """Package names in file order; '#' starts a comment, blank lines are ignored."""
    names: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if len(line.split()) != 1:
            raise ValueError(f"packages.txt line {number}: one package name per line, got {line!r}")
        names.append(line)
    return names


def read_package_list(path: Path | None = None) -> list[str]:
    return parse_package_list((path or node_image_dir() / "packages.txt").read_text())
