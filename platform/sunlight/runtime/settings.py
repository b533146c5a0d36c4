"""One typed settings object for every role, read from ``SUNLIGHT_*`` environment variables.

Secrets have no defaults and placeholders are refused: a deployment generates its own
(the playbooks write them into each role's environment file).

Cross-tier exchange (core only, all optional: without ``SUNLIGHT_AMQP_URL`` core runs
without the exchange, as in a unit or dev setup). The playbooks template these into core's
environment file:

- ``SUNLIGHT_AMQP_URL``: core → its own site's broker, e.g.
  ``amqp://core:PW@10.1.2.5:5672/sunlight?heartbeat=10``. Core keeps serving while the broker
  is down and reconnects with backoff.
- ``SUNLIGHT_SIGNING_KEY_FILE``: this site's Ed25519 private key (PEM, PKCS#8, unencrypted).
- ``SUNLIGHT_PEER_KEYS_DIR``: ``<division code>.pem`` public keys of every ancestor and
  descendant site; the direct children are the descendants whose parent is this site.
- ``SUNLIGHT_PARENT_SITE``: the parent's division code (must be the GB/T 2260 parent), or
  empty at a province or while the upward link is not deployed (events then wait in the
  outbox and leave once it is).
- ``SUNLIGHT_EXCHANGE_GAP_ALERT_S`` (300): how long a case-event sequence gap may wait before
  it is reported (metric, log line, ``sunlight exchange status``).
- ``SUNLIGHT_EXCHANGE_STATS_INTERVAL_S`` (300): how often statistics go upward.
- ``SUNLIGHT_EXCHANGE_POLL_S`` (0.5): how often the publisher looks at the outbox when idle.
- ``SUNLIGHT_EXCHANGE_BATCH`` (200): outbox rows published per round (confirms awaited
  together); also the consumer prefetch.
- ``SUNLIGHT_EXCHANGE_RECONNECT_MAX_S`` (30): the longest wait between broker reconnects.
- ``SUNLIGHT_EXCHANGE_OUTBOX_RETENTION_DAYS`` (14): published outbox rows older than this
  are deleted (the inbox of received event ids is kept: it is what refuses a late replay).

Example::

    >>> from sunlight.runtime.settings import Settings
    >>> s = Settings(role="portal", site_code="320703",
    ...              database_url="postgresql+psycopg://portal:pw@db/portal")  # doctest: +SKIP
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
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
    # core: serve HTTPS with this certificate and key (from the deployment CA; both or
    # neither). Every client of core (the gateway, core's own CLI on the host) verifies an
    # https:// core against tls_ca_file, the deployment CA.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_ca_file: Path | None = None

    # core: signs staff tokens. gateway and core share the exchange token.
    token_secret: SecretStr | None = None
    token_ttl_s: int = Field(default=8 * 3600, ge=60)
    # core: the staff pages' sessions (docs/pages.md) end after this many minutes without a
    # request, and in any case this many hours after sign-in.
    staff_session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    staff_session_max_hours: int = Field(default=12, ge=1, le=7 * 24)
    exchange_token: SecretStr | None = None
    # core: sign-in throttling (per account and per client address, state in the database).
    # After ``max_failures`` failures in a row (forgotten after ``window_s`` without one) a
    # sign-in is locked for ``lock_base_s``, doubling with each further failure, at most
    # ``lock_max_s``; a locked sign-in answers 429 with Retry-After.
    signin_account_max_failures: int = Field(default=5, ge=1)
    signin_client_max_failures: int = Field(default=20, ge=1)
    signin_lock_base_s: float = Field(default=30.0, gt=0)
    signin_lock_max_s: float = Field(default=900.0, gt=0)
    signin_window_s: float = Field(default=3600.0, gt=0)
    # core: front proxies (addresses or CIDR networks) whose X-Forwarded-For is believed for
    # the client address; none by default (core is internal: the peer is the client).
    trusted_proxies: tuple[str, ...] = ()

    # Materials: one size limit (nginx's client_max_body_size is set to the same value).
    material_max_bytes: int = Field(default=10 * 2**20, ge=1024)
    material_types: tuple[str, ...] = DEFAULT_ALLOWED_TYPES
    # Per submission (a draft, or one correction): how many materials and how many bytes in
    # all; an upload past either is refused (422 / 413) and what was accepted stays.
    material_max_count: int = Field(default=20, ge=1, le=1000)
    material_max_total_bytes: int = Field(default=50 * 2**20, ge=1024)
    # portal: a draft never submitted is purged this long after it was started (its
    # materials with it), checked every draft_purge_interval_s by each portal process.
    draft_retention_days: float = Field(default=7.0, gt=0)
    draft_purge_interval_s: float = Field(default=3600.0, gt=0)
    # Largest request body a role reads (413 above it); unset: the role's default,
    # :meth:`body_limit`.
    max_body_bytes: int | None = Field(default=None, ge=1024)

    # PostgreSQL time-outs of this role's connections in ms (0: none); unset: the role's
    # default (sunlight.runtime.db.ROLE_TIMEOUTS).
    db_lock_timeout_ms: int | None = Field(default=None, ge=0)
    db_statement_timeout_ms: int | None = Field(default=None, ge=0)
    db_idle_in_transaction_timeout_ms: int | None = Field(default=None, ge=0)
    # portal: days after a case is closed inward before its materials are deleted and its
    # identity numbers masked (`sunlight portal purge`, runtime/portal/retention.py).
    portal_retention_days: float = Field(default=30.0, gt=0)

    # Background jobs.
    overdue_interval_s: float = Field(default=60.0, gt=0)
    # core: a file of seconds added to the system clock in a drill (see runtime/clock.py).
    clock_offset_file: Path | None = None
    gateway_poll_s: float = Field(default=0.5, gt=0)
    gateway_batch: int = Field(default=50, ge=1, le=1000)
    # A crossing the gateway cannot deliver (core refuses it, or it fails validation) is
    # retried after gateway_retry_base_s, doubling up to gateway_retry_max_s, and parked
    # after gateway_park_after attempts (`sunlight gateway parked list|replay`).
    gateway_retry_base_s: float = Field(default=5.0, gt=0)
    gateway_retry_max_s: float = Field(default=600.0, gt=0)
    gateway_park_after: int = Field(default=8, ge=1, le=100)

    # core: the cross-tier exchange (see the module docstring).
    amqp_url: SecretStr | None = None
    signing_key_file: Path | None = None
    peer_keys_dir: Path | None = None
    parent_site: str = Field(default="", pattern=r"^(\d{6})?$")
    exchange_gap_alert_s: float = Field(default=300.0, gt=0)
    exchange_stats_interval_s: float = Field(default=300.0, gt=0)
    exchange_poll_s: float = Field(default=0.5, gt=0)
    exchange_batch: int = Field(default=200, ge=1, le=5000)
    exchange_reconnect_max_s: float = Field(default=30.0, ge=1)
    exchange_outbox_retention_days: float = Field(default=14.0, gt=0)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise SettingsError(f"SUNLIGHT_TRUSTED_PROXIES: {entry!r} is not an address "
                                    "or network") from exc
        return value

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

    @model_validator(mode="after")
    def _exchange_needs(self) -> Settings:
        if self.parent_site:
            from sunlight.topology.division import DivisionError, check_parent

            try:
                check_parent(self.site_code, self.parent_site)
            except DivisionError as exc:
                raise SettingsError(f"SUNLIGHT_PARENT_SITE: {exc}") from exc
        if self.amqp_url is not None:
            for name in ("signing_key_file", "peer_keys_dir"):
                if getattr(self, name) is None:
                    raise SettingsError(f"SUNLIGHT_{name.upper()} is required with "
                                        "SUNLIGHT_AMQP_URL")
        return self

    @model_validator(mode="after")
    def _tls_needs(self) -> Settings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise SettingsError("SUNLIGHT_TLS_CERT_FILE and SUNLIGHT_TLS_KEY_FILE go together "
                                "(core serves HTTPS with both)")
        if self.core_url and self.core_url.startswith("https://") and self.tls_ca_file is None:
            raise SettingsError("SUNLIGHT_TLS_CA_FILE is required with an https:// "
                                "SUNLIGHT_CORE_URL (the deployment CA that verifies core)")
        return self

    def core_verify(self) -> ssl.SSLContext | bool:
        """How a client of core verifies it: the deployment CA when one is set, else the
        system's trust store."""
        if self.tls_ca_file is None:
            return True
        return ssl.create_default_context(cafile=str(self.tls_ca_file))

    @property
    def exchange_enabled(self) -> bool:
        """The exchange runs inside core when a broker is configured."""
        return self.role == "core" and self.amqp_url is not None

    def body_limit(self) -> int:
        """The largest request body this role accepts: ``max_body_bytes`` when set, else the
        portal's one material plus a form's worth, core's the same (materials cross one
        per request) and 1 MiB for the
        gateway (health and metrics only)."""
        if self.max_body_bytes is not None:
            return self.max_body_bytes
        slack = 2**20
        if self.role in ("portal", "core"):
            return self.material_max_bytes + slack
        return slack

    def db_url(self) -> str:
        assert self.database_url is not None
        return self.database_url.get_secret_value()
