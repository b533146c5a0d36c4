"""Topology suite, part 2 (load): a short Locust run with the CI gates, a gate that cannot
pass, and distributed mode with two workers producing one merged report."""

from __future__ import annotations

import csv
from pathlib import Path

from sunlight.control.load import LoadRequest, run_load
from topology_suite import Topology


def _request(topology: Topology, tmp: Path, **kw: object) -> LoadRequest:
    return LoadRequest(deployment=topology.run.run_id, profile="smoke", reports=tmp,
                       gates=kw.pop("gates", None), **kw)  # type: ignore[arg-type]


def _requests(folder: Path) -> dict[str, int]:
    with (folder / "stats_stats.csv").open() as fh:
        return {row["Name"]: int(row["Request Count"]) for row in csv.DictReader(fh)}


def test_short_load_run_reports_and_passes_the_ci_gates(topology: Topology,
                                                        tmp_path: Path) -> None:
    outcome = run_load(_request(topology, tmp_path, duration_s=45.0), print,
                       access=topology.access)
    print("\n".join(outcome.lines))
    assert (tmp_path / "report.html").stat().st_size > 10_000
    counts = _requests(tmp_path)
    assert counts.get("submit/send", 0) > 5 and counts.get("read/catalogue", 0) > 20
    assert counts.get("propagation/county→province", 0) >= 1
    assert outcome.passed, outcome.lines
    topology.figures["load generator CPU (smoke)"] = (
        f"{outcome.cpu_percent:.0f}% of one core, {outcome.cpu_share:.0%} of the machine")
    topology.scenarios.append(("load: smoke profile within the CI gates", "pass"))


def test_an_impossible_gate_fails_the_run(topology: Topology, tmp_path: Path) -> None:
    gates = tmp_path / "impossible.yaml"
    gates.write_text("name: impossible\nversion: 1\ngates:\n"
                     "  - {name: submit p95, metric: percentile_ms, requests: 'submit/*', "
                     "percentile: 0.95, max: 0.001}\n")
    outcome = run_load(_request(topology, tmp_path / "run", gates=gates, duration_s=20.0),
                       print, access=topology.access)
    assert outcome.exit_code != 0 and not outcome.passed
    assert outcome.failed == ["submit p95"]
    assert any("BREACHED" in line for line in outcome.lines)
    topology.scenarios.append(("load: an impossible gate fails the run", "pass"))


def test_distributed_mode_merges_two_workers(topology: Topology, tmp_path: Path) -> None:
    outcome = run_load(_request(topology, tmp_path, duration_s=30.0, workers=2), print,
                       access=topology.access)
    assert (tmp_path / "report.html").is_file()
    assert len(list(tmp_path.glob("*.html"))) == 1  # one merged report
    log = (tmp_path / "locust.log").read_text()
    assert "2 workers connected" in log or log.count("worker") >= 2
    assert _requests(tmp_path).get("submit/send", 0) > 0
    assert outcome.verdict, "the master wrote no verdict"
    topology.scenarios.append(("load: distributed, 2 workers, one report", "pass"))
