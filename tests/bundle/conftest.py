"""A small staged bundle (real files, real manifest) for the manifest and install tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from sunlight.control.bundle.create import APT_FILE, IMAGE_FILE, pack_bundle
from sunlight.control.bundle.manifest import MANIFEST_NAME, Manifest, file_entries


def stage_tree(stage: Path, image: bool = True) -> Manifest:
    """Stand-ins for each part, then the manifest of them, as create's staging leaves it
    (``image`` False: as ``bundle create --no-image`` leaves it)."""
    files = {
        **({IMAGE_FILE: b"image layers" * 100} if image else {}),
        "wheels/control/sunlight-0.1.0-py3-none-any.whl": b"wheel bytes",
        "source/playbooks/site.yml": b"---\n- import_playbook: secrets.yml\n",
        "source/requirements/control.lock": b"typer==0.12.0\n",
        APT_FILE: b"apt repository tar",
    }
    for rel, data in files.items():
        (stage / rel).parent.mkdir(parents=True, exist_ok=True)
        (stage / rel).write_bytes(data)
    facts = {"image": {"reference": "sunlight/node:0123"} if image else None}
    manifest = Manifest(key="ab" * 32, facts=facts, files=file_entries(stage))
    (stage / MANIFEST_NAME).write_text(manifest.to_json())
    return manifest


@pytest.fixture
def staged(tmp_path: Path) -> Path:
    stage = tmp_path / "stage"
    stage.mkdir()
    stage_tree(stage)
    return stage


@pytest.fixture
def archive(staged: Path, tmp_path: Path) -> Path:
    out = tmp_path / "bundle.tar.gz"
    pack_bundle(staged, out, lambda _m: None)
    return out
