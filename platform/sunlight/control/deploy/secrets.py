"""A deployment's secrets, generated once on the control node into one directory.

Nothing here has a default value and nothing is ever committed: every password, token and
key is generated the first time it is needed and kept (never overwritten) under the
deployment's secrets directory (by default ``~/.local/state/sunlight/secrets/<deployment>``,
see :func:`sunlight.control.deploy.inventory.default_secrets_dir`). Layout::

    ca/ca.key, ca/ca.crt                     the deployment's TLS CA (ECDSA P-256)
    sites/<code>/passwords/<name>            generated passwords and tokens (PASSWORDS)
    sites/<code>/signing/ed25519.key|.pub    the site's event-signing key pair (PEM)
    sites/<code>/tls/<name>.key|.crt         server certificates from the CA (CertSpec)

Directories are 0700 and files 0600. A server certificate is issued again only when it no
longer covers the requested names, was not signed by the CA, or is about to expire.

Example::

    >>> from sunlight.control.deploy.secrets import SiteSecretsSpec, ensure_secrets
    >>> site = SiteSecretsSpec("320703", (CertSpec("portal", ips=("127.0.0.1",)),))
    >>> ensure_secrets(root, [site])  # doctest: +SKIP
    ['ca/ca.key', 'ca/ca.crt', 'sites/320703/passwords/db_portal', ...]
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import secrets
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import exceptions, x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    from sunlight.control.deploy.firewall import HostView

# Per site: database roles, broker users, the app's token secrets.
# db_<database>_owner: the role that owns a database's tables and runs its migrations.
PASSWORDS = ("db_portal", "db_gateway", "db_core", "db_portal_owner", "db_core_owner",
             "mq_core", "mq_admin", "mq_shovel", "token_secret", "exchange_token")
PASSWORD_LENGTH = 32  # letters and digits only: safe in URLs and on command lines
_PASSWORD_ALPHABET = string.ascii_letters + string.digits
CA_DAYS = 3650
CERT_DAYS = 825
RENEW_BEFORE = dt.timedelta(days=30)
PORTAL_CERT = "portal"
DB_ROLES = ("portal_db", "core_db")
LOOPBACK = "127.0.0.1"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class CertSpec:
    """A server certificate: its file name and the names it must cover."""

    name: str
    dns: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()


@dataclass(frozen=True)
class SiteSecretsSpec:
    """One site's secrets: the passwords and signing keys, and its server certificates."""

    code: str
    certs: tuple[CertSpec, ...] = ()


def new_password() -> str:
    """A generated password of letters and digits (≈190 bits).

    Never URL-safe base64: a password starting with '-' was taken by rabbitmqctl (which
    Ansible's rabbitmq_user calls) as an option, failing about one deployment in six.
    """
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def password_path(root: Path, code: str, name: str) -> Path:
    if name not in PASSWORDS:
        raise KeyError(f"unknown secret {name!r}; known: {', '.join(PASSWORDS)}")
    return root / "sites" / code / "passwords" / name


def signing_key_paths(root: Path, code: str) -> tuple[Path, Path]:
    base = root / "sites" / code / "signing"
    return base / "ed25519.key", base / "ed25519.pub"


def tls_paths(root: Path, code: str, name: str) -> tuple[Path, Path]:
    if not _SAFE_NAME.match(name):
        raise ValueError(f"certificate name {name!r}: letters, digits, '-' and '_' only")
    base = root / "sites" / code / "tls"
    return base / f"{name}.key", base / f"{name}.crt"


def ca_paths(root: Path) -> tuple[Path, Path]:
    return root / "ca" / "ca.key", root / "ca" / "ca.crt"


def _write(path: Path, data: bytes, created: list[Path], dry_run: bool) -> None:
    created.append(path)
    if dry_run:
        return
    _private_dirs(path.parent)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)  # whole files only, even if interrupted


def _private_dirs(path: Path) -> None:
    # mkdir(parents=True) gives the parents the umask's mode: make each level 0700 itself.
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700)
        directory.chmod(0o700)


def _pem_private(key: ec.EllipticCurvePrivateKey | Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sunlight deployment"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ensure_ca(root: Path, deployment: str, created: list[Path],
               dry_run: bool) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None:
    key_path, cert_path = ca_paths(root)
    if key_path.exists() and cert_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key, x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = _name(f"Sunlight CA {deployment}")
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(key, hashes.SHA256()))
    _write(key_path, _pem_private(key), created, dry_run)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), created, dry_run)
    return None if dry_run else (key, cert)


def _sans(spec: CertSpec) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in spec.dns]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in spec.ips]
    return names


def certificate_current(cert: x509.Certificate, ca: x509.Certificate,
                        spec: CertSpec, now: dt.datetime) -> bool:
    """Whether ``cert`` is the CA's, covers every requested name, and is not expiring."""
    if cert.issuer != ca.subject or cert.not_valid_after_utc - RENEW_BEFORE < now:
        return False
    try:
        cert.verify_directly_issued_by(ca)
        have = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, x509.ExtensionNotFound,
            exceptions.InvalidSignature):
        return False
    return all(name in have for name in _sans(spec))


def _ensure_tls(root: Path, code: str, spec: CertSpec,
                ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None,
                created: list[Path], dry_run: bool) -> None:
    key_path, cert_path = tls_paths(root, code, spec.name)
    now = dt.datetime.now(dt.UTC)
    if ca is not None and key_path.exists() and cert_path.exists():
        current = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if certificate_current(current, ca[1], spec, now):
            return
    if ca is None:  # dry run with no CA yet: the key and certificate would be made too
        created.extend(p for p in (key_path, cert_path) if p == cert_path or not p.exists())
        return
    if key_path.exists():
        loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        key = loaded
    else:
        key = ec.generate_private_key(ec.SECP256R1())
        _write(key_path, _pem_private(key), created, dry_run)
    ca_key, ca_cert = ca
    builder = (x509.CertificateBuilder().subject_name(_name(f"{spec.name} {code}"))
               .issuer_name(ca_cert.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False))
    if spec.dns or spec.ips:
        builder = builder.add_extension(x509.SubjectAlternativeName(_sans(spec)),
                                        critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), created, dry_run)


def _ensure_signing(root: Path, code: str, created: list[Path], dry_run: bool) -> None:
    private_path, public_path = signing_key_paths(root, code)
    if private_path.exists():
        loaded = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
        assert isinstance(loaded, Ed25519PrivateKey)
        key = loaded
    else:
        key = Ed25519PrivateKey.generate()
        _write(private_path, _pem_private(key), created, dry_run)
    if not public_path.exists():
        public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        _write(public_path, public, created, dry_run)


def ensure_secrets(root: Path, sites: Sequence[SiteSecretsSpec], *, deployment: str = "",
                   dry_run: bool = False) -> list[str]:
    """Create whatever is missing; return the paths (relative to ``root``) made or due."""
    created: list[Path] = []
    if not dry_run:
        _private_dirs(root)
        root.chmod(0o700)
    ca = _ensure_ca(root, deployment or root.name, created, dry_run)
    for spec in sites:
        for name in PASSWORDS:
            path = password_path(root, spec.code, name)
            if not path.exists():
                _write(path, new_password().encode(), created, dry_run)
        _ensure_signing(root, spec.code, created, dry_run)
        for cert in spec.certs:
            _ensure_tls(root, spec.code, cert, ca, created, dry_run)
    return [str(p.relative_to(root)) for p in created]


def db_cert_name(host: str) -> str:
    """The file name of a database host's server certificate."""
    return f"postgresql-{host}"


def site_specs(codes: Iterable[str], hosts: Sequence[HostView]) -> list[SiteSecretsSpec]:
    """Every site's secrets; certificates for the portal's nginx and each database host.

    A certificate covers all of its host's addresses and the loopback (the portal's is
    reached on a loopback port of the engine for local topologies).
    """
    specs = []
    for code in sorted(set(codes)):
        certs = []
        for host in hosts:
            if host.site != code or not host.managed:
                continue
            ips = (*sorted(set(host.addresses.values())), LOOPBACK)
            if "nginx" in host.roles:
                certs.append(CertSpec(PORTAL_CERT, ("localhost", f"portal.{code}.sunlight"), ips))
            if any(role in host.roles for role in DB_ROLES):
                certs.append(CertSpec(db_cert_name(host.name), ("localhost",), ips))
        specs.append(SiteSecretsSpec(code, tuple(certs)))
    return specs
