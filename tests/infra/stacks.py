"""Run the real entry point (infra/__main__.py) for a stack config under Pulumi mocks.

What ``pulumi up`` would do with a stack file, without the CLI: the stack's config keys are
set as Pulumi sets them (strings; lists as JSON), the program runs under
``pulumi.runtime.set_mocks``, and the stack outputs it exported (the root stack's) are
resolved — :func:`stack_output_json` writes them as ``pulumi stack output --json
--show-secrets`` prints them.
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi.runtime
from pulumi.runtime.settings import get_root_resource
from sunlight_infra.config import PLAN_KEYS, SCALAR_KEYS

from sunlight.control.realizer.capture import PULUMI_PROJECT, CaptureMocks
from sunlight.paths import repo_root
from sunlight.topology.config import SiteConfig

MAIN = repo_root() / "infra" / "__main__.py"


class ProviderMocks(CaptureMocks):
    """CaptureMocks that also records which provider each resource was registered with."""

    def __init__(self) -> None:
        super().__init__()
        self.providers: dict[str, str | None] = {}  # logical name -> provider reference

    def new_resource(self, args: pulumi.runtime.MockResourceArgs
                     ) -> tuple[str | None, dict[Any, Any]]:
        self.providers[args.name] = args.provider
        return super().new_resource(args)


def stack_keys(config: SiteConfig) -> dict[str, str]:
    """The ``sunlight:*`` keys a stack file for ``config`` holds, as Pulumi hands them over."""
    fields = config.model_dump(mode="json")
    keys = {k: fields[k] for k in SCALAR_KEYS}
    keys.update({k: fields["address_plan"][k] for k in PLAN_KEYS})
    return {k: "" if v is None else str(v) for k, v in keys.items()}


def run_stack(keys: Mapping[str, str], docker: Mapping[str, Any] | None = None,
              mocks: CaptureMocks | None = None) -> dict[str, Any]:
    """Run infra/__main__.py with these ``sunlight:`` (and ``docker:``) keys; its outputs."""
    mocks = mocks or CaptureMocks()
    pulumi.runtime.set_mocks(mocks, project=PULUMI_PROJECT, stack=keys["division_code"],
                             preview=False)
    config = {f"{PULUMI_PROJECT}:{k}": v for k, v in keys.items()}
    config.update({f"docker:{k}": v if isinstance(v, str) else json.dumps(v)
                   for k, v in (docker or {}).items()})
    pulumi.runtime.set_all_config(config)
    root = get_root_resource()
    root.outputs.clear()  # type: ignore[union-attr]
    resolved: dict[str, Any] = {}

    def program() -> pulumi.Output[None]:
        runpy.run_path(str(MAIN), run_name="__main__")
        exported = dict(root.outputs)  # type: ignore[union-attr]
        return pulumi.Output.all(**exported).apply(resolved.update)

    try:
        pulumi.runtime.test(program)()  # type: ignore[no-untyped-call]
    finally:
        pulumi.runtime.set_all_config({})
    return resolved


def stack_output_json(outputs: Mapping[str, Any]) -> str:
    """The outputs as ``pulumi stack output --json --show-secrets`` prints them."""
    return json.dumps(outputs, indent=2, ensure_ascii=False) + "\n"
