"""Settings: each role's requirements, and no placeholder secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sunlight.runtime.settings import Settings, SettingsError

SECRET = "k3JH8s0d-generated-0pQ9"


def test_core_needs_its_database_and_secrets() -> None:
    with pytest.raises((SettingsError, ValidationError), match="SUNLIGHT_DATABASE_URL"):
        Settings(role="core", site_code="320703")
    with pytest.raises((SettingsError, ValidationError), match="SUNLIGHT_TOKEN_SECRET"):
        Settings(role="core", site_code="320703", database_url="postgresql://x")


@pytest.mark.parametrize("placeholder", ["changeme", "secret", "short"])
def test_placeholder_secrets_are_refused(placeholder: str) -> None:
    with pytest.raises((SettingsError, ValidationError), match="generated secret"):
        Settings(role="core", site_code="320703", database_url="postgresql://x",
                 token_secret=placeholder, exchange_token=SECRET)


def test_gateway_needs_both_sides() -> None:
    with pytest.raises((SettingsError, ValidationError), match="SUNLIGHT_CORE_URL"):
        Settings(role="gateway", site_code="320703", portal_database_url="postgresql://x",
                 exchange_token=SECRET)
    ok = Settings(role="gateway", site_code="320703", portal_database_url="postgresql://x",
                  core_url="http://core:8003", exchange_token=SECRET)
    assert ok.core_url == "http://core:8003"


def test_site_code_must_be_a_division_code() -> None:
    with pytest.raises(ValidationError, match="site_code"):
        Settings(role="portal", site_code="32070", database_url="postgresql://x")


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUNLIGHT_SITE_CODE", "320700")
    monkeypatch.setenv("SUNLIGHT_DATABASE_URL", "postgresql://portal@db/portal")
    monkeypatch.setenv("SUNLIGHT_MATERIAL_MAX_BYTES", "2048")
    s = Settings(role="portal")
    assert (s.site_code, s.material_max_bytes) == ("320700", 2048)
    assert "portal@db" in s.db_url()
    assert "portal@db" not in repr(s)  # secrets stay out of logs
