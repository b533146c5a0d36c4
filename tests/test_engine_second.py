"""The second engine on this machine: its dockerd's configuration, its set-up and take-down,
and the fresh-machine reset removing all of it. Nothing here touches the host: commands,
processes and the nftables table are stand-ins.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sunlight.control import engine, enginetable, hostchanges
from sunlight.control.hostchanges import (
    HOST_PACKAGES,
    HOST_PATHS,
    SECOND_BRIDGE,
    SECOND_CONFIG,
    SECOND_DATA_ROOT,
    SECOND_EXEC_ROOT,
    SECOND_PIDFILE,
    SECOND_SOCKET,
    SECOND_TABLE,
)
from sunlight.topology.addressing import DEFAULT_POOL


def test_the_second_dockerd_has_its_own_everything_and_no_iptables() -> None:
    config = engine.second_config()
    assert config["hosts"] == [f"unix://{SECOND_SOCKET}"]
    assert config["data-root"] == str(SECOND_DATA_ROOT) != "/var/lib/docker"
    assert config["exec-root"] == str(SECOND_EXEC_ROOT) != "/run/docker"
    assert config["pidfile"] == str(SECOND_PIDFILE) != "/var/run/docker.pid"
    assert config["bridge"] == SECOND_BRIDGE != "docker0"
    # two engines that both manage iptables overwrite each other's rules
    assert config["iptables"] is False and config["ip6tables"] is False
    assert config["containerd-namespace"] != "moby"  # the first engine's
    assert "containerd-plugin-namespace" not in config  # dockerd 20.10 refuses the key
    # its own configuration file: never /etc/docker/daemon.json, the first engine's
    assert engine.second_command() == ["dockerd", "--config-file", str(SECOND_CONFIG)]


def test_the_second_bridge_has_its_own_subnet_outside_the_deployments_pool() -> None:
    add, address, up = engine.second_bridge_commands()
    assert add == ["ip", "link", "add", SECOND_BRIDGE, "type", "bridge"]
    from ipaddress import ip_interface

    subnet = ip_interface(address[3]).network
    assert not subnet.overlaps(DEFAULT_POOL) and subnet.is_private
    assert up == ["ip", "link", "set", SECOND_BRIDGE, "up"]


def test_what_the_second_engine_leaves_is_listed_for_the_reset() -> None:
    assert "nftables" in HOST_PACKAGES
    for path in (SECOND_DATA_ROOT, SECOND_EXEC_ROOT, SECOND_SOCKET, SECOND_CONFIG,
                 SECOND_PIDFILE):
        assert any(path == p or p in path.parents for p in HOST_PATHS), path


class Host:
    """The second engine's process, tables and links, as the reset and `down` see them."""

    def __init__(self, pid: int) -> None:
        self.processes = {pid}
        self.tables = {("inet", SECOND_TABLE), ("bridge", SECOND_TABLE), ("inet", "filter")}
        self.links = {SECOND_BRIDGE, "eth0", "docker0"}
        self.signals: list[tuple[int, int]] = []

    def run(self, cmd: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        rc = 1
        if cmd[:3] == ["nft", "delete", "table"] and (cmd[3], cmd[4]) in self.tables:
            self.tables.discard((cmd[3], cmd[4]))
            rc = 0
        elif cmd[:3] == ["ip", "link", "delete"] and cmd[3] in self.links:
            self.links.discard(cmd[3])
            rc = 0
        return subprocess.CompletedProcess(cmd, rc, "", "")

    def kill(self, pid: int, sig: int) -> None:
        self.signals.append((pid, sig))
        if sig == signal.SIGTERM:
            self.processes.discard(pid)


def test_the_reset_stops_the_second_engine_and_removes_its_table_and_bridge(
        tmp_path: Path) -> None:
    pidfile = tmp_path / "dockerd-b.pid"
    pidfile.write_text("4242\n")
    host = Host(4242)
    said: list[str] = []
    hostchanges._stop_second_engine(said.append, run=host.run, kill=host.kill,
                                    alive=lambda pid: pid in host.processes, pidfile=pidfile)
    assert host.signals == [(4242, signal.SIGTERM)] and not host.processes
    assert host.tables == {("inet", "filter")}  # someone else's table stays
    assert host.links == {"eth0", "docker0"}  # docker0 is the first engine's reset step
    assert said == ["Stopping the second engine (pid 4242)",
                    f"Removed nftables table inet {SECOND_TABLE}",
                    f"Removed nftables table bridge {SECOND_TABLE}",
                    f"Removed network link {SECOND_BRIDGE}"]
    said.clear()
    hostchanges._stop_second_engine(said.append, run=host.run, kill=host.kill,
                                    alive=lambda pid: pid in host.processes, pidfile=pidfile)
    assert said == []  # a second reset finds nothing


def test_the_reset_calls_the_second_engine_step_first(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(hostchanges.os, "geteuid", lambda: 0)
    monkeypatch.setattr(hostchanges, "_stop_second_engine", lambda _p: calls.append("second"))

    def stop(_p: Any) -> None:
        calls.append("first")
        raise SystemExit("stop here")

    monkeypatch.setattr(hostchanges, "_stop_engine", stop)
    with pytest.raises(SystemExit):
        hostchanges.reset(lambda _m: None)
    assert calls == ["second", "first"]


def test_a_config_the_second_dockerd_refuses_is_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.os, "geteuid", lambda: 0)
    monkeypatch.setattr(engine.shutil, "which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(engine, "SECOND_CONFIG", tmp_path / "dockerd-b.json")
    monkeypatch.setattr(engine, "second_running", lambda: False)

    def run(cmd: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        if cmd == ["dockerd", "--help"]:
            return subprocess.CompletedProcess(cmd, 0, "      --validate   Validate ...", "")
        if "--validate" in cmd:
            return subprocess.CompletedProcess(cmd, 1, "", "unable to configure the Docker "
                                               "daemon with file ...: the following directives "
                                               "don't match any configuration option: x")
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(engine.subprocess, "run", run)
    monkeypatch.setattr(engine.subprocess, "Popen", lambda *_a, **_k: pytest.fail("started"))
    with pytest.raises(engine.EngineError, match=r"refuses .*dockerd-b\.json: .*directives"):
        engine.second_up(lambda _m: None)


def test_second_up_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.os, "geteuid", lambda: 1000)
    with pytest.raises(engine.EngineError, match=r"needs root.*engine second up"):
        engine.second_up(lambda _m: None)


def test_second_up_makes_the_bridge_writes_the_config_starts_and_isolates(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    done: list[Any] = []
    monkeypatch.setattr(engine.os, "geteuid", lambda: 0)
    monkeypatch.setattr(engine.shutil, "which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(engine, "SECOND_CONFIG", tmp_path / "dockerd-b.json")
    monkeypatch.setattr(engine, "SECOND_LOG", tmp_path / "dockerd-b.log")
    running = iter([False, False, True])
    monkeypatch.setattr(engine, "second_running", lambda: next(running))

    def run(cmd: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        if cmd == ["dockerd", "--help"]:
            return subprocess.CompletedProcess(cmd, 0, "      --validate   Validate ...", "")
        done.append(cmd)
        return subprocess.CompletedProcess(cmd, 1 if cmd[:3] == ["ip", "link", "show"] else 0)

    monkeypatch.setattr(engine.subprocess, "run", run)
    monkeypatch.setattr(engine.subprocess, "Popen", lambda cmd, **_k: done.append(cmd))
    monkeypatch.setattr(engine, "_second_client", lambda: "client-b")
    monkeypatch.setattr(enginetable, "sync", lambda client: done.append(("sync", client)))
    engine.second_up(lambda _m: None)
    assert done == [["ip", "link", "show", SECOND_BRIDGE], *engine.second_bridge_commands(),
                    [*engine.second_command(), "--validate"],  # refused here, never half up
                    engine.second_command(), ("sync", "client-b")]
    assert json.loads((tmp_path / "dockerd-b.json").read_text()) == engine.second_config()


def test_a_dockerd_without_validate_is_started_without_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr(engine.os, "geteuid", lambda: 0)
    monkeypatch.setattr(engine.shutil, "which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(engine, "SECOND_CONFIG", tmp_path / "dockerd-b.json")
    monkeypatch.setattr(engine, "SECOND_LOG", tmp_path / "dockerd-b.log")
    running = iter([False, True])
    monkeypatch.setattr(engine, "second_running", lambda: next(running))

    def run(cmd: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        assert "--validate" not in cmd, "Debian 12's dockerd 20.10 has no --validate"
        out = "      --userland-proxy   Use userland proxy" if cmd[1:] == ["--help"] else ""
        return subprocess.CompletedProcess(cmd, 0, out, "")

    monkeypatch.setattr(engine.subprocess, "run", run)
    monkeypatch.setattr(engine.subprocess, "Popen", lambda cmd, **_k: started.append(cmd))
    monkeypatch.setattr(engine, "_second_client", lambda: "client-b")
    monkeypatch.setattr(enginetable, "sync", lambda _client: None)
    engine.second_up(lambda _m: None)
    assert started == [engine.second_command()]
