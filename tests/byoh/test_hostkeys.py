"""Host-key pinning: confirmed, declined, from the operator's file, changed since pinning —
with SSH replaced at the boundary (the collector) — and the collector itself against a real
in-process SSH server."""

from __future__ import annotations

import base64
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from sunlight.control.byoh.hostkeys import (
    HostKey,
    HostKeyError,
    collect_host_key,
    pin_host_keys,
    read_pins,
)
from sunlight.control.byoh.hostsfile import Target
from sunlight.control.ssh import ControlKey

from ..deploy.conftest import HOST_KEY, KEY

KEY_A = HostKey.from_line(HOST_KEY)
KEY_B = HostKey.from_line(KEY)
INT = Target("320703", "int", "320703-int", "10.32.23.12", "admin", 22)
GW = Target("320703", "gw", "320703-gw", "10.32.23.11", "admin", 22)


def _collector(keys: dict[str, HostKey]):  # type: ignore[no-untyped-def]
    return lambda target: keys[target.address]


def test_the_fingerprint_is_the_one_openssh_shows() -> None:
    # paramiko's PKey.fingerprint is OpenSSH's own format (what `ssh-keygen -lf` prints),
    # computed by its code, not ours: no ssh-keygen on the host is needed.
    key = paramiko.PKey.from_type_string(KEY_A.key_type, base64.b64decode(KEY_A.blob))
    assert KEY_A.fingerprint == key.fingerprint
    assert KEY_A.fingerprint != KEY_B.fingerprint


def test_a_confirmed_key_is_pinned_and_written(tmp_path: Path) -> None:
    asked: list[tuple[str, str]] = []

    def confirm(target: Target, key: HostKey) -> bool:
        asked.append((target.name, key.fingerprint))
        return True

    path = tmp_path / "inventory" / "known_hosts"
    pins = pin_host_keys([INT], path, collect=_collector({INT.address: KEY_A}), confirm=confirm)
    assert asked == [("320703-int", KEY_A.fingerprint)]
    assert pins.keys == {INT.address: KEY_A.line}
    assert pins.how == {"320703-int": "confirmed"}
    assert path.read_text() == f"{INT.address} {KEY_A.line}\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_declined_key_is_refused_and_not_pinned(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    with pytest.raises(HostKeyError) as caught:
        pin_host_keys([INT], path, collect=_collector({INT.address: KEY_A}),
                      confirm=lambda _t, _k: False)
    assert caught.value.refusals == [("320703-int", f"{KEY_A.fingerprint} was not confirmed; "
                                      "nothing pinned for it")]
    assert not path.exists()


def test_keys_confirmed_before_a_refusal_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    keys = {INT.address: KEY_A, GW.address: KEY_B}
    with pytest.raises(HostKeyError):
        pin_host_keys([GW, INT], path, collect=_collector(keys),
                      confirm=lambda t, _k: t.name == "320703-gw")
    assert read_pins(path) == {GW.address: KEY_B}


def test_nobody_to_ask_refuses_a_new_host(tmp_path: Path) -> None:
    with pytest.raises(HostKeyError, match="give --known-hosts FILE"):
        pin_host_keys([INT], tmp_path / "kh", collect=_collector({INT.address: KEY_A}))


def test_a_key_that_changed_since_pinning_is_refused_never_repinned(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(f"{INT.address} {KEY_A.line}\n")
    asked: list[str] = []
    with pytest.raises(HostKeyError) as caught:
        pin_host_keys([INT], path, collect=_collector({INT.address: KEY_B}),
                      confirm=lambda t, _k: asked.append(t.name) is None)
    name, why = caught.value.refusals[0]
    assert name == "320703-int"
    assert "CHANGED since it was pinned" in why
    assert KEY_A.fingerprint in why and KEY_B.fingerprint in why
    assert asked == []  # the operator is not even asked
    assert path.read_text() == f"{INT.address} {KEY_A.line}\n"  # untouched


def test_a_changed_key_is_refused_even_if_the_operator_file_has_it(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(f"{INT.address} {KEY_A.line}\n")
    given = tmp_path / "operator_known_hosts"
    given.write_text(f"{INT.address} {KEY_B.line}\n")
    with pytest.raises(HostKeyError, match="CHANGED"):
        pin_host_keys([INT], path, collect=_collector({INT.address: KEY_B}), operator_file=given)
    assert read_pins(path) == {INT.address: KEY_A}


def test_an_already_pinned_key_goes_on_without_asking(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(f"{INT.address} {KEY_A.line}\n")
    pins = pin_host_keys([INT], path, collect=_collector({INT.address: KEY_A}))
    assert pins.how == {"320703-int": "pinned"}


def test_the_operator_file_pins_hashed_names_too(tmp_path: Path) -> None:
    given = tmp_path / "operator_known_hosts"
    hashed = paramiko.HostKeys.hash_host(INT.address)
    given.write_text(f"{hashed} {KEY_A.line}\n{GW.address} {KEY_B.line}\n")
    path = tmp_path / "known_hosts"
    keys = {INT.address: KEY_A, GW.address: KEY_B}
    pins = pin_host_keys([INT, GW], path, collect=_collector(keys), operator_file=given)
    assert pins.how == {"320703-int": "file", "320703-gw": "file"}
    assert read_pins(path) == keys


def test_a_key_other_than_the_operator_files_is_refused(tmp_path: Path) -> None:
    given = tmp_path / "operator_known_hosts"
    given.write_text(f"{INT.address} {KEY_A.line}\n")
    with pytest.raises(HostKeyError) as caught:
        pin_host_keys([INT], tmp_path / "kh", collect=_collector({INT.address: KEY_B}),
                      operator_file=given, confirm=lambda _t, _k: True)
    assert f"presents {KEY_B.fingerprint}, but {given} gives {KEY_A.fingerprint}" in \
        caught.value.refusals[0][1]


@pytest.fixture
def ssh_server(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """A real SSH server (paramiko, in this process) presenting a fresh Ed25519 key."""
    key_file = ControlKey.load_or_create(tmp_path / "host_ed25519")
    host_key = key_file.pkey()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    done = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        transport = paramiko.Transport(conn)
        transport.add_server_key(host_key)
        transport.start_server(server=paramiko.ServerInterface())
        done.wait(10)
        transport.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port, key_file.public.split()[1]
    done.set()
    thread.join(5)
    listener.close()


def test_the_collector_reads_the_key_a_real_server_presents(
        ssh_server: tuple[int, str]) -> None:
    port, blob = ssh_server
    key = collect_host_key(Target("320703", "int", "320703-int", "127.0.0.1", "admin", port))
    assert key == HostKey("ssh-ed25519", blob)


def test_the_collector_names_the_host_when_nothing_answers() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    with pytest.raises(HostKeyError) as caught:
        collect_host_key(Target("320703", "int", "320703-int", "127.0.0.1", "admin", port),
                         timeout=2)
    assert caught.value.refusals[0][0] == "320703-int"
    assert "no SSH answer at 127.0.0.1" in caught.value.refusals[0][1]
