"""Pure data and rules of a Sunlight site: no Pulumi, no Docker.

The Pulumi program (``infra/``), the realizer, the CLI and the Ansible inventory all import
from here, so a site's divisions, layout, addresses, flows and output keys are stated once.

Example::

    >>> from sunlight.topology.division import Tier, tier_of
    >>> tier_of("320703") is Tier.COUNTY
    True
"""
