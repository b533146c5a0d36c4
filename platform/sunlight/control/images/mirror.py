"""Where Debian packages come from: one setting for the image build, the bundle and the roles.

``SUNLIGHT_APT_MIRROR`` (an ``http://``, ``https://`` or ``file:`` URL of a Debian archive
with bookworm's ``main``) names the mirror; unset, it is :data:`DEFAULT_APT_MIRROR`. The
image build debootstraps from it (and the node image's ``/etc/apt/sources.list`` names
it), ``sunlight bundle create`` downloads the roles' packages from it, and the roles read
the same variable (``sunlight_apt_mirror`` in ``playbooks/group_vars/all.yml``, whose
default a unit test keeps equal to :data:`DEFAULT_APT_MIRROR`). See docs/bundle.md.

Example::

    >>> from sunlight.control.images.mirror import apt_mirror
    >>> apt_mirror({})
    'http://deb.debian.org/debian'
    >>> apt_mirror({"SUNLIGHT_APT_MIRROR": "http://10.0.0.5/debian/"})
    'http://10.0.0.5/debian'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

MIRROR_ENV = "SUNLIGHT_APT_MIRROR"
DEFAULT_APT_MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
COMPONENT = "main"
ARCHITECTURE = "amd64"


class MirrorError(ValueError):
    """The configured mirror is not a usable URL (the message names the setting)."""


def apt_mirror(env: Mapping[str, str] | None = None) -> str:
    """The configured mirror URL, without a trailing slash; a bad value is refused."""
    value = (os.environ if env is None else env).get(MIRROR_ENV, "").strip()
    if not value:
        return DEFAULT_APT_MIRROR
    parts = urlsplit(value)
    remote = parts.scheme in ("http", "https")
    if not (remote and parts.netloc) and parts.scheme != "file":
        raise MirrorError(
            f"{MIRROR_ENV}={value!r}: give the URL of a Debian archive "
            f"(http://, https:// or file:), e.g. {DEFAULT_APT_MIRROR}")
    return value.rstrip("/")


def sources_line(mirror: str) -> str:
    """The one-line apt source a host (or the debootstrapped root) uses for ``mirror``."""
    return f"deb {mirror} {SUITE} {COMPONENT}"
