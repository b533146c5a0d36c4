"""One typed settings object for every role, read from ``SUNLIGHT_*`` environment variables.

Secrets have no defaults and placeholders are refused: a deployment generates its own
(the playbooks write them into each role's environment file).

Example::

    >>> from sunlight.settings import Settings
    >>> s = Settings(role="portal", site_code="320703",
    ...              database_url="postgresql+psycopg://portal:pw@db/portal")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Role = Literal["portal", "gateway", "core"]
PLACEHOLDERS = {"", "changeme", "change-me", "secret", "password", "admin", "default", "test"}
DEFAULT_ALLOWED_TYPES = (
    "application/pdf", "image/jpeg", "image/png",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)


class SettingsError(ValueError):
    """A setting is missing or unsafe; the message names the environment variable."""


class Settings(BaseSettings):
    """Settings of one process (`sunlight serve ROLE`)."""

    model_config = SettingsConfigDict(env_prefix="SUNLIGHT_", extra="ignore", frozen=True)

    role: Role
    site_code: str = Field(pattern=r"^\d{6}$")
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    log_level: str = "INFO"

    # portal and core: their own database; gateway: both (portal's DB, core over HTTP).
    database_url: SecretStr | None = None
    portal_database_url: SecretStr | None = None
    core_url: str | None = None

    # core: signs staff tokens. gateway and core share the exchange token.
    token_secret: SecretStr | None = None
    token_ttl_s: int = Field(default=8 * 3600, ge=60)
    exchange_token: SecretStr | None = None

    # Materials: one size limit (nginx's client_max_body_size is set to the same value).
    material_max_bytes: int = Field(default=10 * 2**20, ge=1024)
    material_types: tuple[str, ...] = DEFAULT_ALLOWED_TYPES

    # Background jobs.
    overdue_interval_s: float = Field(default=60.0, gt=0)
    gateway_poll_s: float = Field(default=0.5, gt=0)
    gateway_batch: int = Field(default=50, ge=1, le=1000)

    @model_validator(mode="after")
    def _role_needs(self) -> Settings:
        needs: dict[str, tuple[str, ...]] = {
            "portal": ("database_url",),
            "core": ("database_url", "token_secret", "exchange_token"),
            "gateway": ("portal_database_url", "core_url", "exchange_token"),
        }
        for name in needs[self.role]:
            value = getattr(self, name)
            if value is None:
                raise SettingsError(f"SUNLIGHT_{name.upper()} is required for role {self.role}")
            if isinstance(value, SecretStr) and name.endswith(("secret", "token")):
                secret = value.get_secret_value()
                if secret.lower() in PLACEHOLDERS or len(secret) < 16:
                    raise SettingsError(
                        f"SUNLIGHT_{name.upper()} must be a generated secret of at least "
                        "16 characters, not a placeholder"
                    )
        return self

    def db_url(self) -> str:
        assert self.database_url is not None
        return self.database_url.get_secret_value()
