"""Per-link exchange metrics on core's ``/metrics`` (a link is named by the neighbour's code).

Outgoing: ``published`` (confirmed by this site's broker), ``queued`` (waiting in the link
queue for the shovel), ``oldest_undelivered_seconds`` (the oldest event not yet across:
still in the outbox, or still in the link queue). Incoming: ``delivered`` (accepted:
applied, held or forwarded), ``duplicates``, ``rejected`` by reason (dead letters),
``legacy_signatures`` (accepted events signed over the pre-RFC 8785 canonical form: a
neighbour not yet upgraded). Plus the broker connection, held case events and the oldest
sequence gap.

Example::

    >>> from prometheus_client import CollectorRegistry
    >>> m = ExchangeMetrics(CollectorRegistry())
    >>> m.rejected.labels("320703", "bad_signature").inc()
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class ExchangeMetrics:
    """The exchange's series, registered on the app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def counter(name: str, doc: str, labels: tuple[str, ...]) -> Counter:
            return Counter(f"sunlight_exchange_{name}", doc, labels, registry=registry)

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(f"sunlight_exchange_{name}", doc, labels, registry=registry)

        self.published = counter("published", "Events confirmed by this site's broker, "
                                 "per link", ("link",))
        self.delivered = counter("delivered", "Events received and accepted (applied, held "
                                 "or forwarded), per link", ("link",))
        self.duplicates = counter("duplicates", "Redelivered or replayed events ignored",
                                  ("link",))
        self.rejected = counter("rejected", "Events refused into the dead-letter store",
                                ("link", "reason"))
        self.legacy_signatures = counter("legacy_signatures", "Events accepted whose "
                                         "signature covers the pre-RFC 8785 canonical form, "
                                         "per link", ("link",))
        self.queued = gauge("link_queued", "Events waiting in the link queue for the shovel",
                            ("link",))
        self.pending = gauge("outbox_pending", "Events not yet confirmed by the broker",
                             ("link",))
        self.oldest = gauge("oldest_undelivered_seconds", "Age of the oldest event on the "
                            "link not yet across it", ("link",))
        self.connected = gauge("connected", "1 while connected to this site's broker")
        self.held = gauge("held_events", "Case events waiting for a sequence gap to fill")
        self.gap_oldest = gauge("gap_oldest_seconds", "Age of the oldest sequence gap")
        self.gaps_overdue = gauge("gaps_overdue", "Cases whose gap is older than the alert")
        self.gaps_reported = counter("gaps_reported", "Sequence gaps reported", ())
