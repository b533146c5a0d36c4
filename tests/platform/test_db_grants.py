"""The grants stated once (runtime/migrations/grants.py) name real tables and columns and
withhold what issue 15 point 9 withholds (the integration test proves it on PostgreSQL:
integration/test_platform_10_privileges.py)."""

from __future__ import annotations

import sunlight.runtime.core.audit_anchor
import sunlight.runtime.core.enforcement_exchange
import sunlight.runtime.core.enforcement_models
import sunlight.runtime.core.inspection_models
import sunlight.runtime.core.legal_supervision_models
import sunlight.runtime.core.models
import sunlight.runtime.exchange.models  # noqa: F401
from sunlight.runtime.db import CoreBase
from sunlight.runtime.migrations.grants import ALL, GRANTS, roles, statements
from sunlight.runtime.portal.models import PortalBase

METADATA = {"core": CoreBase.metadata, "portal": PortalBase.metadata}


def test_every_granted_table_and_column_exists() -> None:
    for database, grants in GRANTS.items():
        tables = METADATA[database].tables
        for g in grants:
            if g.table == ALL:
                continue
            assert g.table in tables, f"{database}: {g.table}"
            missing = set(g.columns) - set(tables[g.table].columns.keys())
            assert not missing, f"{database}.{g.table}: {missing}"


def _sql(database: str) -> str:
    return "\n".join(statements(database, f"{database}_owner", set(roles(database))))  # type: ignore[arg-type]


def test_the_gateway_gets_only_what_it_carries_and_nobody_truncates() -> None:
    portal = _sql("portal")
    gateway = [line for line in portal.splitlines()
               if line.startswith("GRANT") and line.endswith('TO "gateway"')]
    granted = {line.split(" ON TABLE ")[1].split()[0].strip('"') for line in gateway
               if " ON TABLE " in line}
    assert granted == {"outbox", "materials", "applications", "catalogue_entries",
                       "penalty_disclosures", "inbox", "gateway_cursors", "gateway_parked",
                       "crossings", "receipt_counters", "catalogue_files",
                       "application_events", "decision_documents"}
    assert 'GRANT SELECT, INSERT ON TABLE "crossings" TO "gateway"' in gateway
    # It keeps a decided application's decision document (replaced, never deleted).
    assert ('GRANT SELECT, INSERT, UPDATE ON TABLE "decision_documents" TO "gateway"'
            in gateway)
    # Issue 17: it replaces a published item's blank forms and appends to a case's history.
    assert 'GRANT SELECT, INSERT, DELETE ON TABLE "catalogue_files" TO "gateway"' in gateway
    assert 'GRANT INSERT ON TABLE "application_events" TO "gateway"' in gateway
    # A table with two entries (read it, update some columns) is revoked once, before both.
    outbox = [line for line in portal.splitlines() if '"outbox"' in line and "gateway" in line]
    assert [line.split()[0] for line in outbox] == ["REVOKE", "GRANT", "GRANT"]
    assert not any("ALL TABLES" in line or "DEFAULT" in line for line in gateway)
    assert 'GRANT SELECT ON TABLE "crossings" TO "portal"' in portal
    assert "TRUNCATE" not in portal + _sql("core")


def test_core_may_only_read_and_append_the_audit_chain_and_its_anchors() -> None:
    core = _sql("core").splitlines()
    assert 'REVOKE ALL ON TABLE "audit_log" FROM "core"' in core
    assert core.index('GRANT SELECT, INSERT ON TABLE "audit_log" TO "core"') > core.index(
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "core"')
    assert 'GRANT SELECT, INSERT ON TABLE "audit_anchors" TO "core"' in core
    # Future tables are covered, for core only; a role that owns the tables is skipped.
    assert any(line.startswith('ALTER DEFAULT PRIVILEGES FOR ROLE "core_owner"')
               for line in core)
    assert statements("core", "core", {"core"}) == []


def test_a_table_a_later_migration_creates_waits_for_it() -> None:
    # portal_0006 states the grants before portal_0007 creates catalogue_files (issue 17):
    # a REVOKE on a missing table would fail the migration.
    early = statements("portal", "portal_owner", {"portal", "gateway"},
                       tables={"outbox", "materials", "applications"})
    assert not any("catalogue_files" in line or "application_events" in line
                   for line in early)
    assert 'GRANT SELECT ON TABLE "outbox" TO "gateway"' in early
    assert any("ON ALL TABLES IN SCHEMA public" in line for line in early)
