"""The exchange's settings: optional, but consistent when given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sunlight.runtime.settings import Settings, SettingsError

CORE: dict[str, Any] = {"role": "core", "database_url": "postgresql+psycopg://c:p@db/core",
                        "token_secret": "x" * 32, "exchange_token": "y" * 32}


def test_core_runs_without_the_exchange() -> None:
    settings = Settings(site_code="320703", **CORE)
    assert not settings.exchange_enabled and settings.parent_site == ""


def test_the_parent_must_be_the_gb2260_parent() -> None:
    assert Settings(site_code="320703", parent_site="320700", **CORE).parent_site == "320700"
    with pytest.raises((SettingsError, ValidationError), match="SUNLIGHT_PARENT_SITE"):
        Settings(site_code="320703", parent_site="320000", **CORE)
    with pytest.raises((SettingsError, ValidationError)):
        Settings(site_code="320000", parent_site="320000", **CORE)


def test_a_broker_needs_the_keys(tmp_path: Path) -> None:
    with pytest.raises((SettingsError, ValidationError), match="SUNLIGHT_SIGNING_KEY_FILE"):
        Settings(site_code="320703", amqp_url="amqp://c:p@mq/sunlight", **CORE)
    settings = Settings(site_code="320703", amqp_url="amqp://c:p@mq/sunlight",
                        signing_key_file=tmp_path / "k", peer_keys_dir=tmp_path, **CORE)
    assert settings.exchange_enabled


def test_settings_come_from_the_documented_environment(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    for name, value in {"SITE_CODE": "320700", "AMQP_URL": "amqp://c:p@mq/sunlight",
                        "SIGNING_KEY_FILE": str(tmp_path / "k"), "PARENT_SITE": "320000",
                        "PEER_KEYS_DIR": str(tmp_path), "EXCHANGE_GAP_ALERT_S": "15"}.items():
        monkeypatch.setenv(f"SUNLIGHT_{name}", value)
    settings = Settings(**CORE)
    assert settings.exchange_gap_alert_s == 15 and settings.parent_site == "320000"
    assert settings.peer_keys_dir == tmp_path


def test_every_exchange_setting_is_documented_for_the_playbooks() -> None:
    import sunlight.runtime.settings as module

    names = [n for n in Settings.model_fields if n in ("amqp_url", "signing_key_file",
                                                       "peer_keys_dir", "parent_site")
             or (n.startswith("exchange_") and n != "exchange_token")]
    assert len(names) == 10
    for name in names:
        assert f"SUNLIGHT_{name.upper()}" in (module.__doc__ or ""), name
