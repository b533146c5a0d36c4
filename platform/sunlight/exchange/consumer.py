"""The consumer: one queue, manual acks, each delivery handled in its own transaction.

A delivery is acknowledged only after :func:`sunlight.exchange.inbound.handle` committed
(applied, held, forwarded, ignored as a duplicate, or dead-lettered), so a crash between
the two redelivers it and the inbox makes the second time a no-op. When the database is
unreachable the delivery is put back (order kept: RabbitMQ requeues at its position) and the
consumer waits with backoff; an event whose apply fails for another reason is retried a few
times, then dead-lettered as ``apply_failed`` rather than block the queue for ever.

Example::

    >>> consumer = Consumer(engine, inbound_ctx, metrics)  # doctest: +SKIP
    >>> await consumer.run(channel, "sunlight.in.up", "up")  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter as Tally

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from sunlight.exchange.inbound import Direction, Inbound, Outcome, dead_letter, handle
from sunlight.exchange.metrics import ExchangeMetrics

log = logging.getLogger(__name__)
MAX_APPLY_ATTEMPTS = 5


class Consumer:
    """Consumes one of the site's inbound queues until cancelled or the channel fails."""

    def __init__(self, engine: Engine, ctx: Inbound, metrics: ExchangeMetrics) -> None:
        self.engine, self.ctx, self.metrics = engine, ctx, metrics
        self._failures: Tally[str] = Tally()

    async def run(self, channel: AbstractChannel, queue_name: str, direction: Direction) -> None:
        queue = await channel.get_queue(queue_name, ensure=True)
        async with queue.iterator() as messages:
            async for message in messages:
                await self._one(message, queue_name, direction)

    async def _one(self, message: AbstractIncomingMessage, queue: str,
                   direction: Direction) -> None:
        key = message.message_id or str(message.delivery_tag)
        outcome: Outcome | None
        try:
            outcome = await asyncio.to_thread(handle, self.engine, self.ctx, message.body,
                                              queue, direction)
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
        await asyncio.to_thread(dead_letter, self.engine, queue, message.body, "apply_failed",
                                repr(exc))
        return Outcome("dead", "unknown", message.type, "apply_failed")

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


def _connection_trouble(exc: DBAPIError) -> bool:
    return bool(exc.connection_invalidated) or isinstance(exc, OperationalError)
