"""The composition root as a function: declare one site from a validated SiteConfig.

``__main__.py`` calls it under ``pulumi up``; the realizer and the policy tests call it
inside ``pulumi.runtime.set_mocks``.

Example::

    >>> from sunlight_infra.program import declare_site
    >>> site = declare_site(config)  # doctest: +SKIP
"""

from __future__ import annotations

from sunlight.topology.config import SiteConfig
from sunlight.topology.flows import FlowMatrix, load_flows

from .site import Site, SiteArgs


def declare_site(config: SiteConfig, flows: FlowMatrix | None = None) -> Site:
    """Declare the site's networks, volumes and hosts; ``flows`` defaults to flows.yaml."""
    return Site(config.division_code, SiteArgs(config, flows or load_flows()))
