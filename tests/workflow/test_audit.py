"""The per-site audit hash chain (网上留痕)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sunlight.workflow.audit import (
    AuditRecord,
    append,
    genesis_hash,
    record_hash,
    utc_timestamp,
    verify_chain,
)

SITE = "320703"
T0 = datetime(2026, 11, 28, 8, 30, tzinfo=UTC)


def _chain(n: int, site: str = SITE) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    tail = None
    for i in range(n):
        tail = append(
            tail, site, actor=f"user{i % 3}", role="clerk", entity="case",
            entity_id=f"{site}-20261128-{i:06d}", action="accept",
            from_state="submitted", to_state="in_review", comment=f"第{i}条",
            at=T0 + timedelta(minutes=i),
        )
        records.append(tail)
    return records


def test_genesis_hash_is_sha256_of_the_prefixed_site() -> None:
    assert genesis_hash(SITE) == hashlib.sha256(b"sunlight-audit:320703").hexdigest()
    assert genesis_hash("320700") != genesis_hash(SITE)


def test_record_hash_is_pinned_to_the_canonical_json() -> None:
    # Written out by hand, so that another language's verifier can be checked against it.
    prev = genesis_hash(SITE)
    canonical = (
        '{"action":"request_correction","actor":"王芳","at":"2026-11-28T08:30:00.000000Z",'
        '"comment":"补交营业执照","entity":"case","entity_id":"320703-20261128-000001",'
        f'"from_state":"submitted","prev_hash":"{prev}","role":"clerk","seq":1,'
        '"site":"320703","to_state":null}'
    )
    expected = hashlib.sha256((prev + canonical).encode("utf-8")).hexdigest()
    record = append(
        None, SITE, actor="王芳", role="clerk", entity="case",
        entity_id="320703-20261128-000001", action="request_correction",
        from_state="submitted", comment="补交营业执照", at="2026-11-28T08:30:00.000000Z",
    )
    assert record.hash == expected
    assert record_hash(record.hashed_fields()) == expected
    assert record_hash(**record.hashed_fields()) == expected


def test_record_hash_wants_exactly_the_record_fields() -> None:
    fields = _chain(1)[0].hashed_fields()
    with pytest.raises(ValueError, match="missing"):
        record_hash({k: v for k, v in fields.items() if k != "comment"})
    with pytest.raises(ValueError, match="unexpected"):
        record_hash(fields, id=7)


def test_append_links_records() -> None:
    records = _chain(3)
    assert [r.seq for r in records] == [1, 2, 3]
    assert records[0].prev_hash == genesis_hash(SITE)
    assert records[1].prev_hash == records[0].hash
    assert records[2].prev_hash == records[1].hash
    assert len({r.hash for r in records}) == 3
    assert records[0].at == "2026-11-28T08:30:00.000000Z"


def test_append_refuses_another_sites_tail() -> None:
    with pytest.raises(ValueError, match="belongs to site 320700"):
        append(_chain(1, "320700")[0], SITE, actor="a", role="clerk", entity="case",
               entity_id="x", action="accept")


def test_valid_chain_verifies() -> None:
    records = _chain(5)
    verdict = verify_chain(records, SITE)
    assert verdict.ok
    assert (verdict.checked, verdict.first_broken_seq, verdict.reason) == (5, None, None)
    assert (verdict.last_seq, verdict.last_hash) == (5, records[-1].hash)


def test_empty_chain_is_ok() -> None:
    verdict = verify_chain([], SITE)
    assert verdict.ok and verdict.checked == 0 and verdict.last_seq is None


def test_edited_comment_breaks_that_record() -> None:
    records = _chain(5)
    records[2] = dataclasses.replace(records[2], comment="改过的意见")
    verdict = verify_chain(records, SITE)
    assert (verdict.ok, verdict.first_broken_seq, verdict.reason) == (False, 3, "hash mismatch")
    assert verdict.checked == 3
    assert verdict.last_seq == 2


@pytest.mark.parametrize("field", ["actor", "at", "to_state", "entity_id", "site"])
def test_any_edited_field_is_caught(field: str) -> None:
    records = _chain(4)
    changes: dict[str, object] = {field: "320700"}
    records[1] = dataclasses.replace(records[1], **changes)  # type: ignore[arg-type]
    verdict = verify_chain(records, SITE)
    assert not verdict.ok and verdict.first_broken_seq == 2


def test_edited_and_rehashed_record_breaks_the_next() -> None:
    records = _chain(5)
    forged = dataclasses.replace(records[2], comment="改过的意见")
    records[2] = dataclasses.replace(forged, hash=record_hash(forged.hashed_fields()))
    verdict = verify_chain(records, SITE)
    assert (verdict.first_broken_seq, verdict.reason) == (4, "prev_hash mismatch")


def test_deleted_record_breaks_the_next() -> None:
    records = _chain(5)
    del records[2]
    verdict = verify_chain(records, SITE)
    assert (verdict.ok, verdict.first_broken_seq, verdict.reason) == (
        False, 4, "prev_hash mismatch")


def test_deleted_first_record() -> None:
    verdict = verify_chain(_chain(3)[1:], SITE)
    assert (verdict.first_broken_seq, verdict.reason) == (2, "prev_hash mismatch")


def test_swapped_records() -> None:
    records = _chain(5)
    records[1], records[2] = records[2], records[1]
    verdict = verify_chain(records, SITE)
    # The record now in second place (seq 3) does not follow seq 1.
    assert (verdict.first_broken_seq, verdict.reason, verdict.checked) == (
        3, "prev_hash mismatch", 2)


def test_inserted_record() -> None:
    records = _chain(4)
    intruder = append(records[1], SITE, actor="x", role="clerk", entity="case",
                      entity_id="x", action="close", at=T0)
    records.insert(2, intruder)
    verdict = verify_chain(records, SITE)
    assert (verdict.first_broken_seq, verdict.reason) == (3, "prev_hash mismatch")
    assert verdict.checked == 4  # the intruder itself links fine; the original 3 does not


def test_sequence_gap() -> None:
    first = _chain(1)[0]
    fields = {**first.hashed_fields(), "seq": 3, "prev_hash": first.hash}
    skipped = AuditRecord(**fields, hash=record_hash(fields))  # type: ignore[arg-type]
    verdict = verify_chain([first, skipped], SITE)
    assert (verdict.first_broken_seq, verdict.reason) == (3, "sequence gap")


def test_another_sites_chain_does_not_verify() -> None:
    verdict = verify_chain(_chain(2, "320700"), SITE)
    assert (verdict.first_broken_seq, verdict.reason) == (1, "site mismatch")


def test_anchor_detects_a_cut_off_tail() -> None:
    records = _chain(6)
    anchor = (5, records[4].hash)
    assert verify_chain(records, SITE, anchor=anchor).ok  # grew past the anchor: fine
    verdict = verify_chain(records[:3], SITE, anchor=anchor)
    assert (verdict.ok, verdict.first_broken_seq, verdict.reason) == (False, 4, "anchor mismatch")
    assert verify_chain([], SITE, anchor=anchor).reason == "anchor mismatch"


def test_anchor_detects_a_rewritten_chain() -> None:
    original = _chain(4)
    head = _chain(2)
    forged = append(head[1], SITE, actor="x", role="clerk", entity="case", entity_id="x",
                    action="close", at=T0)
    rewritten = [*head, forged]
    verdict = verify_chain(rewritten, SITE, anchor=(3, original[2].hash))
    assert (verdict.first_broken_seq, verdict.reason) == (3, "anchor mismatch")


def test_verification_streams_and_stops_at_the_first_break() -> None:
    consumed = 0

    def records() -> Iterator[AuditRecord]:
        nonlocal consumed
        tail = None
        for i in range(1, 20_001):
            tail = append(tail, SITE, actor="a", role="clerk", entity="case",
                          entity_id=str(i), action="accept", at=T0)
            consumed += 1
            yield dataclasses.replace(tail, comment="x") if i == 15_000 else tail

    verdict = verify_chain(records(), SITE)
    assert (verdict.first_broken_seq, verdict.checked, consumed) == (15_000, 15_000, 15_000)


def test_utc_timestamp() -> None:
    beijing = timezone(timedelta(hours=8))
    assert utc_timestamp(datetime(2026, 11, 28, 16, 30, tzinfo=beijing)) == (
        "2026-11-28T08:30:00.000000Z")
    with pytest.raises(ValueError, match="timezone"):
        utc_timestamp(datetime(2026, 11, 28, 16, 30))
    now = datetime.fromisoformat(utc_timestamp())
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=1)


def test_append_defaults_to_now() -> None:
    record = append(None, SITE, actor="a", role="clerk", entity="item", entity_id="1",
                    action="publish")
    assert record.at.endswith("Z")
    assert abs(datetime.fromisoformat(record.at) - datetime.now(UTC)) < timedelta(minutes=1)
    assert (record.from_state, record.to_state, record.comment) == (None, None, "")


# --- Chains written before RFC 8785 --------------------------------------------------------
# The hashing as it was (sunlight.workflow.audit before canonical JSON became RFC 8785),
# copied here unchanged: chains already stored were hashed with it and must still verify.


def _legacy_record_hash(values: dict[str, object]) -> str:
    import json

    canonical = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((str(values["prev_hash"]) + canonical).encode("utf-8")).hexdigest()


def _legacy_append(tail: AuditRecord | None, site: str, *, at: str, actor: str, role: str,
                   entity: str, entity_id: str, action: str, from_state: str | None,
                   to_state: str | None, comment: str) -> AuditRecord:
    unsigned = AuditRecord(
        seq=1 if tail is None else tail.seq + 1, site=site, at=at, actor=actor, role=role,
        entity=entity, entity_id=entity_id, action=action, from_state=from_state,
        to_state=to_state, comment=comment,
        prev_hash=genesis_hash(site) if tail is None else tail.hash, hash="")
    return dataclasses.replace(unsigned, hash=_legacy_record_hash(unsigned.hashed_fields()))


# What a person can type, and what JSON must escape: quotes, backslashes, every control
# character (short and \u00xx escapes), DEL, U+2028/U+2029, full-width punctuation,
# CJK Extension B (outside the BMP, as in rare personal names), emoji, a private-use char.
AWKWARD = [
    "", "王芳", '引号"与\\反斜杠', "".join(chr(c) for c in range(0x20)), "\x7f",
    "\u2028\u2029", "（全角）：“引号”", "𠀀𠮷", "办结 ✅🙂", "\ue000", "/</script>",
    "line\nbreak\ttab\r\x0c\x08", "0", "null", "1.0",
]


@pytest.fixture
def legacy_chain() -> list[AuditRecord]:
    """A chain written by the old implementation, with awkward content in every field."""
    records: list[AuditRecord] = []
    tail: AuditRecord | None = None
    for i, text in enumerate(AWKWARD * 3):
        tail = _legacy_append(
            tail, SITE, at=utc_timestamp(T0 + timedelta(seconds=i)), actor=text or "a",
            role="clerk", entity="case", entity_id=f"{SITE}-20261128-{i:06d}{text[:2]}",
            action=text or "accept", from_state=text if i % 2 else None,
            to_state=None if i % 3 else text, comment=text * (i % 4))
        records.append(tail)
    return records


def test_a_chain_hashed_the_old_way_still_verifies(legacy_chain: list[AuditRecord]) -> None:
    verdict = verify_chain(legacy_chain, SITE)
    assert verdict.ok and verdict.checked == len(legacy_chain)
    assert (verdict.last_seq, verdict.last_hash) == (legacy_chain[-1].seq, legacy_chain[-1].hash)
    # ... because for an audit record the old form and RFC 8785 are the same bytes: the
    # new hash of every old record is the hash stored with it.
    for record in legacy_chain:
        assert record_hash(record.hashed_fields()) == record.hash


def test_an_old_chain_goes_on_with_new_records_and_keeps_its_anchor(
        legacy_chain: list[AuditRecord]) -> None:
    anchor = (legacy_chain[-1].seq, legacy_chain[-1].hash)
    tail = legacy_chain[-1]
    extended = list(legacy_chain)
    for text in AWKWARD:
        tail = append(tail, SITE, actor="new", role="clerk", entity="case", entity_id="x",
                      action="accept", comment=text, at=T0)
        extended.append(tail)
    assert verify_chain(extended, SITE, anchor=anchor).ok
    # the old implementation agrees with what the new one wrote
    assert all(_legacy_record_hash(r.hashed_fields()) == r.hash for r in extended)


def test_tampering_with_an_old_chain_is_still_caught(legacy_chain: list[AuditRecord]) -> None:
    edited = list(legacy_chain)
    edited[4] = dataclasses.replace(edited[4], comment="backdated")
    verdict = verify_chain(edited, SITE)
    assert (verdict.ok, verdict.first_broken_seq, verdict.reason) == (False, 5, "hash mismatch")


def test_a_record_without_a_canonical_form_is_a_mismatch_not_a_crash() -> None:
    (record,) = _chain(1)
    huge = dataclasses.replace(record, seq=2**53)  # beyond what RFC 8785 can spell
    assert verify_chain([huge], SITE).reason == "hash mismatch"
