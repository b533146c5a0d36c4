"""The failures the harness may retry, each named with its reason — and every retry made.

A retry hides a fault unless it is named and counted. So the harness retries a step only
when its first error matches one of :data:`TRANSIENTS` below (each with the reason it is
transient and not a bug of ours); any other first error fails the run. Every retry that
happens anywhere — a fixture's re-run, an Ansible task's ``until``/``retries`` loop — is
recorded with :func:`record` and listed in the "retries" section at the end of the run.

To add a transient, add a :class:`Transient` here with the evidence for its reason (the
log line, the component's documentation); never widen a pattern to make a run pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Transient:
    name: str
    pattern: str  # a regular expression searched in the failure's text
    reason: str

    def matches(self, text: str) -> bool:
        return re.search(self.pattern, text) is not None


TRANSIENTS: tuple[Transient, ...] = ()
"""None yet: every first failure of `sunlight up` in the topology fixture fails the run.
(The broker's ``rabbitmqctl`` time-outs under load are retried by the rabbitmq role itself,
and those retries are listed like any other.)"""


def transient(text: str) -> Transient | None:
    """The listed transient ``text`` shows, if any."""
    return next((t for t in TRANSIENTS if t.matches(text)), None)


RETRIES: list[tuple[str, str]] = []  # (where, what)


def record(where: str, what: str) -> None:
    RETRIES.append((where, what))


def summary() -> str:
    if not RETRIES:
        return "no retries anywhere"
    width = max(len(where) for where, _ in RETRIES)
    return "\n".join(f"{where:<{width}}  {what}" for where, what in RETRIES)
