"""What the layer above the transport does with events: handlers it registers at start-up.

The transport verifies, routes, de-duplicates and forwards events; what an accepted event
*means* at this site is not its business, and it imports nothing of core. Core registers,
when its app is created (:func:`sunlight.runtime.core.cross_tier.register`):

- one apply function per event type (:meth:`Handlers.on`), called in the consumer's
  transaction; it answers ``applied``, ``held`` (kept until its predecessor arrives) or
  ``stale``; one registered with ``may_refuse`` may raise :class:`NotApplicable` to have a
  verified event dead-lettered as ``not_applicable``;
- the view of held events by sequence gap (:meth:`Handlers.gaps_from`), which housekeeping
  reports when a gap outlives the alert;
- the statistics snapshot a site with a parent reports up (:meth:`Handlers.statistics_from`).

:meth:`Handlers.check` (called by the service at start) refuses a type left unhandled.

Example::

    >>> handlers = Handlers()
    >>> handlers.on("sunlight.stats.snapshot", lambda session, site, env: "applied")
    >>> [t for t in handlers.missing() if t.startswith("sunlight.case.")]
    ['sunlight.case.event', 'sunlight.case.light']
    >>> handlers.check(statistics=False)
    Traceback (most recent call last):
    ...
    sunlight.runtime.exchange.handlers.HandlersIncomplete: no handler for sunlight.audit.anchor, ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from sunlight.runtime.exchange.schemas import known_types
from sunlight.runtime.exchange.sequencing import Gap

Applied = Literal["applied", "held", "stale"]
#: ``apply(session, this site's code, the verified envelope)``
Apply = Callable[[Session, str, dict[str, Any]], Applied]
Gaps = Callable[[Session], list[Gap]]
MarkReported = Callable[[Session, Gap], bool]
Snapshot = Callable[[Session], dict[str, Any]]


class NotApplicable(ValueError):
    """A verified event that this site cannot apply (e.g. an answer to an unknown order)."""


class HandlersIncomplete(ValueError):
    """An event type (or the statistics a child reports) has no handler."""


@dataclass(frozen=True)
class Handler:
    apply: Apply
    may_refuse: bool = False


def _no_gaps(session: Session) -> list[Gap]:
    return []


def _nothing_reported(session: Session, gap: Gap) -> bool:
    return False


class Handlers:
    """The registry: filled once at start-up, read by the consumer and the service."""

    def __init__(self) -> None:
        self._by_type: dict[str, Handler] = {}
        self.gaps: Gaps = _no_gaps
        self.mark_reported: MarkReported = _nothing_reported
        self.snapshot: Snapshot | None = None

    def on(self, type_: str, apply: Apply, *, may_refuse: bool = False) -> None:
        """Apply events of ``type_`` with ``apply`` (once per type)."""
        if type_ not in known_types():
            raise ValueError(f"{type_} is not an event type of the exchange")
        if type_ in self._by_type:
            raise ValueError(f"{type_} already has a handler")
        self._by_type[type_] = Handler(apply, may_refuse)

    def gaps_from(self, gaps: Gaps, mark_reported: MarkReported) -> None:
        """Where housekeeping finds sequence gaps, and how it flags one as reported."""
        self.gaps, self.mark_reported = gaps, mark_reported

    def statistics_from(self, snapshot: Snapshot) -> None:
        """What a site with a parent reports up periodically."""
        self.snapshot = snapshot

    def handler(self, type_: str) -> Handler:
        try:
            return self._by_type[type_]
        except KeyError:
            raise HandlersIncomplete(f"no handler for {type_}") from None

    def missing(self) -> list[str]:
        return sorted(known_types() - self._by_type.keys())

    def check(self, *, statistics: bool) -> None:
        """Raise :class:`HandlersIncomplete` unless every type (and, if wanted, the
        statistics) has a handler."""
        problems = [f"no handler for {', '.join(self.missing())}"] if self.missing() else []
        if statistics and self.snapshot is None:
            problems.append("no statistics to report to the parent")
        if problems:
            raise HandlersIncomplete("; ".join(problems))
