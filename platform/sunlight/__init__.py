"""Sunlight: a reproducible, tiered deployment of the power-operation platform.

The package holds the application and the ``sunlight`` command that builds the node
image, drives hosts and (in later issues) realizes and verifies whole topologies.

Example::

    >>> import sunlight
    >>> sunlight.__version__  # doctest: +SKIP
    '0.1.0'
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sunlight")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
