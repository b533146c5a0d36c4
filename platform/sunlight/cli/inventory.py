"""``sunlight inventory from-pulumi|control-key``: a deployment's inventory from ``pulumi up``.

For sites applied with the Pulumi CLI (``infra/README.md``, "Operators: from ``pulumi up``
to a configured site"): ``control-key`` prints the public key every stack's
``sunlight:control_public_key`` must be; ``from-pulumi`` turns the stacks' saved outputs
(``pulumi stack output --json --show-secrets``, one file per site) into the deployment's
``hosts.yml`` and ``known_hosts`` — the same files ``sunlight up`` writes — after which
``sunlight up --configure-only --name NAME`` runs the playbooks.

Example::

    $ pulumi config set sunlight:control_public_key "$(sunlight inventory control-key)"
    $ pulumi stack output --json --show-secrets > 320703.json
    $ sunlight inventory from-pulumi 320703.json --deployment prod
    $ sunlight up --configure-only --name prod
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
    fail,
    print_json,
    progress_printer,
)

inventory_app = typer.Typer(help="A deployment's Ansible inventory from `pulumi up` outputs.",
                            no_args_is_help=True)


def ssh_port() -> int:
    """The port the control node reaches sshd on (flows.yaml's ``ssh`` service)."""
    from sunlight.control.deploy.inventory import SSH_SERVICE
    from sunlight.topology.flows import load_flows

    return load_flows().port(SSH_SERVICE)


def _targets(stacks: list[Any], port: int) -> list[Any]:
    """Every host as SSH reaches it from the control node (its mgmt address), in order."""
    from sunlight.control.byoh.hostsfile import Target

    return [Target(s.code, hv["sunlight_host"], name, hv["ansible_host"], hv["ansible_user"],
                   port)
            for s in stacks for name, hv in sorted(s.hosts.items())]


@inventory_app.command("from-pulumi")
def from_pulumi(
    outputs: list[Path] = typer.Argument(
        ..., exists=True, dir_okay=False, metavar="STACK_OUTPUT.json...",
        help="Each site's `pulumi stack output --json --show-secrets`, one file per stack."),
    deployment: str = typer.Option(
        None, "--deployment",
        help="Deployment name (default: the stacks' sunlight:run_id, which they must share)."),
    known_hosts: Path = typer.Option(
        None, "--known-hosts", exists=True, dir_okay=False,
        help="Pin the Ed25519 keys the hosts present over SSH if this OpenSSH known_hosts "
             "file (one you trust) names the same, instead of asking you to confirm the "
             "fingerprints of those not pinned yet. A key that changed since it was pinned "
             "is refused."),
    key: Path = typer.Option(
        None, "--control-key", exists=True, dir_okay=False,
        help="The private key Ansible logs in with (default: the control node's, whose public "
             "half `sunlight inventory control-key` prints); its public half must be every "
             "stack's sunlight:control_public_key."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write the deployment's inventory (hosts.yml, known_hosts) from the sites' stack
    outputs, with every host key pinned; then `sunlight up --configure-only --name NAME`.

    --json: {"deployment", "sites" (codes), "hosts" (names), "inventory", "known_hosts"};
    progress goes to stderr (and the confirmation prompt: give --known-hosts to avoid it).
    """
    from sunlight.cli.byoh import host_key_confirmer
    from sunlight.control.byoh.hostkeys import HostKeyError, pin_host_keys
    from sunlight.control.deploy.from_pulumi import (
        StackOutputError,
        check_sites,
        deployment_of,
        public_urls,
        read_stack_outputs,
    )
    from sunlight.control.deploy.inventory import KNOWN_HOSTS_FILE, write_inventory_files
    from sunlight.control.resources import validate_run_id
    from sunlight.control.ssh import control_key
    from sunlight.control.stack.deployment import Deployment
    from sunlight.topology.flows import load_flows

    say = progress_printer(as_json)
    try:
        stacks = [read_stack_outputs(path) for path in outputs]
        check_sites(stacks)
        name = validate_run_id(deployment_of(stacks, deployment))
        urls = public_urls(stacks, load_flows())
    except (StackOutputError, ValueError) as exc:
        raise fail(str(exc), ExitCode.USAGE) from exc
    targets = _targets(stacks, ssh_port())
    dep = Deployment(name)
    say(f"collecting the host keys of {len(targets)} hosts over SSH")
    try:
        pins = pin_host_keys(targets, dep.inventory_dir / KNOWN_HOSTS_FILE,
                             confirm=host_key_confirmer(as_json), operator_file=known_hosts)
    except HostKeyError as exc:
        raise fail(str(exc)) from exc
    try:
        files = write_inventory_files(
            dep.inventory_dir, [s.inventory for s in stacks], pins.keys,
            control_key=key.resolve() if key else control_key().path, deployment=name,
            secrets_dir=dep.secrets_dir, public_urls=urls)
    except ValueError as exc:
        raise fail(str(exc), ExitCode.USAGE) from exc
    if as_json:
        print_json({"deployment": name, "sites": [s.code for s in stacks],
                    "hosts": [t.name for t in targets], "inventory": str(files.hosts),
                    "known_hosts": str(files.known_hosts)})
        return
    console.print(f"[bold green]inventory[/] of deployment {escape(name)}: "
                  f"{len(stacks)} sites, {len(targets)} hosts, keys pinned")
    console.print(f"  {escape(str(files.hosts))}\n  {escape(str(files.known_hosts))}")
    console.print(f"Configure:  sunlight up --configure-only --name {escape(name)}")


@inventory_app.command("control-key")
def control_key_cmd() -> None:
    """Print the control node's SSH public key (made on first use): every stack's
    sunlight:control_public_key."""
    from sunlight.control.ssh import control_key

    typer.echo(control_key().public)


def register(app: typer.Typer) -> None:
    """Add ``inventory`` to ``app``, in the Deployment panel."""
    app.add_typer(inventory_app, name="inventory", rich_help_panel=PANEL_DEPLOYMENT)
