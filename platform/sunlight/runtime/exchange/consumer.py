"""The consumer: one queue, manual acks, deliveries handled in batches, in queue order.

Deliveries that are already waiting (up to the prefetch) are handled together in one
transaction by :func:`sunlight.runtime.exchange.inbound.handle` — applied, held, forwarded,
ignored as duplicates or dead-lettered — and acknowledged only after it committed, so a
crash in between redelivers them and the inbox makes the second time a no-op. When a batch
fails, its deliveries are retried one at a time: while the database is unreachable each is
put back (RabbitMQ requeues at its position, so order is kept) and the consumer waits with
backoff; an event whose apply fails for another reason is retried a few times, then
dead-lettered as ``apply_failed`` rather than block the queue for ever (``sunlight exchange
dead-letters replay`` applies it again once the cause is fixed).

A poison message — oversized, nested too deep, not UTF-8, not JSON, not an object — never
gets that far: :func:`~sunlight.runtime.exchange.inbound.accept` refuses it from one
bounded read of its bytes, so its batch commits with it dead-lettered once (reason
``oversized`` or ``malformed``), it is acknowledged, and the messages behind it go on.

Example::

    >>> consumer = Consumer(engine, inbound_ctx, metrics, batch=200)  # doctest: +SKIP
    >>> await consumer.run(channel, "sunlight.in.up", "up")  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter as Tally

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from sunlight.runtime.exchange.inbound import (
    Direction,
    Inbound,
    Outcome,
    dead_letter,
    handle,
    read_claims,
)
from sunlight.runtime.exchange.metrics import ExchangeMetrics

log = logging.getLogger(__name__)
MAX_APPLY_ATTEMPTS = 5


class Consumer:
    """Consumes the site's inbound queues until cancelled or the channel fails."""

    def __init__(self, engine: Engine, ctx: Inbound, metrics: ExchangeMetrics,
                 batch: int = 200, forwarded: asyncio.Event | None = None) -> None:
        self.engine, self.ctx, self.metrics, self.batch = engine, ctx, metrics, batch
        # Set after a batch queued something for the next hop: the publisher need not wait
        # for its next poll (a city passes events on at once).
        self.forwarded = forwarded
        self._failures: Tally[str] = Tally()

    async def run(self, channel: AbstractChannel, queue_name: str, direction: Direction) -> None:
        queue = await channel.get_queue(queue_name, ensure=True)
        waiting: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        tag = await queue.consume(waiting.put)
        try:
            while True:
                batch = [await waiting.get()]
                while len(batch) < self.batch and not waiting.empty():
                    batch.append(waiting.get_nowait())
                await self._handle(batch, queue_name, direction)
        finally:
            if not channel.is_closed:
                await queue.cancel(tag)

    async def _handle(self, batch: list[AbstractIncomingMessage], queue: str,
                      direction: Direction) -> None:
        try:
            outcomes = await asyncio.to_thread(handle, self.engine, self.ctx,
                                               [m.body for m in batch], queue, direction)
        except Exception:
            log.warning("a batch of %d events failed; handling them one by one", len(batch))
            for message in batch:
                await self._one(message, queue, direction)
            return
        for message, outcome in zip(batch, outcomes, strict=True):
            await message.ack()
            self._count(outcome)
        if self.forwarded is not None and any(o.forwarded for o in outcomes):
            self.forwarded.set()

    async def _one(self, message: AbstractIncomingMessage, queue: str,
                   direction: Direction) -> None:
        key = hashlib.sha256(message.body).hexdigest()  # stable across redeliveries
        outcome: Outcome | None
        try:
            (outcome,) = await asyncio.to_thread(handle, self.engine, self.ctx,
                                                 [message.body], queue, direction)
        except (OperationalError, DBAPIError) as exc:
            if _connection_trouble(exc):
                await self._retry_later(message, "database unavailable", 1 + min(
                    self._failures[key], 30))
                return
            outcome = await self._failed(message, queue, key, exc)
        except Exception as exc:  # a bug must not block the queue for ever
            outcome = await self._failed(message, queue, key, exc)
        if outcome is None:
            return
        self._failures.pop(key, None)
        await message.ack()
        self._count(outcome)

    async def _failed(self, message: AbstractIncomingMessage, queue: str, key: str,
                      exc: Exception) -> Outcome | None:
        self._failures[key] += 1
        if self._failures[key] < MAX_APPLY_ATTEMPTS:
            log.exception("applying an event failed; retrying", extra={"event": key})
            await self._retry_later(message, str(exc), self._failures[key])
            return None
        log.error("applying an event keeps failing; dead-lettered",
                  extra={"event": key, "error": repr(exc)})
        # The body was read before without trouble (else it was refused, not applied); what
        # it claims is read again with the same bounds, and never raises.
        doc = read_claims(message.body)
        await asyncio.to_thread(dead_letter, self.engine, queue, message.body, "apply_failed",
                                repr(exc), doc)
        claimed = str(doc.get("type")) if doc and doc.get("type") else message.type
        return Outcome("dead", "unknown", claimed, "apply_failed")

    async def _retry_later(self, message: AbstractIncomingMessage, why: str,
                           wait_s: float) -> None:
        log.warning("event put back", extra={"why": why, "wait_s": wait_s})
        await message.nack(requeue=True)
        await asyncio.sleep(wait_s)

    def _count(self, outcome: Outcome) -> None:
        if outcome.kind == "dead":
            self.metrics.rejected.labels(outcome.via, outcome.reason or "unknown").inc()
            log.warning("event dead-lettered", extra={"reason": outcome.reason,
                                                      "link": outcome.via,
                                                      "type": outcome.type})
        elif outcome.kind == "duplicate":
            self.metrics.duplicates.labels(outcome.via).inc()
        else:
            self.metrics.delivered.labels(outcome.via).inc()
        if outcome.legacy_signature:
            self.metrics.legacy_signatures.labels(outcome.via).inc()


def _connection_trouble(exc: DBAPIError) -> bool:
    return bool(exc.connection_invalidated) or isinstance(exc, OperationalError)
