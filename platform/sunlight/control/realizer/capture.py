"""Run the site's Pulumi program under ``pulumi.runtime.set_mocks`` and capture it.

No Pulumi CLI or provider plugin is involved: the mock monitor receives every resource
registration; :class:`CaptureMocks` records its type token, logical name and (resolved)
inputs, and answers with the inputs as outputs, so the program's outputs resolve too.
:func:`capture_site` waits for every registration and every stack output.

Example::

    >>> from sunlight.control.realizer.capture import capture_site
    >>> capture = capture_site(config)  # doctest: +SKIP
    >>> [r.type for r in capture.resources][:2]  # doctest: +SKIP
    ['sunlight:infra:Site', 'sunlight:infra:SiteNetworks']
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pulumi
import pulumi.runtime

from sunlight.topology import inventory
from sunlight.topology.config import SiteConfig

PULUMI_PROJECT = "sunlight"  # infra/Pulumi.yaml's name: the config namespace
PROGRAM_MODULE = "sunlight_infra.program"


class DeclaredSite(Protocol):
    """What the program's ``declare_site`` returns: a component with its stack outputs."""

    outputs: Mapping[str, pulumi.Output[Any]]


Declare = Callable[[SiteConfig], DeclaredSite]


@dataclass(frozen=True)
class CapturedResource:
    """One registration: type token, logical name, inputs (JSON-like), custom or component."""

    type: str
    name: str
    inputs: dict[str, Any]
    custom: bool


@dataclass(frozen=True)
class Capture:
    resources: tuple[CapturedResource, ...]
    outputs: dict[str, Any]

    def of_type(self, token: str) -> list[CapturedResource]:
        return [r for r in self.resources if r.type == token]


class CaptureMocks(pulumi.runtime.Mocks):
    """Records every resource; each resource's outputs are its inputs plus an id."""

    def __init__(self) -> None:
        self.resources: list[CapturedResource] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs
                     ) -> tuple[str | None, dict[Any, Any]]:
        self.resources.append(CapturedResource(args.typ, args.name, dict(args.inputs),
                                               bool(args.custom)))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs
             ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        # The program makes no provider calls; one would mean an input we cannot see.
        raise RuntimeError(f"the site program called {args.token}: the realizer refuses "
                           "provider functions")


def load_declare() -> Declare:
    """``declare_site`` of the installed Pulumi program (``sunlight_infra``, from infra/)."""
    module = importlib.import_module(PROGRAM_MODULE)
    declare: Declare = module.declare_site
    return declare


def capture_site(config: SiteConfig, declare: Declare | None = None) -> Capture:
    """Run ``declare(config)`` under mocks; return every resource and resolved output."""
    declare = declare or load_declare()
    mocks = CaptureMocks()
    pulumi.runtime.set_mocks(mocks, project=PULUMI_PROJECT, stack=config.division_code,
                             preview=False)
    outputs: dict[str, Any] = {}

    def program() -> pulumi.Output[None]:
        site = declare(config)
        return pulumi.Output.all(**site.outputs).apply(outputs.update)

    # The test decorator is the SDK's way to run a program to completion under mocks: it
    # drives the event loop until every registration and the returned Output resolved.
    pulumi.runtime.test(program)()  # type: ignore[no-untyped-call]
    missing = set(inventory.OUTPUT_KEYS) - set(outputs)
    if missing:
        raise RuntimeError(f"the site program did not resolve outputs {sorted(missing)}")
    return Capture(tuple(mocks.resources), outputs)
