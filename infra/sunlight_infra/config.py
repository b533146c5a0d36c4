"""Read the stack's ``sunlight:*`` config once, into a validated SiteConfig.

Validation is :func:`sunlight.topology.config.parse_site_config`, a pure function: bad
config fails here, naming each field, before any resource is declared. Every key read here
is declared, with its type and description, in ``infra/Pulumi.yaml``'s ``config:`` block
(``tests/infra/test_stack_schema.py`` holds the two together). Pulumi's config schema has
no object type, so the address plan is five flat keys (:data:`PLAN_KEYS`), gathered here
into SiteConfig's ``address_plan``.

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
# The fields of SiteConfig's ``address_plan`` (SiteAddressPlan), each its own stack key.
PLAN_FIELD = "address_plan"
PLAN_KEYS = ("ext_subnet", "int_subnet", "mgmt_subnet", "backbone_subnet", "backbone_slot")
SITE_KEYS = SCALAR_KEYS + PLAN_KEYS


def read_site_config(config: pulumi.Config | None = None) -> SiteConfig:
    """The site's config from the current stack (``pulumi.Config()``).

    An empty value counts as unset: Pulumi.yaml gives ``parent_code`` the default ``""``
    (a province has none, and Pulumi's schema cannot say "optional" otherwise).
    """
    config = config or pulumi.Config()
    raw: dict[str, Any] = {}
    for key in SCALAR_KEYS:
        value = config.get(key)
        if value:
            raw[key] = value
    plan = {key: value for key in PLAN_KEYS if (value := config.get(key))}
    if plan:
        raw[PLAN_FIELD] = plan
    return parse_site_config(raw)
