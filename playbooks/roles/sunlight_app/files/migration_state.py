"""Print whether a Sunlight database is behind its newest migration (JSON, read-only).

Usage: migration_state.py portal|core, with SUNLIGHT_DATABASE_URL set.
"""

import json
import os
import sys

from alembic.script import ScriptDirectory

from sunlight.runtime.migrations import alembic_config, current

database, url = sys.argv[1], os.environ["SUNLIGHT_DATABASE_URL"]
heads = ScriptDirectory.from_config(alembic_config(database, url)).get_heads()
revision = current(database, url)
print(json.dumps({"current": revision, "heads": heads, "behind": revision not in heads}))
