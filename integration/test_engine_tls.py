"""An engine reached over TLS ``tcp://``, as a site's engine on another machine is
(issue 16, point 3: engines are tested over ``unix://`` and TLS ``tcp://``; docs/engines.md).

The second engine on this machine (``sunlight engine second up``, a stage of `make test`)
is put behind a TLS listener on 127.0.0.1 that, like ``dockerd --tlsverify``, requires a
client certificate of its CA and then speaks the engine's API (it forwards to the engine's
unix socket). The certificates come from a test CA (``trustme``). What is proved is the
control node's side — a topology's ``engines.<name>: {url: tcp://…, tls: {ca, cert, key}}``
through :func:`sunlight.control.realizer.engines.connect` and ``Engines`` — against a real
TLS server and a real engine; dockerd's own TLS listener is not what answers here.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import trustme

from sunlight.control.realizer.engines import Engines, connect
from sunlight.control.realizer.plan import RealizerError
from sunlight.control.stack.topology import DEFAULT
from sunlight.topology.engines import SECOND_SOCKET, EngineSpec, EngineTLS


class TlsFront:
    """A TLS listener that requires a client certificate of ``ca`` and forwards each
    connection to a unix socket; ``refused`` counts the handshakes it turned down."""

    def __init__(self, target: Path, ca: trustme.CA) -> None:
        self.target = target
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.verify_mode = ssl.CERT_REQUIRED
        ca.configure_trust(self.context)
        ca.issue_cert("127.0.0.1").configure_cert(self.context)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.refused = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            self.refused += 1
            conn.close()
            return
        upstream = socket.socket(socket.AF_UNIX)
        upstream.connect(str(self.target))
        threading.Thread(target=_pump, args=(upstream, tls), daemon=True).start()
        _pump(tls, upstream)

    def close(self) -> None:
        self.listener.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def _material(tmp: Path, ca: trustme.CA, client_ca: trustme.CA) -> EngineTLS:
    """The client's files: ``ca`` to verify the engine, a certificate of ``client_ca``."""
    tmp.mkdir(parents=True, exist_ok=True)
    cert = client_ca.issue_cert("sunlight-control")
    ca.cert_pem.write_to_path(str(tmp / "ca.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp / "key.pem"))
    return EngineTLS(ca=tmp / "ca.pem", cert=tmp / "cert.pem", key=tmp / "key.pem")


@pytest.fixture(scope="module")
def far(second_engine_client: docker.DockerClient,
        ) -> Iterator[tuple[TlsFront, trustme.CA, docker.DockerClient]]:
    engine = second_engine_client
    ca = trustme.CA()
    front = TlsFront(SECOND_SOCKET, ca)
    try:
        yield front, ca, engine
    finally:
        front.close()


def test_an_engine_over_tls_tcp_is_reached_with_the_clients_certificate(
        far: tuple[TlsFront, trustme.CA, docker.DockerClient], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Also where requests' CA variables name the system's bundle (as on many machines,
    this one too): they replaced the engine's CA, and the engine failed to verify."""
    front, ca, engine = far
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(name, "/etc/ssl/certs/ca-certificates.crt")
    spec = DEFAULT.model_validate({**DEFAULT.model_dump(mode="json"), "engines": {
        "far": {"url": f"tcp://127.0.0.1:{front.port}", "address": "192.0.2.30",
                "tls": _material(tmp_path, ca, ca).model_dump(mode="json")}}}
    ).on_engine("320703", "far")
    engines = Engines(spec)
    client = engines.client_for("320703")
    assert client.ping()
    assert client.info()["ID"] == engine.info()["ID"]  # the engine behind the listener
    assert str(engines.address("far")) == "192.0.2.30"
    assert client.api.base_url.startswith("https://127.0.0.1:")


def test_a_client_certificate_of_another_ca_is_refused(
        far: tuple[TlsFront, trustme.CA, docker.DockerClient], tmp_path: Path) -> None:
    front, ca, _ = far
    before = front.refused
    spec = EngineSpec(url=f"tcp://127.0.0.1:{front.port}",
                      tls=_material(tmp_path, ca, trustme.CA()))
    with pytest.raises(docker.errors.DockerException):
        connect(spec).ping()
    assert front.refused > before  # turned down at the handshake


def test_an_engine_whose_certificate_the_ca_did_not_sign_is_named(
        far: tuple[TlsFront, trustme.CA, docker.DockerClient], tmp_path: Path) -> None:
    front, ca, _ = far
    spec = DEFAULT.model_validate({**DEFAULT.model_dump(mode="json"), "engines": {
        "far": {"url": f"tcp://127.0.0.1:{front.port}",
                "tls": _material(tmp_path, trustme.CA(), ca).model_dump(mode="json")}}}
    ).on_engine("320703", "far")
    with pytest.raises(RealizerError,
                       match=r"(?s)engine far: does not answer .*CERTIFICATE_VERIFY"):
        Engines(spec).client("far")
