"""Issue 15 point 9 on the session's one-site platform (conftest.py `platform`): least
privilege in the databases, and the audit chain's signed anchors.

Each application role connects with its own password, as the roles do, and is refused what
runtime/migrations/grants.py withholds; the tables belong to the owner roles that ran the
migrations. Then a history rewritten and re-hashed by an insider holding the owner role
verifies as a chain, but not against the head core signed before.

How these fail on the code before: the application roles owned their databases (the gateway
acted as the portal's role), so every refused statement below succeeded; there was no
``sunlight audit anchor`` and the rewritten chain verified intact.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors

from platform_site import Site
from sunlight.runtime.exchange.signing import generate_keypair
from sunlight.workflow.audit import AuditRecord, append


@pytest.fixture(scope="module")
def site(platform: Site) -> Site:
    """The session's one-site platform (conftest.py)."""
    return platform


def _connect(site: Site, role: str, db: str | None = None) -> psycopg.Connection[Any]:
    url = site.db_urls[role].replace("+psycopg", "")
    if db is not None:
        url = url.rsplit("/", 1)[0] + "/" + db
    return psycopg.connect(url, autocommit=True)


def _refused(conn: psycopg.Connection[Any], sql: str) -> str:
    """Run ``sql`` and return PostgreSQL's refusal (fail if it was allowed)."""
    with pytest.raises(errors.InsufficientPrivilege) as refused:
        conn.execute(sql)
    return str(refused.value)


def test_the_application_roles_own_nothing(site: Site) -> None:
    for db in ("portal", "core"):
        with site.pg.admin(db) as conn:
            owned = conn.execute(
                "SELECT r.rolname, count(*) FROM pg_class c JOIN pg_namespace n ON "
                "n.oid = c.relnamespace JOIN pg_roles r ON r.oid = c.relowner WHERE "
                "n.nspname = 'public' GROUP BY r.rolname").fetchall()
            assert dict(owned).keys() == {f"{db}_owner"}, owned


def test_the_gateway_reads_and_writes_only_what_it_carries(site: Site) -> None:
    with _connect(site, "gateway") as gw:
        # What it carries: the outbox, and its crossings (appended).
        assert gw.execute("SELECT count(*) FROM outbox").fetchone() is not None
        assert gw.execute("SELECT count(*) FROM crossings").fetchone() is not None
        for table in ("complaints", "ratings"):
            assert "permission denied for table" in _refused(gw, f"SELECT * FROM {table}")
        # The receipt counters it may read (its gauge of the day), never change.
        assert gw.execute("SELECT count(*) FROM receipt_counters").fetchone() is not None
        _refused(gw, "UPDATE receipt_counters SET last_seq = 0")
        for table in ("outbox", "applications", "crossings", "inbox", "materials"):
            _refused(gw, f"DELETE FROM {table}")
            _refused(gw, f"TRUNCATE {table}")
        _refused(gw, "UPDATE crossings SET sha256 = 'x'")
        _refused(gw, "UPDATE outbox SET payload = '{}'")  # only its delivery columns
        _refused(gw, "UPDATE applications SET applicant_name = 'x'")
        _refused(gw, "CREATE TABLE mine (id int)")
        _refused(gw, "ALTER TABLE crossings ADD COLUMN x int")
    # Cases live in core's database, which the gateway may not even connect to.
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        _connect(site, "gateway", "core").close()


def test_the_portal_cannot_change_or_delete_crossings(site: Site) -> None:
    with _connect(site, "portal") as portal:
        assert portal.execute("SELECT count(*) FROM crossings").fetchone() is not None
        _refused(portal, "DELETE FROM crossings")
        _refused(portal, "UPDATE crossings SET sha256 = 'x'")
        _refused(portal, "TRUNCATE crossings")
        _refused(portal, "INSERT INTO crossings (direction, record_id, record_type, sha256, at)"
                         " VALUES ('in', gen_random_uuid(), 'x', 'x', now())")


def test_core_cannot_alter_the_audit_chain(site: Site) -> None:
    with _connect(site, "core") as core:
        assert core.execute("SELECT count(*) FROM audit_log").fetchone() is not None
        for table in ("audit_log", "audit_anchors"):
            _refused(core, f"UPDATE {table} SET seq = seq")
            _refused(core, f"DELETE FROM {table}")
            _refused(core, f"TRUNCATE {table}")
            assert "must be owner" in _refused(core, f"ALTER TABLE {table} ADD COLUMN x int")
        _refused(core, "DROP TABLE audit_log")


def _rewrite(conn: psycopg.Connection[Any], site: str) -> list[AuditRecord]:
    """Edit the second record and re-hash every later one (an insider with the owner
    role); return the original records."""
    names = ("seq", "site", "at", "actor", "role", "entity", "entity_id", "action",
             "from_state", "to_state", "comment", "prev_hash", "hash")
    rows = conn.execute(f"SELECT {', '.join(names)} FROM audit_log ORDER BY seq").fetchall()
    original = [AuditRecord(**dict(zip(names, row, strict=True))) for row in rows]
    forged: list[AuditRecord] = []
    for r in original:
        forged.append(append(forged[-1] if forged else None, site, actor=r.actor, role=r.role,
                             entity=r.entity, entity_id=r.entity_id, action=r.action,
                             from_state=r.from_state, to_state=r.to_state,
                             comment="backdated" if r.seq == 2 else r.comment, at=r.at))
    _store(conn, forged)
    return original


def _store(conn: psycopg.Connection[Any], records: list[AuditRecord]) -> None:
    with conn.transaction():
        for r in records:
            conn.execute("UPDATE audit_log SET comment = %(comment)s, prev_hash = %(prev_hash)s,"
                         " hash = 'tmp-' || seq WHERE seq = %(seq)s", asdict(r))
        for r in records:
            conn.execute("UPDATE audit_log SET hash = %(hash)s WHERE seq = %(seq)s", asdict(r))


def test_a_rewritten_and_rehashed_history_fails_against_the_signed_anchor(
        site: Site, tmp_path: Path) -> None:
    key = tmp_path / "signing.pem"
    key.write_bytes(generate_keypair()[0])
    anchored = site.cli("audit", "anchor", "--key-file", str(key))
    assert anchored.returncode == 0, anchored.stderr + anchored.stdout
    head = re.search(r"anchored record (\d+)", anchored.stdout)
    assert head is not None, anchored.stdout
    assert site.cli("audit", "verify", "--key-file", str(key)).returncode == 0
    anchors = site.cli("audit", "anchors")
    assert f'"seq": {head.group(1)}' in anchors.stdout
    (tmp_path / "anchors.json").write_text(anchors.stdout)
    with _connect(site, "core_owner") as owner:
        # Core's writers wait while the chain is rewritten and put back (the site is shared).
        owner.execute("SELECT pg_advisory_lock(hashtext('sunlight-audit'))")
        original = _rewrite(owner, site.code)
        try:
            plain = site.cli("audit", "verify")  # the anchors' hashes, kept here
            assert plain.returncode == 1 and "anchor mismatch" in plain.stderr, plain.stderr
            owner.execute("DELETE FROM audit_anchors")  # the insider removes them too ...
            assert site.cli("audit", "verify").returncode == 0  # ... and the chain links
            parents = site.cli("audit", "verify", "--key-file", str(key), "--anchors",
                               str(tmp_path / "anchors.json"))  # as the parent kept them
            assert parents.returncode == 1, parents.stdout
            assert f"broken at record {head.group(1)}: anchor mismatch" in parents.stderr
        finally:
            _store(owner, original)
            owner.execute("SELECT pg_advisory_unlock(hashtext('sunlight-audit'))")
    assert site.cli("audit", "verify").returncode == 0
