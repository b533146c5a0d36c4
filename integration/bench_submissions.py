"""Benchmark: submissions through the portal beside a bare FastAPI + psycopg INSERT.

Both run as one uvicorn process on the same PostgreSQL server, loaded by the same client
threads in alternating rounds; the script prints throughput, p50/p95 latency and the
ratios. It is a benchmark, not a test: figures vary with the machine, ratios less so.

    .venv/bin/python integration/bench_submissions.py [--requests 400] [--threads 8]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from platform_site import (
    ANNUAL_REPORT,
    annual_report_form,
    apply_annual_report,
    free_port,
    start_site,
    wait_for,
)
from sunlight.control.images.build import build_node_image
from sunlight.control.resources import Run, sweep
from sunlight.workflow.identity import generate_credit_code

Call = Callable[[httpx.Client, random.Random], None]


def _load(call: Call, requests: int, threads: int) -> tuple[float, list[float]]:
    """Run ``requests`` calls over ``threads`` clients; return (req/s, latencies in s)."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_thread = requests // threads

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[float] = []
        with httpx.Client(timeout=60) as client:
            for _ in range(per_thread):
                started = time.perf_counter()
                call(client, rng)
                mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return len(latencies) / (time.perf_counter() - started), latencies


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import docker

    client = docker.from_env()
    run = Run.ephemeral("bench")
    image = build_node_image(progress=print, client=client).image
    site_gen = start_site(image, run, Path(tempfile.mkdtemp(prefix="bench-")))
    site = next(site_gen)
    bare: subprocess.Popen[bytes] | None = None
    try:
        password = site.pg.create_database("bench")
        with site.pg.admin("bench") as conn:
            conn.execute("CREATE TABLE bench (id uuid PRIMARY KEY, name text NOT NULL, "
                         "payload jsonb NOT NULL, created_at timestamptz DEFAULT now())")
            conn.execute("ALTER TABLE bench OWNER TO bench")
        port = free_port()
        bare = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench_bare_app:app", "--port", str(port),
             "--log-level", "warning"], cwd=Path(__file__).parent,
            env={**os.environ, "BENCH_DATABASE_URL": site.pg.url("bench", password, "bench")})
        wait_for(lambda: _ok(f"http://127.0.0.1:{port}/docs"))
        wait_for(lambda: _ok(f"{site.portal}/api/v1/catalogue/{ANNUAL_REPORT}"))
        _report(site.portal, f"http://127.0.0.1:{port}", args)
    finally:
        if bare:
            bare.terminate()
        site_gen.close()
        sweep(client, run.run_id)


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _report(portal: str, bare_url: str, args: argparse.Namespace) -> None:
    def apply(client: httpx.Client, rng: random.Random) -> None:
        code = generate_credit_code(rng)
        response = client.post(f"{portal}/api/v1/applications", json={
            "item_code": ANNUAL_REPORT, "form": annual_report_form(code),
            "applicant": {"kind": "enterprise", "id_number": code, "name": "基准测试企业"}})
        assert response.status_code == 201, response.text

    def full(client: httpx.Client, rng: random.Random) -> None:
        apply_annual_report(portal, generate_credit_code(rng), client=client)

    def insert(client: httpx.Client, rng: random.Random) -> None:
        code = generate_credit_code(rng)
        response = client.post(f"{bare_url}/insert", json={
            "name": "基准测试企业", "payload": annual_report_form(code)})
        assert response.status_code == 201, response.text

    results: dict[str, list[tuple[float, list[float]]]] = {"bare": [], "apply": [], "full": []}
    for _ in range(args.rounds):  # alternate so drift hits every subject alike
        results["bare"].append(_load(insert, args.requests, args.threads))
        results["apply"].append(_load(apply, args.requests, args.threads))
        results["full"].append(_load(full, args.requests // 3, args.threads))
    print(f"\n{args.requests} requests x {args.rounds} rounds, {args.threads} client threads; "
          "medians over rounds")
    print(f"{'subject':44} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}")
    summary = {}
    labels = {"bare": "bare FastAPI + psycopg, one INSERT",
              "apply": "portal POST /applications",
              "full": "portal submission (create+upload+submit)"}
    for key, rounds in results.items():
        rate = statistics.median(r for r, _ in rounds)
        p50 = statistics.median(_pct(lat, 50) for _, lat in rounds)
        p95 = statistics.median(_pct(lat, 95) for _, lat in rounds)
        summary[key] = (rate, p50, p95)
        print(f"{labels[key]:44} {rate:8.1f} {p50:8.1f} {p95:8.1f}")
    print(f"\nportal apply / bare: throughput x{summary['apply'][0] / summary['bare'][0]:.2f}, "
          f"p50 x{summary['apply'][1] / summary['bare'][1]:.2f}, "
          f"p95 x{summary['apply'][2] / summary['bare'][2]:.2f}")
    print(f"full submission / bare: throughput "
          f"x{summary['full'][0] / summary['bare'][0]:.2f} (3 requests per submission)")


if __name__ == "__main__":
    main()
