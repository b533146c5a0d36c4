"""The ``sunlight`` command: the application, and the commands about this machine.

``sunlight --help`` shows the commands in four panels:

Deployment — a whole deployment on the local engine (:mod:`sunlight.cli.deployment`)
    ``up``, ``status``, ``verify``, ``scenario``, ``down``, ``node add``, ``keys list|rotate``,
    ``prechecks`` (:mod:`sunlight.cli.byoh`, with ``up --hosts``),
    ``inventory from-pulumi|control-key``
Operations — this machine, the control node (here)
    ``doctor``, ``engine ensure|second``, ``browser ensure``, ``images build|tag``,
    ``hosts boot|list|remove``, ``certs status|renew``, ``bundle create|install``
Load — load tests of a running deployment (:mod:`sunlight.cli.load`)
    ``load``
On host — run on a site's hosts with its ``SUNLIGHT_*`` settings (:mod:`sunlight.cli.onhost`,
:mod:`sunlight.cli.exchange`, :mod:`sunlight.cli.gateway`, :mod:`sunlight.cli.supervision`,
:mod:`sunlight.cli.enforcement`)
    ``serve``, ``migrate``, ``accounts add``, ``catalogue import|export``,
    ``cases mark-overdue``, ``audit verify``,
    ``exchange definitions|status|keygen|baseline publish|adopt|dead-letters list|replay``,
    ``gateway parked list|replay``, ``retention purge``,
    ``supervision rules check|import|export|publish``, ``supervision tick``,
    ``supervision orders list|issue|answer|accept|return|escalate``,
    ``supervision inspection draw|list|finding|summary``,
    ``enforcement officers import|list``, ``enforcement oversight``

``hosts`` is under Operations: its hosts are standalone ones for trying the node image, not
a deployment's. ``audit`` and ``exchange`` are under On host: they read core's settings
(database, port, keys) and the playbooks run ``exchange definitions`` on the broker's host
(``exchange keygen`` runs anywhere).

Exit codes (0 done, 1 failed, 2 bad usage or input, 3 something needed is missing), errors
and progress lines: :mod:`sunlight.cli.common`.

Commands with ``--json`` (one JSON document on stdout, nothing else there; the shape is in
each command's help): ``doctor``, ``hosts boot``, ``hosts list``, ``up``, ``node add``,
``status``, ``keys list``, ``prechecks``, ``exchange status``, ``exchange dead-letters list``,
``supervision rules check|import``,
``supervision orders list``, ``supervision inspection draw|list|summary``,
``enforcement officers import|list``, ``gateway parked list``.

Example::

    $ sunlight images build          # build the node image unless it is current
    $ sunlight doctor                # check the engine, the image, capabilities, disk
    $ sunlight doctor --json         # the same checks as JSON
"""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape

import sunlight
from sunlight.cli import (
    browser,
    bundle,
    byoh,
    certs,
    deployment,
    enforcement,
    exchange,
    gateway,
    inventory,
    keys,
    load,
    onhost,
    retention,
    supervision,
)
from sunlight.cli.common import (
    EXIT_CODES_HELP,
    JSON_OPTION,
    PANEL_OPERATIONS,
    ExitCode,
    console,
    docker_client,
    fail,
    print_json,
    progress,
    progress_printer,
)
from sunlight.cli.supervision_orders import inspection_app, orders_app

app = typer.Typer(
    name="sunlight",
    help="Deploy and verify the Sunlight power-operation platform.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
images_app = typer.Typer(help="Build and inspect the node image.", no_args_is_help=True)
engine_app = typer.Typer(help="The local Docker engine.", no_args_is_help=True)
hosts_app = typer.Typer(help="Boot, list and remove VM-like hosts.", no_args_is_help=True)


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


@engine_app.command("ensure")
def engine_ensure() -> None:
    """Raise the host's inotify limits and use the running Docker engine, or install and start
    Debian's (root on Debian only). Every change is recorded for `scripts/reset-host`."""
    from sunlight.control.engine import EngineError, ensure_engine, raise_host_limits

    for problem in raise_host_limits(progress):
        progress(f"warning: {problem}")
    try:
        ensure_engine(progress)
    except EngineError as exc:
        raise fail(str(exc)) from exc


@engine_app.command("second")
def engine_second(
    action: str = typer.Argument(..., help="up: start it (and its nftables table); down: "
                                 "stop it, remove its table and bridge."),
) -> None:
    """The second Docker engine on this machine, for topologies over several engines (root):
    its own dockerd, socket, data root and bridge, --iptables=false, isolated by Sunlight's
    nftables table (docs/engines.md)."""
    from sunlight.control.engine import EngineError, second_down, second_up
    from sunlight.control.enginetable import EngineTableError

    if action not in ("up", "down"):
        raise fail(f"engine second: {action!r} is not up or down", ExitCode.USAGE)
    try:
        (second_up if action == "up" else second_down)(progress)
    except (EngineError, EngineTableError) as exc:
        raise fail(str(exc)) from exc


@images_app.command("build")
def images_build(
    force: bool = typer.Option(False, "--force", help="Rebuild even when the image is current."),
) -> None:
    """Build the node image, tagged with the hash of its source inputs."""
    from sunlight.control.images.build import ImageBuildError, build_node_image

    try:
        result = build_node_image(progress, force=force, client=docker_client())
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


def doctor(as_json: bool = JSON_OPTION) -> None:
    """Check the engine, the node image, host capabilities and free disk.

    --json: {"healthy": bool, "checks": [{"name", "status" ("ok", "fail" or "not checked"),
    "detail", "remedy" ("" unless failed)}]}. Exit 1 when a check failed.
    """
    from sunlight.control.doctor import Status, healthy, run_checks

    checks = run_checks()
    rows = [{"name": c.name, "status": c.status.value, "detail": c.detail,
             "remedy": c.remedy if c.status is not Status.OK else ""} for c in checks]
    if as_json:
        print_json({"healthy": healthy(checks), "checks": rows})
    else:
        from rich.table import Table

        table = Table(title="sunlight doctor", show_lines=False)
        for col in ("check", "status", "found", "remedy"):
            table.add_column(col)
        colour = {Status.OK.value: "green", Status.FAIL.value: "red",
                  Status.SKIP.value: "yellow"}
        for row in rows:
            table.add_row(row["name"], f"[{colour[row['status']]}]{row['status']}[/]",
                          escape(row["detail"]), escape(row["remedy"]))
        console.print(table)
    if not healthy(checks):
        raise fail("doctor found problems; apply the remedies above")


def _run_id(run_id: str) -> str:
    from sunlight.control.resources import validate_run_id

    try:
        validate_run_id(run_id)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--run") from exc
    return run_id


@hosts_app.command("boot")
def hosts_boot(
    name: str = typer.Argument("node1", help="Host name within the run."),
    run_id: str = typer.Option("demo", "--run", help="Persistent run id the host belongs to."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Boot one host from the node image on its own network and check it over SSH.

    --json: {"host", "ip", "healthy": bool, "findings": [{"check", "ok": bool, "found"}],
    "ssh": the login command, "remove": the command that removes it}; progress goes to
    stderr. Exit 1 when the host is not healthy.
    """
    from sunlight.control.hosts import HostError
    from sunlight.control.standalone import boot_standalone

    _run_id(run_id)
    try:
        booted = boot_standalone(run_id, name, progress_printer(as_json), client=docker_client())
    except HostError as exc:
        raise fail(str(exc)) from exc
    report = booted.report
    remove = f"sunlight hosts remove --run {run_id}"
    findings: list[dict[str, Any]] = [{"check": check, "ok": bool(ok), "found": detail}
                                      for check, ok, detail in report.findings]
    if as_json:
        print_json({"host": report.host, "ip": report.ip, "healthy": bool(report.healthy),
                    "findings": findings, "ssh": booted.ssh_command, "remove": remove})
    else:
        from rich.table import Table

        table = Table(title=f"host {report.host} ({report.ip})")
        for col in ("check", "ok", "found"):
            table.add_column(col)
        for f in findings:
            table.add_row(f["check"], "[green]yes[/]" if f["ok"] else "[red]no[/]",
                          escape(f["found"]))
        console.print(table)
    if not report.healthy:
        where = "the findings" if as_json else "the table above"
        raise fail(f"host {report.host} is not healthy (see {where})")
    if not as_json:
        console.print(f"[bold green]Healthy.[/] Log in:  {booted.ssh_command}")
        console.print(f"Remove it:  {remove}")


@hosts_app.command("list")
def hosts_list(as_json: bool = JSON_OPTION) -> None:
    """List Sunlight containers on this engine, with their run and lifetime.

    An engine-level view (standalone hosts of `hosts boot`, and the hosts the realizer made);
    a deployment's hosts and their state are `sunlight status`, from its inventory.

    --json: {"hosts": [{"name", "run", "lifetime", "status", "image"}]} (run, lifetime and
    image null when unknown).
    """
    from sunlight.control.resources import LABEL_LIFETIME, LABEL_PROJECT, LABEL_RUN_ID, PROJECT

    client = docker_client()
    hosts: list[dict[str, Any]] = [{"name": c.name, "run": c.labels.get(LABEL_RUN_ID),
              "lifetime": c.labels.get(LABEL_LIFETIME), "status": c.status,
              "image": next(iter(c.image.tags), None)}
             for c in client.containers.list(all=True,
                                             filters={"label": f"{LABEL_PROJECT}={PROJECT}"})]
    if as_json:
        print_json({"hosts": hosts})
        return
    from rich.table import Table

    table = Table(title="Sunlight hosts")
    for col in ("name", "run", "lifetime", "status", "image"):
        table.add_column(col)
    for h in hosts:
        table.add_row(h["name"], h["run"] or "?", h["lifetime"] or "?", h["status"],
                      h["image"] or "")
    console.print(table)


@hosts_app.command("remove")
def hosts_remove(
    run_id: str = typer.Option(..., "--run", help="Run whose resources to remove."),
) -> None:
    """Remove a run's hosts, networks and volumes (and those of dead ephemeral runs)."""
    from sunlight.control.resources import sweep

    _run_id(run_id)
    report = sweep(docker_client(), run_id, progress)
    console.print(f"Removed {report.total} resources.")


def _register_operations(root: typer.Typer) -> None:
    root.command("doctor", rich_help_panel=PANEL_OPERATIONS)(doctor)
    root.add_typer(engine_app, name="engine", rich_help_panel=PANEL_OPERATIONS)
    browser.register(root)
    root.add_typer(images_app, name="images", rich_help_panel=PANEL_OPERATIONS)
    root.add_typer(hosts_app, name="hosts", rich_help_panel=PANEL_OPERATIONS)
    certs.register(root)
    bundle.register(root)


# The order of registration is the order of the panels and of the commands in them.
deployment.register(app)
inventory.register(app)
keys.register(app)
byoh.register(app)
_register_operations(app)
load.register(app)
onhost.register(app)
exchange.register(app)
gateway.register(app)
retention.register(app)
supervision.supervision_app.add_typer(orders_app, name="orders")
supervision.supervision_app.add_typer(inspection_app, name="inspection")
supervision.register(app)
enforcement.register(app)


def main() -> None:
    """Entry point of the ``sunlight`` console script."""
    app(prog_name="sunlight")


if __name__ == "__main__":  # pragma: no cover
    main()
