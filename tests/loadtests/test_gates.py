"""SLO gates: files load with clear errors; verdicts say which gate failed and by how much."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from sunlight.control.load.gates import GateFileError, Observed, evaluate, gates_file, load_gates

GATES = Path(__file__).resolve().parents[2] / "loadtests" / "gates"


def _observed(latencies: dict[str, list[float]], failures: dict[str, int]) -> dict[str, Observed]:
    def pct(values: list[float]):  # type: ignore[no-untyped-def]
        return lambda q: sorted(values)[min(len(values) - 1, int(q * len(values)))]
    return {n: Observed(len(v), failures.get(n, 0), pct(v)) for n, v in latencies.items()}


def _merged(latencies: dict[str, list[float]]):  # type: ignore[no-untyped-def]
    def merged(names: Sequence[str], q: float) -> float:
        values = sorted(x for n in names for x in latencies[n])
        return values[min(len(values) - 1, int(q * len(values)))]
    return merged


def test_shipped_gate_files_load() -> None:
    season = load_gates(GATES / "inspection-season.yaml")
    assert {g.name for g in season.gates} >= {"submit p95", "submit p99", "reads p95", "errors",
                                              "propagation p95"}
    assert load_gates(GATES / "ci.yaml").name == "ci"


def test_breach_names_the_gate_and_by_how_much() -> None:
    gates = load_gates(GATES / "inspection-season.yaml")
    lat = {"submit/create": [100.0] * 90 + [1500.0] * 10, "read/catalogue": [50.0] * 100,
           "propagation/county→province": [800.0] * 20}
    verdicts = {v.gate.name: v for v in evaluate(gates, _observed(lat, {}), _merged(lat),
                                                 rate_held=0.95)}
    assert verdicts["submit p95"].passed is False
    assert verdicts["submit p95"].value == 1500.0
    assert "BREACHED by 500 (50%)" in verdicts["submit p95"].describe()
    assert verdicts["reads p95"].passed and verdicts["propagation p95"].passed
    assert verdicts["rate held"].passed


def test_errors_and_missing_requests_fail() -> None:
    gates = load_gates(GATES / "inspection-season.yaml")
    lat = {"submit/create": [10.0] * 100, "read/status": [10.0] * 100}
    verdicts = {v.gate.name: v for v in evaluate(
        gates, _observed(lat, {"read/status": 5}), _merged(lat), rate_held=0.5)}
    assert verdicts["errors"].value == pytest.approx(5 / 200) and not verdicts["errors"].passed
    assert verdicts["propagation p95"].value is None and not verdicts["propagation p95"].passed
    assert "no requests matched" in verdicts["propagation p95"].describe()
    assert not verdicts["rate held"].passed


def test_malformed_gate_file_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "g.yaml"
    bad.write_text("name: x\nversion: 1\ngates:\n  - {name: a, metric: percentile_ms, max: 1}\n")
    with pytest.raises(GateFileError, match="percentile"):
        load_gates(bad)
    bad.write_text("name: x\nversion: 1\ngates:\n  - {name: a, metric: error_ratio}\n")
    with pytest.raises(GateFileError, match="exactly one of max or min"):
        load_gates(bad)


def test_a_profiles_gate_file_is_its_own_else_ci() -> None:
    assert gates_file("inspection-season") == GATES / "inspection-season.yaml"
    assert gates_file("smoke") == GATES / "ci.yaml"  # no smoke.yaml: the loose CI gates
    assert load_gates(gates_file("deadline-spike")).name == "ci"


def test_gate_files_are_found_from_another_checkout(tmp_path: Path) -> None:
    (tmp_path / "loadtests" / "gates").mkdir(parents=True)
    (tmp_path / "loadtests" / "gates" / "smoke.yaml").write_text("")
    assert gates_file("smoke", tmp_path) == tmp_path / "loadtests" / "gates" / "smoke.yaml"
    assert gates_file("daily", tmp_path) == tmp_path / "loadtests" / "gates" / "ci.yaml"
