"""Catalogue baselines: published above, adopted or localized below, the decision reported up.

The province (or any site with subordinates) publishes a numbered baseline: the items of
its catalogue in force (optionally a chosen subset), with their full documents. It reaches
every subordinate; each records it, and its administrator records whether the site adopts
it as is or localizes some items (with a note per item). The decision travels up to every
ancestor, which keeps it per reporting site.

The same mechanism carries any versioned **data file** a province publishes for lower tiers
to adopt and only tighten (:func:`publish_file`, :func:`receive_file`; today the supervision
rules, ``kind`` ``supervision_rules``; score weights and the holiday calendar later): the
file travels verbatim (``sunlight.data.baseline``, to every subordinate), each subordinate
keeps every version (``data_baselines``), and what imports a file of that kind checks it
against the newest version from each ancestor (:func:`newest_from_ancestors`). Adopting is
importing a file that passes that check; no separate decision is reported up for files.

Example::

    >>> b = publish(session, "320000", ["320700"], "admin",
    ...             "2026 年版权力清单基线")  # doctest: +SKIP
    >>> b.version  # doctest: +SKIP
    1
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.models import BaselineAdoption, CatalogueBaseline, DataBaseline, Item
from sunlight.runtime.errors import ApiError, not_found
from sunlight.runtime.exchange import outbox
from sunlight.runtime.exchange.envelope import BROADCAST, Envelope
from sunlight.runtime.exchange.handlers import Applied
from sunlight.runtime.exchange.schemas import ADOPTION, BASELINE, DATA_BASELINE
from sunlight.topology.division import expected_parent

Decision = Literal["adopted", "localized"]
#: The kinds of data file published as baselines (the schema of ``sunlight.data.baseline``).
RULES_KIND = "supervision_rules"
FILE_KINDS = (RULES_KIND,)


def _items(session: Session, codes: Sequence[str] | None) -> list[dict[str, Any]]:
    stmt = select(Item).where(Item.status == "published").order_by(Item.code)
    if codes:
        stmt = stmt.where(Item.code.in_(codes))
    rows = list(session.scalars(stmt))
    missing = sorted(set(codes or ()) - {r.code for r in rows})
    if missing:
        raise ApiError(422, "unknown_items", f"not published here: {', '.join(missing)}",
                       field="codes")
    if not rows:
        raise ApiError(409, "empty_baseline", "no published items to put in a baseline")
    return [{"code": r.code, "version": r.version, "name": r.name, "category": r.category,
             "department": r.department, "doc": r.doc} for r in rows]


def publish(session: Session, site: str, children: Sequence[str], actor: str, title: str,
            codes: Sequence[str] | None = None) -> CatalogueBaseline:
    """Store the next baseline version here and queue it for every child."""
    if not children:
        raise ApiError(409, "no_subordinates", f"{site} has no subordinate sites to publish to")
    items = _items(session, codes)
    last = session.scalar(select(func.max(CatalogueBaseline.version))
                          .where(CatalogueBaseline.issuer == site)) or 0
    now = datetime.now(UTC)
    row = CatalogueBaseline(issuer=site, version=last + 1, title=title, items=items,
                            published_at=now)
    session.add(row)
    envelope = Envelope.new(site, BASELINE, {"version": row.version, "title": title,
                                             "items": items}, destination=BROADCAST, time=now)
    for child in children:
        outbox.enqueue(session, child, envelope)
    audit(session, site, actor=actor, role="admin", entity="baseline",
          entity_id=f"{site}@{row.version}", action="publish", to_state="published",
          comment=f"{len(items)} items")
    return row


def receive(session: Session, site: str, env: dict[str, Any]) -> Applied:
    """A subordinate records a baseline published above (once per issuer and version)."""
    data = env["data"]
    session.execute(insert(CatalogueBaseline).values(
        issuer=env["source"], version=data["version"], title=data["title"], items=data["items"],
        published_at=datetime.fromisoformat(env["time"]), received_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["issuer", "version"]))
    audit(session, site, actor=f"site:{env['source']}", role="admin", entity="baseline",
          entity_id=f"{env['source']}@{data['version']}", action="receive",
          to_state="received", comment=f"{len(data['items'])} items")
    return "applied"


def adopt(session: Session, site: str, actor: str, issuer: str, version: int,
          decision: Decision, localized: list[dict[str, str]], note: str) -> BaselineAdoption:
    """Record this site's decision and report it to every ancestor."""
    baseline = session.get(CatalogueBaseline, (issuer, version))
    if baseline is None or issuer == site:
        raise not_found(f"baseline {issuer} v{version} received here")
    codes = {i["code"] for i in baseline.items}
    unknown = sorted({entry["code"] for entry in localized} - codes)
    if unknown:
        raise ApiError(422, "not_in_baseline", f"not in the baseline: {', '.join(unknown)}",
                       field="localized")
    if (decision == "localized") != bool(localized):
        raise ApiError(422, "decision_mismatch", "localized needs the localized items; "
                       "adopted takes none", field="localized")
    now = datetime.now(UTC)
    row = _upsert(session, site, issuer, version, decision, localized, note, actor, now)
    parent = expected_parent(site)
    assert parent is not None, "a site that received a baseline has a parent"
    data = {"issuer": issuer, "baseline_version": version, "decision": decision,
            "localized": localized, "note": note, "decided_by": actor,
            "decided_at": now.isoformat()}
    outbox.enqueue(session, parent, Envelope.new(site, ADOPTION, data, time=now))
    audit(session, site, actor=actor, role="admin", entity="baseline",
          entity_id=f"{issuer}@{version}", action=decision, to_state=decision)
    return row


def _upsert(session: Session, site: str, issuer: str, version: int, decision: str,
            localized: list[dict[str, str]], note: str, actor: str, at: datetime,
            received_at: datetime | None = None) -> BaselineAdoption:
    values = {"decision": decision, "localized": localized, "note": note, "decided_by": actor,
              "decided_at": at, "received_at": received_at}
    stmt = insert(BaselineAdoption).values(site=site, issuer=issuer, version=version, **values)
    # Decisions can cross in flight: an older one never replaces a newer one.
    session.execute(stmt.on_conflict_do_update(
        index_elements=["site", "issuer", "version"], set_=values,
        where=BaselineAdoption.decided_at <= stmt.excluded.decided_at))
    row = session.get(BaselineAdoption, (site, issuer, version), populate_existing=True)
    assert row is not None
    return row


def receive_adoption(session: Session, site: str, env: dict[str, Any]) -> Applied:
    """An ancestor keeps each subordinate's latest decision."""
    d = env["data"]
    _upsert(session, env["source"], d["issuer"], d["baseline_version"], d["decision"],
            d["localized"], d.get("note", ""), d["decided_by"],
            datetime.fromisoformat(d["decided_at"]), datetime.now(UTC))
    return "applied"


def publish_file(session: Session, site: str, children: Sequence[str], actor: str, kind: str,
                 version: int, body: str, *, now: datetime) -> DataBaseline:
    """Store a data file of ``kind`` as this site's baseline ``version`` and queue it, verbatim,
    for every child (passed on to every subordinate). A version is published once."""
    if kind not in FILE_KINDS:
        raise ApiError(422, "unknown_kind", f"{kind}: not one of {', '.join(FILE_KINDS)}",
                       field="kind")
    if not children:
        raise ApiError(409, "no_subordinates", f"{site} has no subordinate sites to publish to")
    sha = hashlib.sha256(body.encode("utf-8")).hexdigest()
    existing = session.get(DataBaseline, (kind, site, version))
    if existing is not None:
        raise ApiError(409, "already_published", f"{kind} version {version} was published "
                       f"here on {existing.published_at.isoformat()}; number a new version",
                       field="version")
    row = DataBaseline(kind=kind, issuer=site, version=version, text=body, sha256=sha,
                       published_by=actor, published_at=now)
    session.add(row)
    envelope = Envelope.new(site, DATA_BASELINE, {
        "kind": kind, "version": version, "text": body, "sha256": sha, "published_by": actor,
        "published_at": now.isoformat()}, destination=BROADCAST, time=now)
    for child in children:
        outbox.enqueue(session, child, envelope)
    audit(session, site, actor=actor, role="admin", entity="baseline",
          entity_id=f"{kind}:{site}@{version}", action="publish", to_state="published",
          comment=f"sha256 {sha}")
    return row


def receive_file(session: Session, site: str, env: dict[str, Any]) -> Applied:
    """A subordinate keeps every version of a data file published above (once each)."""
    d = env["data"]
    stored = session.execute(insert(DataBaseline).values(
        kind=d["kind"], issuer=env["source"], version=d["version"], text=d["text"],
        sha256=d["sha256"], published_by=d["published_by"],
        published_at=datetime.fromisoformat(d["published_at"]), received_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["kind", "issuer", "version"])
        .returning(DataBaseline.version)).first()
    if stored is None:
        return "stale"
    audit(session, site, actor=f"site:{env['source']}", role="admin", entity="baseline",
          entity_id=f"{d['kind']}:{env['source']}@{d['version']}", action="receive",
          to_state="received", comment=f"sha256 {d['sha256']}")
    return "applied"


def newest_from_ancestors(session: Session, site: str, kind: str) -> list[DataBaseline]:
    """The newest baseline of ``kind`` from each ancestor of ``site`` that published one,
    nearest ancestor first."""
    found = []
    ancestor = expected_parent(site)
    while ancestor is not None:
        row = session.scalars(select(DataBaseline).where(
            DataBaseline.kind == kind, DataBaseline.issuer == ancestor)
            .order_by(DataBaseline.version.desc()).limit(1)).first()
        if row is not None:
            found.append(row)
        ancestor = expected_parent(ancestor)
    return found
