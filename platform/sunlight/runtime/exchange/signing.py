"""Ed25519 keys of the sites: sign a body, verify it against the sender's public key.

Each site signs with its own private key; the keyring holds the public keys of every
ancestor and descendant (``<division code>.pem`` files; deployment provides them, tests
generate them). Ed25519 signatures are deterministic, so re-signing the same envelope after
a failed publish yields the same bytes.

A signature covers the RFC 8785 bytes of the envelope. One made before RFC 8785 covers the
legacy canonical form (:func:`sunlight.canonical.legacy_json`): the two differ only for
exotic key orders, and :func:`verify_sealed` accepts either, saying which, so events signed
by a site not yet upgraded (or in flight across an upgrade) still verify.

Example::

    >>> from sunlight.runtime.exchange.envelope import Envelope
    >>> private, public = generate_keypair()
    >>> ring = Keyring("320700", {"320703": load_public_pem(public)})
    >>> body = seal(Envelope.new("320703", "t", {}), load_private_pem(private))
    >>> doc = open_sealed(body, ring)
    >>> doc["source"]
    '320703'
    >>> open_sealed(body.replace(b'"t"', b'"u"'), ring)
    Traceback (most recent call last):
    ...
    sunlight.runtime.exchange.signing.BadSignature: the signature does not match source 320703
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sunlight.canonical import CanonicalError, legacy_json
from sunlight.runtime.exchange.envelope import SIGNATURE, Envelope, canonical, parse_body
from sunlight.topology.division import DivisionError, check_code, expected_parent

#: Which canonical form a verified signature covers.
SignedForm = Literal["rfc8785", "legacy"]


class KeyFileError(ValueError):
    """A key file is missing or not an Ed25519 key; the message names the file."""


class UnknownSource(ValueError):
    """The envelope names a source whose public key this site does not hold."""


class BadSignature(ValueError):
    """The signature is malformed or does not verify against the source's key."""


def generate_keypair() -> tuple[bytes, bytes]:
    """A new (private PEM, public PEM) pair."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return private_pem, public_pem


def load_private_pem(data: bytes, where: str = "key") -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{where}: not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{where}: not an Ed25519 key")
    return key


def load_public_pem(data: bytes, where: str = "key") -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{where}: not a PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{where}: not an Ed25519 key")
    return key


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        return load_private_pem(path.read_bytes(), str(path))
    except OSError as exc:
        raise KeyFileError(f"{path}: {exc.strerror}") from exc


@dataclass(frozen=True)
class Keyring:
    """The public keys this site trusts, by division code, and what they say about kinship.

    Example::

        >>> ring = Keyring("320700", {"320000": None, "320703": None, "320706": None})
        >>> ring.children(), ring.is_descendant("320703"), ring.is_ancestor("320000")
        (['320703', '320706'], True, True)
    """

    site: str
    keys: dict[str, Ed25519PublicKey | None] = field(default_factory=dict)

    @classmethod
    def load(cls, site: str, directory: Path) -> Keyring:
        """Read every ``<code>.pem`` in ``directory``; other files are refused by name."""
        keys: dict[str, Ed25519PublicKey | None] = {}
        if not directory.is_dir():
            raise KeyFileError(f"{directory}: not a directory of peer keys")
        for path in sorted(directory.glob("*.pem")):
            try:
                code = check_code(path.stem)
            except DivisionError as exc:
                raise KeyFileError(f"{path}: the name must be a division code ({exc})") from exc
            if code != site:
                keys[code] = load_public_pem(path.read_bytes(), str(path))
        return cls(site, keys)

    def public(self, code: str) -> Ed25519PublicKey:
        key = self.keys.get(code)
        if key is None:
            raise UnknownSource(f"no public key for source {code}")
        return key

    def is_ancestor(self, code: str) -> bool:
        return code in self.keys and code in _ancestors(self.site)

    def is_descendant(self, code: str) -> bool:
        return code in self.keys and self.site in _ancestors(code)

    def children(self) -> list[str]:
        """Direct children: descendants whose GB/T 2260 parent is this site."""
        return sorted(c for c in self.keys if _parent(c) == self.site)


def _parent(code: str) -> str | None:
    try:
        return expected_parent(code)
    except DivisionError:
        return None


def _ancestors(code: str) -> list[str]:
    found: list[str] = []
    parent = _parent(code)
    while parent is not None:
        found.append(parent)
        parent = _parent(parent)
    return found


def seal(envelope: Envelope | dict[str, Any], key: Ed25519PrivateKey) -> bytes:
    """The message body: the envelope with its signature, as canonical JSON."""
    doc = envelope.to_dict() if isinstance(envelope, Envelope) else dict(envelope)
    doc.pop(SIGNATURE, None)
    signature = base64.b64encode(key.sign(canonical(doc))).decode("ascii")
    return canonical({**doc, SIGNATURE: signature})


@dataclass(frozen=True)
class Opened:
    """A verified envelope and the canonical form its signature covers."""

    envelope: dict[str, Any]
    form: SignedForm


def _signed_forms(doc: dict[str, Any], signed: bytes) -> Iterator[tuple[SignedForm, bytes]]:
    yield "rfc8785", signed
    try:
        legacy = legacy_json(doc)
    except CanonicalError:
        return
    if legacy != signed:  # the same bytes almost always: one verification, not two
        yield "legacy", legacy


def verify_sealed(body: bytes | dict[str, Any], keyring: Keyring) -> Opened:
    """The envelope of ``body`` once its signature verifies against its source's key.

    ``body`` may be the document :func:`~sunlight.runtime.exchange.envelope.read_body`
    already read from the bytes (a receiver reads a body once).
    The signature may cover the RFC 8785 bytes or, made before it, the legacy form.
    Raises :class:`~sunlight.runtime.exchange.envelope.EnvelopeError` (unreadable),
    :class:`UnknownSource` or :class:`BadSignature`.
    """
    doc, signed, signature = parse_body(body)
    source = doc.get("source")
    if not isinstance(source, str):
        raise UnknownSource("the envelope names no source")
    public = keyring.public(source)
    try:
        raw = base64.b64decode(signature, validate=True)
    except binascii.Error as exc:
        raise BadSignature(f"the signature does not match source {source}") from exc
    for form, data in _signed_forms(doc, signed):
        try:
            public.verify(raw, data)
        except InvalidSignature:
            continue
        return Opened(doc, form)
    raise BadSignature(f"the signature does not match source {source}")


def open_sealed(body: bytes, keyring: Keyring) -> dict[str, Any]:
    """The envelope of ``body`` once its signature verifies (see :func:`verify_sealed`)."""
    return verify_sealed(body, keyring).envelope
