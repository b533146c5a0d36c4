"""The realizer plans exactly what the program declares and refuses what it cannot apply."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from sunlight.control.hosts import HOST_CGROUP_MOUNT, host_create_kwargs
from sunlight.control.realizer.capture import Capture, CapturedResource
from sunlight.control.realizer.plan import (
    CONTAINER_TYPE,
    NETWORK_TYPE,
    PIDS_LIMIT_LABEL,
    VOLUME_TYPE,
    RealizerError,
    plan_realization,
)
from sunlight.control.resources import Run

from .conftest import RUN, captured

Tamper = Callable[[dict[str, Any]], None]


def _site() -> Capture:
    return captured("320703", "320700", "compact")[1]


def test_the_plan_is_exactly_the_declared_resources() -> None:
    capture = _site()
    plan = plan_realization(capture.resources, RUN)
    assert [n.name for n in plan.networks] == [
        r.inputs["name"] for r in capture.of_type(NETWORK_TYPE)]
    assert [v.name for v in plan.volumes] == [
        r.inputs["name"] for r in capture.of_type(VOLUME_TYPE)]
    assert [RUN.name(h.spec.name) for h in plan.hosts] == [
        r.inputs["name"] for r in capture.of_type(CONTAINER_TYPE)]
    assert plan.external_networks == {"sunlight-pt-0001-backbone"}


def test_host_specs_reproduce_the_container_inputs() -> None:
    capture = _site()
    plan = plan_realization(capture.resources, RUN)
    for host, res in zip(plan.hosts, capture.of_type(CONTAINER_TYPE), strict=True):
        kw = host_create_kwargs(host.spec, RUN)
        inputs = res.inputs
        assert kw["hostname"] == inputs["hostname"] and kw["image"] == inputs["image"]
        assert sorted(kw["cap_add"]) == sorted(inputs["capabilities"]["adds"])
        assert kw["security_opt"] == inputs["securityOpts"] and kw["tmpfs"] == inputs["tmpfs"]
        assert kw["privileged"] is inputs["privileged"] is False
        named = {v["volumeName"]: v["containerPath"] for v in inputs["volumes"]
                 if "volumeName" in v}
        assert kw["volumes"] == {**HOST_CGROUP_MOUNT, **{
            n: {"bind": p, "mode": "rw"} for n, p in named.items()}}
        assert [(a.network, a.ipv4_address, list(a.aliases)) for a in host.spec.networks] == [
            (a["name"], a["ipv4Address"], a["aliases"]) for a in inputs["networksAdvanced"]]
        if inputs["ports"]:
            assert kw["ports"] == {"443/tcp": ("127.0.0.1", 8443)}
        else:
            assert "ports" not in kw
        assert host.spec.authorized_key == inputs["uploads"][0]["content"]
        # Issue 15 point 10: the declared limits reach docker-py (before: memory refused as
        # an input the realizer does not apply, and no pids limit anywhere).
        assert kw["mem_limit"] == kw["memswap_limit"] == f"{int(inputs['memory'])}m"
        pids = next(x["value"] for x in inputs["labels"] if x["label"] == PIDS_LIMIT_LABEL)
        assert kw["pids_limit"] == int(pids) > 0


def _tampered(token: str, change: Tamper, index: int = 0) -> list[CapturedResource]:
    resources = list(_site().resources)
    positions = [i for i, r in enumerate(resources) if r.type == token]
    target = resources[positions[index]]
    inputs = copy.deepcopy(target.inputs)
    change(inputs)
    resources[positions[index]] = dataclasses.replace(target, inputs=inputs)
    return resources


def _set(key: str, value: Any) -> Tamper:
    return lambda inputs: inputs.__setitem__(key, value)


REFUSALS: list[tuple[str, Tamper, str]] = [
    (CONTAINER_TYPE, _set("privileged", True), "privileged"),
    (CONTAINER_TYPE, _set("capabilities", {"adds": ["SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE"]}),
     "capabilities"),
    (CONTAINER_TYPE, _set("capabilities", {"adds": ["SYS_ADMIN", "NET_ADMIN"],
                                           "drops": ["CHOWN"]}), "capabilities"),
    (CONTAINER_TYPE, _set("restart", "always"), "input 'restart'"),
    (CONTAINER_TYPE, _set("securityOpts", []), "securityOpts"),
    (CONTAINER_TYPE, _set("tmpfs", {"/run": ""}), "tmpfs"),
    (CONTAINER_TYPE, _set("ports", [{"internal": 443, "ip": "0.0.0.0", "protocol": "tcp"}]),
     "only tcp on 127.0.0.1"),
    (CONTAINER_TYPE, lambda i: i["uploads"].append({"file": "/etc/sudoers", "content": "x"}),
     "uploads"),
    (CONTAINER_TYPE, lambda i: i["volumes"].append(
        {"hostPath": "/var/run/docker.sock", "containerPath": "/var/run/docker.sock"}),
     "host binds"),
    (CONTAINER_TYPE, lambda i: i["volumes"].append(
        {"volumeName": "someone-elses", "containerPath": "/data"}), "not a volume"),
    (CONTAINER_TYPE, lambda i: i["networksAdvanced"][0].update(macAddress="02:42:ac:11:00:02"),
     "networksAdvanced.'macAddress'"),
    (CONTAINER_TYPE, lambda i: i["labels"].append({"label": "com.example.x", "value": "1"}),
     "only io.sunlight"),
    (CONTAINER_TYPE, lambda i: i["labels"][1].update(value="other-run"), "io.sunlight.run-id"),
    (CONTAINER_TYPE, _set("name", "someone-else"), "does not start with"),
    (CONTAINER_TYPE, lambda i: i.pop("memory"), "input memory must be an integer"),
    (CONTAINER_TYPE, _set("memorySwap", 99999), "no swap"),
    (CONTAINER_TYPE, _set("memory", 0), "has a memory limit"),
    (CONTAINER_TYPE, _set("memorySwap", -1), "no swap"),
    (CONTAINER_TYPE, lambda i: i.__setitem__("labels", [
        x for x in i["labels"] if x["label"] != PIDS_LIMIT_LABEL]), "pids-limit"),
    (CONTAINER_TYPE, lambda i: next(x for x in i["labels"] if x["label"] == PIDS_LIMIT_LABEL)
     .update(value="unlimited"), "pids-limit must be a positive"),
    (NETWORK_TYPE, _set("driver", "overlay"), "only bridge"),
    (NETWORK_TYPE, _set("options", {"com.docker.network.bridge.name": "br0"}), "options."),
    (NETWORK_TYPE, _set("ipamConfigs", []), "exactly one subnet"),
    (NETWORK_TYPE, _set("attachable", True), "attachable"),
    (VOLUME_TYPE, _set("driver", "nfs"), "only local"),
]


@pytest.mark.parametrize(("token", "change", "says"), REFUSALS,
                         ids=[f"{t.split(':')[-1]}-{s}" for t, _, s in REFUSALS])
def test_what_the_realizer_does_not_understand_is_refused(token: str, change: Tamper,
                                                          says: str) -> None:
    with pytest.raises(RealizerError) as err:
        plan_realization(_tampered(token, change), RUN)
    assert says in str(err.value)
    assert str(err.value).startswith("resource 320703-")  # names the resource


def test_an_unknown_resource_type_is_refused() -> None:
    extra = CapturedResource("docker:index/remoteImage:RemoteImage", "pull", {"name": "x"},
                             True)
    with pytest.raises(RealizerError, match="type docker:index/remoteImage:RemoteImage"):
        plan_realization([*_site().resources, extra], RUN)


def test_another_runs_program_is_refused() -> None:
    with pytest.raises(RealizerError, match="pt-0002"):
        plan_realization(_site().resources, Run(run_id="pt-0002", owner=RUN.owner))
