"""``sunlight exchange status``: each link's figures, read from the running core's /metrics.

Reading ``/metrics`` (not the database) shows what the running process sees — whether it
is connected to its broker, what waits in the link queues on the broker — with the same
numbers Prometheus scrapes. Counters count since the process started.

Example::

    >>> text = '''sunlight_exchange_connected 1.0
    ... sunlight_exchange_published_total{link="320700"} 12.0
    ... sunlight_exchange_rejected_total{link="320700",reason="bad_signature"} 1.0
    ... sunlight_exchange_oldest_undelivered_seconds{link="320700"} 3.5
    ... '''
    >>> s = parse(text)
    >>> s.connected, s.links["320700"].published, s.links["320700"].rejected
    (True, 12, {'bad_signature': 1})
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

PREFIX = "sunlight_exchange_"


@dataclass
class LinkStatus:
    """One neighbour: what went out, what came in, what waits."""

    link: str
    published: int = 0
    delivered: int = 0
    duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    queued: int | None = None
    pending: int = 0
    oldest_undelivered_s: float = 0.0


@dataclass
class ExchangeStatus:
    connected: bool = False
    held_events: int = 0
    gap_oldest_s: float = 0.0
    gaps_overdue: int = 0
    links: dict[str, LinkStatus] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        """Connected and no gap older than the alert."""
        return self.connected and self.gaps_overdue == 0


_COUNTS = {"published_total": "published", "delivered_total": "delivered",
           "duplicates_total": "duplicates", "outbox_pending": "pending"}


def parse(text: str) -> ExchangeStatus:
    """The exchange's figures in a Prometheus text exposition."""
    status = ExchangeStatus()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.name.startswith(PREFIX):
                continue
            _take(status, sample.name[len(PREFIX):], sample.labels, sample.value)
    return status


def _take(status: ExchangeStatus, name: str, labels: dict[str, str], value: float) -> None:
    if name == "connected":
        status.connected = value >= 1
    elif name == "held_events":
        status.held_events = int(value)
    elif name == "gap_oldest_seconds":
        status.gap_oldest_s = value
    elif name == "gaps_overdue":
        status.gaps_overdue = int(value)
    elif "link" in labels:
        link = status.links.setdefault(labels["link"], LinkStatus(labels["link"]))
        if name in _COUNTS:
            setattr(link, _COUNTS[name], int(value))
        elif name == "rejected_total":
            link.rejected[labels["reason"]] = int(value)
        elif name == "link_queued":
            link.queued = None if math.isnan(value) else int(value)
        elif name == "oldest_undelivered_seconds":
            link.oldest_undelivered_s = value
