"""Pulumi entry point for one site: ``pulumi up -s <division code>`` (see README.md).

Example::

    $ pulumi up --stack 320703
"""

import sys
from pathlib import Path

# The language host runs this file by path; make the sibling package importable the same
# way whatever the working directory.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pulumi
from sunlight_infra.config import read_site_config
from sunlight_infra.program import declare_site

site = declare_site(read_site_config())
for key, value in site.outputs.items():
    pulumi.export(key, value)
