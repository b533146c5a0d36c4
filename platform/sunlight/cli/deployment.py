"""``sunlight up|status|verify|scenario|down|node add``: a whole deployment.

``up``, ``node add`` and ``down`` create and remove hosts on the local engine (the realizer);
``up``'s configuration step, ``status``, ``verify`` and ``scenario`` then work from the
deployment's inventory and pinned host keys alone (docs/inventory.md).

Example::

    $ sunlight up                        # 320000 → 320700 → 320703, compact
    $ sunlight up --topology my.yaml     # another topology
    $ sunlight node add 320706 --parent 320700
    $ sunlight status
    $ sunlight status --json             # the same rows as JSON
    $ sunlight verify
    $ sunlight down
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from sunlight.cli.common import (
    JSON_OPTION,
    PANEL_DEPLOYMENT,
    ExitCode,
    console,
    docker_client,
    fail,
    print_json,
    progress,
    progress_printer,
)

node_app = typer.Typer(help="Grow a deployment.", no_args_is_help=True)

NAME = typer.Option(None, "--name", help="Deployment name (default: the topology's, 'demo').")

def up_document(result: Any) -> dict[str, Any]:
    """What ``up --json`` and ``node add --json`` print: the table and the paths of ``up``."""
    from sunlight.control.deploy.secrets import ca_paths

    dep = result.deployment
    return {
        "deployment": dep.name,
        "sites": [{"site": site.config.division_code, "tier": site.config.tier.value,
                   "profile": site.config.profile.value,
                   "portal": (f"https://127.0.0.1:{site.portal_port}/" if site.portal_port
                              else None),
                   "hosts": sorted(site.hosts)} for site in result.sites],
        "stages": dict(result.stages),
        "playbook_log": str(result.playbook.log) if result.playbook else None,
        "secrets": str(dep.secrets_dir),
        "ca": str(ca_paths(dep.secrets_dir)[1]),
        "inventory": str(dep.hosts_file),
    }


def _stand_up(spec: Any, configure: bool, as_json: bool, playbook: str = "site.yml",
              extra_args: tuple[str, ...] = ()) -> None:
    from sunlight.control.deploy.inventory_view import InventoryError
    from sunlight.control.realizer.plan import RealizerError
    from sunlight.control.stack.ansible import PlaybookFailed
    from sunlight.control.stack.report import print_up
    from sunlight.control.stack.up import StackError, up

    try:
        result = up(spec, progress_printer(as_json), configure=configure, playbook=playbook,
                    extra_args=extra_args, client=docker_client())
    except (StackError, RealizerError, PlaybookFailed, InventoryError) as exc:
        raise fail(str(exc)) from exc
    if as_json:
        print_json(up_document(result))
    else:
        print_up(console, result)


def up_cmd(
    topology: Path = typer.Option(None, "--topology", exists=True, dir_okay=False,
                                  help="Topology YAML (default: 320000 → 320700 → 320703)."),
    configure: bool = typer.Option(True, "--configure/--no-configure",
                                   help="Run the playbooks after realizing."),
    hosts: Path = typer.Option(None, "--hosts", exists=True, dir_okay=False,
                               help="Configure existing machines of a hosts file instead "
                                    "(docs/hosts-file.md)."),
    known_hosts: Path = typer.Option(None, "--known-hosts", exists=True, dir_okay=False,
                                     help="With --hosts: pin new hosts' keys from this file."),
    yes: bool = typer.Option(False, "--yes", help="With --hosts: do not ask before "
                             "configuring (fingerprints are still confirmed)."),
    configure_only: bool = typer.Option(
        False, "--configure-only",
        help="Only run the playbooks against the deployment's existing inventory (written by "
             "an earlier `up` or by `sunlight inventory from-pulumi`); nothing is realized."),
    name: str = NAME,
    as_json: bool = JSON_OPTION,
) -> None:
    """Stand up (or converge) a deployment: backbone, sites, playbooks, readiness.

    --json: {"deployment", "sites": [{"site", "tier", "profile", "portal" (URL or null),
    "hosts" (list of names)}], "stages": {stage: seconds}, "playbook_log" (or null), "secrets",
    "ca", "inventory"}; progress goes to stderr. With --hosts: validate, pin host keys,
    prechecks, then the playbooks (`sunlight.cli.byoh`; its --json adds "configured",
    "host_keys", "prechecks" and has "playbook_logs"). With --configure-only: {"deployment",
    "stages", "playbook_log", "secrets", "ca", "inventory"}.
    """
    from sunlight.control.stack.topology import TopologyError, TopologySpec, load_topology

    if hosts is not None:
        if topology is not None:
            raise fail("give --topology or --hosts, not both", ExitCode.USAGE)
        from sunlight.cli.byoh import up_from_hosts

        up_from_hosts(hosts, known_hosts, yes, configure, as_json)
        return

    try:
        spec = load_topology(topology)
        if name:
            spec = TopologySpec(name=name, profile=spec.profile, sites=spec.sites)
    except (TopologyError, ValueError) as exc:
        raise fail(str(exc), ExitCode.USAGE) from exc
    if configure_only:
        _configure_only(spec.name, as_json)
    else:
        _stand_up(spec, configure, as_json)


def _configure_only(name: str, as_json: bool) -> None:
    from sunlight.control.deploy.secrets import ca_paths
    from sunlight.control.stack.ansible import PlaybookFailed
    from sunlight.control.stack.deployment import Deployment
    from sunlight.control.stack.up import StackError, configure

    dep = Deployment(name)
    try:
        result = configure(name, progress_printer(as_json))
    except StackError as exc:
        raise fail(str(exc), ExitCode.ENVIRONMENT) from exc
    except PlaybookFailed as exc:
        raise fail(str(exc)) from exc
    if as_json:
        print_json({"deployment": name, "stages": {"configure": result.seconds},
                    "playbook_log": str(result.log), "secrets": str(dep.secrets_dir),
                    "ca": str(ca_paths(dep.secrets_dir)[1]), "inventory": str(dep.hosts_file)})
        return
    console.print(f"[bold green]configured[/] deployment {escape(name)} "
                  f"({result.seconds:.0f} s, log {result.log})")


def _access(name: str) -> Any:
    """The deployment's inventory and pinned host keys (a missing one: exit 3)."""
    from sunlight.control.stack.access import AccessError, DeploymentAccess
    from sunlight.control.stack.deployment import Deployment

    try:
        return DeploymentAccess(Deployment(name))
    except AccessError as exc:
        raise fail(str(exc), ExitCode.ENVIRONMENT) from exc


def status_document(name: str, rows: list[Any], verify: Any) -> dict[str, Any]:
    """What ``status --json`` prints; asks each core's /readyz."""
    from sunlight.control.stack.status import answers

    hosts = []
    for row in rows:
        hosts.append({
            "site": row.site, "host": row.host, "roles": list(row.roles), "state": row.state,
            "addresses": dict(row.addresses),
            "core": ({"url": row.core_url, "readiness": answers(row.core_url + "/readyz", verify)}
                     if row.core_url else None),
            "portal": f"{row.public_url}/" if row.public_url else None,
        })
    return {"deployment": name, "hosts": hosts}


def status_cmd(name: str = typer.Option("demo", "--name", help="Deployment name."),
               as_json: bool = JSON_OPTION) -> None:
    """Each site's hosts, from the inventory: their services (asked over SSH with the pinned
    host keys) and whether the applications answer.

    --json: {"deployment", "hosts": [{"site", "host", "roles": [..], "state" ("active",
    "inactive: unit=state, ..." or "unreachable (why)"), "addresses": {network: ip},
    "core": {"url", "readiness" ("ready", "not ready (503)", "no answer (...)")} or null,
    "portal" (URL or null)}]}.
    """
    from sunlight.control.stack.status import core_verify, host_rows

    access = _access(name)
    rows = host_rows(access)
    doc = status_document(name, rows, core_verify(access.inventory.secrets_dir))
    if as_json:
        print_json(doc)
        return
    from rich.table import Table

    table = Table(title=f"deployment {name}")
    for col in ("site", "host", "roles", "state", "app"):
        table.add_column(col)
    for row, host in zip(rows, doc["hosts"], strict=True):
        app = ""
        if host["core"]:
            app = f"core {host['core']['readiness']}"
        elif host["portal"]:
            app = f"portal {host['portal']}"
        table.add_row(row.site, row.host, ",".join(row.roles), escape(row.state), escape(app))
    console.print(table)


def verify_cmd(name: str = typer.Option("demo", "--name", help="Deployment name.")) -> None:
    """Read-only checks of a running deployment, from its inventory: verify.yml on every
    host, then each core's readiness."""
    from sunlight.control.deploy.inventory_view import InventoryError
    from sunlight.control.stack.ansible import PlaybookFailed
    from sunlight.control.stack.configure import configure
    from sunlight.control.stack.status import core_readiness

    access = _access(name)
    try:
        result = configure(access.dep, "verify.yml", progress)
    except InventoryError as exc:
        raise fail(str(exc), ExitCode.ENVIRONMENT) from exc
    except PlaybookFailed as exc:
        raise fail(str(exc)) from exc
    if result.total_changed:
        raise fail(f"verify.yml changed {result.total_changed} things: it must be read-only "
                   f"(log {result.log})")
    cores = core_readiness(access)
    bad = [f"{site}: {state}" for site, _url, state in cores if state != "ready"]
    if bad or not cores:
        raise fail("core not ready: " + ("; ".join(bad) or "no core host in the inventory"))
    console.print(f"[bold green]verified[/] {len(cores)} sites "
                  f"(verify.yml {result.seconds:.0f} s, log {result.log})")


def down_cmd(name: str = typer.Option("demo", "--name", help="Deployment name."),
             yes: bool = typer.Option(False, "--yes", help="Do not ask.")) -> None:
    """Remove a deployment's hosts, networks and volumes (its secrets are kept)."""
    from sunlight.control.realizer.plan import RealizerError
    from sunlight.control.stack.up import down

    if not yes and not typer.confirm(f"Remove deployment {name} and its data volumes?"):
        raise typer.Exit(ExitCode.FAILED)
    try:
        down(name, progress, client=docker_client())
    except RealizerError as exc:  # an engine of the deployment does not answer
        raise fail(f"{exc}; then `sunlight down --name {name}` again",
                   ExitCode.ENVIRONMENT) from exc


@node_app.command("add")
def node_add(code: str = typer.Argument(..., help="Division code of the new site."),
             parent: str = typer.Option(..., "--parent", help="Its parent's division code."),
             name: str = typer.Option("demo", "--name", help="Deployment name."),
             profile: str = typer.Option(None, "--profile", help="compact or standard."),
             as_json: bool = JSON_OPTION) -> None:
    """Realize a new site under PARENT and configure it (add-node.yml).

    --json: as `sunlight up --json`; progress goes to stderr.
    """
    from pydantic import ValidationError

    from sunlight.control.stack.deployment import Deployment

    spec = Deployment(name).topology()
    if spec is None:
        raise fail(f"deployment {name} is not up: run `sunlight up` first",
                   ExitCode.ENVIRONMENT)
    if any(s.code == code for s in spec.sites):
        raise fail(f"site {code} is already in deployment {name}", ExitCode.USAGE)
    try:
        grown = spec.with_site(code, parent, profile)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise fail(f"site {code}: {exc.errors()[0]['msg']}", ExitCode.USAGE) from exc
    _stand_up(grown, configure=True, as_json=as_json, playbook="add-node.yml",
              extra_args=("-e", f"new_site={code}"))


def scenario_cmd(name: str = typer.Option("demo", "--name", help="Deployment name."),
                 county: str = typer.Option("320703", "--county",
                                            help="The county where the citizen applies.")) -> None:
    """Walk one case through the stack: county portal → staff → result → city → province."""
    from sunlight.control.stack.access import AccessError
    from sunlight.control.stack.scenario import ScenarioError, run_scenario

    access = _access(name)
    try:
        run_scenario(access, county, say=lambda m: console.print(f"[green]✓[/] {escape(m)}"))
    except AccessError as exc:
        raise fail(str(exc), ExitCode.ENVIRONMENT) from exc
    except ScenarioError as exc:
        raise fail(str(exc)) from exc


def register(app: typer.Typer) -> None:
    """Add the deployment commands to ``app``, in the Deployment panel."""
    for name, command in (("up", up_cmd), ("status", status_cmd), ("verify", verify_cmd),
                          ("scenario", scenario_cmd), ("down", down_cmd)):
        app.command(name, rich_help_panel=PANEL_DEPLOYMENT)(command)
    app.add_typer(node_app, name="node", rich_help_panel=PANEL_DEPLOYMENT)
