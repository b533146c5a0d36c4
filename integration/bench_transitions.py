"""Benchmark: what the e-supervision rules add to a case transition, and a tick beside them.

One site's platform on real PostgreSQL (``platform_site.start_site``). Fresh cases arrive
through core's exchange intake; a clerk accepts them one by one and each ``accept`` is
timed. Rounds alternate between the default rules in force and an empty rule set (imported
through the admin API, same run), so drift hits both alike. Then 10 % of a population of
open cases is set up to change light (items with a 1-day limit among 10-day ones), core's
clock is moved four days on, and accepts are timed while ``sunlight supervision tick``
re-evaluates them all. Prints p50/p95 per condition and their ratios, the tick's time and
the share of lights it changed. Not a test: figures vary with the machine, ratios less.

    .venv/bin/python integration/bench_transitions.py [--per-round 150] [--rounds 3]
        [--population 2000]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from platform_site import Site, start_site
from sunlight.control.images.build import build_node_image
from sunlight.control.resources import Run, sweep
from sunlight.supervision.rules import default_rules, dump_rules

SHORT, LONG = "320703-SCJGJ-XK-002", "320703-SCJGJ-XK-001"  # 1 and 10 working days
EMPTY_RULES = "site: '320703'\nversion: 1\nrules: []\n"


class Bench:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.serials = itertools.count(1)  # the site is the benchmark's own: no collision
        self.token = site.roles["core"].env["SUNLIGHT_EXCHANGE_TOKEN"]
        self.clerk = httpx.Client(base_url=site.core, timeout=60, headers={
            "Authorization": f"Bearer {site.token('clerk')}"})
        self.admin = httpx.Client(base_url=site.core, timeout=60, headers={
            "Authorization": f"Bearer {site.token('admin')}"})
        with psycopg.connect(self._dsn) as conn:
            self.versions = dict(conn.execute(
                "SELECT code, max(version) FROM items WHERE status = 'published' GROUP BY code"
            ).fetchall())

    @property
    def _dsn(self) -> str:
        return self.site.core_db_url.replace("+psycopg", "")

    def rules(self, text: str) -> None:
        done = self.admin.post("/api/v1/admin/supervision/rules", content=text.encode(),
                               headers={"content-type": "application/yaml"})
        assert done.status_code in (200, 201), done.text

    def cases(self, n: int, item: str = LONG) -> list[str]:
        """``n`` new cases through the exchange intake; their ids."""
        receipts = [f"320703-20261209-{next(self.serials):06d}" for _ in range(n)]

        def one(receipt: str) -> None:
            with httpx.Client(timeout=60) as http:
                done = http.post(f"{self.site.core}/api/v1/exchange/records", headers={
                    "Authorization": f"Bearer {self.token}"}, json={
                    "record_id": str(uuid.uuid4()), "record_type": "application.submitted",
                    "payload": {"receipt": receipt, "item_code": item,
                                "item_version": self.versions[item],
                                "applicant": {"kind": "enterprise",
                                              "id_number": "91320703MA1W2X3Y4Z",
                                              "name": "基准测试企业"},
                                "form": {}, "submitted_at": datetime.now(UTC).isoformat(),
                                "batch": 0, "materials": []}})
                assert done.status_code == 200, done.text

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(one, receipts))
        with psycopg.connect(self._dsn) as conn:
            rows = conn.execute("SELECT id FROM cases WHERE receipt = ANY(%s)",
                                (receipts,)).fetchall()
        return [str(r[0]) for r in rows]

    def accept(self, case_ids: list[str], stop: threading.Event | None = None) -> list[float]:
        timings = []
        for case_id in case_ids:
            if stop is not None and stop.is_set():
                break
            started = time.perf_counter()
            done = self.clerk.post(f"/api/v1/cases/{case_id}/actions", json={"action": "accept"})
            timings.append(time.perf_counter() - started)
            assert done.status_code == 200, done.text
        return timings

    def changes(self) -> int:
        with psycopg.connect(self._dsn) as conn:
            row = conn.execute("SELECT count(*) FROM case_light_history").fetchone()
        return int(row[0]) if row else 0


def _ms(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-round", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--population", type=int, default=2000)
    args = parser.parse_args()

    import docker

    client = docker.from_env()
    run = Run.ephemeral("bench")
    image = build_node_image(progress=print, client=client).image
    site_gen = start_site(image, run, Path(tempfile.mkdtemp(prefix="bench-")))
    site = next(site_gen)
    try:
        _measure(Bench(site), site, args)
    finally:
        site.shift_clock(0)
        site_gen.close()
        sweep(client, run.run_id)


def _measure(bench: Bench, site: Site, args: argparse.Namespace) -> None:
    with_rules = dump_rules(default_rules("320703"))
    timings: dict[str, list[float]] = {"rules": [], "none": []}
    for _ in range(args.rounds):
        for mode, text in (("rules", with_rules), ("none", EMPTY_RULES)):
            bench.rules(text)
            timings[mode] += bench.accept(bench.cases(args.per_round))
    bench.rules(with_rules)

    # A population where the tick changes 10 % of the lights, and cases to accept meanwhile.
    short = args.population // 10
    bench.cases(short, SHORT)
    bench.cases(args.population - short, LONG)
    meanwhile = bench.cases(args.per_round * 2)
    before = bench.changes()
    site.shift_clock(4 * 86400)
    stop = threading.Event()
    during: list[float] = []
    accepting = threading.Thread(target=lambda: during.extend(bench.accept(meanwhile, stop)))
    started = time.perf_counter()
    accepting.start()
    ticked = site.cli("supervision", "tick")
    tick_s = time.perf_counter() - started
    stop.set()
    accepting.join()
    assert ticked.returncode == 0, ticked.stderr
    changed = bench.changes() - before - len(during)  # accepts record their own changes

    print(f"\naccept transitions, {args.rounds} rounds × {args.per_round} per condition "
          "(alternating, same run)")
    print(f"{'condition':44} {'n':>5} {'p50 ms':>8} {'p95 ms':>8}")
    rows = {"default rules in force": timings["rules"], "empty rule set": timings["none"],
            "default rules, during the tick": during}
    for label, values in rows.items():
        print(f"{label:44} {len(values):>5} {_ms(values, 50):8.1f} {_ms(values, 95):8.1f}")
    print(f"\nrules / no rules: p50 ×{_ms(timings['rules'], 50) / _ms(timings['none'], 50):.2f}, "
          f"p95 ×{_ms(timings['rules'], 95) / _ms(timings['none'], 95):.2f}")
    if len(during) >= 20:
        print(f"during the tick / rules: p95 ×{_ms(during, 95) / _ms(timings['rules'], 95):.2f}")
    opened = args.population + len(meanwhile)
    print(f"tick over ~{opened} open cases: {tick_s:.1f} s (including the CLI's start), "
          f"{changed} light changes ({changed / args.population:.0%} of the population)")


if __name__ == "__main__":
    main()
