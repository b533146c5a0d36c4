"""Fixtures of the catalogue tests."""

from __future__ import annotations

import pytest

from sunlight.catalogue import Catalogue, sample_catalogue


@pytest.fixture
def sample() -> Catalogue:
    """The shipped sample catalogue (cached and immutable, so sharing it is safe)."""
    return sample_catalogue()
