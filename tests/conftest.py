"""Unit tests are fast, Docker-free and host-neutral: no test here may reach an engine or
change the machine.

Host neutrality is checked, not assumed: the session takes a snapshot of what a test could
change by mistake (kernel limits, installed packages, /etc, Sunlight's caches, state and
host-changes ledger) before the first test and after the last, writes both to
``build/host-{before,after}-unit.txt`` (the fresh-machine rehearsal compares them) and fails
if they differ. The per-user cache and state directories point into the session's temporary
directory while the tests run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sunlight.control.hostchanges import snapshot

BUILD = Path(__file__).resolve().parents[1] / "build"


def _write(name: str, shot: dict[str, str]) -> None:
    BUILD.mkdir(exist_ok=True)
    (BUILD / name).write_text("".join(f"{k}: {v}\n" for k, v in shot.items()))


@pytest.fixture(scope="session", autouse=True)
def host_is_left_as_found(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    before = snapshot()
    _write("host-before-unit.txt", before)
    saved = {k: os.environ.get(k) for k in ("XDG_CACHE_HOME", "XDG_STATE_HOME")}
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("xdg-state"))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    after = snapshot()
    _write("host-after-unit.txt", after)
    changed = [f"{k}: {before[k]} -> {after.get(k)}" for k in before if before[k] != after.get(k)]
    assert not changed, "the unit tests changed the host:\n" + "\n".join(changed)
