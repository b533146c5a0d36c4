"""The publisher: outbox rows → this site's broker, with confirms, in outbox order.

Each round reads up to ``batch`` unpublished rows for configured links, signs this
site's own envelopes (forwarded bodies go as received), publishes them all on a channel
with publisher confirms and ``mandatory`` set, and marks the confirmed ones. A row that is
nacked or unroutable (its queue not deployed; or its queue is full: the brokers'
``reject-publish`` overflow) stays and is retried; connection loss ends the round and the
service reconnects. A body larger than the brokers take (:data:`.envelope.MAX_BODY_BYTES`) is
never sent — the broker would close the channel, and every round would stop on it: it
stays in the outbox, counted as a failed attempt and logged, and the rows behind it go on.
A confirm lost with the connection means the row is sent again: receivers drop the
duplicate by event id.

Example::

    >>> links = {"320700": ("sunlight.up", "up")}
    >>> p = Publisher(engine, "320703", key, links, batch=200)  # doctest: +SKIP
    >>> await p.run(channel, metrics, poll_s=0.5)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange
from aio_pika.exceptions import DeliveryError, PublishError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select, update

from sunlight.runtime.db import transaction
from sunlight.runtime.exchange.envelope import MAX_BODY_BYTES
from sunlight.runtime.exchange.metrics import ExchangeMetrics
from sunlight.runtime.exchange.models import OutboxRow
from sunlight.runtime.exchange.signing import seal

log = logging.getLogger(__name__)
#: link (neighbour code) → (exchange, routing key)
Links = dict[str, tuple[str, str]]


@dataclass(frozen=True)
class Outgoing:
    seq: int
    event_id: str
    link: str
    type: str
    body: bytes


class Publisher:
    """Moves the outbox to the broker (one per site: order is the outbox's ``seq``)."""

    def __init__(self, engine: Engine, site: str, key: Ed25519PrivateKey, links: Links,
                 batch: int) -> None:
        self.engine, self.site, self.key, self.links, self.batch = (
            engine, site, key, links, batch)

    def pending(self) -> list[Outgoing]:
        if not self.links:
            return []
        with transaction(self.engine) as session:
            rows = session.scalars(select(OutboxRow).where(
                OutboxRow.published_at.is_(None), OutboxRow.link.in_(list(self.links)))
                .order_by(OutboxRow.seq).limit(self.batch)).all()
            return [Outgoing(r.seq, str(r.event_id), r.link, r.type,
                             r.body if r.body is not None else seal(r.envelope or {}, self.key))
                    for r in rows]

    def mark(self, done: list[int], failed: list[int]) -> None:
        with transaction(self.engine) as session:
            if done:
                session.execute(update(OutboxRow).where(OutboxRow.seq.in_(done))
                                .values(published_at=datetime.now(UTC)))
            if failed:
                session.execute(update(OutboxRow).where(OutboxRow.seq.in_(failed))
                                .values(attempts=OutboxRow.attempts + 1))

    async def _send(self, exchanges: dict[str, AbstractExchange], out: Outgoing) -> None:
        name, key = self.links[out.link]
        message = aio_pika.Message(
            out.body, content_type="application/json", message_id=out.event_id, type=out.type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT, app_id=f"sunlight/{self.site}")
        await exchanges[name].publish(message, routing_key=key, mandatory=True)

    async def run(self, channel: AbstractChannel, metrics: ExchangeMetrics, poll_s: float,
                  wake: asyncio.Event | None = None) -> None:
        """Publish until cancelled or the channel fails (the exception propagates)."""
        names = {name for name, _ in self.links.values()}
        exchanges = {n: await channel.get_exchange(n, ensure=True) for n in names}
        while True:
            batch = await asyncio.to_thread(self.pending)
            if not batch:
                await _idle(poll_s, wake)
                continue
            too_big = [o for o in batch if len(o.body) > MAX_BODY_BYTES]
            if too_big:
                log.error("events larger than the brokers take stay in the outbox",
                          extra={"count": len(too_big), "first": too_big[0].event_id,
                                 "bytes": len(too_big[0].body), "max": MAX_BODY_BYTES})
                await asyncio.to_thread(self.mark, [], [o.seq for o in too_big])
                batch = [o for o in batch if len(o.body) <= MAX_BODY_BYTES]
                if not batch:
                    await _idle(poll_s * 10, wake)
                    continue
            results = await asyncio.gather(*(self._send(exchanges, o) for o in batch),
                                           return_exceptions=True)
            done = [o.seq for o, r in zip(batch, results, strict=True) if r is None]
            refused = [(o, r) for o, r in zip(batch, results, strict=True)
                       if isinstance(r, DeliveryError | PublishError)]
            await asyncio.to_thread(self.mark, done, [o.seq for o, _ in refused])
            for o in batch:
                if o.seq in done:
                    metrics.published.labels(o.link).inc()
            broken = next((r for r in results if isinstance(r, BaseException)
                           and not isinstance(r, DeliveryError | PublishError)), None)
            if broken is not None:
                raise broken
            if refused:
                log.warning("broker refused events; they stay in the outbox",
                            extra={"count": len(refused), "first": refused[0][0].event_id,
                                   "link": refused[0][0].link, "error": str(refused[0][1])})
                await asyncio.sleep(poll_s * 10)


async def _idle(poll_s: float, wake: asyncio.Event | None) -> None:
    if wake is None:
        await asyncio.sleep(poll_s)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), poll_s)
    wake.clear()
