"""Core with the exchange: it starts and serves whether or not its broker answers."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sunlight.runtime.core.app import create_app
from sunlight.runtime.core.auth import Staff, current_staff
from sunlight.runtime.exchange.signing import KeyFileError, generate_keypair
from sunlight.runtime.exchange.status import parse
from sunlight.runtime.settings import Settings

# Closed loopback ports: refused at once, nothing outside this machine is contacted.
NO_DB = "postgresql+psycopg://core:pw@127.0.0.1:1/core"
NO_BROKER = "amqp://core:pw@127.0.0.1:1/sunlight"
SECRETS = {"token_secret": "t" * 32, "exchange_token": "e" * 32}


def _keys(tmp_path: Path) -> tuple[Path, Path]:
    private, _ = generate_keypair()
    key = tmp_path / "320703.key"
    key.write_bytes(private)
    peers = tmp_path / "peers"
    peers.mkdir()
    (peers / "320700.pem").write_bytes(generate_keypair()[1])
    return key, peers


def test_core_serves_and_keeps_retrying_while_its_broker_is_down(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key, peers = _keys(tmp_path)
    settings = Settings(role="core", site_code="320703", database_url=NO_DB,
                        amqp_url=NO_BROKER, signing_key_file=key, peer_keys_dir=peers,
                        parent_site="320700", **SECRETS)
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _attempts(caplog):
            time.sleep(0.1)
        assert _attempts(caplog), "the exchange never tried its broker"
        status = parse(client.get("/metrics").text)
        assert not status.connected and not status.healthy
        broker_task = next(t for t in app.state.exchange._tasks if t.get_name() == "_broker_loop")
        assert not broker_task.done()  # still retrying, with backoff
        assert client.get("/healthz").status_code == 200
    assert all(t.done() for t in app.state.exchange._tasks)  # stopped with the app


def _attempts(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("broker unreachable")]


def test_core_without_a_broker_has_no_exchange_and_says_so() -> None:
    settings = Settings(role="core", site_code="320000", database_url=NO_DB, **SECRETS)
    app = create_app(settings)
    assert app.state.exchange is None
    # No database here: the signed-in admin is given (a real token is checked against the
    # account's row, see tests/platform/test_account_security.py).
    app.dependency_overrides[current_staff] = lambda: Staff("li", ("admin",), None)
    with TestClient(app) as client:
        issued = client.post("/api/v1/supervision/orders",
                             json={"target": "320700", "receipt": "320703-20261201-000001",
                                   "text": "请说明"})
        assert issued.status_code == 409
        assert issued.json()["error"] == "exchange_not_configured"
        assert "sunlight_exchange_" not in client.get("/metrics").text


def test_a_parent_without_a_key_stops_core_at_start(tmp_path: Path) -> None:
    key, peers = _keys(tmp_path)
    (peers / "320700.pem").unlink()
    settings = Settings(role="core", site_code="320703", database_url=NO_DB,
                        amqp_url=NO_BROKER, signing_key_file=key, peer_keys_dir=peers,
                        parent_site="320700", **SECRETS)
    with pytest.raises(KeyFileError, match="no public key of the parent 320700"):
        create_app(settings)
