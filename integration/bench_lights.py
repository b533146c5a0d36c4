"""Benchmark: the e-supervision rules over a site's open cases — one tick's evaluation.

Builds N open cases of the sample catalogue's flows (random submission days over the last
two months, a share with 补正 or suspension, a share accepted, some decided) and evaluates
the default rule set on every one, as core's periodic tick does, at N = 10,000, 30,000 and
100,000, three rounds each, side by side in one run. Prints the median time per tick, per
case, and the growth ratio from 10,000 to 100,000 (10× means linear). Pure: no database,
no Docker; the tick's reads and writes come on top (see the closing note of issue 13).

    .venv/bin/python integration/bench_lights.py [--sizes 10000,30000,100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import datetime, timedelta

from sunlight.catalogue.flow import FlowStep
from sunlight.catalogue.sample import sample_catalogue
from sunlight.supervision.evaluate import Light, evaluate
from sunlight.supervision.facts import CHINA, CaseFacts, Move
from sunlight.supervision.rules import default_rules

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=CHINA)


def _cases(n: int, rng: random.Random) -> list[CaseFacts]:
    items = [i for i in sample_catalogue().items if i.flow]
    out = []
    for _ in range(n):
        item = rng.choice(items)
        flow: tuple[FlowStep, ...] = tuple(item.flow)
        submitted = NOW - timedelta(days=rng.uniform(0, 60))
        history: list[Move] = []
        status = "submitted"
        corrections: tuple[tuple[object, object], ...] = ()
        roll = rng.random()
        if roll < 0.15:  # 补正 asked and answered
            asked = submitted + timedelta(days=1)
            back = asked + timedelta(days=rng.uniform(1, 5))
            if back < NOW:
                history = [Move(asked, "clerk1", "clerk", "request_correction"),
                           Move(back, "applicant", "applicant", "resubmit")]
                corrections = ((asked.astimezone(CHINA).date(), back.astimezone(CHINA).date()),)
        elif roll < 0.6 and submitted + timedelta(hours=2) < NOW:
            history = [Move(submitted + timedelta(hours=2), "clerk1", "clerk", "accept")]
            status = "in_review"
        out.append(CaseFacts(item_code=item.code, category=item.category,
                             promised_limit_days=item.promised_limit_days, flow=flow,
                             submitted_at=submitted, status=status,  # type: ignore[arg-type]
                             history=tuple(history),
                             corrections=corrections))  # type: ignore[arg-type]
    return out


def _tick(cases: list[CaseFacts]) -> tuple[float, dict[Light, int]]:
    rules = default_rules("320703")
    counts = dict.fromkeys(Light, 0)
    started = time.perf_counter()
    for facts in cases:
        counts[evaluate(facts, rules, now=NOW).light] += 1
    return time.perf_counter() - started, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(13)
    populations = {n: _cases(n, rng) for n in sizes}
    times: dict[int, list[float]] = {n: [] for n in sizes}
    lights: dict[int, dict[Light, int]] = {}
    for _ in range(args.rounds):  # interleaved, so that drift hits every size alike
        for n in sizes:
            seconds, lights[n] = _tick(populations[n])
            times[n].append(seconds)
    print(f"{'open cases':>10}  {'tick (median)':>13}  {'per case':>9}  lights (none/yellow/red)")
    for n in sizes:
        median = statistics.median(times[n])
        counts = "/".join(str(lights[n][light]) for light in Light)
        print(f"{n:>10}  {median:>11.2f} s  {median / n * 1e6:>6.0f} µs  {counts}")
    first, last = sizes[0], sizes[-1]
    growth = statistics.median(times[last]) / statistics.median(times[first])
    print(f"growth {first} → {last}: ×{growth:.1f} for ×{last / first:.0f} cases "
          f"({'linear or better' if growth <= 1.15 * last / first else 'WORSE than linear'})")


if __name__ == "__main__":
    main()
