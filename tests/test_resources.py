"""Run ownership: what a sweep may remove, and what it must never touch."""

from __future__ import annotations

import pytest

from sunlight.control.resources import (
    LABEL_OWNER,
    LABEL_PROJECT,
    Run,
    current_owner,
    is_sweepable,
    owner_alive,
    validate_run_id,
)
from sunlight.topology import runs


def test_labels_carry_project_run_and_owner() -> None:
    run = Run.ephemeral("it")
    labels = run.labels(site="320000")
    assert labels[LABEL_PROJECT] == "sunlight"
    assert labels["io.sunlight.run-id"] == run.run_id
    assert labels["io.sunlight.lifetime"] == "ephemeral"
    assert labels["io.sunlight.site"] == "320000"
    assert owner_alive(labels[LABEL_OWNER])


def test_persistent_runs_record_no_owner() -> None:
    labels = Run.named("demo").labels()
    assert labels["io.sunlight.lifetime"] == "persistent"
    assert LABEL_OWNER not in labels


def test_names_include_the_run_id() -> None:
    assert Run.named("demo").name("node1") == "sunlight-demo-node1"


@pytest.mark.parametrize("bad", ["", "ab", "Demo", "-demo", "demo-", "de mo", "x" * 33, "a_b"])
def test_bad_run_ids_are_refused_with_the_rule(bad: str) -> None:
    with pytest.raises(ValueError, match="run id"):
        validate_run_id(bad)


def test_dead_owner_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    boot, _pid, ticks = current_owner().rsplit(":", 2)
    assert not owner_alive(f"{boot}:999999999:{ticks}")  # no such process
    assert not owner_alive(f"another-boot:{_pid}:{ticks}")  # machine rebooted since
    assert not owner_alive(f"{boot}:{_pid}:1")  # pid reused by a newer process
    assert not owner_alive("garbage")


def _labels(run_id: str, lifetime: str, owner: str | None = None,
            project: str = "sunlight") -> dict[str, str]:
    labels = {LABEL_PROJECT: project, "io.sunlight.run-id": run_id,
              "io.sunlight.lifetime": lifetime}
    if owner:
        labels[LABEL_OWNER] = owner
    return labels


def test_sweep_rules() -> None:
    alive = current_owner()
    dead = "no-boot:1:1"
    assert is_sweepable(_labels("mine", "ephemeral", alive), "mine")
    assert is_sweepable(_labels("mine", "persistent"), "mine")
    assert is_sweepable(_labels("other", "ephemeral", dead), "mine")
    assert not is_sweepable(_labels("other", "ephemeral", alive), "mine")
    assert not is_sweepable(_labels("demo", "persistent"), "mine")  # a demo left running
    assert not is_sweepable(_labels("mine", "ephemeral", alive, project="other"), "mine")
    assert not is_sweepable(None, "mine")
    assert not is_sweepable({}, "mine")


def test_owner_token_survives_command_names_with_spaces(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stat = "1234 (my odd (cmd)) S " + " ".join(str(n) for n in range(1, 40))
    monkeypatch.setattr(runs.Path, "read_text", lambda self: fake_stat)
    # Field 22 of /proc/PID/stat is the start time; here field 4 holds "1", so field 22 "19".
    assert runs._start_ticks(1234) == "19"
