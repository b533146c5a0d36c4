"""The link monitor: how much waits on each link, and how old the oldest waiting event is.

For each neighbour, an event is "undelivered" while it is still in the outbox or still in
the link queue on this site's broker (``sunlight.up.out`` or ``sunlight.down.<child>``),
waiting for the shovel. Only this site's core publishes into its link queues and shovels
consume them in order, so when ``n`` messages wait there they are the ``n`` this site
published last: the oldest of them was published at the ``n``-th newest ``published_at``.
(Messages a live shovel holds in flight, at most its prefetch, are not counted.)

Example::

    >>> await LinkMonitor(engine, "320703", {"320700": ("sunlight.up", "up")},
    ...                   metrics).run(connection)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import UTC, datetime

from aio_pika.abc import AbstractConnection
from aio_pika.exceptions import ChannelClosed
from sqlalchemy import Engine, func, select

from sunlight.runtime.db import transaction
from sunlight.runtime.exchange.metrics import ExchangeMetrics
from sunlight.runtime.exchange.models import OutboxRow
from sunlight.runtime.exchange.publisher import Links
from sunlight.runtime.exchange.topology import link_queue

log = logging.getLogger(__name__)


class LinkMonitor:
    def __init__(self, engine: Engine, site: str, links: Links, metrics: ExchangeMetrics,
                 interval_s: float = 2.0) -> None:
        self.engine, self.site, self.links, self.metrics = engine, site, links, metrics
        self.interval_s = interval_s

    async def queued(self, connection: AbstractConnection, link: str) -> int | None:
        """Messages ready in the link queue; None if the queue is not deployed."""
        channel = await connection.channel()
        try:
            queue = await channel.declare_queue(link_queue(self.site, link), passive=True)
            count = queue.declaration_result.message_count
            return int(count) if count is not None else None
        except ChannelClosed:  # 404: a closed channel is the broker's way of saying so
            return None
        finally:
            if not channel.is_closed:
                await channel.close()

    def ages(self, link: str, queued: int) -> tuple[int, float]:
        """(events pending in the outbox, age in seconds of the oldest undelivered one)."""
        now = datetime.now(UTC)
        with transaction(self.engine) as session:
            pending, oldest_pending = session.execute(
                select(func.count(), func.min(OutboxRow.created_at))
                .where(OutboxRow.link == link, OutboxRow.published_at.is_(None))).one()
            oldest_queued = None
            if queued > 0:
                oldest_queued = session.scalar(
                    select(OutboxRow.published_at)
                    .where(OutboxRow.link == link, OutboxRow.published_at.is_not(None))
                    .order_by(OutboxRow.published_at.desc(), OutboxRow.seq.desc())
                    .offset(queued - 1).limit(1))
        times = [t for t in (oldest_pending, oldest_queued) if t is not None]
        return int(pending), max(((now - t).total_seconds() for t in times), default=0.0)

    async def run(self, connection: AbstractConnection) -> None:
        while True:
            for link in self.links:
                queued = await self.queued(connection, link)
                pending, age = await asyncio.to_thread(self.ages, link, queued or 0)
                self.metrics.queued.labels(link).set(math.nan if queued is None else queued)
                self.metrics.pending.labels(link).set(pending)
                self.metrics.oldest.labels(link).set(age)
            await asyncio.sleep(self.interval_s)
