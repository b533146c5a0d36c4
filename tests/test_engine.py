"""Engine detection: a client binary alone is not an engine; never a silent failure."""

from __future__ import annotations

import pytest

from sunlight import engine


def test_no_docker_binary_means_no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert engine.probe() is None


def test_client_without_engine_means_no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert engine.probe() is None


def test_not_root_stops_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "probe", lambda: None)
    monkeypatch.setattr(engine.os, "geteuid", lambda: 1000)
    with pytest.raises(engine.EngineError, match=r"No Docker engine answers.*root on Debian"):
        engine.ensure_engine(progress=lambda _m: None)


def test_running_engine_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    running = engine.EngineInfo("27.0", "/var/lib/docker", "2", False)
    monkeypatch.setattr(engine, "probe", lambda: running)

    def forbidden(*_a: object, **_k: object) -> None:
        raise AssertionError("must not install or start anything")

    monkeypatch.setattr(engine, "apt_install", forbidden)
    monkeypatch.setattr(engine, "_start_dockerd", forbidden)
    messages: list[str] = []
    assert engine.ensure_engine(progress=messages.append) is running
    assert "leaving it as it is" in messages[0]
