"""Turn captured Pulumi resources into docker-py plans, refusing what is not understood.

Only three resource types become Docker objects — networks, volumes and containers — and
only with inputs this module knows how to apply exactly; Sunlight's own
ComponentResources are structure. Anything else raises :class:`RealizerError` naming the
resource and the input: a realizer that silently dropped an input would create something
other than what the program declares. Containers become :class:`~sunlight.control.hosts.HostSpec`
for the host helper, whose flags must match the program's input for input.

Example::

    >>> from sunlight.control.realizer.plan import plan_realization
    >>> plan = plan_realization(capture.resources, run)  # doctest: +SKIP
    >>> [n.name for n in plan.networks]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sunlight.control.hosts import (
    ADMIN_USER,
    AUTHORIZED_KEYS_DIR,
    HOST_CAPABILITIES,
    HOST_CGROUP_MOUNT,
    HOST_SECURITY_OPT,
    HOST_TMPFS,
    HostSpec,
    NetworkAttachment,
    PublishedPort,
    host_create_kwargs,
)
from sunlight.control.realizer.capture import CapturedResource
from sunlight.control.resources import Run
from sunlight.topology.layout import ICC_OPTION, PUBLISH_BIND

NETWORK_TYPE = "docker:index/network:Network"
VOLUME_TYPE = "docker:index/volume:Volume"
CONTAINER_TYPE = "docker:index/container:Container"
COMPONENT_PREFIX = "sunlight:"
LABEL_PREFIX = "io.sunlight."
NETWORK_KEYS = frozenset({"name", "driver", "internal", "ipamConfigs", "options", "labels"})
NETWORK_OPTIONS = frozenset({ICC_OPTION})
VOLUME_KEYS = frozenset({"name", "driver", "labels"})
CONTAINER_KEYS = frozenset({"name", "image", "hostname", "capabilities", "securityOpts",
                            "tmpfs", "privileged", "volumes", "labels", "networksAdvanced",
                            "ports", "uploads", "memory", "memorySwap"})
#: The program's pids limit of a host: pulumi_docker's Container has no input for it, so
#: it is declared as this label (infra/sunlight_infra/host.py) and applied as PidsLimit.
PIDS_LIMIT_LABEL = f"{LABEL_PREFIX}pids-limit"
AUTHORIZED_KEYS_FILE = f"{AUTHORIZED_KEYS_DIR}/{ADMIN_USER}"


class RealizerError(RuntimeError):
    """The program declares something the realizer does not create exactly; names what."""


@dataclass(frozen=True)
class NetworkPlan:
    resource: str
    name: str
    internal: bool
    subnet: str
    gateway: str | None
    options: dict[str, str]
    labels: dict[str, str]


@dataclass(frozen=True)
class VolumePlan:
    resource: str
    name: str
    labels: dict[str, str]


@dataclass(frozen=True)
class HostPlan:
    resource: str
    spec: HostSpec
    labels: dict[str, str]

    @property
    def mgmt_network(self) -> str:
        """The first network: where the control node reaches sshd."""
        return self.spec.networks[0].network


@dataclass(frozen=True)
class RealizationPlan:
    networks: list[NetworkPlan] = field(default_factory=list)
    volumes: list[VolumePlan] = field(default_factory=list)
    hosts: list[HostPlan] = field(default_factory=list)
    external_networks: set[str] = field(default_factory=set)  # joined, not declared


def _refuse(resource: str, what: str) -> RealizerError:
    return RealizerError(f"resource {resource}: {what}")


def _only_keys(resource: str, where: str, value: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise _refuse(resource, f"input {where}{unknown[0]!r} is not one the realizer applies")


def _int(resource: str, where: str, value: Any) -> int:
    # Mocked inputs arrive through protobuf: numbers are floats.
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise _refuse(resource, f"input {where} must be an integer, got {value!r}")
    return int(value)


def _labels(res: CapturedResource, run: Run) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in res.inputs.get("labels") or []:
        _only_keys(res.name, "labels.", item, {"label", "value"})
        key, value = item.get("label"), item.get("value")
        if not isinstance(key, str) or not isinstance(value, str) or key in labels:
            raise _refuse(res.name, f"input labels has a bad or repeated label {key!r}")
        labels[key] = value
    for key, value in run.labels().items():
        if labels.get(key) != value:
            raise _refuse(res.name, f"input labels: {key}={labels.get(key)!r} is not run "
                          f"{run.run_id}'s {value!r}; the realizer only creates its run's")
    return labels


def _short_name(res: CapturedResource, run: Run) -> str:
    name = res.inputs.get("name")
    prefix = run.name("")
    if not isinstance(name, str) or not name.startswith(prefix) or name == prefix:
        raise _refuse(res.name, f"input name {name!r} does not start with {prefix!r}")
    return name[len(prefix):]


def _network(res: CapturedResource, run: Run) -> NetworkPlan:
    inputs = res.inputs
    _only_keys(res.name, "", inputs, NETWORK_KEYS)
    if inputs.get("driver", "bridge") != "bridge":
        raise _refuse(res.name, f"input driver {inputs['driver']!r}: only bridge")
    ipam = inputs.get("ipamConfigs") or []
    if len(ipam) != 1 or not ipam[0].get("subnet"):
        raise _refuse(res.name, "input ipamConfigs must declare exactly one subnet")
    _only_keys(res.name, "ipamConfigs.", ipam[0], {"subnet", "gateway"})
    options = dict(inputs.get("options") or {})
    _only_keys(res.name, "options.", options, NETWORK_OPTIONS)
    if any(v not in ("true", "false") for v in options.values()):
        raise _refuse(res.name, f"input options {options}: values must be 'true' or 'false'")
    _short_name(res, run)
    return NetworkPlan(res.name, inputs["name"], bool(inputs.get("internal", False)),
                       ipam[0]["subnet"], ipam[0].get("gateway"), options, _labels(res, run))


def _volume(res: CapturedResource, run: Run) -> VolumePlan:
    _only_keys(res.name, "", res.inputs, VOLUME_KEYS)
    if res.inputs.get("driver", "local") != "local":
        raise _refuse(res.name, f"input driver {res.inputs['driver']!r}: only local")
    _short_name(res, run)
    return VolumePlan(res.name, res.inputs["name"], _labels(res, run))


def _check_flags(res: CapturedResource) -> None:
    inputs = res.inputs
    caps = inputs.get("capabilities") or {}
    _only_keys(res.name, "capabilities.", caps, {"adds", "drops"})
    if sorted(caps.get("adds") or []) != sorted(HOST_CAPABILITIES) or caps.get("drops"):
        raise _refuse(res.name, f"input capabilities {caps}: a host adds exactly "
                      f"{list(HOST_CAPABILITIES)} and drops none")
    if inputs.get("privileged", False) is not False:
        raise _refuse(res.name, "input privileged: hosts are never privileged")
    if list(inputs.get("securityOpts") or []) != list(HOST_SECURITY_OPT):
        raise _refuse(res.name, f"input securityOpts must be {list(HOST_SECURITY_OPT)}")
    if dict(inputs.get("tmpfs") or {}) != HOST_TMPFS:
        raise _refuse(res.name, f"input tmpfs must be {HOST_TMPFS}")


def _mounts(res: CapturedResource, volumes: set[str]) -> dict[str, str]:
    named: dict[str, str] = {}
    binds: dict[str, dict[str, str]] = {}
    for item in res.inputs.get("volumes") or []:
        _only_keys(res.name, "volumes.", item, {"hostPath", "containerPath", "readOnly",
                                                "volumeName"})
        path = item.get("containerPath")
        if not isinstance(path, str) or not path.startswith("/"):
            raise _refuse(res.name, f"input volumes: bad containerPath {path!r}")
        if "hostPath" in item:
            mode = "ro" if item.get("readOnly") else "rw"
            binds[item["hostPath"]] = {"bind": path, "mode": mode}
        elif item.get("volumeName") in volumes and not item.get("readOnly"):
            named[item["volumeName"]] = path
        else:
            raise _refuse(res.name, f"input volumes: {item.get('volumeName')!r} is not a "
                          "volume the program declares (or is read-only)")
    if binds != HOST_CGROUP_MOUNT:
        raise _refuse(res.name, f"input volumes: host binds {binds} must be exactly "
                      f"{HOST_CGROUP_MOUNT}")
    return named


def _attachments(res: CapturedResource, networks: set[str],
                 external: set[str]) -> list[NetworkAttachment]:
    out = []
    for item in res.inputs.get("networksAdvanced") or []:
        _only_keys(res.name, "networksAdvanced.", item, {"name", "ipv4Address", "aliases"})
        name, address = item.get("name"), item.get("ipv4Address")
        if not isinstance(name, str) or not isinstance(address, str):
            raise _refuse(res.name, "input networksAdvanced needs a name and an ipv4Address")
        if name not in networks:
            external.add(name)  # must exist already (the backbone); checked before creating
        out.append(NetworkAttachment(name, address, tuple(item.get("aliases") or ())))
    if not out:
        raise _refuse(res.name, "input networksAdvanced: a host joins at least mgmt")
    return out


def _published(res: CapturedResource) -> tuple[PublishedPort, ...]:
    out = []
    for item in res.inputs.get("ports") or []:
        _only_keys(res.name, "ports.", item, {"internal", "external", "ip", "protocol"})
        if item.get("ip") != PUBLISH_BIND or item.get("protocol", "tcp") != "tcp":
            raise _refuse(res.name, f"input ports {item}: only tcp on {PUBLISH_BIND}")
        external = item.get("external")
        out.append(PublishedPort(
            _int(res.name, "ports.internal", item.get("internal")), PUBLISH_BIND,
            None if external in (None, 0) else _int(res.name, "ports.external", external)))
    return tuple(out)


def _authorized_key(res: CapturedResource) -> str:
    uploads = res.inputs.get("uploads") or []
    if len(uploads) != 1:
        raise _refuse(res.name, f"input uploads: exactly one, {AUTHORIZED_KEYS_FILE}")
    _only_keys(res.name, "uploads.", uploads[0], {"file", "content"})
    if uploads[0].get("file") != AUTHORIZED_KEYS_FILE:
        raise _refuse(res.name, f"input uploads: only {AUTHORIZED_KEYS_FILE} is uploaded")
    return str(uploads[0].get("content") or "")


def _limits(res: CapturedResource, labels: dict[str, str]) -> tuple[int, int]:
    """(memory in MiB, pids): every host has both; memory_swap equals memory (no swap)."""
    memory = _int(res.name, "memory", res.inputs.get("memory"))
    swap = _int(res.name, "memorySwap", res.inputs.get("memorySwap"))
    if memory <= 0 or swap != memory:
        raise _refuse(res.name, f"input memory {memory} MiB / memorySwap {swap} MiB: a host "
                      "has a memory limit and no swap (memorySwap = memory)")
    pids = labels.get(PIDS_LIMIT_LABEL, "")
    if not pids.isdigit() or int(pids) <= 0:
        raise _refuse(res.name, f"input labels: {PIDS_LIMIT_LABEL} must be a positive "
                      f"number of processes, got {pids!r}")
    return memory, int(pids)


def _host(res: CapturedResource, run: Run, networks: set[str], volumes: set[str],
          external: set[str]) -> HostPlan:
    inputs = res.inputs
    _only_keys(res.name, "", inputs, CONTAINER_KEYS)
    _check_flags(res)
    labels = _labels(res, run)
    run_keys = set(run.labels())
    extra = {k: v for k, v in labels.items() if k not in run_keys}
    if any(not k.startswith(LABEL_PREFIX) for k in extra):
        raise _refuse(res.name, f"input labels: only {LABEL_PREFIX}* labels")
    image = inputs.get("image")
    if not isinstance(image, str) or not image:
        raise _refuse(res.name, "input image is required")
    memory_mib, pids_limit = _limits(res, labels)
    spec = HostSpec(
        name=_short_name(res, run), image=image,
        networks=_attachments(res, networks, external),
        authorized_key=_authorized_key(res), hostname=inputs.get("hostname"),
        labels={k[len(LABEL_PREFIX):].replace("-", "_"): v for k, v in extra.items()},
        volumes=_mounts(res, volumes), published=_published(res),
        memory_mib=memory_mib, pids_limit=pids_limit,
    )
    made = host_create_kwargs(spec, run)
    if made["labels"] != labels or made["name"] != inputs["name"]:
        raise _refuse(res.name, "input labels or name would not be created exactly")
    return HostPlan(res.name, spec, labels)


def plan_realization(resources: Sequence[CapturedResource], run: Run) -> RealizationPlan:
    """Validate every captured resource and plan exactly those networks, volumes, hosts."""
    plan = RealizationPlan()
    for res in resources:
        if not res.custom and res.type.startswith(COMPONENT_PREFIX):
            continue
        if res.type == NETWORK_TYPE:
            plan.networks.append(_network(res, run))
        elif res.type == VOLUME_TYPE:
            plan.volumes.append(_volume(res, run))
        elif res.type != CONTAINER_TYPE:
            raise _refuse(res.name, f"type {res.type} is not one the realizer creates")
    networks = {n.name for n in plan.networks}
    volumes = {v.name for v in plan.volumes}
    for res in resources:
        if res.type == CONTAINER_TYPE:
            plan.hosts.append(_host(res, run, networks, volumes, plan.external_networks))
    names = [p.name for p in plan.networks] + [p.name for p in plan.volumes] + [
        run.name(h.spec.name) for h in plan.hosts]
    if len(set(names)) != len(names):
        raise RealizerError(f"the program declares a Docker name twice: {sorted(names)}")
    return plan
