"""Engine detection: a client binary alone is not an engine; never a silent failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from sunlight.control import engine, hostchanges


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


def _sysctl_tree(root: Path, values: dict[str, int]) -> Path:
    for name, value in values.items():
        path = root.joinpath(*name.split("."))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{value}\n")
    return root


def test_limits_are_raised_in_the_given_tree_and_recorded(tmp_path: Path) -> None:
    root = _sysctl_tree(tmp_path / "sys", {"fs.inotify.max_user_instances": 128,
                                           "fs.inotify.max_user_watches": 600000})
    ledger = hostchanges.Ledger(tmp_path / "ledger.json")
    messages: list[str] = []
    low = engine.raise_host_limits(messages.append, sysctl_root=root, ledger=ledger,
                                   is_root=True)
    assert low == []
    assert hostchanges.read_sysctl("fs.inotify.max_user_instances", root) == 8192
    assert hostchanges.read_sysctl("fs.inotify.max_user_watches", root) == 600000  # high enough
    assert hostchanges.Ledger.load(ledger.path).sysctls == {"fs.inotify.max_user_instances": 128}
    assert messages == ["Raised fs.inotify.max_user_instances from 128 to 8192 "
                        "(systemd hosts need it)"]


def test_a_second_raise_keeps_the_machine_s_own_value(tmp_path: Path) -> None:
    ledger = hostchanges.Ledger(tmp_path / "ledger.json")
    ledger.raised("fs.inotify.max_user_instances", 128)
    ledger.raised("fs.inotify.max_user_instances", 8192)
    assert hostchanges.Ledger.load(ledger.path).sysctls["fs.inotify.max_user_instances"] == 128


def test_not_root_reports_low_limits_and_changes_nothing(tmp_path: Path) -> None:
    root = _sysctl_tree(tmp_path / "sys", {"fs.inotify.max_user_instances": 128,
                                           "fs.inotify.max_user_watches": 8192})
    ledger = hostchanges.Ledger(tmp_path / "ledger.json")
    low = engine.raise_host_limits(lambda _m: None, sysctl_root=root, ledger=ledger,
                                   is_root=False)
    assert [item.split("=")[0] for item in low] == list(hostchanges.INOTIFY_LIMITS)
    assert hostchanges.read_sysctl("fs.inotify.max_user_instances", root) == 128
    assert not ledger.path.exists()


def test_only_packages_the_reset_removes_may_be_installed(tmp_path: Path) -> None:
    ledger = hostchanges.Ledger(tmp_path / "ledger.json")
    with pytest.raises(ValueError, match=r"nginx not in sunlight.control.hostchanges.HOST_PAC"):
        engine.apt_install(["nginx"], lambda _m: None, ledger=ledger)
    assert not ledger.path.exists()
