"""Locust glue: the profile as a ``LoadTestShape``, and the gate verdict at the end.

The verdict is computed where the statistics are whole (the local runner, or the master
in distributed mode), printed, written as JSON for ``sunlight load``, and a breach sets
the process exit code. This module imports Locust (and with it gevent's monkey-patching):
only the locustfile imports it, never ``sunlight load`` itself.

Example::

    >>> install_gates(events, PROFILES["smoke"])  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from locust import LoadTestShape
from locust.runners import WorkerRunner
from locust.stats import StatsEntry

from sunlight.control.load.gates import Observed, evaluate, load_gates
from sunlight.control.load.shapes import Profile

log = logging.getLogger("sunlight.control.load")
SUBMISSION = "submit/send"  # one per completed submission


class ProfileShape(LoadTestShape):
    """Users over time from a profile (paced users plus the fixed-count ones)."""

    abstract = True
    profile: Profile
    fixed_users = 0

    def tick(self) -> tuple[int, float] | None:
        t = float(self.get_run_time())  # type: ignore[no-untyped-call]  # Locust is untyped
        if self.profile.rates_at(t) is None:
            return None
        total = self.profile.users_at(t).total + self.fixed_users
        return total, float(max(1, total))  # spawn at once: the pace, not the spawn, sets rate


def intended_submissions(profile: Profile, elapsed_s: float, step: float = 0.5) -> float:
    """∫ submit rate dt over the run so far (what the generator should have offered)."""
    total, t = 0.0, 0.0
    while t < elapsed_s:
        rates = profile.rates_at(t)
        total += (rates[0] if rates else 0.0) * min(step, elapsed_s - t)
        t += step
    return total


def _percentile(entry: Any) -> Callable[[float], float]:
    return lambda q: float(entry.get_response_time_percentile(q))


def _observed(stats: Any) -> dict[str, Observed]:
    return {name: Observed(e.num_requests, e.num_failures, _percentile(e))
            for (name, _method), e in stats.entries.items()}


def _merged(stats: Any) -> Any:
    def percentile(names: Sequence[str], q: float) -> float:
        agg = StatsEntry(stats, "merged", "", use_response_times_cache=False)
        for (name, _method), entry in stats.entries.items():
            if name in names:
                agg.extend(entry)
        return float(agg.get_response_time_percentile(q))
    return percentile


def install_gates(events: Any, profile: Profile) -> None:
    gates_file = os.environ.get("SUNLIGHT_LOAD_GATES")
    if not gates_file:
        return
    gates = load_gates(gates_file)

    def _verdict(environment: Any, **_kw: Any) -> None:
        if isinstance(environment.runner, WorkerRunner):
            return
        stats = environment.stats
        elapsed = max(1e-3, stats.total.last_request_timestamp - stats.total.start_time)
        intended = intended_submissions(profile, elapsed)
        done = stats.entries.get((SUBMISSION, "POST"))
        held = (done.num_requests - done.num_failures) / intended if done and intended else 0.0
        if held < 0.9:
            log.warning("the generator did not hold the intended rate: %.0f%% of %.1f "
                        "submissions offered", held * 100, intended)
        verdicts = evaluate(gates, _observed(stats), _merged(stats), rate_held=held)
        lines = [v.describe() for v in verdicts]
        failed = [v.gate.name for v in verdicts if not v.passed]
        environment.process_exit_code = 1 if failed else 0
        out = os.environ.get("SUNLIGHT_LOAD_VERDICT_FILE")
        if out:
            Path(out).write_text(json.dumps({
                "gates": gates.name, "version": gates.version, "passed": not failed,
                "failed": failed, "lines": lines, "rate_held": held,
                "intended_submissions": intended, "elapsed_s": elapsed}, ensure_ascii=False))
        for line in lines:
            log.info("gate %s", line)

    events.quitting.add_listener(_verdict)
