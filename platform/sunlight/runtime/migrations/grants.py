"""What each application role may do in each database: the one place the grants are stated.

The tables belong to an owner role per database (``core_owner``, ``portal_owner``; the
playbooks' ``postgresql`` role creates them and moves existing tables to them), which runs the
migrations and nothing else. The application roles log in to serve and own nothing:

- **core** (core database): reads and writes its tables, but on the audit chain
  (``audit_log``) and its signed anchors (``audit_anchors``) it may only read and append —
  no UPDATE, DELETE or TRUNCATE, and no ALTER (only an owner alters a table).
- **portal** (portal database): reads and writes its tables, but may only read the
  gateway's trace (``crossings``): it cannot insert, change or delete a crossing.
- **gateway** (portal database): exactly what :mod:`sunlight.runtime.gateway.service` does —
  read and mark the outbox, read the applications and materials it carries inward, apply
  core's records outward (an application's status columns, catalogue entries, penalty
  disclosures), keep its inbox, cursor and parked records, **append** crossings, and read
  the receipt counters (its gauge of the day's receipt numbers, alert PortalReceiptsRunningOut).
  It appends to an application's history (``application_events``), keeps its decision
  document (``decision_documents``) and replaces a published item's blank forms
  (``catalogue_files``). Nothing else: no complaints or ratings, no
  DELETE except on catalogue entries and their files (a retired item leaves the portal),
  no TRUNCATE.

:func:`apply` states this for a database, inside a migration (``core_0014``,
``portal_0006``, ``portal_0007``, ``portal_0008``), as the owner: it revokes everything the
application roles held, grants the list below, and sets default privileges so that tables
and sequences a later migration creates are covered (core and portal get read and write on
them; the gateway gets nothing until this list names a table and a migration calls
:func:`apply` again). A role that does not exist (a developer's single-role database) is
skipped; a role that *is* the owner (an old database where the application still owns its
tables) is skipped too, with a warning, since nothing can be withheld from an owner.

Example::

    >>> [g.role for g in GRANTS["portal"]][:2]
    ['portal', 'portal']
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, text

log = logging.getLogger(__name__)

Database = Literal["portal", "core"]
ALL = "ALL TABLES"
#: The privileges an application role gets on every table (and on future ones).
READ_WRITE = ("SELECT", "INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class Grant:
    """``privileges`` on ``table`` (a name, or :data:`ALL`) for ``role``; ``columns``
    restricts an UPDATE to those columns."""

    role: str
    table: str
    privileges: tuple[str, ...]
    columns: tuple[str, ...] = ()


#: Application roles per database, with what the database's owner grants them. Entries are
#: applied in order: the first entry for a (role, table) replaces what an ALL-table grant
#: gave, later ones for it add to it.
GRANTS: dict[Database, tuple[Grant, ...]] = {
    "core": (
        Grant("core", ALL, READ_WRITE),
        Grant("core", "audit_log", ("SELECT", "INSERT")),
        Grant("core", "audit_anchors", ("SELECT", "INSERT")),
    ),
    "portal": (
        Grant("portal", ALL, READ_WRITE),
        Grant("portal", "crossings", ("SELECT",)),
        Grant("gateway", "outbox", ("SELECT",)),
        Grant("gateway", "outbox", ("UPDATE",), ("delivered_at", "attempts", "last_error",
                                                 "next_attempt_at", "parked_at")),
        Grant("gateway", "materials", ("SELECT",)),
        Grant("gateway", "applications", ("SELECT",)),
        Grant("gateway", "applications", ("UPDATE",), ("status", "status_seq",
                                                       "status_comment", "decision",
                                                       "due_on", "overdue", "updated_at")),
        Grant("gateway", "catalogue_entries", ("SELECT", "INSERT", "UPDATE", "DELETE")),
        Grant("gateway", "catalogue_files", ("SELECT", "INSERT", "DELETE")),
        Grant("gateway", "application_events", ("INSERT",)),
        Grant("gateway", "penalty_disclosures", ("SELECT", "INSERT", "UPDATE")),
        Grant("gateway", "decision_documents", ("SELECT", "INSERT", "UPDATE")),
        Grant("gateway", "inbox", ("SELECT", "INSERT")),
        Grant("gateway", "gateway_cursors", ("SELECT", "INSERT", "UPDATE")),
        Grant("gateway", "gateway_parked", ("SELECT", "INSERT", "UPDATE")),
        Grant("gateway", "crossings", ("SELECT", "INSERT")),
        Grant("gateway", "receipt_counters", ("SELECT",)),
    ),
}

#: Roles that get read and write on tables and sequences a later migration creates.
DEFAULT_READ_WRITE: dict[Database, tuple[str, ...]] = {"core": ("core",),
                                                       "portal": ("portal",)}
#: Sequences (``serial`` ids) a role may draw from, besides its read-write roles' all.
SEQUENCES: dict[Database, dict[str, tuple[str, ...]]] = {
    "core": {}, "portal": {"gateway": ("crossings_id_seq",)}}


def roles(database: Database) -> list[str]:
    """The application roles of ``database``, in the order they are first granted."""
    return list(dict.fromkeys(g.role for g in GRANTS[database]))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def statements(database: Database, owner: str, present: set[str],
               dbname: str | None = None, tables: set[str] | None = None) -> list[str]:
    """The SQL :func:`apply` runs, for the application roles in ``present`` (not ``owner``),
    in the database named ``dbname`` (default: ``database``). ``tables``: the tables that
    exist (None: all named): a grant on a table a later migration creates waits for that
    migration's own call of :func:`apply`."""
    granted = [r for r in roles(database) if r in present and r != owner]
    out: list[str] = [f"GRANT CONNECT ON DATABASE {_ident(dbname or database)} TO {_ident(r)}"
                      for r in granted]
    for role in granted:
        out += [f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {_ident(role)}",
                f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {_ident(role)}",
                f"GRANT USAGE ON SCHEMA public TO {_ident(role)}"]
    revoked: set[tuple[str, str]] = set()
    for g in GRANTS[database]:
        if g.role not in granted or (tables is not None and g.table != ALL
                                     and g.table not in tables):
            continue
        privileges = ", ".join(f"{p} ({', '.join(g.columns)})" if g.columns else p
                               for p in g.privileges)
        if g.table == ALL:
            out.append(f"GRANT {privileges} ON ALL TABLES IN SCHEMA public TO {_ident(g.role)}")
        else:
            if (g.role, g.table) not in revoked:  # once: later entries add to the first
                revoked.add((g.role, g.table))
                out.append(f"REVOKE ALL ON TABLE {_ident(g.table)} FROM {_ident(g.role)}")
            out.append(f"GRANT {privileges} ON TABLE {_ident(g.table)} TO {_ident(g.role)}")
    for role in DEFAULT_READ_WRITE[database]:
        if role in granted:
            out.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {_ident(role)}")
            out.append(f"ALTER DEFAULT PRIVILEGES FOR ROLE {_ident(owner)} IN SCHEMA public "
                       f"GRANT {', '.join(READ_WRITE)} ON TABLES TO {_ident(role)}")
            out.append(f"ALTER DEFAULT PRIVILEGES FOR ROLE {_ident(owner)} IN SCHEMA public "
                       f"GRANT USAGE, SELECT ON SEQUENCES TO {_ident(role)}")
    for role, sequences in SEQUENCES[database].items():
        if role in granted:
            out += [f"GRANT USAGE ON SEQUENCE {_ident(s)} TO {_ident(role)}" for s in sequences]
    return out


def apply(connection: Connection, database: Database) -> list[str]:
    """State the grants of ``database`` as its owner (the migration's role); return the
    statements run. See the module docstring for what is skipped."""
    owner, dbname = connection.execute(text("SELECT current_user, current_database()")).one()
    present = set(connection.execute(
        text("SELECT rolname FROM pg_roles WHERE rolname = ANY(:names)"),
        {"names": roles(database)}).scalars())
    if owner in roles(database):
        log.warning("the application role %s owns the %s database's tables; no privilege "
                    "can be withheld from it (migrate as %s_owner)", owner, database, database)
    tables = set(connection.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
    done = statements(database, owner, present, dbname, tables)
    for statement in done:
        connection.exec_driver_sql(statement)
    return done
