"""A deployment's secrets, generated once on the control node into one directory.

Nothing here has a default value and nothing is ever committed: every password, token and
key is generated the first time it is needed and kept (never overwritten) under the
deployment's secrets directory (by default ``~/.local/state/sunlight/secrets/<deployment>``,
see :func:`sunlight.control.deploy.inventory.default_secrets_dir`). Layout::

    ca/ca.key, ca/ca.crt                     the deployment's TLS CA (ECDSA P-256)
    sites/<code>/passwords/<name>            generated passwords and tokens (PASSWORDS)
    sites/<code>/signing/ed25519.key|.pub    the site's event-signing key pair (PEM)
    sites/<code>/signing/retiring.json       its former public keys, each valid until a time
                                             (written by ``sunlight keys rotate``)
    sites/<code>/tls/<name>.key|.crt         certificates from the CA (CertSpec)

Directories are 0700 and files 0600. A certificate is issued again only when it no longer
covers the requested names, subject or usage, was not signed by the CA, or is about to expire
(:data:`RENEW_BEFORE`; ``sunlight certs renew --within DAYS`` widens that window).

Certificates per site (:func:`site_specs`): the portal's nginx and each database host (server);
the broker (``rabbitmq-<host>``: its TLS listener on the backbone); core (``core-<host>``: its
HTTPS API); Prometheus (``prometheus-<host>``: its HTTPS listener, which the parent federates);
and, at a site with a parent, the broker's shovel client certificate (``shovel``, subject
``child-<code>``: the user name the parent's broker takes from it, EXTERNAL authentication).

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
#: A host of this role gets a server certificate for this service (service_cert_name()).
SERVICE_CERTS = {"mq": "rabbitmq", "core": "core", "mon": "prometheus"}
SHOVEL_CERT = "shovel"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class CertSpec:
    """A certificate: its file name, the names it must cover, its subject and usage.

    ``client`` makes it a client certificate (clientAuth); otherwise it is a server one
    (serverAuth). ``common_name`` is the subject's CN (default ``"<name> <code>"``): a client
    certificate's CN is the user name the server takes from it.
    """

    name: str
    dns: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    client: bool = False
    common_name: str = ""

    def subject_cn(self, code: str) -> str:
        return self.common_name or f"{self.name} {code}"


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


def signing_retiring_path(root: Path, code: str) -> Path:
    """The site's former public keys still valid for their overlap (kin install it)."""
    return root / "sites" / code / "signing" / "retiring.json"


@dataclass(frozen=True)
class Rotation:
    """What ``rotate_signing_key`` did: the new key, and the former keys kin still accept."""

    site: str
    new_kid: str
    old_kid: str
    retires_at: dt.datetime
    retiring: tuple[tuple[str, dt.datetime], ...]  # (key id, retires at), every one kept


def signing_keys(root: Path, code: str, now: dt.datetime | None = None
                 ) -> list[tuple[str, str, dt.datetime | None]]:
    """The site's keys as (key id, state, retires at): ``current``, ``retiring`` or
    ``retired`` (past its time; refused by kin, dropped at the next rotation)."""
    from sunlight.runtime.exchange.signing import key_id, load_private_key, read_retiring

    now = now or dt.datetime.now(dt.UTC)
    private_path, _ = signing_key_paths(root, code)
    if not private_path.exists():
        raise FileNotFoundError(f"{private_path}: site {code} has no signing key here")
    found: list[tuple[str, str, dt.datetime | None]] = [
        (key_id(load_private_key(private_path).public_key()), "current", None)]
    retiring = signing_retiring_path(root, code)
    if retiring.exists():
        for old in read_retiring(retiring.read_bytes(), str(retiring)):
            found.append((old.kid, "retiring" if now < old.retires_at else "retired",
                          old.retires_at))
    return found


def rotate_signing_key(root: Path, code: str, overlap: dt.timedelta,
                       now: dt.datetime | None = None) -> Rotation:
    """Make a new signing key pair for ``code``; its former key stays valid for ``overlap``.

    The former public key is added to ``retiring.json`` as retiring at ``now + overlap``
    (written first: an interrupted rotation never loses it); keys already past their time
    are dropped from there. The former private key is deleted: the site signs with the new
    key only. The playbooks then install the new private key on the site and both public
    keys on its kin (``roles/sunlight_core/tasks/keys.yml``).
    """
    from sunlight.runtime.exchange.signing import (
        RetiringKey,
        key_id,
        load_private_key,
        read_retiring,
        write_retiring,
    )

    if overlap <= dt.timedelta(0):
        raise ValueError("the overlap must be positive: events in flight must still verify")
    now = now or dt.datetime.now(dt.UTC)
    private_path, public_path = signing_key_paths(root, code)
    if not private_path.exists():
        raise FileNotFoundError(f"{private_path}: site {code} has no signing key to rotate")
    old = load_private_key(private_path).public_key()
    retiring_path = signing_retiring_path(root, code)
    kept = read_retiring(retiring_path.read_bytes(), str(retiring_path)) \
        if retiring_path.exists() else ()
    entry = RetiringKey(old, now + overlap)
    retiring = (*(k for k in kept if now < k.retires_at and k.kid != entry.kid), entry)
    created: list[Path] = []
    _write(retiring_path, write_retiring(retiring), created, False)
    key = Ed25519PrivateKey.generate()
    _write(private_path, _pem_private(key), created, False)
    _write(public_path, key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        created, False)
    return Rotation(code, key_id(key.public_key()), entry.kid, entry.retires_at,
                    tuple((k.kid, k.retires_at) for k in retiring))


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


def _usage(spec: CertSpec) -> x509.ObjectIdentifier:
    return x509.OID_CLIENT_AUTH if spec.client else x509.OID_SERVER_AUTH


def certificate_current(cert: x509.Certificate, ca: x509.Certificate,
                        spec: CertSpec, now: dt.datetime, code: str | None = None,
                        renew_before: dt.timedelta = RENEW_BEFORE) -> bool:
    """Whether ``cert`` is the CA's, covers every requested name (and, given ``code``, has
    the spec's subject), has the spec's usage, and does not expire within ``renew_before``."""
    if cert.issuer != ca.subject or cert.not_valid_after_utc - renew_before < now:
        return False
    try:
        cert.verify_directly_issued_by(ca)
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        have: list[x509.GeneralName] = (
            list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
            if _sans(spec) else [])
    except (ValueError, TypeError, x509.ExtensionNotFound,
            exceptions.InvalidSignature):
        return False
    if code is not None:
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if [a.value for a in cns] != [spec.subject_cn(code)]:
            return False
    return list(usage) == [_usage(spec)] and all(name in have for name in _sans(spec))


def _ensure_tls(root: Path, code: str, spec: CertSpec,
                ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None,
                created: list[Path], dry_run: bool,
                renew_before: dt.timedelta = RENEW_BEFORE) -> None:
    key_path, cert_path = tls_paths(root, code, spec.name)
    now = dt.datetime.now(dt.UTC)
    if ca is not None and key_path.exists() and cert_path.exists():
        current = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if certificate_current(current, ca[1], spec, now, code, renew_before):
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
    builder = (x509.CertificateBuilder().subject_name(_name(spec.subject_cn(code)))
               .issuer_name(ca_cert.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([_usage(spec)]), critical=False))
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
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    # Missing, or left behind by an interrupted rotation: the public key is the private's.
    if not public_path.exists() or public_path.read_bytes() != public:
        _write(public_path, public, created, dry_run)


def ensure_secrets(root: Path, sites: Sequence[SiteSecretsSpec], *, deployment: str = "",
                   dry_run: bool = False,
                   renew_before: dt.timedelta = RENEW_BEFORE) -> list[str]:
    """Create whatever is missing; return the paths (relative to ``root``) made or due.

    A certificate expiring within ``renew_before`` is issued again (same key).
    """
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
            _ensure_tls(root, spec.code, cert, ca, created, dry_run, renew_before)
    return [str(p.relative_to(root)) for p in created]


def db_cert_name(host: str) -> str:
    """The file name of a database host's server certificate."""
    return f"postgresql-{host}"


def service_cert_name(service: str, host: str) -> str:
    """The file name of a host's server certificate for ``service`` (rabbitmq, core,
    prometheus)."""
    return f"{service}-{host}"


def server_name(service: str, code: str) -> str:
    """The DNS name a site's ``service`` certificate carries, which clients verify (SNI)."""
    return f"{service}.{code}.sunlight"


def shovel_user(code: str) -> str:
    """The user a child's shovels are on the parent's broker (the client certificate's CN)."""
    return f"child-{code}"


def site_specs(codes: Iterable[str], hosts: Sequence[HostView]) -> list[SiteSecretsSpec]:
    """Every site's secrets and certificates (see the module docstring for which).

    A server certificate covers all of its host's addresses, the loopback and its service's
    name (:func:`server_name`; the portal's is reached on a loopback port of the engine for
    local topologies).
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
            for role, service in SERVICE_CERTS.items():
                if role in host.roles:
                    certs.append(CertSpec(service_cert_name(service, host.name),
                                          ("localhost", server_name(service, code)), ips))
            if "mq" in host.roles and host.parent:
                certs.append(CertSpec(SHOVEL_CERT, client=True, common_name=shovel_user(code)))
        specs.append(SiteSecretsSpec(code, tuple(certs)))
    return specs


@dataclass(frozen=True)
class CertStatus:
    """One issued certificate: where, for whom, until when."""

    site: str
    name: str
    subject: str
    not_after: dt.datetime
    days_left: float
    issued_by_ca: bool


def certificate_status(root: Path, *, now: dt.datetime | None = None,
                       site: str | None = None) -> list[CertStatus]:
    """Every certificate under ``root``'s sites (optionally one site's), soonest expiry first.

    ``issued_by_ca`` is False for a certificate the deployment's CA did not sign.
    """
    now = now or dt.datetime.now(dt.UTC)
    ca_cert = x509.load_pem_x509_certificate(ca_paths(root)[1].read_bytes())
    found = []
    for path in sorted((root / "sites").glob("*/tls/*.crt")):
        code = path.parent.parent.name
        if site is not None and code != site:
            continue
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        try:
            cert.verify_directly_issued_by(ca_cert)
            ours = True
        except (ValueError, TypeError, exceptions.InvalidSignature):
            ours = False
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        found.append(CertStatus(code, path.stem, str(cns[0].value) if cns else "",
                                cert.not_valid_after_utc,
                                (cert.not_valid_after_utc - now).total_seconds() / 86400, ours))
    return sorted(found, key=lambda c: (c.days_left, c.site, c.name))
