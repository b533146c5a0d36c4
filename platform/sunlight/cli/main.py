"""The ``sunlight`` command.

Example::

    $ sunlight images build          # build the node image unless it is current
    $ sunlight doctor                # check the engine, the image, capabilities, disk
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

import sunlight
from sunlight.cli import deployment, exchange, load, onhost

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)

app = typer.Typer(
    name="sunlight",
    help="Deploy and verify the Sunlight power-operation platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
images_app = typer.Typer(help="Build and inspect the node image.", no_args_is_help=True)
engine_app = typer.Typer(help="The local Docker engine.", no_args_is_help=True)
hosts_app = typer.Typer(help="Boot, list and remove VM-like hosts.", no_args_is_help=True)
app.add_typer(images_app, name="images")
app.add_typer(engine_app, name="engine")
app.add_typer(hosts_app, name="hosts")
onhost.register(app)
deployment.register(app)
exchange.register(app)
load.register(app)


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"sunlight {sunlight.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Deploy and verify the Sunlight power-operation platform."""


def _progress(message: str) -> None:
    first = message.splitlines()[0] if message else ""
    console.print(f"[dim]•[/dim] {escape(first)}", overflow="ellipsis", no_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error for a person and return the exit to raise."""
    err_console.print(f"[bold red]error:[/bold red] {message}")
    return typer.Exit(code)


@engine_app.command("ensure")
def engine_ensure() -> None:
    """Raise the host's inotify limits and use the running Docker engine, or install and start
    Debian's (root on Debian only). Every change is recorded for `scripts/reset-host`."""
    from sunlight.control.engine import EngineError, ensure_engine, raise_host_limits

    for problem in raise_host_limits(_progress):
        _progress(f"warning: {problem}")
    try:
        ensure_engine(_progress)
    except EngineError as exc:
        raise fail(str(exc)) from exc


@images_app.command("build")
def images_build(
    force: bool = typer.Option(False, "--force", help="Rebuild even when the image is current."),
) -> None:
    """Build the node image, tagged with the hash of its source inputs."""
    from sunlight.control.images.build import ImageBuildError, build_node_image

    try:
        result = build_node_image(_progress, force=force, client=_docker_client())
    except ImageBuildError as exc:
        raise fail(str(exc)) from exc
    verb = "built" if result.built else "current"
    console.print(
        f"[bold green]{result.image}[/bold green] {verb}; "
        f"size {result.size_bytes / 2**20:.0f} MiB; {result.seconds:.0f} s"
    )


@images_app.command("tag")
def images_tag() -> None:
    """Print the image reference the current sources build to."""
    from sunlight.control.images.build import expected_image

    console.print(expected_image())


@app.command("doctor")
def doctor() -> None:
    """Check the engine, the node image, host capabilities and free disk."""
    from rich.table import Table

    from sunlight.control.doctor import Status, healthy, run_checks

    checks = run_checks()
    table = Table(title="sunlight doctor", show_lines=False)
    for col in ("check", "status", "found", "remedy"):
        table.add_column(col)
    colour = {Status.OK: "green", Status.FAIL: "red", Status.SKIP: "yellow"}
    for c in checks:
        table.add_row(c.name, f"[{colour[c.status]}]{c.status.value}[/]", escape(c.detail),
                      escape(c.remedy if c.status is not Status.OK else ""))
    console.print(table)
    if not healthy(checks):
        raise fail("doctor found problems; apply the remedies above")


@hosts_app.command("boot")
def hosts_boot(
    name: str = typer.Argument("node1", help="Host name within the run."),
    run_id: str = typer.Option("demo", "--run", help="Persistent run id the host belongs to."),
) -> None:
    """Boot one host from the node image on its own network and check it over SSH."""
    from rich.table import Table

    from sunlight.control.hosts import HostError
    from sunlight.control.resources import validate_run_id
    from sunlight.control.standalone import boot_standalone

    try:
        validate_run_id(run_id)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--run") from exc
    try:
        booted = boot_standalone(run_id, name, _progress, client=_docker_client())
    except HostError as exc:
        raise fail(str(exc)) from exc
    table = Table(title=f"host {booted.report.host} ({booted.report.ip})")
    for col in ("check", "ok", "found"):
        table.add_column(col)
    for check, ok, detail in booted.report.findings:
        table.add_row(check, "[green]yes[/]" if ok else "[red]no[/]", escape(detail))
    console.print(table)
    if not booted.report.healthy:
        raise fail(f"host {booted.report.host} is not healthy (see the table above)")
    console.print(f"[bold green]Healthy.[/] Log in:  {booted.ssh_command}")
    console.print(f"Remove it:  sunlight hosts remove --run {run_id}")


@hosts_app.command("list")
def hosts_list() -> None:
    """List Sunlight containers on this engine, with their run and lifetime."""
    from rich.table import Table

    from sunlight.control.resources import LABEL_LIFETIME, LABEL_PROJECT, LABEL_RUN_ID, PROJECT

    client = _docker_client()
    table = Table(title="Sunlight hosts")
    for col in ("name", "run", "lifetime", "status", "image"):
        table.add_column(col)
    for c in client.containers.list(all=True, filters={"label": f"{LABEL_PROJECT}={PROJECT}"}):
        table.add_row(c.name, c.labels.get(LABEL_RUN_ID, "?"), c.labels.get(LABEL_LIFETIME, "?"),
                      c.status, ", ".join(c.image.tags[:1]))
    console.print(table)


@hosts_app.command("remove")
def hosts_remove(
    run_id: str = typer.Option(..., "--run", help="Run whose resources to remove."),
) -> None:
    """Remove a run's hosts, networks and volumes (and those of dead ephemeral runs)."""
    from sunlight.control.resources import sweep, validate_run_id

    try:
        validate_run_id(run_id)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--run") from exc
    report = sweep(_docker_client(), run_id, _progress)
    console.print(f"Removed {report.total} resources.")


def _docker_client() -> Any:
    import docker
    import docker.errors

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise fail(
            f"no Docker engine answers ({exc}); run `sunlight engine ensure` (root on Debian) "
            "or start your engine"
        ) from exc
    return client


def main() -> None:
    """Entry point of the ``sunlight`` console script."""
    app(prog_name="sunlight")


if __name__ == "__main__":  # pragma: no cover
    main()
