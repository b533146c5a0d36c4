"""The examples in the exchange modules' docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["", ".envelope", ".signing", ".schemas", ".sequencing", ".topology", ".inbound",
           ".handlers", ".metrics", ".status"]


@pytest.mark.parametrize("suffix", MODULES)
def test_docstring_examples(suffix: str) -> None:
    module = importlib.import_module("sunlight.runtime.exchange" + suffix)
    assert module.__doc__ and "Example::" in module.__doc__
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
