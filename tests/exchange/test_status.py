"""``sunlight exchange status`` reads what the metrics expose."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from sunlight.runtime.exchange.metrics import ExchangeMetrics
from sunlight.runtime.exchange.status import parse


def test_status_reads_each_link_from_a_real_exposition() -> None:
    registry = CollectorRegistry()
    m = ExchangeMetrics(registry)
    m.connected.set(1)
    m.published.labels("320700").inc(7)
    m.delivered.labels("320703").inc(5)
    m.duplicates.labels("320703").inc(2)
    m.rejected.labels("320703", "bad_signature").inc()
    m.rejected.labels("320703", "unknown_type").inc(3)
    m.queued.labels("320700").set(float("nan"))
    m.pending.labels("320700").set(4)
    m.oldest.labels("320700").set(12.5)
    m.held.set(2)
    m.gaps_overdue.set(1)
    status = parse(generate_latest(registry).decode())
    up, down = status.links["320700"], status.links["320703"]
    assert (up.published, up.pending, up.queued, up.oldest_undelivered_s) == (7, 4, None, 12.5)
    assert (down.delivered, down.duplicates) == (5, 2)
    assert down.rejected == {"bad_signature": 1, "unknown_type": 3}
    assert status.connected and status.held_events == 2 and not status.healthy


def test_an_exchange_less_core_is_not_healthy() -> None:
    assert not parse("sunlight_http_requests_total 3.0\n").healthy
