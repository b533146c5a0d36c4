"""Signed anchors of the audit chain: a history rewritten and re-hashed is detected.

The chain and its anchors are the real tables (``audit_log``, ``audit_anchors``) on SQLite
(no PostgreSQL in the unit tests); the signatures are real Ed25519.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, delete
from sqlalchemy.orm import Session

from sunlight.runtime.core import audit_anchor
from sunlight.runtime.core.audit_anchor import Anchor, AuditAnchor, BadAnchor
from sunlight.runtime.core.models import AuditLog
from sunlight.runtime.exchange.schemas import AUDIT_ANCHOR, event_type
from sunlight.runtime.exchange.signing import generate_keypair, load_private_pem
from sunlight.workflow.audit import AuditRecord, append, verify_chain

SITE = "320000"  # a province: anchor_now queues nothing (no parent)


def _chain(n: int, comment: str = "") -> list[AuditRecord]:
    out: list[AuditRecord] = []
    for i in range(n):
        out.append(append(out[-1] if out else None, SITE, actor="li", role="clerk",
                          entity="case", entity_id=f"c{i}", action="accept",
                          comment=comment if i == 1 else "", at=f"2026-12-01T08:00:0{i}.000000Z"))
    return out


def _rewritten(records: list[AuditRecord], at: int, comment: str) -> list[AuditRecord]:
    """Record ``at`` (1-based) edited and every later one re-hashed: a consistent chain."""
    out = records[:at - 1]
    for r in records[at - 1:]:
        out.append(append(out[-1] if out else None, SITE, actor=r.actor, role=r.role,
                          entity=r.entity, entity_id=r.entity_id, action=r.action,
                          comment=comment if r.seq == at else r.comment, at=r.at))
    return out


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{tmp_path / 'core.db'}")
    AuditLog.__table__.create(engine)  # type: ignore[attr-defined]
    AuditAnchor.__table__.create(engine)  # type: ignore[attr-defined]
    return engine


def _store(engine: Engine, records: list[AuditRecord]) -> None:
    with Session(engine) as session, session.begin():
        session.execute(delete(AuditLog))
        session.add_all(AuditLog(**asdict(r)) for r in records)


def test_a_rewritten_and_rehashed_chain_verifies_without_anchors_but_not_with_one() -> None:
    original = _chain(5)
    forged = _rewritten(original, 2, "backdated")
    assert verify_chain(forged, SITE).ok  # the hash chain alone cannot tell
    verdict = verify_chain(forged, SITE, anchors=[(4, original[3].hash)])
    assert (verdict.ok, verdict.first_broken_seq, verdict.reason) == (False, 4,
                                                                       "anchor mismatch")
    # An anchor before the rewritten record still holds; a cut-off tail fails.
    assert verify_chain(forged, SITE, anchors=[(1, original[0].hash)]).ok
    cut = verify_chain(original[:3], SITE, anchors=[(1, original[0].hash),
                                                    (5, original[4].hash)])
    assert (cut.ok, cut.first_broken_seq, cut.reason) == (False, 4, "anchor mismatch")


def test_anchor_now_signs_the_verified_head_once_and_verify_detects_the_rewrite(
        engine: Engine) -> None:
    key = load_private_pem(generate_keypair()[0])
    original = _chain(5)
    _store(engine, original)
    anchor = audit_anchor.anchor_now(engine, SITE, key)
    assert anchor is not None and (anchor.seq, anchor.hash) == (5, original[4].hash)
    assert audit_anchor.signature_ok(key.public_key(), anchor)
    assert audit_anchor.anchor_now(engine, SITE, key) is None  # the head is anchored
    assert audit_anchor.verify(engine, SITE, key.public_key()).ok

    _store(engine, _rewritten(original, 2, "backdated"))  # an insider with the owner role
    verdict = audit_anchor.verify(engine, SITE, key.public_key())
    assert (verdict.ok, verdict.first_broken_seq, verdict.reason) == (False, 5,
                                                                       "anchor mismatch")
    with pytest.raises(BadAnchor, match="broken at record 5: anchor mismatch; not anchored"):
        audit_anchor.anchor_now(engine, SITE, key)  # a rewritten history is never signed

    # Even with the local anchors deleted too, the parent's copies (signed) catch it.
    with Session(engine) as session, session.begin():
        session.execute(delete(AuditAnchor))
    assert audit_anchor.verify(engine, SITE, key.public_key()).ok
    parents = audit_anchor.from_json(json.loads(json.dumps([anchor.data()])))
    assert not audit_anchor.verify(engine, SITE, key.public_key(), parents).ok


def test_an_anchor_not_signed_by_the_sites_key_is_refused(engine: Engine) -> None:
    key, other = (load_private_pem(generate_keypair()[0]) for _ in range(2))
    forged_chain = _rewritten(_chain(3), 1, "forged")
    _store(engine, forged_chain)
    # Whoever rewrote the chain cannot make anchors that match it without the site's key.
    forged = audit_anchor.sign(other, SITE, 3, forged_chain[2].hash, "2026-12-01T09:00:00+00:00")
    with pytest.raises(BadAnchor, match="at seq 3: the signature does not verify"):
        audit_anchor.verify(engine, SITE, key.public_key(), [forged])
    altered = forged._replace(site="320703")
    with pytest.raises(BadAnchor, match="of site 320703, not 320000"):
        audit_anchor.verify(engine, SITE, key.public_key(), [altered])
    with pytest.raises(BadAnchor, match=r"anchors\[0\]"):
        audit_anchor.from_json([{"site": SITE, "seq": 1}])


def test_the_anchor_event_travels_up_outside_the_per_case_sequence() -> None:
    key = load_private_pem(generate_keypair()[0])
    spec = event_type(AUDIT_ANCHOR, 1)
    assert (spec.direction, spec.sequenced, spec.addressing) == ("up", False, "none")
    anchor = audit_anchor.sign(key, "320703", 12, "ab" * 32, "2026-12-01T09:00:00+00:00")
    spec.check({"source": "320703", "type": AUDIT_ANCHOR, "data": anchor.data()})
    assert set(anchor.data()) == set(Anchor._fields)

