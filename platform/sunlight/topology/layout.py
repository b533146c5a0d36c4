"""Who runs where: roles, hosts per profile, the networks and data volumes each host needs.

A host's networks follow from its zone: every host is on ``mgmt`` (listed first: the
control node reaches sshd there); external-zone hosts on ``ext``; internal-zone hosts on
``int``; the gateway, the one host in both zones, on ``ext`` and ``int``; and the hosts
carrying the messaging or monitoring role also on the shared ``backbone``. Which ports the
roles listen on, and who may reach them, is ``infra/flows.yaml``'s business
(:mod:`sunlight.topology.flows`); the policy tests check the two agree.

Example::

    >>> from sunlight.topology.layout import Profile, hosts_of
    >>> [(h.name, h.networks) for h in hosts_of(Profile.COMPACT)][1]
    ('gw', ('mgmt', 'ext', 'int'))
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Profile(StrEnum):
    """How many hosts a site spreads its roles over."""

    COMPACT = "compact"
    STANDARD = "standard"


class Zone(StrEnum):
    EXTERNAL = "external"
    BOTH = "both"
    INTERNAL = "internal"


class Net(StrEnum):
    """The kinds of network a site's hosts join (``backbone`` is shared between sites)."""

    EXT = "ext"
    INT = "int"
    MGMT = "mgmt"
    BACKBONE = "backbone"


SITE_NETWORKS = (Net.EXT, Net.INT, Net.MGMT)  # declared by the site's program
# ext is a normal bridge: Docker publishes a port only through a container's gateway
# network, and that must be a non-internal one (checked on this engine). int, mgmt and
# the backbone are internal: no route out of the engine at all.
INTERNAL_NETWORKS = frozenset({Net.INT, Net.MGMT, Net.BACKBONE})
NETWORK_ZONE = {Net.EXT: "external", Net.INT: "internal", Net.MGMT: "management",
                Net.BACKBONE: "backbone"}
ICC_DISABLED = frozenset({Net.MGMT})  # hosts cannot reach each other here
ICC_OPTION = "com.docker.network.bridge.enable_icc"

ADMIN_USER = "admin"  # every host's administrative login (sudo), the control node's SSH user
# How a VM-like host container runs (systemd as PID 1, never privileged); the Pulumi
# program and the realizer both declare exactly this.
AUTHORIZED_KEYS_DIR = "/etc/ssh/authorized_keys.d"
HOST_CAPABILITIES = ("SYS_ADMIN", "NET_ADMIN")
HOST_SECURITY_OPT = ("seccomp=unconfined",)
HOST_TMPFS = {"/run": "", "/run/lock": ""}
HOST_CGROUP_MOUNT = {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "ro"}}
NODE = "node"  # pseudo-role every host carries (sshd, node exporter)
CONTROL = "control"  # pseudo-role of the control node (stands for the staff LAN too)
ROLE_ZONE: dict[str, Zone] = {
    "nginx": Zone.EXTERNAL, "portal": Zone.EXTERNAL, "portal_db": Zone.EXTERNAL,
    "gateway": Zone.BOTH,
    "core": Zone.INTERNAL, "core_db": Zone.INTERNAL, "mq": Zone.INTERNAL, "mon": Zone.INTERNAL,
}
ROLES = frozenset(ROLE_ZONE)
BACKBONE_ROLES = frozenset({"mq", "mon"})
# Data that must outlive a container: role -> (volume purpose, mount point).
ROLE_DATA: dict[str, tuple[str, str]] = {
    "portal_db": ("postgresql", "/var/lib/postgresql"),
    "core_db": ("postgresql", "/var/lib/postgresql"),
    "mq": ("rabbitmq", "/var/lib/rabbitmq"),
    "mon": ("prometheus", "/var/lib/prometheus"),
}
PUBLISH_BIND = "127.0.0.1"  # the only address a site ever publishes on


@dataclass(frozen=True)
class HostLayout:
    """One host of a profile: its name in the site, roles, and host number in each subnet."""

    name: str
    roles: tuple[str, ...]
    number: int

    @property
    def zone(self) -> Zone:
        zones = {ROLE_ZONE[role] for role in self.roles}
        if len(zones) != 1:
            raise ValueError(f"host {self.name} mixes zones {sorted(zones)}")
        return zones.pop()

    @property
    def networks(self) -> tuple[Net, ...]:
        nets = [Net.MGMT]
        if self.zone in (Zone.EXTERNAL, Zone.BOTH):
            nets.append(Net.EXT)
        if self.zone in (Zone.INTERNAL, Zone.BOTH):
            nets.append(Net.INT)
        if BACKBONE_ROLES & set(self.roles):
            nets.append(Net.BACKBONE)
        return tuple(nets)

    @property
    def volumes(self) -> dict[str, str]:
        """Volume purpose -> mount point (one volume per purpose, shared by its roles)."""
        return {ROLE_DATA[r][0]: ROLE_DATA[r][1] for r in self.roles if r in ROLE_DATA}

    def data_role(self, purpose: str) -> str:
        """The first role whose data lives in the volume for ``purpose``."""
        return next(r for r in self.roles if ROLE_DATA.get(r, ("", ""))[0] == purpose)


PROFILES: dict[Profile, tuple[HostLayout, ...]] = {
    Profile.COMPACT: (
        HostLayout("ext", ("nginx", "portal", "portal_db"), 10),
        HostLayout("gw", ("gateway",), 11),
        HostLayout("int", ("core", "core_db", "mq", "mon"), 12),
    ),
    Profile.STANDARD: (
        HostLayout("portal", ("nginx", "portal"), 10),
        HostLayout("portal-db", ("portal_db",), 11),
        HostLayout("gw", ("gateway",), 12),
        HostLayout("core", ("core",), 13),
        HostLayout("db", ("core_db",), 14),
        HostLayout("mq", ("mq",), 15),
        HostLayout("mon", ("mon",), 16),
    ),
}


def hosts_of(profile: Profile | str) -> tuple[HostLayout, ...]:
    return PROFILES[Profile(profile)]


def host_of_role(profile: Profile | str, role: str) -> HostLayout:
    """The host carrying ``role`` in ``profile``."""
    for host in hosts_of(profile):
        if role in host.roles:
            return host
    raise KeyError(f"no host carries role {role!r} in profile {profile}")


def backbone_hosts(profile: Profile | str) -> tuple[HostLayout, ...]:
    """Hosts on the backbone, in the order their backbone addresses are handed out."""
    return tuple(h for h in hosts_of(profile) if Net.BACKBONE in h.networks)


def aliases(host: HostLayout, network: Net, site: str) -> tuple[str, ...]:
    """DNS aliases on a network: plain names on the site's own, site-qualified on the backbone."""
    names = [host.name, *(role.replace("_", "-") for role in host.roles)]
    if network is Net.BACKBONE:
        names = [f"{n}-{site}" for n in names if n == host.name or n in BACKBONE_ROLES]
    return tuple(dict.fromkeys(names))


def hostname(site: str, host: HostLayout) -> str:
    """The host's name inside the container and in the inventory, unique across sites."""
    return f"{site}-{host.name}"
