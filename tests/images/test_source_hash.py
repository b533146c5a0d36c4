"""The image tag is a hash of source inputs: stable, sensitive, blind to built artefacts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sunlight.control.images.source_hash import (
    SourceHashError,
    image_tag,
    source_files,
    source_hash,
)


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A minimal checkout: node lock, pyproject, and a platform/ tree, committed."""
    root = tmp_path / "repo"
    (root / "platform" / "sunlight").mkdir(parents=True)
    (root / "platform" / "node-image").mkdir(parents=True)
    (root / "requirements").mkdir()
    (root / "platform" / "sunlight" / "__init__.py").write_text("VERSION = 1\n")
    (root / "platform" / "node-image" / "Dockerfile").write_text("FROM base\n")
    (root / "platform" / "node-image" / "packages.txt").write_text("systemd\n")
    (root / "requirements" / "node.lock").write_text("fastapi==1.0\n")
    (root / "pyproject.toml").write_text("[project]\nname='x'\n")
    (root / ".gitignore").write_text("/build/\n__pycache__/\n")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-qm", "init")
    return root


def test_same_sources_give_same_tag(checkout: Path, tmp_path: Path) -> None:
    first = source_hash(checkout)
    assert source_hash(checkout) == first
    # A second clone of the same commit, elsewhere, hashes the same.
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(checkout), str(clone)], check=True)
    assert source_hash(clone) == first
    assert len(image_tag(checkout)) == 16


@pytest.mark.parametrize(
    "rel",
    [
        "requirements/node.lock",
        "pyproject.toml",
        "platform/node-image/Dockerfile",
        "platform/node-image/packages.txt",
        "platform/sunlight/__init__.py",
    ],
)
def test_one_changed_source_gives_new_tag(checkout: Path, rel: str) -> None:
    before = source_hash(checkout)
    path = checkout / rel
    path.write_text(path.read_text() + "# changed\n")
    assert source_hash(checkout) != before


def test_new_untracked_source_file_counts(checkout: Path) -> None:
    before = source_hash(checkout)
    (checkout / "platform" / "sunlight" / "new_module.py").write_text("X = 1\n")
    assert source_hash(checkout) != before


def test_executable_bit_counts(checkout: Path) -> None:
    before = source_hash(checkout)
    (checkout / "platform" / "node-image" / "Dockerfile").chmod(0o755)
    assert source_hash(checkout) != before


def test_built_artefacts_never_change_the_tag(checkout: Path) -> None:
    before = source_hash(checkout)
    wheelhouse = checkout / "build" / "node-image-context" / "wheelhouse"
    wheelhouse.mkdir(parents=True)
    (wheelhouse / "sunlight-0.1.0-py3-none-any.whl").write_bytes(b"first build")
    assert source_hash(checkout) == before
    # Rebuilding the wheels gives other bytes; the tag stays.
    (wheelhouse / "sunlight-0.1.0-py3-none-any.whl").write_bytes(b"second build, other bytes")
    cache = checkout / "platform" / "sunlight" / "__pycache__"
    cache.mkdir()
    (cache / "__init__.cpython-311.pyc").write_bytes(b"\x00bytecode")
    assert source_hash(checkout) == before
    assert not any("build/" in f or "__pycache__" in f for f in source_files(checkout))


def test_missing_lock_is_a_clear_error(checkout: Path) -> None:
    (checkout / "requirements" / "node.lock").unlink()
    with pytest.raises(SourceHashError, match=r"requirements/node\.lock"):
        source_hash(checkout)


def test_not_a_checkout_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceHashError, match="cannot list the sources"):
        source_hash(tmp_path)
