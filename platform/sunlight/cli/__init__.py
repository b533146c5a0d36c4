"""The ``sunlight`` command: deployment, operations, load and on-host commands.

``sunlight.cli.main`` holds the application; each other module registers one group of
commands. Nothing here is imported by the control or runtime packages.
"""

from __future__ import annotations


def main() -> None:
    """The console script's entry point (``sunlight``)."""
    from sunlight.cli.main import main as run

    run()


__all__ = ["main"]
