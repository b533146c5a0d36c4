"""The manifest: every file's size and SHA-256; any difference refuses the tree, naming the file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sunlight.control.bundle.manifest import (
    MANIFEST_NAME,
    BundleTampered,
    Manifest,
    read_manifest,
    verify_tree,
)


def test_the_manifest_lists_every_file_with_its_sha256(staged: Path) -> None:
    manifest = read_manifest(staged)
    listed = {p.relative_to(staged).as_posix() for p in staged.rglob("*")
              if p.is_file() and p.name != MANIFEST_NAME}
    assert set(manifest.files) == listed
    for rel, entry in manifest.files.items():
        data = (staged / rel).read_bytes()
        assert entry.sha256 == hashlib.sha256(data).hexdigest() and entry.size == len(data)
    assert verify_tree(staged).key == "ab" * 32


def test_the_manifest_round_trips_through_json(staged: Path) -> None:
    manifest = read_manifest(staged)
    again = Manifest.from_json(manifest.to_json())
    assert again == manifest
    assert again.facts["image"]["reference"] == "sunlight/node:0123"


def test_a_changed_byte_of_the_same_size_is_refused_naming_the_file(staged: Path) -> None:
    wheel = staged / "wheels" / "control" / "sunlight-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"wheel bytez")  # same size: only the checksum tells
    with pytest.raises(BundleTampered,
                       match=r"wheels/control/sunlight-0\.1\.0-py3-none-any\.whl: SHA-256"):
        verify_tree(staged)


def test_a_longer_file_is_refused_naming_it(staged: Path) -> None:
    with (staged / "source" / "playbooks" / "site.yml").open("a") as fh:
        fh.write("- hosts: all\n")
    with pytest.raises(BundleTampered, match=r"source/playbooks/site\.yml: size"):
        verify_tree(staged)


def test_a_missing_file_is_refused_naming_it(staged: Path) -> None:
    (staged / "apt" / "sunlight-apt.tar").unlink()
    with pytest.raises(BundleTampered, match=r"apt/sunlight-apt\.tar: listed .* but missing"):
        verify_tree(staged)


def test_an_added_file_is_refused_naming_it(staged: Path) -> None:
    (staged / "wheels" / "evil-1.0-py3-none-any.whl").write_bytes(b"x")
    with pytest.raises(BundleTampered, match=r"wheels/evil-1\.0-py3-none-any\.whl: not listed"):
        verify_tree(staged)


def test_a_symlink_is_refused(staged: Path) -> None:
    (staged / "source" / "link").symlink_to("/etc/passwd")
    with pytest.raises(BundleTampered, match="source/link: not a regular file"):
        verify_tree(staged)


def test_no_manifest_is_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleTampered, match=r"manifest\.json: missing"):
        verify_tree(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text("{}")
    with pytest.raises(BundleTampered, match="not a bundle manifest"):
        verify_tree(tmp_path)
