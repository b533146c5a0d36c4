"""The image is never rebuilt for unchanged sources; runs clean up only what is theirs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import docker
import docker.errors
import pytest
from typer.testing import CliRunner

from sunlight.cli.main import app
from sunlight.control.hosts import HostSpec, NetworkAttachment, start_host, wait_ready
from sunlight.control.images.build import BuildResult, build_node_image
from sunlight.control.resources import LABEL_OWNER, Run, create_network, leftovers, sweep
from sunlight.control.ssh import ControlKey


def test_second_build_does_not_rebuild_and_says_so(image_build: BuildResult) -> None:
    messages: list[str] = []
    again = build_node_image(progress=messages.append)
    assert again.built is False
    assert again.image == image_build.image
    assert any("not rebuilding" in m for m in messages)
    result = CliRunner().invoke(app, ["images", "build"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "not rebuilding" in result.output


def test_doctor_passes_on_this_machine(node_image: str) -> None:
    result = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "SYS_ADMIN and NET_ADMIN effective" in result.output


def test_teardown_leaves_nothing_of_its_run(docker_client: docker.DockerClient, node_image: str,
                                            control_key: ControlKey) -> None:
    run = Run.ephemeral("td")
    net = create_network(docker_client, run, "mgmt", internal=True)
    volume = docker_client.volumes.create(run.name("data"), labels=run.labels())
    host = start_host(docker_client, run, HostSpec(
        name="n1", image=node_image, networks=[NetworkAttachment(net.name)],
        authorized_key=control_key.public, volumes={volume.name: "/var/lib/sunlight-data"},
    ))
    wait_ready(host)
    # Same run, same name again (a re-run after a kill): replaced, no name conflict.
    host = start_host(docker_client, run, HostSpec(
        name="n1", image=node_image, networks=[NetworkAttachment(net.name)],
        authorized_key=control_key.public, volumes={volume.name: "/var/lib/sunlight-data"},
    ))
    assert len(leftovers(docker_client, run.run_id)) == 3
    report = sweep(docker_client, run.run_id)
    assert report.total == 3
    assert leftovers(docker_client, run.run_id) == []


@pytest.fixture
def foreign_runs(docker_client: docker.DockerClient) -> Iterator[tuple[Run, Run, Run]]:
    """Networks of three other runs: a dead one, a live one, and a persistent demo."""
    dead = Run(run_id=Run.ephemeral("dead").run_id, owner="gone-boot:1:1")
    live = Run.ephemeral("live")
    demo = Run.named(Run.ephemeral("demo").run_id)
    made = {r.run_id: create_network(docker_client, r, "net", internal=True)
            for r in (dead, live, demo)}
    yield dead, live, demo
    for net in made.values():
        with contextlib.suppress(docker.errors.NotFound):
            net.remove()


def test_sweep_removes_dead_runs_and_nothing_else(
        docker_client: docker.DockerClient, foreign_runs: tuple[Run, Run, Run]) -> None:
    dead, live, demo = foreign_runs
    assert dead.labels()[LABEL_OWNER] == "gone-boot:1:1"
    mine = Run.ephemeral("me")
    sweep(docker_client, mine.run_id)
    assert leftovers(docker_client, dead.run_id) == []
    assert leftovers(docker_client, live.run_id) == [f"network {live.name('net')}"]
    assert leftovers(docker_client, demo.run_id) == [f"network {demo.name('net')}"]
