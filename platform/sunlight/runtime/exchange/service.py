"""The exchange inside ``sunlight serve core``: broker session, publisher, consumers, jobs.

:meth:`ExchangeService.start` returns at once; core serves whether or not the broker
answers. A supervisor task connects to the site's broker and runs the publisher, the two
consumers and the link monitor on it; when the connection fails it tears them down and
reconnects with exponential backoff (1 s doubling to ``SUNLIGHT_EXCHANGE_RECONNECT_MAX_S``).
Two database-only jobs run regardless of the broker: housekeeping (held case events older
than ``SUNLIGHT_EXCHANGE_GAP_ALERT_S`` are reported: log line, metric; published outbox rows
past their retention are deleted) and, when the site has a parent, the periodic statistics.
What events mean here — applying them, the gaps of what is held, the statistics — comes
from the handlers core registered (:mod:`.handlers`); a type left unhandled stops core at
start.

Example::

    >>> service = ExchangeService(settings, engine, registry, handlers)  # doctest: +SKIP
    >>> service.start()  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, delete
from sqlalchemy.engine import CursorResult

from sunlight.runtime.db import transaction
from sunlight.runtime.exchange import outbox
from sunlight.runtime.exchange.consumer import Consumer
from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.handlers import Handlers
from sunlight.runtime.exchange.inbound import Inbound
from sunlight.runtime.exchange.links import LinkMonitor
from sunlight.runtime.exchange.metrics import ExchangeMetrics
from sunlight.runtime.exchange.models import OutboxRow
from sunlight.runtime.exchange.publisher import Links, Publisher
from sunlight.runtime.exchange.schemas import STATS
from sunlight.runtime.exchange.signing import KeyFileError, Keyring, load_private_key
from sunlight.runtime.exchange.topology import EX_DOWN, EX_UP, Q_IN_DOWN, Q_IN_UP, UP_KEY
from sunlight.runtime.settings import Settings

log = logging.getLogger(__name__)
STABLE_S = 60.0


class ExchangeService:
    """Everything the exchange runs in core's process (see the module docstring)."""

    def __init__(self, settings: Settings, engine: Engine, registry: CollectorRegistry,
                 handlers: Handlers) -> None:
        assert settings.amqp_url and settings.signing_key_file and settings.peer_keys_dir
        self.settings, self.engine = settings, engine
        self.site = settings.site_code
        self.key = load_private_key(settings.signing_key_file)
        self.keyring = Keyring.load(self.site, settings.peer_keys_dir)
        self.parent = settings.parent_site or None
        if self.parent and not self.keyring.is_ancestor(self.parent):
            raise KeyFileError(f"{settings.peer_keys_dir}: no public key of the parent "
                               f"{self.parent}; its events could never be verified")
        self.children = tuple(self.keyring.children())
        handlers.check(statistics=bool(self.parent))
        self.handlers = handlers
        self.metrics = ExchangeMetrics(registry)
        self.inbound = Inbound(self.site, self.keyring, self.children, handlers)
        self.links: Links = {child: (EX_DOWN, child) for child in self.children}
        if self.parent:
            self.links[self.parent] = (EX_UP, UP_KEY)
        self.wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        jobs: list[Callable[[], Coroutine[Any, Any, None]]] = [self._broker_loop,
                                                               self._housekeeping_loop]
        if self.parent:
            jobs.append(self._stats_loop)
        self._tasks = [asyncio.create_task(job(), name=job.__name__) for job in jobs]
        log.info("exchange started", extra={"site": self.site, "parent": self.parent,
                                            "children": list(self.children)})

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _broker_loop(self) -> None:
        assert self.settings.amqp_url is not None
        url = self.settings.amqp_url.get_secret_value()
        delay = 1.0
        while True:
            started = time.monotonic()
            try:
                await self._connected(url)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # unreachable, refused, auth, missing queues: retry
                log.warning("broker unreachable or session failed; retrying",
                            extra={"error": repr(exc), "retry_in_s": delay})
            # Back off while sessions fail fast (e.g. definitions not imported yet); a
            # session that ran for a while earns a quick reconnect.
            delay = 1.0 if time.monotonic() - started > STABLE_S else min(
                delay * 2, self.settings.exchange_reconnect_max_s)
            await asyncio.sleep(delay)

    async def _connected(self, url: str) -> None:
        connection = await aio_pika.connect(url, timeout=10)
        self.metrics.connected.set(1)
        try:
            await self._session(connection)
        finally:
            self.metrics.connected.set(0)
            with contextlib.suppress(Exception):
                await connection.close()

    async def _session(self, connection: AbstractConnection) -> None:
        """Run the workers on one connection until it or one of them fails."""
        s = self.settings
        publish: AbstractChannel = await connection.channel(publisher_confirms=True,
                                                            on_return_raises=True)
        consume = await connection.channel()
        await consume.set_qos(prefetch_count=s.exchange_batch)
        consumer = Consumer(self.engine, self.inbound, self.metrics, s.exchange_batch,
                            forwarded=self.wake)
        publisher = Publisher(self.engine, self.site, self.key, self.links, s.exchange_batch)
        workers = [
            publisher.run(publish, self.metrics, s.exchange_poll_s, self.wake),
            consumer.run(consume, Q_IN_UP, "up"),
            consumer.run(consume, Q_IN_DOWN, "down"),
            LinkMonitor(self.engine, self.site, self.links, self.metrics).run(connection),
        ]
        tasks = [asyncio.create_task(w) for w in workers]
        closed = asyncio.ensure_future(connection.closed())
        try:
            done, _ = await asyncio.wait([*tasks, closed], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not closed and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            raise ConnectionError("broker connection closed")
        finally:
            for task in [*tasks, closed]:
                task.cancel()
            await asyncio.gather(*tasks, closed, return_exceptions=True)

    async def _housekeeping_loop(self) -> None:
        interval = min(5.0, self.settings.exchange_gap_alert_s / 2)
        rounds_per_hour = max(1, int(3600 / interval))
        for round_ in itertools.count():
            try:
                await asyncio.to_thread(self.check_gaps)
                if round_ % rounds_per_hour == 0:
                    await asyncio.to_thread(self.prune_outbox)
            except Exception:  # the job must outlive a database restart
                log.exception("exchange housekeeping failed; retrying next interval")
            await asyncio.sleep(interval)

    def prune_outbox(self) -> int:
        keep = timedelta(days=self.settings.exchange_outbox_retention_days)
        with transaction(self.engine) as session:
            result = session.execute(delete(OutboxRow).where(
                OutboxRow.published_at < datetime.now(UTC) - keep))
        return int(cast(CursorResult[Any], result).rowcount or 0)

    def check_gaps(self) -> int:
        """Update the gap metrics; report (log + counter) each gap older than the alert."""
        now, alert = datetime.now(UTC), self.settings.exchange_gap_alert_s
        with transaction(self.engine) as session:
            found = self.handlers.gaps(session)
            overdue = [g for g in found if g.overdue(now, alert)]
            for gap in overdue:
                if self.handlers.mark_reported(session, gap):
                    self.metrics.gaps_reported.inc()
                    log.warning("case events held behind a sequence gap",
                                extra={"source": gap.source, "receipt": gap.receipt,
                                       "missing": gap.missing, "held": list(gap.held),
                                       "age_s": round(gap.age(now).total_seconds())})
        self.metrics.held.set(sum(len(g.held) for g in found))
        self.metrics.gap_oldest.set(found[0].age(now).total_seconds() if found else 0)
        self.metrics.gaps_overdue.set(len(overdue))
        return len(overdue)

    async def _stats_loop(self) -> None:
        assert self.parent is not None
        while True:
            try:
                await asyncio.to_thread(self._enqueue_stats)
                self.wake.set()
            except Exception:
                log.exception("statistics snapshot failed; retrying next interval")
            await asyncio.sleep(self.settings.exchange_stats_interval_s)

    def _enqueue_stats(self) -> None:
        assert self.parent is not None and self.handlers.snapshot is not None
        with transaction(self.engine) as session:
            outbox.enqueue(session, self.parent,
                           Envelope.new(self.site, STATS, self.handlers.snapshot(session)))
