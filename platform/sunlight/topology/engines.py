"""Docker engines a deployment's sites run on: one per machine, the local one by default.

A topology file may name engines under ``engines:`` and give a site ``engine: <name>``.
An engine is reached at ``url`` — ``unix:///path/to.sock``, or ``tcp://host:port`` with
TLS material (``tls: {ca, cert, key}``, paths; a TCP engine without TLS is refused) — and
has ``address``: its machine's address on the routed network between the machines, where
the backbone listeners of its hosts are published (flows.yaml's allowed backbone rows).
Left out, ``address`` is this machine's own (two engines on one machine).

Two names are built in: :data:`LOCAL` (the engine of ``DOCKER_HOST``, or the default
socket: every site's engine unless it names another) and :data:`SECOND` (the second
engine ``sunlight engine second up`` starts on this machine, at :data:`SECOND_SOCKET`).

Example::

    >>> from sunlight.topology.engines import EngineSpec
    >>> EngineSpec(url="unix:///run/sunlight/dockerd-b.sock").scheme
    'unix'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from ipaddress import IPv4Address
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

LOCAL = "local"
SECOND = "second"
SECOND_SOCKET = Path("/run/sunlight/dockerd-b.sock")
ENGINE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,15}$")


class EngineTLS(BaseModel):
    """The client's TLS material for a ``tcp://`` engine (``dockerd --tlsverify``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ca: Path
    cert: Path
    key: Path


class EngineSpec(BaseModel):
    """How to reach one engine, and where its backbone listeners are published."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None  # None: the local engine (DOCKER_HOST or the default socket)
    address: IPv4Address | None = None  # None: this machine's own address
    tls: EngineTLS | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme == "unix":
            if not parts.path.startswith("/") or parts.netloc:
                raise ValueError(f"{value!r}: a unix engine is unix:///absolute/path.sock")
        elif parts.scheme == "tcp":
            try:
                port = parts.port
            except ValueError:
                port = None
            if not parts.hostname or port is None:
                raise ValueError(f"{value!r}: a tcp engine is tcp://host:port")
        else:
            raise ValueError(f"{value!r}: an engine is unix:///path.sock or tcp://host:port "
                             "(with tls)")
        return value

    @model_validator(mode="after")
    def _tls_fits(self) -> EngineSpec:
        if self.scheme == "tcp" and self.tls is None:
            raise ValueError("a tcp:// engine needs tls: {ca, cert, key} (the engine's port "
                             "gives root on its machine: never without TLS)")
        if self.scheme != "tcp" and self.tls is not None:
            raise ValueError("tls is only for a tcp:// engine")
        return self

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme if self.url else LOCAL


BUILT_IN: dict[str, EngineSpec] = {
    LOCAL: EngineSpec(),
    SECOND: EngineSpec(url=f"unix://{SECOND_SOCKET}"),
}


def check_name(name: str) -> str:
    """An engine's name: lower case letters, digits and ``-`` (it names bridges and tables)."""
    if not ENGINE_NAME.match(name):
        raise ValueError(f"engine name {name!r}: lower case letters, digits and -, at most "
                         "16, starting with a letter")
    return name


def resolve(engines: Mapping[str, EngineSpec], name: str | None) -> EngineSpec:
    """The engine called ``name`` (None: the local one): declared, else built in."""
    name = name or LOCAL
    if name in engines:
        return engines[name]
    if name in BUILT_IN:
        return BUILT_IN[name]
    known = sorted({*engines, *BUILT_IN})
    raise KeyError(f"engine {name!r} is not under engines: (known: {', '.join(known)})")
