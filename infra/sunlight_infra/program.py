"""The composition root as a function: declare one site from a validated SiteConfig.

``__main__.py`` calls it under ``pulumi up``, with the stack's engine when it sets
``docker:host`` (:mod:`sunlight_infra.engine`); the realizer and the policy tests call it
inside ``pulumi.runtime.set_mocks`` on the default provider.

Example::

    >>> from sunlight_infra.program import declare_site
    >>> site = declare_site(config)  # doctest: +SKIP
"""

from __future__ import annotations

import pulumi

from sunlight.topology.config import SiteConfig
from sunlight.topology.flows import FlowMatrix, load_flows

from .engine import EngineConfig, engine_provider
from .site import Site, SiteArgs


def declare_site(config: SiteConfig, flows: FlowMatrix | None = None,
                 engine: EngineConfig | None = None) -> Site:
    """Declare the site's networks, volumes and hosts; ``flows`` defaults to flows.yaml.

    With ``engine``, every resource is declared through one explicit Docker provider for it
    (the site's children inherit it); without, through Pulumi's default provider.
    """
    provider = engine_provider(f"{config.division_code}-engine", engine)
    opts = pulumi.ResourceOptions(providers=[provider]) if provider else None
    return Site(config.division_code, SiteArgs(config, flows or load_flows()), opts)
