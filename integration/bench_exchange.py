"""Benchmark: county → province events per second and end-to-end latency, beside raw RabbitMQ.

Starts the three tiers of the exchange tests (real brokers, PostgreSQL, `sunlight serve
core` ×3), then measures in the same run:

- **exchange throughput**: N case events committed at once into the county's outbox (as
  transitions write them); the clock runs until the province has applied the last one —
  publisher with confirms, durable queues, two shovels, the city's verify-apply-forward,
  the province's verify-apply;
- **exchange latency**: events committed one by one at a fixed rate; latency is the
  province's apply time minus the county's commit time, p50 and p95;
- **raw baseline** on the county's broker: aio-pika publishing the same bodies, persistent,
  with confirms, to a durable queue, consumed with manual acks — throughput, and latency at
  the same rate.

Run: ``.venv/bin/python integration/bench_exchange.py [--events 4000] [--rate 50]``
(needs the Docker engine and the node image; removes everything it started).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import docker

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from exchange_sites import VHOST, Tier, start_tiers
from sunlight.control.images.build import build_node_image
from sunlight.control.resources import Run, sweep
from sunlight.runtime.db import make_engine, transaction
from sunlight.runtime.exchange import outbox
from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.signing import seal

EVENTS_PER_CASE = 4


def _event(receipt: str, seq: int) -> Envelope:
    data = {"receipt": receipt, "action": "accept", "from_status": "submitted",
            "to_status": "in_review", "department": "320703-SCJGJ",
            "item_code": "320703-SCJGJ-QT-001", "item_version": 1, "actor": "clerk",
            "role": "clerk", "at": datetime.now(UTC).isoformat(), "due_on": "2026-12-03",
            "overdue": False, "decision": None, "comment": ""}
    return Envelope.new("320703", "sunlight.case.event", data, subject=receipt, sequence=seq)


def _receipts(prefix: str, events: int) -> list[str]:
    return [f"320703-{prefix}-{i:06d}" for i in range(events // EVENTS_PER_CASE)]


def _applied(province: Tier, receipts: list[str]) -> int:
    rows = province.sql("SELECT count(*) FROM subordinate_case_events WHERE receipt = ANY(%s)",
                        receipts)
    return int(rows[0][0])


def exchange_throughput(county: Tier, province: Tier, events: int) -> float:
    receipts = _receipts("20270101", events)
    engine = make_engine(county.db_url, pool_size=1)
    with transaction(engine) as session:
        for receipt in receipts:
            for seq in range(1, EVENTS_PER_CASE + 1):
                outbox.enqueue(session, "320700", _event(receipt, seq))
    started = time.monotonic()  # committed: visible to the publisher from now on
    while _applied(province, receipts) < len(receipts) * EVENTS_PER_CASE:
        time.sleep(0.05)
    engine.dispose()
    return len(receipts) * EVENTS_PER_CASE / (time.monotonic() - started)


def exchange_latency(county: Tier, province: Tier, rate: float, seconds: float) -> list[float]:
    receipts = _receipts("20270102", int(rate * seconds) * EVENTS_PER_CASE)
    engine = make_engine(county.db_url, pool_size=1)
    tick = 1 / rate
    next_at = time.monotonic()
    for receipt in receipts:  # one event per case: each is applicable on arrival
        with transaction(engine) as session:
            outbox.enqueue(session, "320700", _event(receipt, 1))
        next_at += tick
        time.sleep(max(0.0, next_at - time.monotonic()))
    while _applied(province, receipts) < len(receipts):
        time.sleep(0.1)
    engine.dispose()
    sent = {str(r[0]): r[1] for r in county.sql(
        "SELECT event_id, created_at FROM exchange_outbox WHERE envelope->>'subject' = "
        "ANY(%s)", receipts)}
    got = province.sql("SELECT event_id, applied_at FROM subordinate_case_events WHERE "
                       "receipt = ANY(%s)", receipts)
    return [(applied - sent[str(event_id)]).total_seconds() for event_id, applied in got]


@dataclass
class Raw:
    url: str
    body: bytes


async def raw_throughput(raw: Raw, events: int, batch: int = 200) -> float:
    connection = await aio_pika.connect(raw.url)
    async with connection:
        publish = await connection.channel(publisher_confirms=True)
        consume = await connection.channel()
        await consume.set_qos(prefetch_count=batch)
        name = f"bench.raw.{uuid.uuid4().hex[:8]}"
        queue = await consume.declare_queue(name, durable=True)
        done = asyncio.get_running_loop().create_future()
        count = 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal count
            await message.ack()
            count += 1
            if count == events and not done.done():
                done.set_result(None)

        tag = await queue.consume(on_message)
        started = time.monotonic()
        for first in range(0, events, batch):
            await asyncio.gather(*(publish.default_exchange.publish(
                aio_pika.Message(raw.body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=name) for _ in range(first, min(events, first + batch))))
        await done
        elapsed = time.monotonic() - started
        await queue.cancel(tag)
        await queue.delete(if_unused=False, if_empty=False)
    return events / elapsed


async def raw_latency(raw: Raw, rate: float, seconds: float) -> list[float]:
    connection = await aio_pika.connect(raw.url)
    latencies: list[float] = []
    async with connection:
        publish = await connection.channel(publisher_confirms=True)
        consume = await connection.channel()
        name = f"bench.raw.{uuid.uuid4().hex[:8]}"
        queue = await consume.declare_queue(name, durable=True)
        total = int(rate * seconds)
        done = asyncio.get_running_loop().create_future()

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await message.ack()
            latencies.append(time.time() - float(message.headers["sent"]))  # type: ignore[arg-type]
            if len(latencies) == total and not done.done():
                done.set_result(None)

        tag = await queue.consume(on_message)
        next_at = time.monotonic()
        for _ in range(total):
            await publish.default_exchange.publish(aio_pika.Message(
                raw.body, headers={"sent": str(time.time())},
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=name)
            next_at += 1 / rate
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await done
        await queue.cancel(tag)
        await queue.delete(if_unused=False, if_empty=False)
    return latencies


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def _report(figures: dict[str, Any]) -> None:
    ex, raw = figures["exchange"], figures["raw"]
    print("\nCross-tier exchange benchmark (county 320703 → province 320000)")
    print(f"  events: {figures['events']} (throughput), {figures['latency_n']} at "
          f"{figures['rate']:g}/s (latency); publisher poll {figures['poll']} s")
    print(f"  {'':32}{'events/s':>10}{'p50 ms':>10}{'p95 ms':>10}")
    for label, f in (("exchange county → province", ex), ("raw aio-pika, county broker", raw)):
        print(f"  {label:32}{f['rate']:>10.0f}{f['p50'] * 1000:>10.1f}{f['p95'] * 1000:>10.1f}")
    print(f"  ratio exchange / raw: throughput {ex['rate'] / raw['rate']:.3f}, "
          f"p50 latency {ex['p50'] / raw['p50']:.0f}×, p95 latency {ex['p95'] / raw['p95']:.0f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--poll", type=float, default=0.1, help="publisher poll interval")
    args = parser.parse_args()
    image = build_node_image(progress=lambda _m: None).image
    run = Run.ephemeral("bench")
    client = docker.from_env()
    with tempfile.TemporaryDirectory() as logs:
        tiers_gen = start_tiers(image, run, Path(logs), env={
            "SUNLIGHT_EXCHANGE_POLL_S": str(args.poll), "SUNLIGHT_LOG_LEVEL": "WARNING"})
        try:
            tiers = next(tiers_gen)
            county, province = tiers["320703"], tiers["320000"]
            body = seal(_event("320703-20270103-000001", 1), county.private_key)
            broker = county.broker
            raw = Raw(f"amqp://admin:{broker.password}@{broker.ip}:5672/{VHOST}", body)
            rate_ex = exchange_throughput(county, province, args.events)
            lat_ex = exchange_latency(county, province, args.rate, args.seconds)
            rate_raw = asyncio.run(raw_throughput(raw, args.events))
            lat_raw = asyncio.run(raw_latency(raw, args.rate, args.seconds))
        finally:
            tiers_gen.close()
            sweep(client, run.run_id)
    _report({"events": args.events, "rate": args.rate, "latency_n": len(lat_ex),
             "poll": args.poll,
             "exchange": {"rate": rate_ex, "p50": _pct(lat_ex, 50), "p95": _pct(lat_ex, 95)},
             "raw": {"rate": rate_raw, "p50": _pct(lat_raw, 50), "p95": _pct(lat_raw, 95)}})


if __name__ == "__main__":
    main()
