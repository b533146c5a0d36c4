"""Which Docker engine a stack targets: the ``docker:*`` provider config, checked.

A stack with no ``docker:host`` uses Pulumi's default Docker provider, i.e. the engine of
the machine running ``pulumi up`` (``DOCKER_HOST`` or the local socket); the realizer's
path is always this one. A stack with ``docker:host`` gets an explicit provider built from
these keys, so every resource of the site is declared on that engine, and the value is
checked first:

- ``unix:///path/docker.sock`` — a socket on this machine;
- ``tcp://host:2376`` — only with TLS: ``docker:certPath`` (a directory with ``ca.pem``,
  ``cert.pem``, ``key.pem``) or all three of ``docker:caMaterial``, ``docker:certMaterial``
  and ``docker:keyMaterial`` (PEM; set the key with ``pulumi config set --secret``). A
  plain-TCP engine is root on its machine for anyone who reaches the port: refused;
- ``ssh://user@host[:port]`` — the engine of another machine over SSH (its ``docker``
  CLI on the far side); ``docker:sshOpts`` adds ssh options (a list).

Pulumi's project schema can declare only the project's own keys, so these are described
in ``infra/README.md`` instead of ``Pulumi.yaml``.

Example::

    >>> engine = read_engine_config()  # doctest: +SKIP  (inside `pulumi up`)
    >>> engine.host if engine else "default provider"  # doctest: +SKIP
    'ssh://ops@county-vm'
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import pulumi
import pulumi_docker as docker

NAMESPACE = "docker"
# The keys read from the ``docker`` namespace (pulumi_docker's own config names).
KEY_HOST = "host"
KEY_CERT_PATH = "certPath"
KEY_CA = "caMaterial"
KEY_CERT = "certMaterial"
KEY_KEY = "keyMaterial"
KEY_SSH_OPTS = "sshOpts"
ENGINE_KEYS = (KEY_HOST, KEY_CERT_PATH, KEY_CA, KEY_CERT, KEY_KEY, KEY_SSH_OPTS)
SCHEMES = ("unix", "tcp", "ssh")


class EngineConfigError(ValueError):
    """The stack's ``docker:*`` config is unusable; the message names the key."""


@dataclass(frozen=True)
class EngineConfig:
    """The engine a stack targets, with its TLS material or SSH options."""

    host: str
    cert_path: str | None = None
    ca_material: pulumi.Input[str] | None = None
    cert_material: pulumi.Input[str] | None = None
    key_material: pulumi.Input[str] | None = None
    ssh_opts: tuple[str, ...] = ()

    @property
    def scheme(self) -> str:
        return urlsplit(self.host).scheme


def check_engine(engine: EngineConfig) -> EngineConfig:
    """Refuse what would not reach the engine safely, naming the ``docker:`` key."""
    url = urlsplit(engine.host)
    if url.scheme not in SCHEMES:
        raise EngineConfigError(
            f"docker:{KEY_HOST} {engine.host!r}: use unix://, tcp:// (with TLS) or ssh://")
    if url.scheme == "unix" and not url.path:
        raise EngineConfigError(f"docker:{KEY_HOST} {engine.host!r}: a unix:// socket path")
    if url.scheme in ("tcp", "ssh") and not url.hostname:
        raise EngineConfigError(f"docker:{KEY_HOST} {engine.host!r} names no machine")
    materials = (engine.ca_material, engine.cert_material, engine.key_material)
    tls = engine.cert_path is not None or any(m is not None for m in materials)
    if url.scheme == "tcp":
        if engine.cert_path is None and any(m is None for m in materials):
            raise EngineConfigError(
                f"docker:{KEY_HOST} {engine.host!r} is plain TCP: give docker:{KEY_CERT_PATH}, "
                f"or docker:{KEY_CA}, docker:{KEY_CERT} and docker:{KEY_KEY} (TLS)")
    elif tls:
        raise EngineConfigError(f"docker:{KEY_CERT_PATH} and the *Material keys apply to "
                                f"tcp:// only, not {engine.host!r}")
    if engine.ssh_opts and url.scheme != "ssh":
        raise EngineConfigError(f"docker:{KEY_SSH_OPTS} applies to ssh:// only, "
                                f"not {engine.host!r}")
    return engine


def read_engine_config(config: pulumi.Config | None = None) -> EngineConfig | None:
    """The stack's engine, or None for the default provider (no ``docker:host``)."""
    config = config or pulumi.Config(NAMESPACE)
    host = config.get(KEY_HOST)
    if not host:
        return None
    opts = config.get_object(KEY_SSH_OPTS)
    if opts is not None and not (isinstance(opts, list)
                                 and all(isinstance(o, str) for o in opts)):
        raise EngineConfigError(f"docker:{KEY_SSH_OPTS} must be a list of strings")
    return check_engine(EngineConfig(
        host=host, cert_path=config.get(KEY_CERT_PATH),
        ca_material=config.get(KEY_CA), cert_material=config.get(KEY_CERT),
        key_material=config.get_secret(KEY_KEY), ssh_opts=tuple(opts or ())))


def engine_provider(name: str, engine: EngineConfig | None) -> docker.Provider | None:
    """The explicit provider for ``engine``; None keeps Pulumi's default provider."""
    if engine is None:
        return None
    return docker.Provider(
        name, host=engine.host, cert_path=engine.cert_path, ca_material=engine.ca_material,
        cert_material=engine.cert_material, key_material=engine.key_material,
        ssh_opts=list(engine.ssh_opts) or None)
