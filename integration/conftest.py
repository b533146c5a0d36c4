"""Docker-backed fixtures: the engine, the node image, and a run that cleans up after itself.

Each session owns an ephemeral run id; everything it creates carries it, and teardown
asserts that nothing of it is left. Resources of other runs (a demo left up) are never
touched; those of runs whose owner process died are swept at the start.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from sunlight.images.build import BuildResult, build_node_image
from sunlight.resources import Run, leftovers, sweep
from sunlight.ssh import ControlKey

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"no Docker engine answers ({exc}); run `make setup` first", pytrace=False)
    return client


@pytest.fixture(scope="session")
def image_build(docker_client: docker.DockerClient) -> BuildResult:
    """The node image for the current sources (built here only if `make image` did not)."""
    return build_node_image(progress=lambda _m: None, client=docker_client)


@pytest.fixture(scope="session")
def node_image(image_build: BuildResult) -> str:
    return image_build.image


@pytest.fixture(scope="session")
def run(docker_client: docker.DockerClient) -> Iterator[Run]:
    run = Run.ephemeral("it")
    sweep(docker_client, run.run_id)  # also clears what killed sessions left behind
    yield run
    sweep(docker_client, run.run_id)
    left = leftovers(docker_client, run.run_id)
    assert not left, f"teardown left resources of run {run.run_id}: {left}"


@pytest.fixture(scope="session")
def control_key(tmp_path_factory: pytest.TempPathFactory) -> ControlKey:
    """A key pair made for this session only: no test depends on a user's own key."""
    return ControlKey.load_or_create(Path(tmp_path_factory.mktemp("ssh")) / "control_ed25519")


_REPORTS = pytest.StashKey[list[tuple[str, str]]]()


@pytest.fixture(scope="session")
def report(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """Add a titled section to the end of the run's output (shown by `make test`)."""
    sections = request.config.stash.setdefault(_REPORTS, [])

    def add(title: str, text: str) -> None:
        sections.append((title, text))
    return add


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for title, text in terminalreporter.config.stash.get(_REPORTS, []):
        terminalreporter.write_sep("=", title)
        terminalreporter.write_line(text)


@pytest.fixture(scope="session")
def topology(docker_client: docker.DockerClient, run: Run, node_image: str,
             control_key: ControlKey, report: Callable[[str, str], None]) -> Iterator[Any]:
    """The default province → city → county topology, stood up once for the session.

    It is the session's own ephemeral run (never a demo's), configured by the playbooks
    exactly as `sunlight up` does; its state and secrets are removed afterwards.
    """
    import shutil
    import time

    from sunlight.stack.access import DeploymentAccess
    from sunlight.stack.ansible import PlaybookFailed
    from sunlight.stack.topology import DEFAULT
    from sunlight.stack.up import up
    from topology_suite import Topology, memory_mib

    spec = DEFAULT.model_copy(update={"name": run.run_id})
    started = time.monotonic()
    first_failure = ""
    try:
        result = up(spec, lambda _m: None, client=docker_client, run=run, key=control_key)
    except PlaybookFailed as exc:
        # `sunlight up` converges when re-run, as an operator would; the first failure is
        # reported, never hidden.
        first_failure = str(exc)
        result = up(spec, lambda _m: None, client=docker_client, run=run, key=control_key)
    topo = Topology(result, DeploymentAccess(result.deployment, docker_client, control_key),
                    docker_client, run, time.monotonic() - started)
    if first_failure:
        topo.figures["first converge FAILED, re-run converged"] = first_failure
    try:
        yield topo
    finally:
        report("topology", topo.summary(memory_mib(docker_client, run.run_id)))
        shutil.rmtree(result.deployment.secrets_dir, ignore_errors=True)
        result.deployment.forget()
