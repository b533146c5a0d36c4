"""Pulumi entry point for one site: ``pulumi up -s <division code>`` (see README.md).

Example::

    $ pulumi up --stack 320703
"""

# The program is the installed package `sunlight_infra` (pip install 'sunlight[infra]' into
# the stack's virtual environment, see README.md); this file only runs it.
import pulumi
from sunlight_infra.config import read_site_config
from sunlight_infra.engine import read_engine_config
from sunlight_infra.program import declare_site

site = declare_site(read_site_config(), engine=read_engine_config())
for key, value in site.outputs.items():
    pulumi.export(key, value)
