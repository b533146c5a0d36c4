"""What a site does with one received body: refuse it, or accept, forward and apply it once.

:func:`accept` is pure: it reads, validates and verifies, and decides the route. Each
refusal has one reason, in this order — ``oversized`` (larger than the exchange reads, checked
before anything reads it), ``malformed`` (nested too deep, not UTF-8, not JSON, not an object
with a signature: each found by reading the body once, never by a ``RecursionError``),
``schema_violation`` (envelope), ``unknown_type``, ``unknown_source`` (no key),
``unknown_key`` (the source has no key with the envelope's key id here), ``retired_key`` (a
former key of the source, past the end of its overlap), ``bad_signature``,
``schema_violation`` (addressing or data), ``misrouted`` (wrong direction or destination).
:func:`handle` takes a batch of consecutive deliveries and, in one transaction, stores each
refusal as a dead letter, or claims the event id in the inbox (a duplicate or replay stops
here), queues the unchanged body for the next hops, and applies the event if it is for this
site, with the handler registered for its type (:mod:`.handlers`: the transport does not
know what an event means).
Verified events that still cannot be applied (``not_applicable``) and events whose apply
keeps failing (``apply_failed``) are dead-lettered too; nothing refused is ever applied. A
dead letter records what the body claims (source, id, type) from the document already read,
never by reading the body again; an ``apply_failed`` one can be replayed (:func:`replay`,
``sunlight exchange dead-letters replay``).
An event whose signature covers the pre-RFC 8785 canonical form (signed by a site not yet
upgraded; see :mod:`.signing`) is accepted and counted per link in
``sunlight_exchange_legacy_signatures_total``.

Example::

    >>> from sunlight.runtime.exchange.signing import Keyring
    >>> accept(Inbound("320700", Keyring("320700"), ()), b"not json", "up")
    Traceback (most recent call last):
    ...
    sunlight.runtime.exchange.inbound.Rejected: malformed: not UTF-8 JSON: Expecting value: ...
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from sunlight.runtime.db import transaction
from sunlight.runtime.exchange import outbox
from sunlight.runtime.exchange.envelope import (
    MAX_BODY_BYTES,
    EnvelopeError,
    Oversized,
    parse_body,
    read_body,
)
from sunlight.runtime.exchange.handlers import Handlers, NotApplicable
from sunlight.runtime.exchange.models import DeadLetter
from sunlight.runtime.exchange.schemas import (
    EventType,
    SchemaViolation,
    UnknownType,
    check_envelope,
)
from sunlight.runtime.exchange.signing import (
    BadSignature,
    Keyring,
    RetiredKey,
    SignedForm,
    UnknownKey,
    UnknownSource,
    verify_sealed,
)
from sunlight.runtime.exchange.topology import (
    Q_IN_DOWN,
    Q_IN_UP,
    Misrouted,
    Route,
    next_hop_down,
    route,
)
from sunlight.topology.division import DivisionError, expected_parent

Direction = Literal["up", "down"]
Kind = Literal["applied", "held", "stale", "forwarded", "duplicate", "dead"]
REASONS = ("oversized", "malformed", "schema_violation", "unknown_type", "unknown_source",
           "unknown_key", "retired_key", "bad_signature", "misrouted", "not_applicable",
           "apply_failed")
#: A refused body is kept as evidence up to this size; a verified one (``apply_failed``,
#: ``not_applicable``) is kept whole, so it can be replayed.
MAX_BODY_KEPT = 256 * 1024
KEPT_WHOLE = ("apply_failed", "not_applicable")


class Rejected(ValueError):
    """The body is refused; ``reason`` is one of :data:`REASONS`; ``doc`` is the document
    read from it, if it could be read (what it claims is taken from there)."""

    def __init__(self, reason: str, detail: str, doc: dict[str, Any] | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail, self.doc = reason, detail, doc


@dataclass(frozen=True)
class Inbound:
    """What the receiving site knows: itself, the keys it trusts, its direct children, and
    what applies each event type here (registered by core at start-up)."""

    site: str
    keyring: Keyring
    children: tuple[str, ...]
    handlers: Handlers = field(default_factory=Handlers)
    max_body_bytes: int = MAX_BODY_BYTES


@dataclass(frozen=True)
class Accepted:
    envelope: dict[str, Any]
    spec: EventType
    route: Route
    signed_form: SignedForm = "rfc8785"


@dataclass(frozen=True)
class Outcome:
    """How one delivery ended, and the neighbour it came through (for per-link metrics)."""

    kind: Kind
    via: str
    type: str | None = None
    reason: str | None = None
    forwarded: bool = False
    legacy_signature: bool = False


def accept(ctx: Inbound, body: bytes, direction: Direction) -> Accepted:
    """Validate, verify and route ``body``; raise :class:`Rejected` with the first reason.

    The body is read once (size first, nesting before parsing); every later check works
    on that document.
    """
    try:
        doc = read_body(body, ctx.max_body_bytes)
    except Oversized as exc:
        raise Rejected("oversized", str(exc)) from exc
    except EnvelopeError as exc:
        raise Rejected("malformed", str(exc)) from exc
    try:
        return _accept(ctx, doc, direction)
    except Rejected as exc:
        exc.doc = doc
        raise
    except (EnvelopeError, RecursionError) as exc:  # e.g. no signature, a float, a surrogate
        raise Rejected("malformed", str(exc) or type(exc).__name__, doc) from exc


def _accept(ctx: Inbound, doc: dict[str, Any], direction: Direction) -> Accepted:
    unsigned, _, _ = parse_body(doc)  # a signature, and a canonical form: else malformed
    try:
        spec = check_envelope(unsigned)
    except SchemaViolation as exc:
        raise Rejected("schema_violation", str(exc)) from exc
    except UnknownType as exc:
        raise Rejected("unknown_type", str(exc)) from exc
    try:
        opened = verify_sealed(doc, ctx.keyring)
    except UnknownSource as exc:
        raise Rejected("unknown_source", str(exc)) from exc
    except UnknownKey as exc:
        raise Rejected("unknown_key", str(exc)) from exc
    except RetiredKey as exc:
        raise Rejected("retired_key", str(exc)) from exc
    except BadSignature as exc:
        raise Rejected("bad_signature", str(exc)) from exc
    envelope = opened.envelope
    try:
        spec.check(envelope)
    except SchemaViolation as exc:
        raise Rejected("schema_violation", str(exc)) from exc
    if spec.direction != direction:
        raise Rejected("misrouted", f"{spec.name} travels {spec.direction}, "
                       f"it arrived travelling {direction}")
    try:
        hops = route(ctx.site, ctx.children, direction, envelope["source"],
                     envelope.get("destination"))
    except (Misrouted, DivisionError) as exc:
        raise Rejected("misrouted", str(exc)) from exc
    return Accepted(envelope, spec, hops, opened.form)


def via(site: str, direction: Direction, source: object) -> str:
    """The neighbour a delivery came through (``unknown`` when the claim makes no sense)."""
    try:
        if direction == "down":
            return str(expected_parent(site))
        return next_hop_down(site, str(source))
    except (Misrouted, DivisionError, ValueError):
        return "unknown"


def _claims(doc: dict[str, Any] | None) -> dict[str, str | None]:
    """What a document read from a body claims (unverified); nothing when it was unreadable."""
    doc = doc or {}
    return {k: str(doc[k])[:80] if doc.get(k) is not None else None
            for k in ("source", "id", "type")}


def read_claims(body: bytes) -> dict[str, Any] | None:
    """The document of a body that was read before (an ``apply_failed`` one), or None."""
    try:
        return read_body(body, max(len(body), MAX_BODY_BYTES))
    except EnvelopeError:
        return None


def _dead_letter_row(queue: str, body: bytes, reason: str, detail: str,
                     doc: dict[str, Any] | None) -> DeadLetter:
    claims = _claims(doc)
    return DeadLetter(queue=queue, reason=reason, detail=detail[:4000],
                      claimed_source=(claims["source"] or "")[:16] or None,
                      claimed_id=(claims["id"] or "")[:64] or None,
                      claimed_type=claims["type"],
                      body=body if reason in KEPT_WHOLE else body[:MAX_BODY_KEPT])


def dead_letter(engine: Engine, queue: str, body: bytes, reason: str, detail: str,
                doc: dict[str, Any] | None = None) -> None:
    """Store one dead letter in its own transaction (``doc``: what was read from ``body``)."""
    with transaction(engine) as session:
        session.add(_dead_letter_row(queue, body, reason, detail, doc))


# Built once: every delivery runs it. A conflict means the id was accepted before.
_CLAIM = text("INSERT INTO exchange_event_inbox (event_id, source, type, via, received_at) "
              "VALUES (:id, :source, :type, :via, now()) "
              "ON CONFLICT (event_id) DO NOTHING RETURNING event_id")


def _store(session: Session, ctx: Inbound, acc: Accepted, body: bytes, link: str) -> Kind:
    env = acc.envelope
    claimed = session.execute(_CLAIM, {"id": uuid.UUID(env["id"]), "source": env["source"],
                                       "type": env["type"], "via": link}).first()
    if claimed is None:
        return "duplicate"
    for hop in acc.route.forward:
        outbox.forward(session, hop, env["id"], env["type"], body)
    if not acc.route.apply:
        return "forwarded"
    kind = ctx.handlers.handler(acc.spec.name).apply(session, ctx.site, env)
    assert kind in ("applied", "held", "stale"), f"{acc.spec.name} handler answered {kind!r}"
    return kind


def _one(session: Session, ctx: Inbound, body: bytes, queue: str,
         direction: Direction) -> Outcome:
    try:
        acc = accept(ctx, body, direction)
    except Rejected as exc:
        session.add(_dead_letter_row(queue, body, exc.reason, exc.detail, exc.doc))
        claims = _claims(exc.doc)
        return Outcome("dead", via(ctx.site, direction, claims["source"]), claims["type"],
                       exc.reason)
    link = via(ctx.site, direction, acc.envelope["source"])
    onward, legacy = bool(acc.route.forward), acc.signed_form == "legacy"
    if not (acc.route.apply and ctx.handlers.handler(acc.spec.name).may_refuse):
        kind = _store(session, ctx, acc, body, link)
        return Outcome(kind, link, acc.spec.name, forwarded=onward and kind != "duplicate",
                       legacy_signature=legacy)
    try:
        with session.begin_nested():  # a refusal undoes this event only, not the batch
            kind = _store(session, ctx, acc, body, link)
            return Outcome(kind, link, acc.spec.name, forwarded=onward and kind != "duplicate",
                           legacy_signature=legacy)
    except NotApplicable as exc:
        session.add(_dead_letter_row(queue, body, "not_applicable", str(exc), acc.envelope))
        return Outcome("dead", link, acc.spec.name, "not_applicable", legacy_signature=legacy)


def handle(engine: Engine, ctx: Inbound, bodies: list[bytes], queue: str,
           direction: Direction) -> list[Outcome]:
    """Refuse, or accept-forward-apply, each body in order, all in one transaction.

    Either every outcome is committed (dead letters included) or, on an exception,
    nothing is: the caller then retries the deliveries.
    """
    with transaction(engine) as session:
        return [_one(session, ctx, body, queue, direction) for body in bodies]


class NotReplayable(ValueError):
    """The dead letter is not one to replay, or replaying it did not apply it."""


def replay(engine: Engine, ctx: Inbound, dead_letter_id: int) -> Outcome:
    """Handle an ``apply_failed`` dead letter's body again, as if it were just delivered.

    In one transaction: the body is accepted, claimed in the inbox, forwarded and applied
    (or found a duplicate), and the dead letter is deleted. When it is refused or its apply
    fails again, nothing changes (:class:`NotReplayable`, or the apply's exception).
    """
    with transaction(engine) as session:
        row = session.get(DeadLetter, dead_letter_id, with_for_update=True)
        if row is None:
            raise NotReplayable(f"no dead letter {dead_letter_id}")
        if row.reason != "apply_failed":
            raise NotReplayable(f"dead letter {dead_letter_id} was refused ({row.reason}); "
                                "only apply_failed events are replayed")
        directions: dict[str, Direction] = {Q_IN_UP: "up", Q_IN_DOWN: "down"}
        if row.queue not in directions:
            raise NotReplayable(f"dead letter {dead_letter_id} came from {row.queue}, "
                                "not an inbound queue")
        outcome = _one(session, ctx, bytes(row.body), row.queue, directions[row.queue])
        if outcome.kind == "dead":
            raise NotReplayable(f"dead letter {dead_letter_id} is refused now "
                                f"({outcome.reason}); nothing changed")
        session.delete(row)
        return outcome
