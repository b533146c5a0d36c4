"""The examples in the catalogue modules' docstrings run and stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "sunlight.catalogue", "sunlight.catalogue.flow", "sunlight.catalogue.model",
    "sunlight.catalogue.errors", "sunlight.catalogue.discretion",
    "sunlight.catalogue.versioning", "sunlight.catalogue.io_yaml",
    "sunlight.catalogue.io_excel", "sunlight.catalogue._excel_read",
    "sunlight.catalogue.layout", "sunlight.catalogue.sample", "sunlight.catalogue.forms",
    "sunlight.catalogue.journey", "sunlight.catalogue.flowchart",
    "sunlight.catalogue.form_fields",
]


@pytest.mark.parametrize("name", MODULES)
def test_module_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0
