"""Alembic environment for the core database (see :func:`sunlight.runtime.migrations.run_env`).

Every table of the core database sits on :class:`sunlight.runtime.db.CoreBase`; importing
the modules that define them registers them all: core's (cases, audit and its signed
anchors, cross-tier views, supervision, baselines; random inspection and the automatic-order
index; the officer registry and enforcement cases; subordinates' enforcement cases) and the exchange
transport's (outbox, inbox, held, dead).
"""

import sunlight.runtime.core.audit_anchor  # registers the audit chain's signed anchors
import sunlight.runtime.core.enforcement_exchange  # registers subordinates' enforcement cases
import sunlight.runtime.core.enforcement_models  # registers the officer registry and cases
import sunlight.runtime.core.inspection_models  # registers inspection and the order index
import sunlight.runtime.core.legal_supervision_models  # registers refusals and challenges
import sunlight.runtime.core.models  # registers core's tables
import sunlight.runtime.exchange.models  # noqa: F401  (registers the transport's tables)
from sunlight.runtime.db import CoreBase
from sunlight.runtime.migrations import run_env

run_env("core", CoreBase.metadata)
