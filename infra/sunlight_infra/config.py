"""Read the stack's ``sunlight:*`` config once, into a validated SiteConfig.

Validation is :func:`sunlight.topology.config.parse_site_config`, a pure function: bad
config fails here, naming each field, before any resource is declared.

Example::

    >>> from sunlight_infra.config import read_site_config
    >>> config = read_site_config()  # doctest: +SKIP  (inside `pulumi up`)
"""

from __future__ import annotations

from typing import Any

import pulumi

from sunlight.topology.config import SiteConfig, parse_site_config

# Stack config keys (``sunlight:<key>`` in Pulumi.<code>.yaml), as SiteConfig's fields.
SCALAR_KEYS = ("run_id", "division_code", "parent_code", "profile", "image",
               "portal_port", "control_public_key", "backbone_network")
OBJECT_KEYS = ("address_plan",)


def read_site_config(config: pulumi.Config | None = None) -> SiteConfig:
    """The site's config from the current stack (``pulumi.Config()``)."""
    config = config or pulumi.Config()
    raw: dict[str, Any] = {}
    for key in SCALAR_KEYS:
        value = config.get(key)
        if value is not None:
            raw[key] = value
    for key in OBJECT_KEYS:
        obj = config.get_object(key)
        if obj is not None:
            raw[key] = obj
    return parse_site_config(raw)
