"""core over HTTPS: the settings, and the gateway's client verifying core with the
deployment CA against a real TLS server (a certificate of the CA, on loopback)."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from sunlight.control.deploy.secrets import (
    CertSpec,
    SiteSecretsSpec,
    ca_paths,
    ensure_secrets,
    tls_paths,
)
from sunlight.runtime.gateway.app import core_client
from sunlight.runtime.settings import Settings, SettingsError

SECRET = "k3JH8s0d-generated-0pQ9"


def _gateway(core_url: str, **tls: object) -> Settings:
    return Settings(role="gateway", site_code="320703", portal_database_url="postgresql://x",
                    core_url=core_url, exchange_token=SECRET, **tls)


def test_an_https_core_url_needs_the_deployment_ca() -> None:
    with pytest.raises((SettingsError, ValidationError), match="SUNLIGHT_TLS_CA_FILE"):
        _gateway("https://10.0.1.3:9")


def test_core_serves_tls_with_both_certificate_and_key() -> None:
    with pytest.raises((SettingsError, ValidationError), match="SUNLIGHT_TLS_KEY_FILE"):
        Settings(role="core", site_code="320703", database_url="postgresql://x",
                 token_secret=SECRET, exchange_token=SECRET, tls_cert_file=Path("/c.crt"))


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def tls_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """A TLS server on loopback with a certificate of a fresh deployment CA; and the CA of
    another deployment."""
    root = tmp_path_factory.mktemp("secrets")
    spec = CertSpec("core-320703-int", ("localhost",), ("127.0.0.1",))
    ensure_secrets(root / "ours", [SiteSecretsSpec("320703", (spec,))])
    ensure_secrets(root / "other", [SiteSecretsSpec("320703")])
    key, cert = tls_paths(root / "ours", "320703", spec.name)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield (f"127.0.0.1:{server.server_address[1]}", ca_paths(root / "ours")[1],
               ca_paths(root / "other")[1])
    finally:
        server.shutdown()
        server.server_close()


def test_the_gateway_verifies_core_with_the_deployment_ca(
        tls_core: tuple[str, Path, Path]) -> None:
    address, ca, other_ca = tls_core
    with core_client(_gateway(f"https://{address}", tls_ca_file=ca)) as client:
        assert client.get("/readyz").status_code == 200
    # a core whose certificate another CA issued is refused
    with core_client(_gateway(f"https://{address}", tls_ca_file=other_ca)) as client, \
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        client.get("/readyz")
    # and core does not answer plain HTTP
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://{address}/readyz", timeout=3)
