"""The audit chain in the core database: append under a lock, verify streaming.

Example::

    >>> from sunlight.runtime.core.audit_store import record
    >>> record(session, "320703", actor="li", role="clerk", entity="case",
    ...        entity_id=receipt, action="accept", from_state="submitted",
    ...        to_state="in_review")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from sunlight.runtime.core.models import AuditLog
from sunlight.workflow.audit import AuditRecord, ChainVerdict, append, verify_chain

CHAIN_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('sunlight-audit'))")


def lock_chain(session: Session) -> None:
    """Serialize writers of the chain and of the outbound feed until commit.

    The outbound feed is read by cursor (``seq``): if two transactions could commit out of
    sequence order, a reader could move past a row that commits later and lose it. Holding
    this lock while writing makes sequence order equal commit order.
    """
    session.execute(CHAIN_LOCK)


def record(session: Session, site: str, *, actor: str, role: str, entity: str, entity_id: str,
           action: str, from_state: str | None = None, to_state: str | None = None,
           comment: str = "") -> AuditLog:
    """Append one record to the chain inside the caller's transaction."""
    lock_chain(session)  # the chain is a single sequence: one writer at a time
    tail_row = session.scalars(select(AuditLog).order_by(AuditLog.seq.desc()).limit(1)).first()
    tail = _to_record(tail_row) if tail_row else None
    new = append(tail, site, at=datetime.now(UTC).isoformat(), actor=actor, role=role,
                 entity=entity, entity_id=entity_id, action=action, from_state=from_state,
                 to_state=to_state, comment=comment)
    row = AuditLog(**asdict(new))
    session.add(row)
    return row


def _to_record(row: AuditLog) -> AuditRecord:
    return AuditRecord(seq=row.seq, site=row.site, at=row.at, actor=row.actor, role=row.role,
                       entity=row.entity, entity_id=row.entity_id, action=row.action,
                       from_state=row.from_state, to_state=row.to_state, comment=row.comment,
                       prev_hash=row.prev_hash, hash=row.hash)


def _stream(engine: Engine, batch: int = 1000) -> Iterator[AuditRecord]:
    with Session(engine) as session:
        rows = session.execute(select(AuditLog).order_by(AuditLog.seq)
                               .execution_options(yield_per=batch)).scalars()
        for row in rows:
            yield _to_record(row)


def verify(engine: Engine, site: str, anchors: Iterable[tuple[int, str]] = ()) -> ChainVerdict:
    """Walk the whole chain in order; the verdict names the first broken record. With
    ``anchors`` ((seq, hash) heads signed earlier, see
    :mod:`sunlight.runtime.core.audit_anchor`), a chain that no longer holds one of them —
    rewritten and re-hashed, or cut off — fails with "anchor mismatch"."""
    return verify_chain(_stream(engine), site, anchors=anchors)
