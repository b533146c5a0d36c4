"""Signed anchors of the audit chain, kept here and by every ancestor.

The hash chain (:mod:`sunlight.workflow.audit`) detects an edited, removed or inserted
record — unless whoever edits it recomputes every hash after it: the re-hashed chain is
consistent again. An **anchor** closes that gap: core signs the chain's head
``(seq, hash)`` with the site's Ed25519 signing key (the exchange key) and

- keeps it in ``audit_anchors`` (migration ``core_0014``; core's database role may only
  read and append that table and the chain itself, :mod:`sunlight.runtime.migrations.grants`);
- sends it up the tiers as ``sunlight.audit.anchor`` (outside the per-case sequence: it is
  no step of a case; applied at every ancestor, which keeps each ``(source, seq)`` once).

:func:`anchor_now` anchors the head once the whole chain verifies (with the anchors already
kept: a chain that no longer contains them is never signed); core does it when it starts and
every :data:`ANCHOR_INTERVAL_S` (:func:`anchor_loop`), and ``sunlight audit anchor`` does it
on demand. :func:`verify` checks the chain against anchors — this site's own, or those its
parent kept (``sunlight audit anchors --source CODE`` at the parent, ``sunlight audit verify
--anchors FILE`` at the site): an anchor whose signature does not verify with the site's key
is refused, and a chain whose record at an anchored ``seq`` has another hash (a history
rewritten and re-hashed) or that ends before it (a cut-off tail) fails with "anchor mismatch".

The signature covers RFC 8785 JSON of ``{"kind": "sunlight.audit.anchor", "site", "seq",
"hash", "at"}`` (:func:`signed_bytes`), so any language can check it with the site's public
key.

Example::

    >>> from sunlight.runtime.exchange.signing import generate_keypair, load_private_pem
    >>> key = load_private_pem(generate_keypair()[0])
    >>> a = sign(key, "320703", 7, "ab" * 32, "2026-12-01T20:00:00+00:00")
    >>> signature_ok(key.public_key(), a), signature_ok(key.public_key(), a._replace(seq=8))
    (True, False)
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import BigInteger, DateTime, Engine, String, select
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.orm import Mapped, Session, mapped_column
from starlette.concurrency import run_in_threadpool

from sunlight.canonical import canonical_json
from sunlight.runtime.core.audit_store import verify as verify_stored
from sunlight.runtime.db import CoreBase, transaction, utcnow
from sunlight.runtime.exchange import outbox
from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.handlers import Applied
from sunlight.runtime.exchange.schemas import AUDIT_ANCHOR
from sunlight.topology.division import expected_parent
from sunlight.workflow.audit import ChainVerdict

__all__ = ["ANCHOR_INTERVAL_S", "Anchor", "AuditAnchor", "BadAnchor", "anchor_loop",
           "anchor_now", "anchors", "receive", "sign", "signature_ok", "signed_bytes",
           "verify"]

log = logging.getLogger(__name__)

#: How often core anchors its chain's head (besides at start and on demand).
ANCHOR_INTERVAL_S = 3600.0
KIND = "sunlight.audit.anchor"


class AuditAnchor(CoreBase):
    """A signed head of a site's audit chain: this site's own (``source`` = the site) and
    its subordinates' as received (migration ``core_0014``); kept once per (source, seq)."""

    __tablename__ = "audit_anchors"
    source: Mapped[str] = mapped_column(String(6), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[str] = mapped_column(String(40))
    signature: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Anchor(NamedTuple):
    """One signed head: the ``sunlight.audit.anchor`` data."""

    site: str
    seq: int
    hash: str
    at: str
    signature: str

    def data(self) -> dict[str, Any]:
        return self._asdict()


class BadAnchor(ValueError):
    """An anchor that is malformed or whose signature does not verify with the site's key."""


def signed_bytes(site: str, seq: int, hash_: str, at: str) -> bytes:
    """What the signature covers (RFC 8785 JSON)."""
    return canonical_json({"kind": KIND, "site": site, "seq": seq, "hash": hash_, "at": at})


def sign(key: Ed25519PrivateKey, site: str, seq: int, hash_: str, at: str) -> Anchor:
    signature = key.sign(signed_bytes(site, seq, hash_, at))
    return Anchor(site, seq, hash_, at, base64.b64encode(signature).decode("ascii"))


def signature_ok(public: Ed25519PublicKey, anchor: Anchor) -> bool:
    try:
        public.verify(base64.b64decode(anchor.signature, validate=True),
                      signed_bytes(anchor.site, anchor.seq, anchor.hash, anchor.at))
    except (InvalidSignature, ValueError):
        return False
    return True


def _anchor(row: AuditAnchor) -> Anchor:
    return Anchor(row.source, row.seq, row.hash, row.at, row.signature)


def anchors(engine: Engine, source: str) -> list[Anchor]:
    """The anchors kept here of ``source``'s chain (this site's own, or a subordinate's),
    by ``seq``."""
    with transaction(engine) as session:
        rows = session.scalars(select(AuditAnchor).where(AuditAnchor.source == source)
                               .order_by(AuditAnchor.seq))
        return [_anchor(row) for row in rows]


def from_json(items: Iterable[Any]) -> list[Anchor]:
    """Anchors from their JSON form (a list of ``sunlight.audit.anchor`` data), or
    :class:`BadAnchor` naming the first bad item."""
    out = []
    for i, item in enumerate(items):
        try:
            out.append(Anchor(str(item["site"]), int(item["seq"]), str(item["hash"]),
                              str(item["at"]), str(item["signature"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise BadAnchor(f"anchors[{i}]: {exc!r}") from exc
    return out


def verify(engine: Engine, site: str, public: Ed25519PublicKey,
           given: list[Anchor] | None = None) -> ChainVerdict:
    """Verify ``site``'s chain against ``given`` anchors (default: those kept here), each
    first checked against ``public``; :class:`BadAnchor` names one that is not the site's
    or whose signature fails."""
    checked = anchors(engine, site) if given is None else given
    for a in checked:
        if a.site != site:
            raise BadAnchor(f"anchor at seq {a.seq} is of site {a.site}, not {site}")
        if not signature_ok(public, a):
            raise BadAnchor(f"anchor at seq {a.seq}: the signature does not verify with "
                            f"the key of site {site}")
    return verify_stored(engine, site, anchors=[(a.seq, a.hash) for a in checked])


def anchor_now(engine: Engine, site: str, key: Ed25519PrivateKey,
               now: datetime | None = None) -> Anchor | None:
    """Sign the head of this site's chain, keep it and queue it for the parent; ``None``
    when the head is anchored already or the chain is empty. :class:`BadAnchor` when the
    chain does not verify (with the anchors kept): a broken history is never signed."""
    verdict = verify(engine, site, key.public_key())
    if not verdict.ok:
        raise BadAnchor(f"audit chain broken at record {verdict.first_broken_seq}: "
                        f"{verdict.reason}; not anchored")
    if verdict.last_seq is None or verdict.last_hash is None:
        return None
    at = (now or datetime.now(UTC)).isoformat()
    anchor = sign(key, site, verdict.last_seq, verdict.last_hash, at)
    with transaction(engine) as session:
        if session.get(AuditAnchor, (site, anchor.seq)) is not None:
            return None
        session.add(AuditAnchor(source=site, seq=anchor.seq, hash=anchor.hash, at=at,
                                signature=anchor.signature))
        parent = expected_parent(site)
        if parent is not None:  # no subject, no sequence: outside the per-case sequence
            outbox.enqueue(session, parent, Envelope.new(site, AUDIT_ANCHOR, anchor.data()))
    log.info("audit chain anchored", extra={"seq": anchor.seq, "hash": anchor.hash})
    return anchor


def receive(session: Session, site: str, env: dict[str, Any]) -> Applied:
    """Keep a subordinate's anchor once per (source, seq) (``stale`` on redelivery). The
    envelope's signature proved its source; the anchor's own signature is kept to be checked
    again wherever the anchors are used (:func:`verify`)."""
    d = env["data"]
    if d["site"] != env["source"]:  # a site anchors its own chain only
        return "stale"
    stmt = upsert(AuditAnchor).values(source=env["source"], seq=d["seq"], hash=d["hash"],
                                      at=d["at"], signature=d["signature"],
                                      received_at=utcnow())
    stored = session.execute(stmt.on_conflict_do_nothing(index_elements=["source", "seq"])
                             .returning(AuditAnchor.seq)).first()
    return "applied" if stored is not None else "stale"


async def anchor_loop(engine: Engine, site: str, key: Ed25519PrivateKey,
                      interval_s: float = ANCHOR_INTERVAL_S) -> None:
    """Anchor at once, then every ``interval_s``; a failure is logged and retried."""
    while True:
        try:
            await run_in_threadpool(anchor_now, engine, site, key)
        except BadAnchor as exc:
            log.error("audit chain not anchored", extra={"reason": str(exc)})
        except Exception:  # the job must outlive a database restart
            log.exception("audit anchoring failed; retrying next interval")
        await asyncio.sleep(interval_s)
