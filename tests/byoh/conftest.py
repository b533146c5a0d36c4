"""Hosts-file fixtures: the complete example of docs/hosts-file.md, parsed from the doc."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

DOC = Path(__file__).resolve().parents[2] / "docs" / "hosts-file.md"
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJTnK9JyXm1gGp9oUkqeuofQoqaUprIfp8fYzK/CXggu"


def example_document() -> dict[str, Any]:
    """The first ```yaml block of docs/hosts-file.md."""
    block = re.search(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert block, "docs/hosts-file.md has no yaml example"
    data: dict[str, Any] = yaml.safe_load(block.group(1))
    return data


@pytest.fixture
def doc() -> dict[str, Any]:
    return copy.deepcopy(example_document())
