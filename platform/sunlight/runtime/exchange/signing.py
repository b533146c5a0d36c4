"""Ed25519 keys of the sites: sign a body, verify it against the sender's public key.

Each site signs with its own private key; the keyring holds the public keys of every
ancestor and descendant (``<division code>.pem`` files; deployment provides them, tests
generate them). Ed25519 signatures are deterministic, so re-signing the same envelope after
a failed publish yields the same bytes.

Every key has a key id (:func:`key_id`: 16 hex digits of the SHA-256 of its raw 32 bytes),
and :func:`seal` names it in the envelope's signed ``keyid``; the receiver picks the key by
(source, key id). A site that rotates its key (``sunlight keys rotate``) keeps its former
keys valid for a stated overlap: its kin hold them in ``<code>.retiring.json`` next to
``<code>.pem`` (:data:`RETIRING_SUFFIX`; a list of ``{"keyid", "retires_at", "public_pem"}``),
and accept each until its ``retires_at``, refusing it after (:class:`RetiredKey`). A key id
the keyring does not hold is refused (:class:`UnknownKey`) after the keyring has read its
directory again (at most every :data:`RELOAD_EVERY_S` seconds), so a kin's new key installed
by the playbooks is taken without a restart. An envelope signed before key ids (no
``keyid``) is checked against the source's keys valid now.

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
    >>> open_sealed(body.replace(b'"t"', b'"u"'), ring)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sunlight.runtime.exchange.signing.BadSignature: the signature does not match source ...
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sunlight.canonical import CanonicalError, legacy_json
from sunlight.runtime.exchange.envelope import KEY_ID, SIGNATURE, Envelope, canonical, parse_body
from sunlight.topology.division import DivisionError, check_code, expected_parent

#: Which canonical form a verified signature covers.
SignedForm = Literal["rfc8785", "legacy"]
#: A kin site's former keys, still valid until their time: ``<code>.retiring.json``.
RETIRING_SUFFIX = ".retiring.json"
#: The least time between two reads of the keys directory prompted by an unknown key id.
RELOAD_EVERY_S = 5.0


class KeyFileError(ValueError):
    """A key file is missing or not an Ed25519 key; the message names the file."""


class UnknownSource(ValueError):
    """The envelope names a source whose public key this site does not hold."""


class BadSignature(ValueError):
    """The signature is malformed or does not verify against the source's key."""


class UnknownKey(ValueError):
    """The envelope names a key id this site does not hold for its source."""


class RetiredKey(ValueError):
    """The envelope names a former key of its source whose overlap has ended."""


def key_id(public: Ed25519PublicKey) -> str:
    """The key id: the first 16 hex digits of the SHA-256 of the raw public key.

    Example::

        >>> key_id(load_public_pem(generate_keypair()[1]))  # doctest: +ELLIPSIS
        '...'
    """
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class RetiringKey:
    """A former key of a site, valid until ``retires_at``."""

    public: Ed25519PublicKey
    retires_at: datetime

    @property
    def kid(self) -> str:
        return key_id(self.public)

    def to_json(self) -> dict[str, str]:
        return {"keyid": self.kid, "retires_at": self.retires_at.isoformat(),
                "public_pem": public_pem(self.public).decode("ascii")}


def read_retiring(data: bytes, where: str) -> tuple[RetiringKey, ...]:
    """The entries of a ``retiring.json`` file; each is checked (its key id is its key's)."""
    try:
        doc = json.loads(data)
        entries = doc["keys"]
        found = []
        for entry in entries:
            public = load_public_pem(entry["public_pem"].encode("ascii"), where)
            retires = datetime.fromisoformat(entry["retires_at"])
            if retires.tzinfo is None:
                raise ValueError(f"retires_at {entry['retires_at']!r} has no UTC offset")
            if entry["keyid"] != key_id(public):
                raise ValueError(f"keyid {entry['keyid']!r} is not its key's")
            found.append(RetiringKey(public, retires))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KeyFileError(f"{where}: not a list of retiring keys ({exc})") from exc
    return tuple(found)


def write_retiring(keys: tuple[RetiringKey, ...]) -> bytes:
    """The bytes of a ``retiring.json`` file (the format :func:`read_retiring` reads)."""
    doc = {"keys": [k.to_json() for k in sorted(keys, key=lambda k: k.retires_at)]}
    return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


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
    #: The current key of each kin site, by division code.
    keys: dict[str, Ed25519PublicKey | None] = field(default_factory=dict)
    #: Former keys of kin sites, still valid until their time.
    retiring: dict[str, tuple[RetiringKey, ...]] = field(default_factory=dict)
    #: Where the keys were read (read again when an unknown key id arrives).
    directory: Path | None = None
    _reload: dict[str, float] = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @classmethod
    def load(cls, site: str, directory: Path) -> Keyring:
        """Read every ``<code>.pem`` and ``<code>.retiring.json`` in ``directory``."""
        keys, retiring = _read_directory(site, directory)
        return cls(site, keys, retiring, directory)

    def public(self, code: str) -> Ed25519PublicKey:
        key = self.keys.get(code)
        if key is None:
            raise UnknownSource(f"no public key for source {code}")
        return key

    def candidates(self, code: str, kid: str | None,
                   now: datetime | None = None) -> list[Ed25519PublicKey]:
        """The keys a signature of ``code`` naming ``kid`` may be checked against.

        Raises :class:`UnknownSource` (no key of ``code``), :class:`UnknownKey` (``kid`` is
        none of its keys, even after reading the directory again) or :class:`RetiredKey`.
        Without ``kid`` (signed before key ids): every key of ``code`` valid now.
        """
        now = now or datetime.now(UTC)
        if self.keys.get(code) is None:
            self.reload()
        current = self.public(code)
        valid = [k for k in self.retiring.get(code, ()) if now < k.retires_at]
        if kid is None:
            return [current, *(k.public for k in valid)]
        found = self._find(code, kid, now)
        if found is None:
            self.reload()
            found = self._find(code, kid, now)
        if found is None:
            held = ", ".join([key_id(self.public(code)), *(k.kid for k in valid)])
            raise UnknownKey(f"source {code} has no key {kid} here (its keys valid now: {held})")
        return [found]

    def _find(self, code: str, kid: str, now: datetime) -> Ed25519PublicKey | None:
        current = self.keys.get(code)
        if current is not None and key_id(current) == kid:
            return current
        for old in self.retiring.get(code, ()):
            if old.kid == kid:
                if now >= old.retires_at:
                    raise RetiredKey(f"key {kid} of source {code} retired at "
                                     f"{old.retires_at.isoformat()}; refused after its overlap")
                return old.public
        return None

    def reload(self) -> bool:
        """Read the directory again (not more often than :data:`RELOAD_EVERY_S`)."""
        if self.directory is None:
            return False
        with self._lock:
            if time.monotonic() - self._reload.get("at", -RELOAD_EVERY_S) < RELOAD_EVERY_S:
                return False
            self._reload["at"] = time.monotonic()
            try:
                keys, retiring = _read_directory(self.site, self.directory)
            except KeyFileError:
                return False  # a file half-installed: keep what was read before
            self.keys.update(keys)  # update, never clear: readers in other threads
            self.retiring.update(retiring)
            for gone in set(self.retiring) - set(retiring):
                self.retiring.pop(gone, None)
            return True

    def is_ancestor(self, code: str) -> bool:
        return code in self.keys and code in _ancestors(self.site)

    def is_descendant(self, code: str) -> bool:
        return code in self.keys and self.site in _ancestors(code)

    def children(self) -> list[str]:
        """Direct children: descendants whose GB/T 2260 parent is this site."""
        return sorted(c for c in self.keys if _parent(c) == self.site)


def _code_of(path: Path, suffix: str) -> str:
    try:
        return check_code(path.name.removesuffix(suffix))
    except DivisionError as exc:
        raise KeyFileError(f"{path}: the name must be a division code ({exc})") from exc


def _read_directory(site: str, directory: Path) -> tuple[dict[str, Ed25519PublicKey | None],
                                                         dict[str, tuple[RetiringKey, ...]]]:
    keys: dict[str, Ed25519PublicKey | None] = {}
    retiring: dict[str, tuple[RetiringKey, ...]] = {}
    if not directory.is_dir():
        raise KeyFileError(f"{directory}: not a directory of peer keys")
    try:
        for path in sorted(directory.glob("*.pem")):
            code = _code_of(path, ".pem")
            if code != site:
                keys[code] = load_public_pem(path.read_bytes(), str(path))
        for path in sorted(directory.glob(f"*{RETIRING_SUFFIX}")):
            code = _code_of(path, RETIRING_SUFFIX)
            if code != site:
                retiring[code] = read_retiring(path.read_bytes(), str(path))
    except OSError as exc:
        raise KeyFileError(f"{directory}: {exc}") from exc
    return keys, retiring


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
    """The message body: the envelope, naming ``key``'s id, with its signature (canonical JSON).
    """
    doc = envelope.to_dict() if isinstance(envelope, Envelope) else dict(envelope)
    doc.pop(SIGNATURE, None)
    doc[KEY_ID] = key_id(key.public_key())
    signature = base64.b64encode(key.sign(canonical(doc))).decode("ascii")
    return canonical({**doc, SIGNATURE: signature})


@dataclass(frozen=True)
class Opened:
    """A verified envelope and the canonical form its signature covers."""

    envelope: dict[str, Any]
    form: SignedForm
    #: The id of the key that verified it.
    kid: str = ""


def _signed_forms(doc: dict[str, Any], signed: bytes) -> Iterator[tuple[SignedForm, bytes]]:
    yield "rfc8785", signed
    try:
        legacy = legacy_json(doc)
    except CanonicalError:
        return
    if legacy != signed:  # the same bytes almost always: one verification, not two
        yield "legacy", legacy


def verify_sealed(body: bytes | dict[str, Any], keyring: Keyring,
                  now: datetime | None = None) -> Opened:
    """The envelope of ``body`` once its signature verifies against its source's key.

    ``body`` may be the document :func:`~sunlight.runtime.exchange.envelope.read_body`
    already read from the bytes (a receiver reads a body once).
    The key is the one the envelope's ``keyid`` names (a former key only until it retires,
    ``now`` being the time of the check).
    The signature may cover the RFC 8785 bytes or, made before it, the legacy form.
    Raises :class:`~sunlight.runtime.exchange.envelope.EnvelopeError` (unreadable),
    :class:`UnknownSource`, :class:`UnknownKey`, :class:`RetiredKey` or
    :class:`BadSignature`.
    """
    doc, signed, signature = parse_body(body)
    source = doc.get("source")
    if not isinstance(source, str):
        raise UnknownSource("the envelope names no source")
    kid = doc.get(KEY_ID)
    if kid is not None and not isinstance(kid, str):
        raise UnknownKey(f"the key id of source {source} is not a string")
    publics = keyring.candidates(source, kid, now)
    try:
        raw = base64.b64decode(signature, validate=True)
    except binascii.Error as exc:
        raise BadSignature(f"the signature does not match source {source}") from exc
    for public in publics:
        for form, data in _signed_forms(doc, signed):
            try:
                public.verify(raw, data)
            except InvalidSignature:
                continue
            return Opened(doc, form, key_id(public))
    raise BadSignature(f"the signature does not match source {source}"
                       + (f" key {kid}" if kid else ""))


def open_sealed(body: bytes, keyring: Keyring, now: datetime | None = None) -> dict[str, Any]:
    """The envelope of ``body`` once its signature verifies (see :func:`verify_sealed`)."""
    return verify_sealed(body, keyring, now).envelope
