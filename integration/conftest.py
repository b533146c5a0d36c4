"""Docker-backed fixtures: the engine, the node image, and a run that cleans up after itself.

Each session owns an ephemeral run id; everything it creates carries it, and teardown
asserts that nothing of it is left. Resources of other runs (a demo left up) are never
touched; those of runs whose owner process died are swept at the start.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

import transients
from sunlight.control.images.build import BuildResult, build_node_image
from sunlight.control.resources import Run, leftovers, sweep
from sunlight.control.ssh import ControlKey
from sunlight.paths import repo_root

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


def second_engine() -> docker.DockerClient | None:
    """The second engine's client (``sunlight engine second up``, a stage of `make test`),
    or None when it does not run."""
    from sunlight.control.engine import second_running
    from sunlight.control.realizer.engines import connect
    from sunlight.control.stack.topology import DEFAULT
    from sunlight.topology.engines import SECOND

    return connect(DEFAULT.engine(SECOND)) if second_running() else None


@pytest.fixture(scope="session")
def second_engine_client() -> docker.DockerClient:
    """The second engine, where the shared topology's county runs (and which the TLS
    ``tcp://`` test reaches through its listener); the session fails if it does not answer."""
    client = second_engine()
    if client is None:
        pytest.fail("the second engine does not answer: run `sunlight engine second up` as "
                    "root (a stage of `make test`; `make integration` runs it too)",
                    pytrace=False)
    return client


@pytest.fixture(scope="session")
def run(docker_client: docker.DockerClient) -> Iterator[Run]:
    """The session's run, swept on each engine before and after (the shared topology's
    county runs on the second engine, whose nftables table then forgets its bridges)."""
    from sunlight.control import enginetable

    run = Run.ephemeral("it")
    for client in filter(None, (docker_client, second_engine())):
        sweep(client, run.run_id)  # also clears what killed sessions left behind
    yield run
    left = []
    for client in filter(None, (docker_client, second_engine())):
        sweep(client, run.run_id)
        left += leftovers(client, run.run_id)
        if client is not docker_client:
            enginetable.sync(client)
    assert not left, f"teardown left resources of run {run.run_id}: {left}"


@pytest.fixture(scope="session")
def control_key(tmp_path_factory: pytest.TempPathFactory) -> ControlKey:
    """A key pair made for this session only: no test depends on a user's own key."""
    return ControlKey.load_or_create(Path(tmp_path_factory.mktemp("ssh")) / "control_ed25519")


# Shared stand-ups (session fixtures) that are torn down right after the last test that
# uses them, rather than at the end of the session: the three brokers of the exchange
# modules would otherwise idle through the whole topology suite on 2 cores.
_EARLY: dict[str, Callable[[], None]] = {}  # fixture name -> its teardown
_LAST_USER = pytest.StashKey[dict[str, str]]()  # fixture name -> node id of its last user


def _freed_after_last_use(name: str, stand_up: Iterator[Any]) -> Iterator[Any]:
    """Yield what ``stand_up`` yields; tear it down after its last user (or at the end)."""
    value = next(stand_up)
    _EARLY[name] = stand_up.close  # runs the stand-up's own ``finally``
    try:
        yield value
    finally:
        _EARLY.pop(name, lambda: None)()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    last = config.stash.setdefault(_LAST_USER, {})
    for item in items:  # in run order: the last one wins
        for name in getattr(item, "fixturenames", ()):
            last[name] = item.nodeid


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    for name, nodeid in item.config.stash.get(_LAST_USER, {}).items():
        if nodeid == item.nodeid and name in _EARLY:
            _EARLY.pop(name)()


@pytest.fixture(scope="session")
def platform(node_image: str, run: Run, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One site's platform on real PostgreSQL (``platform_site.start_site``), shared by the
    test_platform_* modules in their numbered order: input, round trip, then the fuzzer,
    whose random writes come last. Each test uses receipts of its own."""
    from platform_site import start_site

    yield from _freed_after_last_use("platform", start_site(
        node_image, run, Path(tmp_path_factory.mktemp("platform"))))


@pytest.fixture(scope="session")
def tiers(node_image: str, run: Run, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The three-broker chain 320000 → 320700 → 320703 (``exchange_sites.start_tiers``):
    real cores on the control node, one broker per site, shovels across a backbone; shared
    by the test_exchange* modules. The gap alert is 3 s and statistics go up every 2 s."""
    from exchange_sites import GAP_ALERT_S, start_tiers

    yield from _freed_after_last_use("tiers", start_tiers(
        node_image, run, Path(tmp_path_factory.mktemp("tiers")), env={
            "SUNLIGHT_EXCHANGE_GAP_ALERT_S": str(GAP_ALERT_S),
            "SUNLIGHT_EXCHANGE_STATS_INTERVAL_S": "2"}))


_REPORTS = pytest.StashKey[list[tuple[str, str]]]()


@pytest.fixture(scope="session")
def report(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """Add a titled section to the end of the run's output (shown by `make test`)."""
    sections = request.config.stash.setdefault(_REPORTS, [])

    def add(title: str, text: str) -> None:
        sections.append((title, text))
    return add


_MODULE_TIMES = pytest.StashKey[dict[str, list[float]]]()  # module -> [first start, last end]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Wall time per module, from its first test's set-up to its last test's teardown (a
    session fixture such as the topology counts in the module that first needs it)."""
    start = time.monotonic()
    yield
    spans = item.config.stash.setdefault(_MODULE_TIMES, {})
    span = spans.setdefault(item.nodeid.split("::")[0], [start, start])
    span[1] = time.monotonic()


def _module_times(config: pytest.Config) -> str:
    spans = config.stash.get(_MODULE_TIMES, {})
    width = max((len(m) for m in spans), default=0)
    lines = [f"{module:<{width}}  {end - start:7.1f} s" for module, (start, end) in spans.items()]
    lines.append(f"{'all modules':<{width}}  {sum(e - s for s, e in spans.values()):7.1f} s")
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for title, text in terminalreporter.config.stash.get(_REPORTS, []):
        terminalreporter.write_sep("=", title)
        terminalreporter.write_line(text)
    terminalreporter.write_sep("=", "retries (integration/transients.py)")
    terminalreporter.write_line(transients.summary())
    times = _module_times(terminalreporter.config)
    terminalreporter.write_sep("=", "time per integration module")
    terminalreporter.write_line(times)
    build = repo_root() / "build"
    build.mkdir(exist_ok=True)
    (build / "integration-module-times.txt").write_text(times + "\n")


@pytest.fixture(scope="session")
def topology(docker_client: docker.DockerClient, second_engine_client: docker.DockerClient,
             run: Run, node_image: str, control_key: ControlKey,
             report: Callable[[str, str], None],
             request: pytest.FixtureRequest) -> Iterator[Any]:
    """The default province → city → county topology, stood up once for the session.

    It is the session's own ephemeral run (never a demo's), configured by the playbooks
    exactly as `sunlight up` does; its state and secrets are removed afterwards, its
    playbook logs kept in build/topology-logs/<run>/. When the session includes the
    growth module, its bundle is made in the background meanwhile.
    """
    import shutil

    from sunlight.control.realizer.engines import Engines, connect
    from sunlight.control.stack.access import DeploymentAccess
    from sunlight.control.stack.ansible import PlaybookFailed
    from sunlight.control.stack.topology import DEFAULT
    from sunlight.control.stack.up import up
    from sunlight.topology.engines import SECOND
    from topology_suite import COUNTY, Topology, memory_mib, start_growth_bundle

    if any("test_topology_4_growth" in item.nodeid for item in request.session.items):
        start_growth_bundle()
    # Two engines, as two IT centres' machines: the county on the second one (docs/engines.md)
    spec = DEFAULT.on_engine(COUNTY, SECOND).model_copy(update={"name": run.run_id})
    started = time.monotonic()
    first_failure = ""
    try:
        result = up(spec, lambda _m: None, client=docker_client, run=run, key=control_key)
    except PlaybookFailed as exc:
        # `sunlight up` converges when re-run, as an operator would — but only a failure
        # listed as transient (with its reason) may be retried; anything else is a bug.
        log = exc.result.log.read_text(errors="replace") if exc.result else ""
        known = transients.transient(f"{exc}\n{log}")
        if known is None:
            pytest.fail(f"sunlight up failed on the first converge, and the failure is not a "
                        f"transient listed in integration/transients.py: {exc}", pytrace=False)
        first_failure = f"{known.name}: {exc}"
        transients.record("topology fixture: sunlight up re-run", first_failure)
        result = up(spec, lambda _m: None, client=docker_client, run=run, key=control_key)
    for host, task in result.playbook.retries if result.playbook else []:
        transients.record("ansible site.yml (topology)", f"{host}: {task}")
    engines = Engines(spec, connect, local=docker_client)
    topo = Topology(result, DeploymentAccess(result.deployment, control_key),
                    engines, run, time.monotonic() - started)
    if first_failure:
        topo.figures["first converge FAILED (listed transient), re-run converged"] = first_failure
    try:
        yield topo
    finally:
        report("topology", topo.summary(memory_mib(
            [engines.client(name) for name in engines.names], run.run_id)))
        logs = result.deployment.dir / "logs"
        if logs.is_dir():  # what an operator would read after a failure, kept past teardown
            shutil.copytree(logs, repo_root() / "build" / "topology-logs" / run.run_id,
                            dirs_exist_ok=True)
        shutil.rmtree(result.deployment.secrets_dir, ignore_errors=True)
        result.deployment.forget()
