"""Load generation (``sunlight load``): Locust against a running deployment, SLO gates.

- :mod:`.run`      — runs Locust (locally or a master and workers), samples its CPU, reads
  the verdict: what ``sunlight load`` calls.
- :mod:`.shapes`   — the load profiles as data (rates over time, users by Little's law).
- :mod:`.gates`    — SLO gate files (``loadtests/gates/*.yaml``) and their evaluation.
- :mod:`.targets`  — where the load goes and as whom (the JSON file ``run`` writes).
- :mod:`.data`     — applications drawn from the sample catalogue and the sample journey.
- :mod:`.verdict`  — Locust glue (the profile as a shape, the verdict at the end); it
  imports Locust, so only the locustfile imports it.

The Locust user classes stay in ``loadtests/locustfile.py``, which imports these modules
like any installed package. The pure modules import nothing of the control node's tooling;
the names of :mod:`.run` (psutil, the deployment) load on first use.

Example::

    >>> from sunlight.control.load.shapes import PROFILES
    >>> sorted(PROFILES)
    ['daily', 'deadline-spike', 'inspection-season', 'smoke']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sunlight.control.load.run import LoadOutcome, LoadRequest, run_load, write_targets

_FROM_RUN = ("LoadOutcome", "LoadRequest", "run_load", "write_targets")


def __getattr__(name: str) -> Any:
    if name not in _FROM_RUN:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.run"), name)


__all__ = ["LoadOutcome", "LoadRequest", "run_load", "write_targets"]
