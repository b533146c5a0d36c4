"""The bundle's cache key: the same inputs give the same key; any input changes it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sunlight.control.bundle.key import bundle_key, tree_files
from sunlight.control.images.mirror import DEFAULT_APT_MIRROR
from sunlight.control.images.source_hash import source_hash

MIRROR = DEFAULT_APT_MIRROR


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for rel, text in {
        "platform/sunlight/__init__.py": "VERSION = 1\n",
        "platform/node-image/packages.txt": "systemd\n",
        "playbooks/site.yml": "---\n",
        "requirements/node.lock": "fastapi==1.0\n",
        "requirements/control.lock": "typer==0.12\n",
        "pyproject.toml": "[project]\nname='x'\n",
        ".gitignore": "/build/\n__pycache__/\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-qm", "init")
    return root


def test_the_same_inputs_give_the_same_key_anywhere(checkout: Path, tmp_path: Path) -> None:
    key = bundle_key(checkout, MIRROR, python="cp311-linux-x86_64")
    assert bundle_key(checkout, MIRROR, python="cp311-linux-x86_64") == key
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(checkout), str(clone)], check=True)
    assert bundle_key(clone, MIRROR, python="cp311-linux-x86_64") == key


@pytest.mark.parametrize("rel", ["playbooks/site.yml", "requirements/control.lock",
                                 "platform/node-image/packages.txt"])
def test_a_changed_input_file_gives_a_new_key(checkout: Path, rel: str) -> None:
    before = bundle_key(checkout, MIRROR)
    (checkout / rel).write_text((checkout / rel).read_text() + "# changed\n")
    assert bundle_key(checkout, MIRROR) != before


def test_the_mirror_and_the_python_are_inputs(checkout: Path) -> None:
    key = bundle_key(checkout, MIRROR, python="cp311-linux-x86_64")
    assert bundle_key(checkout, "http://10.0.0.5/debian", python="cp311-linux-x86_64") != key
    assert bundle_key(checkout, MIRROR, python="cp312-linux-x86_64") != key
    assert bundle_key(checkout, MIRROR, python="cp311-linux-x86_64", image=False) != key


def test_built_artefacts_and_byte_code_are_not_inputs(checkout: Path) -> None:
    before = bundle_key(checkout, MIRROR)
    (checkout / "build").mkdir()
    (checkout / "build" / "sunlight-bundle.tar.gz").write_bytes(b"built")
    (checkout / "platform" / "sunlight" / "__pycache__").mkdir()
    (checkout / "platform" / "sunlight" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert bundle_key(checkout, MIRROR) == before
    assert "playbooks/site.yml" in tree_files(checkout)


def test_the_bundles_source_tree_hashes_to_the_images_tag(checkout: Path,
                                                          tmp_path: Path) -> None:
    """An installed bundle's source (no .git: the files git listed) names the same node
    image as the checkout it was made from, so `up` finds the loaded image."""
    copy = tmp_path / "source"
    for rel in tree_files(checkout):
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        (copy / rel).write_bytes((checkout / rel).read_bytes())
    assert not (copy / ".git").exists()
    assert source_hash(copy) == source_hash(checkout)
