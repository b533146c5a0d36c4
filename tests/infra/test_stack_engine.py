"""Each stack may target its own engine: ``docker:host`` reaches the program's provider.

The entry point (infra/__main__.py) runs under mocks with a stack config that sets
``docker:host`` (and its TLS or SSH keys); the explicit Docker provider must be registered
with exactly those arguments and every network, volume and container of the site must be
registered through it. Without ``docker:host`` no provider is declared (Pulumi's default
provider, the realizer's path). Unsafe or inconsistent values fail before any resource.
Not checked here: a real engine behind those URLs (no Pulumi CLI or provider plugin on
these machines; the several-engines work tests a TLS tcp:// engine with the realizer).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi.runtime import rpc
from sunlight_infra.engine import EngineConfigError

from sunlight.control.realizer.plan import CONTAINER_TYPE, NETWORK_TYPE, VOLUME_TYPE

from .conftest import make_config
from .stacks import ProviderMocks, run_stack, stack_keys

PROVIDER_TYPE = "pulumi:providers:docker"
CA = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n"
CERT = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIBkey\n-----END PRIVATE KEY-----\n"
# How a secret input reaches the provider (the SDK's wire form of a secret value).
SECRET_KEY = {rpc._special_sig_key: rpc._special_secret_sig, "value": KEY}


def _keys() -> dict[str, str]:
    config = make_config("320703", "320700", "compact", owner=None)
    return stack_keys(config)


@pytest.mark.parametrize(("docker", "provider_inputs"), [
    ({"host": "unix:///run/county/docker.sock"}, {"host": "unix:///run/county/docker.sock"}),
    ({"host": "tcp://county-vm.example:2376", "certPath": "/etc/sunlight/engines/county"},
     {"host": "tcp://county-vm.example:2376", "certPath": "/etc/sunlight/engines/county"}),
    ({"host": "tcp://10.1.2.3:2376", "caMaterial": CA, "certMaterial": CERT,
      "keyMaterial": KEY},
     {"host": "tcp://10.1.2.3:2376", "caMaterial": CA, "certMaterial": CERT,
      "keyMaterial": SECRET_KEY}),  # the client key stays a secret
    ({"host": "ssh://ops@county-vm.example:2222", "sshOpts": ["-o", "ConnectTimeout=5"]},
     {"host": "ssh://ops@county-vm.example:2222",
      "sshOpts": json.dumps(["-o", "ConnectTimeout=5"])}),
], ids=["unix", "tcp-tls-cert-path", "tcp-tls-materials", "ssh"])
def test_docker_host_reaches_the_provider_of_every_resource(
        docker: dict[str, Any], provider_inputs: dict[str, str]) -> None:
    mocks = ProviderMocks()
    outputs = run_stack(_keys(), docker, mocks)
    providers = [r for r in mocks.resources if r.type == PROVIDER_TYPE]
    assert len(providers) == 1
    assert providers[0].inputs == provider_inputs
    ref = f"::{providers[0].name}::{providers[0].name}-id"
    declared = [r for r in mocks.resources
                if r.type in (NETWORK_TYPE, VOLUME_TYPE, CONTAINER_TYPE)]
    assert len(declared) == 3 + 4 + 3  # networks, volumes, hosts of a compact site
    assert all((mocks.providers[r.name] or "").endswith(ref) for r in declared)
    assert outputs["division_code"] == "320703"


def test_without_docker_host_the_default_provider_is_used() -> None:
    mocks = ProviderMocks()
    run_stack(_keys(), None, mocks)
    assert not [r for r in mocks.resources if r.type == PROVIDER_TYPE]
    containers = [r for r in mocks.resources if r.type == CONTAINER_TYPE]
    assert len(containers) == 3
    assert not any("providers:docker::" in (mocks.providers[r.name] or "")
                   for r in containers)


@pytest.mark.parametrize(("docker", "says"), [
    ({"host": "http://county-vm:2375"}, "use unix://, tcp:// (with TLS) or ssh://"),
    ({"host": "tcp://county-vm:2375"}, "is plain TCP: give docker:certPath"),
    ({"host": "tcp://county-vm:2376", "caMaterial": CA, "certMaterial": CERT},
     "is plain TCP"),
    ({"host": "ssh://ops@county-vm", "certPath": "/etc/x"}, "apply to tcp:// only"),
    ({"host": "unix:///run/docker.sock", "sshOpts": ["-v"]}, "docker:sshOpts applies to ssh://"),
    ({"host": "ssh://ops@county-vm", "sshOpts": {"-v": True}}, "docker:sshOpts must be a list"),
    ({"host": "tcp://:2376", "certPath": "/etc/x"}, "names no machine"),
], ids=["http", "plain-tcp", "tls-incomplete", "tls-on-ssh", "ssh-opts-on-unix",
        "ssh-opts-not-list", "no-machine"])
def test_unsafe_engine_config_fails_before_any_resource(docker: dict[str, Any],
                                                         says: str) -> None:
    mocks = ProviderMocks()
    with pytest.raises(EngineConfigError, match=says.replace("(", r"\(").replace(")", r"\)")):
        run_stack(_keys(), docker, mocks)
    assert [r for r in mocks.resources if r.custom] == []
