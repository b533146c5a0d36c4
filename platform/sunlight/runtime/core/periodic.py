"""Core's periodic tick: overdue marks, lights, 督办 escalation, and the open-case gauge.

Deadlines, lights and orders change with time alone, so core runs one tick every
``SUNLIGHT_OVERDUE_INTERVAL_S`` at its clock's ``now`` (:mod:`sunlight.runtime.clock`: an
operator's drill shifts it, and the tick follows). Each step commits in batches of
:data:`~sunlight.runtime.core.lights.BATCH` cases, one transaction per batch, so the audit
chain's lock (taken by each audited change) is never held across a whole tick:

1. cases whose clock ran past their due date are flagged ``overdue``
   (:func:`sunlight.runtime.core.cases.mark_overdue`; their light follows in the same
   transaction);
2. every open case's light is re-evaluated (:func:`sunlight.runtime.core.lights.tick`);
3. overdue 督办 orders escalate (``supervision.escalate_overdue``, once per tick);
4. ``sunlight_open_cases{light,department}`` is set from the counts, and
   ``sunlight_officer_certificates_expiring{department}`` from the officer registry in
   force: certificates still valid that end within
   :data:`~sunlight.enforcement.officers.EXPIRY_WARNING_DAYS` days of core's date (the
   ``OfficerCertificateExpiring`` alert).

Example::

    >>> report = run_tick(engine, "320703", Clock(), metrics)  # doctest: +SKIP
    >>> report.marked, report.lights.changed  # doctest: +SKIP
    (3, 12)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import Engine

from sunlight.enforcement.officers import EXPIRY_WARNING_DAYS, Officer
from sunlight.runtime.clock import CHINA, Clock, ClockOffsetError
from sunlight.runtime.core import cases, enforcement, lights, supervision
from sunlight.runtime.db import transaction

__all__ = ["TickMetrics", "TickReport", "escalate_once", "mark_overdue_once", "run_tick"]


def mark_overdue_once(engine: Engine, site: str, now: datetime,
                      batch: int = lights.BATCH) -> int:
    """Flag every case past its due date on ``now``'s date, ``batch`` per transaction."""
    total = 0
    while True:
        with transaction(engine) as session:
            marked = cases.mark_overdue(session, site, now=now, limit=batch)
        total += marked
        if marked < batch:
            return total


def escalate_once(engine: Engine, site: str, now: datetime) -> int:
    """Escalate overdue 督办 orders one tier up; how many escalated."""
    with transaction(engine) as session:
        return supervision.escalate_overdue(session, site, now)


@dataclass
class TickMetrics:
    """The gauges and counters the tick keeps (on core's ``/metrics``)."""

    open_cases: Gauge
    marked: Counter
    light_changes: Counter
    expiring: Gauge
    seen: set[tuple[str, str]] = field(default_factory=set)
    seen_departments: set[str] = field(default_factory=set)

    @classmethod
    def create(cls, registry: CollectorRegistry, clock: Clock) -> TickMetrics:
        offset = Gauge("sunlight_clock_offset_seconds",
                       "Seconds core's clock runs ahead of the system clock (a drill's "
                       "offset file; NaN while the file is unreadable)", registry=registry)

        def seconds() -> float:
            try:
                return clock.offset().total_seconds()
            except (ClockOffsetError, OSError):
                return math.nan

        offset.set_function(seconds)
        return cls(
            open_cases=Gauge("sunlight_open_cases", "Open cases by e-supervision light "
                             "(none = 正常, yellow = 预警, red = 报警) and department",
                             ["light", "department"], registry=registry),
            marked=Counter("sunlight_cases_marked_overdue_total",
                           "Cases the overdue job flagged", registry=registry),
            light_changes=Counter("sunlight_light_changes_total",
                                  "Light changes found by the periodic tick, by new light",
                                  ["light"], registry=registry),
            expiring=Gauge("sunlight_officer_certificates_expiring",
                           f"Officers' certificates (执法证) in force that end within "
                           f"{EXPIRY_WARNING_DAYS} days, by department", ["department"],
                           registry=registry))

    def set_open(self, counts: list[tuple[str, str, str, int]]) -> None:
        """Set the gauge from :func:`~sunlight.runtime.core.lights.open_counts`; a
        (light, department) seen before and absent now is set to 0, not dropped."""
        now: dict[tuple[str, str], int] = {}
        for light, department, _item, n in counts:
            now[(light, department)] = now.get((light, department), 0) + n
        departments = {d for _, d in now} | {d for _, d in self.seen}
        for department in departments:
            for light in ("none", "yellow", "red"):
                self.open_cases.labels(light, department).set(now.get((light, department), 0))
                self.seen.add((light, department))


    def set_expiring(self, officers: list[Officer]) -> None:
        """Set the certificate gauge from the expiring officers; a department seen before
        and absent now is set to 0, not dropped."""
        now: dict[str, int] = {}
        for officer in officers:
            now[officer.department] = now.get(officer.department, 0) + 1
        for department in set(now) | self.seen_departments:
            self.expiring.labels(department).set(now.get(department, 0))
            self.seen_departments.add(department)


@dataclass
class TickReport:
    marked: int
    lights: lights.TickResult
    escalated: int


def run_tick(engine: Engine, site: str, clock: Clock,
             metrics: TickMetrics | None = None) -> TickReport:
    """One tick at ``clock.now()`` (read once: every step sees the same instant)."""
    now = clock.now()
    marked = mark_overdue_once(engine, site, now)
    lit = lights.tick(engine, site, now)
    escalated = escalate_once(engine, site, now)
    if metrics is not None:
        metrics.marked.inc(marked)
        for light, n in lit.lights.items():
            metrics.light_changes.labels(light).inc(n)
        with transaction(engine) as session:
            metrics.set_open(lights.open_counts(session))
            metrics.set_expiring(enforcement.expiring_officers(
                session, now.astimezone(CHINA).date(), EXPIRY_WARNING_DAYS))
    return TickReport(marked, lit, escalated)
