"""Host: one VM-like container of a site, with its data volumes.

The flags come from :mod:`sunlight.control.hosts` (the one place they live): exactly the
capabilities ``SYS_ADMIN`` and ``NET_ADMIN``, seccomp unconfined, tmpfs on /run, the
cgroup tree read-only, never privileged. The host joins exactly its layout's networks
(mgmt first) at fixed addresses, gets the control node's public key before first boot, and
publishes only what flows.yaml's ``publish`` gives its roles, on loopback. Its memory
(no swap) and process limits are the sum of its roles' budgets (:data:`ROLE_MEMORY_MIB`,
:data:`ROLE_PIDS`).

Example::

    >>> host = Host("320703-int", HostArgs(config, layout, network_names, flows.publish))
    ... # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_docker as docker

from sunlight.topology.config import SiteConfig
from sunlight.topology.flows import Publish
from sunlight.topology.inventory import container_name, volume_name
from sunlight.topology.layout import (
    ADMIN_USER,
    AUTHORIZED_KEYS_DIR,
    HOST_CAPABILITIES,
    HOST_CGROUP_MOUNT,
    HOST_SECURITY_OPT,
    HOST_TMPFS,
    HostLayout,
    Net,
    aliases,
    hostname,
)

COMPONENT_TYPE = "sunlight:infra:Host"

# Memory and process limits of a host container (issue 15, point 10): the sum of the budgets
# of the roles it runs, plus the node's own (systemd, journald, sshd, the node exporter).
# Measured resident use of a whole compact internal host (core, its PostgreSQL, RabbitMQ,
# Prometheus) after the topology suite's load run: about 350-420 MiB; an external host about
# 150 MiB. The budgets leave room for bursts (a 10 MiB material in flight per request, a
# busy database's work memory) on the 2-core CI machine. No swap: memory_swap = memory.
NODE_MEMORY_MIB = 128
# The node's own share covers systemd, journald, sshd sessions, Ansible's runs and an
# operator's tools (the segregation probes run a thread per target: 150 was too few).
NODE_PIDS = 512
ROLE_MEMORY_MIB: dict[str, int] = {
    "nginx": 64, "portal": 384, "portal_db": 384, "gateway": 256,
    "core": 768, "core_db": 512, "mq": 512, "mon": 384,
}
# Processes and threads (the pids cgroup counts both): PostgreSQL a process per connection
# (max_connections 100), RabbitMQ's Erlang VM about 150 threads, uvicorn's thread pools.
ROLE_PIDS: dict[str, int] = {
    "nginx": 50, "portal": 200, "portal_db": 200, "gateway": 150,
    "core": 250, "core_db": 200, "mq": 400, "mon": 100,
}
# pulumi_docker's Container has no pids-limit input: the program declares it as this label,
# which the realizer applies as the container's PidsLimit.
PIDS_LIMIT_LABEL = "pids_limit"


def host_memory_mib(roles: Sequence[str]) -> int:
    """The memory limit in MiB (``memory`` and ``memory_swap``) of a host running ``roles``."""
    return NODE_MEMORY_MIB + sum(ROLE_MEMORY_MIB[r] for r in roles)


def host_pids(roles: Sequence[str]) -> int:
    """The limit on processes and threads of a host running ``roles``."""
    return NODE_PIDS + sum(ROLE_PIDS[r] for r in roles)


def _published(ports: Sequence[docker.outputs.ContainerPort] | None) -> list[dict[str, Any]]:
    # ``external`` is the engine's answer: the port it chose when the program left it unset.
    return [{"port": p.internal, "host_port": p.external, "ip": p.ip} for p in ports or ()]


@dataclass(frozen=True)
class HostArgs:
    config: SiteConfig
    layout: HostLayout
    network_names: Mapping[Net, pulumi.Input[str]]  # every network the layout needs
    publish: Sequence[Publish]


class Host(pulumi.ComponentResource):
    """A host; ``container_name`` is its container's name, ``published`` what the engine
    published of it (``[{port, host_port, ip}]``), both Outputs."""

    container_name: pulumi.Output[str]
    published: pulumi.Output[list[dict[str, Any]]]

    def __init__(self, name: str, args: HostArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        volumes = self._create_volumes(name, args)
        container = self._create_container(name, args, volumes)
        self.container_name = container.name
        self.published = container.ports.apply(_published)
        self.register_outputs({"container_name": container.name, "published": self.published})

    def _labels(self, args: HostArgs, role: str) -> dict[str, str]:
        config = args.config
        return config.run().labels(site=config.division_code, tier=config.tier.value,
                                   role=role, zone=args.layout.zone.value,
                                   host=args.layout.name)

    def _create_volumes(self, name: str, args: HostArgs) -> dict[str, docker.Volume]:
        out = {}
        for purpose in args.layout.volumes:
            labels = self._labels(args, args.layout.data_role(purpose))
            out[purpose] = docker.Volume(
                f"{name}-{purpose}",
                name=volume_name(args.config, args.layout, purpose),
                driver="local",
                labels=[docker.VolumeLabelArgs(label=k, value=v) for k, v in labels.items()],
                opts=pulumi.ResourceOptions(parent=self),
            )
        return out

    def _create_container(self, name: str, args: HostArgs,
                          volumes: Mapping[str, docker.Volume]) -> docker.Container:
        config, layout = args.config, args.layout
        labels = {**self._labels(args, ",".join(layout.roles)),
                  **config.run().labels(**{PIDS_LIMIT_LABEL: str(host_pids(layout.roles))})}
        memory = host_memory_mib(layout.roles)
        return docker.Container(
            f"{name}-container",
            name=container_name(config, layout),
            image=config.image,
            hostname=hostname(config.division_code, layout),
            capabilities=docker.ContainerCapabilitiesArgs(adds=list(HOST_CAPABILITIES)),
            security_opts=list(HOST_SECURITY_OPT),
            tmpfs=dict(HOST_TMPFS),
            privileged=False,
            memory=memory,
            memory_swap=memory,
            volumes=self._mounts(layout, volumes),
            labels=[docker.ContainerLabelArgs(label=k, value=v) for k, v in labels.items()],
            networks_advanced=self._attachments(args),
            ports=self._ports(args),
            uploads=[docker.ContainerUploadArgs(
                file=f"{AUTHORIZED_KEYS_DIR}/{ADMIN_USER}",
                content=config.control_public_key + "\n")],
            opts=pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
    def _mounts(layout: HostLayout,
                volumes: Mapping[str, docker.Volume]) -> list[docker.ContainerVolumeArgs]:
        mounts = [docker.ContainerVolumeArgs(host_path=src, container_path=bind["bind"],
                                             read_only=bind["mode"] == "ro")
                  for src, bind in HOST_CGROUP_MOUNT.items()]
        mounts += [docker.ContainerVolumeArgs(volume_name=volumes[purpose].name,
                                              container_path=path)
                   for purpose, path in layout.volumes.items()]
        return mounts

    @staticmethod
    def _attachments(args: HostArgs) -> list[docker.ContainerNetworksAdvancedArgs]:
        config, layout = args.config, args.layout
        plan, code = config.address_plan, config.division_code
        return [docker.ContainerNetworksAdvancedArgs(
                    name=args.network_names[kind],
                    ipv4_address=str(plan.address(config.profile, layout, kind)),
                    aliases=list(aliases(layout, kind, code)))
                for kind in layout.networks]

    @staticmethod
    def _ports(args: HostArgs) -> list[docker.ContainerPortArgs]:
        # portal_port 0: leave `external` unset and the engine picks a free port.
        external = args.config.portal_port or None
        return [docker.ContainerPortArgs(internal=p.port, external=external, ip=p.bind,
                                         protocol="tcp")
                for p in args.publish if p.role in args.layout.roles]
