"""Settings of each serving role with unreachable database and core addresses: enough to
build its app (or read its limits) in a unit test without any server."""

from __future__ import annotations

from typing import Any

from sunlight.runtime.settings import Settings

TOKEN = "x" * 32
ROLES = ("portal", "gateway", "core")


def role_settings(role: str, **extra: Any) -> Settings:
    """A ``role``'s settings at site 320703, plus ``extra`` fields."""
    urls = {"portal": {"database_url": "postgresql+psycopg://u:p@127.0.0.1:1/portal"},
            "core": {"database_url": "postgresql+psycopg://u:p@127.0.0.1:1/core",
                     "token_secret": TOKEN, "exchange_token": TOKEN},
            "gateway": {"portal_database_url": "postgresql+psycopg://u:p@127.0.0.1:1/portal",
                        "core_url": "http://127.0.0.1:1", "exchange_token": TOKEN}}[role]
    return Settings(role=role, site_code="320703", **urls, **extra)  # type: ignore[arg-type]
