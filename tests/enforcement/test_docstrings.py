"""The examples in each enforcement module's docstring run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["", ".errors", ".party", ".discretion", ".officers", ".flow", ".decision"]


@pytest.mark.parametrize("suffix", MODULES)
def test_docstring_examples(suffix: str) -> None:
    module = importlib.import_module("sunlight.enforcement" + suffix)
    assert module.__doc__ and "Example::" in module.__doc__
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
