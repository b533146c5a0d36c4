"""The per-site audit hash chain: every operation leaves a trace (网上留痕).

Each site (identified by its 6-digit division code) keeps one chain. Record ``n`` stores
``prev_hash`` = the hash of record ``n-1`` (or the site's genesis hash for ``n=1``) and its
own ``hash`` = sha256(prev_hash + canonical JSON of every field except ``hash``). Editing a
stored record breaks its own hash; removing, inserting or reordering records breaks the
next record's ``prev_hash``. An upper tier that keeps the latest ``(seq, hash)`` it saw as
an *anchor* also detects a cut-off tail.

The canonical JSON is RFC 8785 (:func:`sunlight.canonical.canonical_json`). Chains written
before it used sorted-key compact ``json.dumps``; for a record — strings, the integer
``seq`` and nulls under fixed ASCII names — the two are the same bytes (see
:mod:`sunlight.canonical`), so those chains verify unchanged and records carry no hash
version.

Store ``at`` as the exact text produced here (not re-formatted by the database), since the
hash covers that text.

Example::

    >>> first = append(None, "320703", actor="zhang.wei", role="clerk", entity="case",
    ...                entity_id="320703-20261128-000001", action="accept",
    ...                from_state="submitted", to_state="in_review",
    ...                at="2026-11-28T08:30:00.000000Z")
    >>> first.seq, first.prev_hash == genesis_hash("320703")
    (1, True)
    >>> second = append(first, "320703", actor="li.na", role="reviewer", entity="case",
    ...                 entity_id="320703-20261128-000001", action="approve_step",
    ...                 at="2026-11-28T09:00:00.000000Z")
    >>> verify_chain([first, second], "320703").ok
    True
    >>> import dataclasses
    >>> edited = dataclasses.replace(first, comment="backdated")
    >>> verdict = verify_chain([edited, second], "320703")
    >>> verdict.ok, verdict.first_broken_seq, verdict.reason
    (False, 1, 'hash mismatch')
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sunlight.canonical import CanonicalError, canonical_json

__all__ = [
    "AuditRecord",
    "ChainVerdict",
    "append",
    "genesis_hash",
    "record_hash",
    "utc_timestamp",
    "verify_chain",
]


@dataclass(frozen=True)
class AuditRecord:
    """One operation on one entity, chained to the site's previous record."""

    seq: int
    site: str
    at: str
    actor: str
    role: str
    entity: str
    entity_id: str
    action: str
    from_state: str | None
    to_state: str | None
    comment: str
    prev_hash: str
    hash: str

    def hashed_fields(self) -> dict[str, object]:
        """Every field except ``hash``: what :func:`record_hash` covers."""
        fields = dataclasses.asdict(self)
        del fields["hash"]
        return fields


#: The names :func:`record_hash` requires, in declaration order.
HASHED_FIELDS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(AuditRecord) if f.name != "hash"
)


@dataclass(frozen=True)
class ChainVerdict:
    """The result of :func:`verify_chain`.

    ``first_broken_seq`` is the ``seq`` field of the first record that could not be
    accepted (for a deleted record: the one after the gap). ``last_seq``/``last_hash``
    describe the last record accepted, to be kept as the next anchor.
    """

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
    last_seq: int | None = None
    last_hash: str | None = None


def genesis_hash(site: str) -> str:
    """The ``prev_hash`` of a site's first record."""
    return hashlib.sha256(("sunlight-audit:" + site).encode("utf-8")).hexdigest()


def record_hash(fields: Mapping[str, object] | None = None, /, **more: object) -> str:
    """sha256(prev_hash + canonical JSON) over exactly the fields in :data:`HASHED_FIELDS`.

    Pass a mapping, keywords, or both. Canonical JSON: RFC 8785 (sorted keys, no
    whitespace, UTF-8, non-ASCII kept as is), so that any language can recompute it.
    """
    values = {**(fields or {}), **more}
    missing = set(HASHED_FIELDS) - values.keys()
    extra = values.keys() - set(HASHED_FIELDS)
    if missing or extra:
        raise ValueError(
            f"record_hash needs exactly {', '.join(HASHED_FIELDS)}; "
            f"missing {sorted(missing)}, unexpected {sorted(extra)}"
        )
    prefix = str(values["prev_hash"]).encode("utf-8")
    return hashlib.sha256(prefix + canonical_json(values)).hexdigest()


def utc_timestamp(moment: datetime | None = None) -> str:
    """ISO-8601 UTC with microseconds and a ``Z``, e.g. ``2026-11-28T08:30:00.000000Z``."""
    moment = datetime.now(UTC) if moment is None else moment
    if moment.tzinfo is None:
        raise ValueError("audit timestamps need a timezone-aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def append(
    chain_tail: AuditRecord | None,
    site: str,
    *,
    actor: str,
    role: str,
    entity: str,
    entity_id: str,
    action: str,
    from_state: str | None = None,
    to_state: str | None = None,
    comment: str = "",
    at: str | datetime | None = None,
) -> AuditRecord:
    """The record that follows ``chain_tail`` (None: the site's first record).

    ``at`` defaults to now; a datetime is formatted with :func:`utc_timestamp`.
    """
    if chain_tail is not None and chain_tail.site != site:
        raise ValueError(f"the chain tail belongs to site {chain_tail.site}, not {site}")
    if not isinstance(at, str):
        at = utc_timestamp(at)
    unsigned = AuditRecord(
        seq=1 if chain_tail is None else chain_tail.seq + 1,
        site=site,
        at=at,
        actor=actor,
        role=role,
        entity=entity,
        entity_id=entity_id,
        action=action,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        prev_hash=genesis_hash(site) if chain_tail is None else chain_tail.hash,
        hash="",
    )
    return dataclasses.replace(unsigned, hash=record_hash(unsigned.hashed_fields()))


def _defect(record: AuditRecord, site: str, expected_prev: str, expected_seq: int) -> str | None:
    if record.site != site:
        return "site mismatch"
    try:
        rehashed = record_hash(record.hashed_fields())
    except CanonicalError:  # no canonical form (e.g. a seq beyond 2**53): not written here
        return "hash mismatch"
    if rehashed != record.hash:
        return "hash mismatch"
    if record.prev_hash != expected_prev:
        return "prev_hash mismatch"
    if record.seq != expected_seq:
        return "sequence gap"
    return None


def verify_chain(
    records: Iterable[AuditRecord], site: str, *, anchor: tuple[int, str] | None = None,
    anchors: Iterable[tuple[int, str]] = (),
) -> ChainVerdict:
    """Check a site's chain from seq 1, in order; streams, holding one record at a time.

    Reasons: "hash mismatch" (a record was edited), "prev_hash mismatch" (a record was
    removed, inserted or reordered), "sequence gap" (seq numbers skip or repeat though the
    hashes link), "site mismatch" (another site's record). With ``anchor=(seq, hash)``
    from an earlier verification, also "anchor mismatch" (that record differs or the chain
    now ends before it — a cut-off tail). ``anchors`` are more such heads (signed ones kept
    by the site and its parent, :mod:`sunlight.runtime.core.audit_anchor`): a history that was
    rewritten and re-hashed consistently links again, but no longer holds an anchored hash.
    """
    pinned: dict[int, str] = dict(anchors)
    if anchor is not None:
        pinned[anchor[0]] = anchor[1]
    furthest = max(pinned, default=0)
    expected_prev, expected_seq = genesis_hash(site), 1
    checked = 0
    last: AuditRecord | None = None
    for record in records:
        checked += 1
        defect = _defect(record, site, expected_prev, expected_seq)
        if defect is None and pinned.get(record.seq, record.hash) != record.hash:
            defect = "anchor mismatch"
        if defect is not None:
            return _verdict(checked, last, record.seq, defect)
        expected_prev, expected_seq, last = record.hash, record.seq + 1, record
    if furthest and (last is None or last.seq < furthest):
        return _verdict(checked, last, expected_seq, "anchor mismatch")
    return _verdict(checked, last, None, None)


def _verdict(
    checked: int, last: AuditRecord | None, broken_seq: int | None, reason: str | None
) -> ChainVerdict:
    return ChainVerdict(
        ok=reason is None,
        checked=checked,
        first_broken_seq=broken_seq,
        reason=reason,
        last_seq=None if last is None else last.seq,
        last_hash=None if last is None else last.hash,
    )
