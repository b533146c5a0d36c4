"""``sunlight up|status|down|node add``: a whole deployment on the local engine.

Example::

    $ sunlight up                        # 320000 → 320700 → 320703, compact
    $ sunlight up --topology my.yaml     # another topology
    $ sunlight node add 320706 --parent 320700
    $ sunlight status
    $ sunlight verify
    $ sunlight down
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)
node_app = typer.Typer(help="Grow a deployment.", no_args_is_help=True)

NAME = typer.Option(None, "--name", help="Deployment name (default: the topology's, 'demo').")


def _say(message: str) -> None:
    console.print(f"[dim]•[/dim] {escape(message)}", overflow="ellipsis", no_wrap=True)


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(1)


def _client() -> Any:
    import docker
    import docker.errors

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise _fail(f"no Docker engine answers ({exc}); run `make setup`") from exc
    return client


def _stand_up(spec: Any, configure: bool, playbook: str = "site.yml",
              extra_args: tuple[str, ...] = ()) -> None:
    from sunlight.control.stack.ansible import PlaybookFailed
    from sunlight.control.stack.report import print_up
    from sunlight.control.stack.up import StackError, up

    try:
        result = up(spec, _say, configure=configure, playbook=playbook, extra_args=extra_args,
                    client=_client())
    except (StackError, PlaybookFailed) as exc:
        raise _fail(str(exc)) from exc
    print_up(console, result)


def up_cmd(
    topology: Path = typer.Option(None, "--topology", exists=True, dir_okay=False,
                                  help="Topology YAML (default: 320000 → 320700 → 320703)."),
    configure: bool = typer.Option(True, "--configure/--no-configure",
                                   help="Run the playbooks after realizing."),
) -> None:
    """Stand up (or converge) a deployment: backbone, sites, playbooks, readiness."""
    from sunlight.control.stack.topology import TopologyError, load_topology

    try:
        spec = load_topology(topology)
    except TopologyError as exc:
        raise _fail(str(exc)) from exc
    _stand_up(spec, configure)


def status_cmd(name: str = typer.Option("demo", "--name", help="Deployment name.")) -> None:
    """Each site's hosts, their state and whether the applications answer."""
    from sunlight.control.stack.status import answers, core_url, host_rows

    rows = host_rows(_client(), name)
    if not rows:
        raise _fail(f"deployment {name} has no hosts on this engine (`sunlight up`?)")
    table = Table(title=f"deployment {name}")
    for col in ("site", "host", "roles", "state", "app"):
        table.add_column(col)
    for row in rows:
        app = ""
        if url := core_url(row):
            app = f"core {answers(url + '/readyz')}"
        elif row.portal_port:
            app = f"portal https://127.0.0.1:{row.portal_port}/"
        table.add_row(row.site, row.host, row.roles, row.state, app)
    console.print(table)


def verify_cmd(name: str = typer.Option("demo", "--name", help="Deployment name.")) -> None:
    """Read-only checks of a running deployment: verify.yml on every host, then each core."""
    from sunlight.control.stack.ansible import PlaybookFailed, run_playbook
    from sunlight.control.stack.deployment import Deployment
    from sunlight.control.stack.status import answers, core_url, host_rows

    dep = Deployment(name)
    if not dep.hosts_file.is_file():
        raise _fail(f"deployment {name} has no inventory: run `sunlight up` first")
    try:
        result = run_playbook("verify.yml", dep.hosts_file, dep.log("verify"), progress=_say)
    except PlaybookFailed as exc:
        raise _fail(str(exc)) from exc
    if result.total_changed:
        raise _fail(f"verify.yml changed {result.total_changed} things: it must be read-only "
                    f"(log {result.log})")
    cores = [(row.site, answers(url + "/readyz")) for row in host_rows(_client(), name)
             if (url := core_url(row))]
    bad = [f"{site}: {state}" for site, state in cores if state != "ready"]
    if bad or not cores:
        raise _fail("core not ready: " + ("; ".join(bad) or "no core host found"))
    console.print(f"[bold green]verified[/] {len(cores)} sites "
                  f"(verify.yml {result.seconds:.0f} s, log {result.log})")


def down_cmd(name: str = typer.Option("demo", "--name", help="Deployment name."),
             yes: bool = typer.Option(False, "--yes", help="Do not ask.")) -> None:
    """Remove a deployment's hosts, networks and volumes (its secrets are kept)."""
    from sunlight.control.stack.up import down

    if not yes and not typer.confirm(f"Remove deployment {name} and its data volumes?"):
        raise typer.Exit(1)
    down(name, _say, client=_client())


@node_app.command("add")
def node_add(code: str = typer.Argument(..., help="Division code of the new site."),
             parent: str = typer.Option(..., "--parent", help="Its parent's division code."),
             name: str = typer.Option("demo", "--name", help="Deployment name."),
             profile: str = typer.Option(None, "--profile", help="compact or standard.")) -> None:
    """Realize a new site under PARENT and configure it (add-node.yml)."""
    from pydantic import ValidationError

    from sunlight.control.stack.deployment import Deployment

    spec = Deployment(name).topology()
    if spec is None:
        raise _fail(f"deployment {name} is not up: run `sunlight up` first")
    if any(s.code == code for s in spec.sites):
        raise _fail(f"site {code} is already in deployment {name}")
    try:
        grown = spec.with_site(code, parent, profile)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise _fail(f"site {code}: {exc.errors()[0]['msg']}") from exc
    _stand_up(grown, configure=True, playbook="add-node.yml",
              extra_args=("-e", f"new_site={code}"))


def scenario_cmd(name: str = typer.Option("demo", "--name", help="Deployment name."),
                 county: str = typer.Option("320703", "--county",
                                            help="The county where the citizen applies.")) -> None:
    """Walk one case through the stack: county portal → staff → result → city → province."""
    from sunlight.control.stack.access import AccessError, DeploymentAccess
    from sunlight.control.stack.deployment import Deployment
    from sunlight.control.stack.scenario import ScenarioError, run_scenario

    try:
        run_scenario(DeploymentAccess(Deployment(name), _client()), county,
                     say=lambda m: console.print(f"[green]✓[/] {escape(m)}"))
    except (AccessError, ScenarioError) as exc:
        raise _fail(str(exc)) from exc


def register(app: typer.Typer) -> None:
    app.command("scenario")(scenario_cmd)
    app.command("up")(up_cmd)
    app.command("status")(status_cmd)
    app.command("verify")(verify_cmd)
    app.command("down")(down_cmd)
    app.add_typer(node_app, name="node")
