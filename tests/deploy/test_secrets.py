"""Secrets: generated once, never overwritten, private, and fit for their use."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sunlight.control.deploy.firewall import HostView
from sunlight.control.deploy.secrets import (
    PASSWORDS,
    CertSpec,
    SiteSecretsSpec,
    ca_paths,
    certificate_current,
    ensure_secrets,
    password_path,
    signing_key_paths,
    site_specs,
    tls_paths,
)

PORTAL = CertSpec("portal", ("localhost",), ("127.0.0.1", "10.0.0.10"))
SITES = [SiteSecretsSpec("320703", (PORTAL,)), SiteSecretsSpec("320700")]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_everything_is_generated_once_and_kept(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    created = ensure_secrets(root, SITES, deployment="dt-0001")
    assert len(created) == 2 + 2 * (len(PASSWORDS) + 2) + 2
    first = _files(root)
    assert set(first) == set(created)
    assert ensure_secrets(root, SITES) == []
    assert _files(root) == first  # never overwritten


def test_files_and_directories_are_private(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    ensure_secrets(root, SITES)
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path


def test_passwords_are_long_distinct_and_url_safe(tmp_path: Path) -> None:
    ensure_secrets(tmp_path, SITES)
    values = [password_path(tmp_path, code, name).read_text()
              for code in ("320703", "320700") for name in PASSWORDS]
    assert len(set(values)) == len(values)
    assert all(len(v) >= 32 and v.replace("-", "").replace("_", "").isalnum() for v in values)


def test_check_mode_reports_without_writing(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    due = ensure_secrets(root, SITES, dry_run=True)
    assert not root.exists()
    assert sorted(due) == sorted(ensure_secrets(root, SITES))


def test_signing_keys_are_an_ed25519_pair(tmp_path: Path) -> None:
    ensure_secrets(tmp_path, SITES)
    private_path, public_path = signing_key_paths(tmp_path, "320703")
    private = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    public = serialization.load_pem_public_key(public_path.read_bytes())
    assert isinstance(private, Ed25519PrivateKey) and isinstance(public, Ed25519PublicKey)
    public.verify(private.sign(b"event"), b"event")  # raises if they do not match


def test_server_certificate_is_the_cas_and_covers_its_names(tmp_path: Path) -> None:
    ensure_secrets(tmp_path, SITES)
    ca = x509.load_pem_x509_certificate(ca_paths(tmp_path)[1].read_bytes())
    cert = x509.load_pem_x509_certificate(tls_paths(tmp_path, "320703", "portal")[1].read_bytes())
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1",
                                                                           "10.0.0.10"]


def test_a_certificate_is_issued_again_only_when_its_names_change(tmp_path: Path) -> None:
    ensure_secrets(tmp_path, SITES)
    key_path, cert_path = tls_paths(tmp_path, "320703", "portal")
    key, cert = key_path.read_bytes(), cert_path.read_bytes()
    assert ensure_secrets(tmp_path, SITES) == []
    moved = CertSpec("portal", ("localhost",), ("127.0.0.1", "10.0.9.10"))
    assert ensure_secrets(tmp_path, [SiteSecretsSpec("320703", (moved,))]) == [
        "sites/320703/tls/portal.crt"]
    assert key_path.read_bytes() == key and cert_path.read_bytes() != cert


def test_a_certificate_of_another_ca_is_not_current(tmp_path: Path) -> None:
    ensure_secrets(tmp_path / "a", SITES)
    ensure_secrets(tmp_path / "b", SITES)
    ca_b = x509.load_pem_x509_certificate(ca_paths(tmp_path / "b")[1].read_bytes())
    cert_a = x509.load_pem_x509_certificate(
        tls_paths(tmp_path / "a", "320703", "portal")[1].read_bytes())
    assert not certificate_current(cert_a, ca_b, PORTAL, cert_a.not_valid_before_utc)


def test_site_specs_issue_portal_and_database_certificates() -> None:
    hosts = [HostView("320703-ext", "320703", "320700", ("nginx", "portal", "portal_db"),
                      {"mgmt": "10.0.2.10", "ext": "10.0.0.10"}),
             HostView("320703-int", "320703", "320700", ("core", "core_db", "mq", "mon"),
                      {"mgmt": "10.0.2.12", "int": "10.0.1.12"}),
             HostView("320700-standin", "320700", None, ("mq",), {"backbone": "10.0.3.4"},
                      managed=False)]
    specs = {s.code: s for s in site_specs(["320703", "320700"], hosts)}
    assert specs["320700"].certs == ()  # keys and passwords only for an unmanaged site
    certs = {c.name: c for c in specs["320703"].certs}
    assert set(certs) == {"portal", "postgresql-320703-ext", "postgresql-320703-int",
                          "rabbitmq-320703-int", "core-320703-int", "prometheus-320703-int",
                          "shovel"}
    assert certs["portal"].ips == ("10.0.0.10", "10.0.2.10", "127.0.0.1")


def test_generated_passwords_never_look_like_options() -> None:
    """A leading '-' made rabbitmqctl read a password as an option (seen in CI)."""
    from sunlight.control.deploy.secrets import PASSWORD_LENGTH, new_password

    passwords = [new_password() for _ in range(2000)]
    assert all(p.isalnum() and len(p) == PASSWORD_LENGTH for p in passwords)
    assert len(set(passwords)) == len(passwords)
