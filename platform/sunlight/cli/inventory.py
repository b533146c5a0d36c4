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


def _scan_and_confirm(targets: list[tuple[str, str]], port: int, pinned: dict[str, str],
                      say: Any) -> dict[str, str]:
    """Collect each host's key over SSH; ask about the ones not pinned yet, show their
    fingerprints, and keep them only if the operator confirms."""
    import paramiko

    from sunlight.control.ssh import fingerprint, scan_host_key

    keys: dict[str, str] = {}
    for name, address in targets:
        say(f"collecting the host key of {name} ({address}:{port})")
        try:
            keys[address] = scan_host_key(address, port)
        except (OSError, paramiko.SSHException) as exc:
            raise fail(f"host {name} ({address}:{port}): no SSH host key collected: {exc}",
                       ExitCode.ENVIRONMENT) from exc
    _refuse_changed(targets, pinned, keys)
    new = [(n, a, fingerprint(keys[a])) for n, a in targets if a not in pinned]
    if not new:
        return keys
    from rich.table import Table

    table = Table(title="host keys to pin (compare with `ssh-keygen -lf "
                        "/etc/ssh/ssh_host_ed25519_key.pub` on each host's console)")
    for col in ("host", "address", "ED25519 fingerprint"):
        table.add_column(col)
    for row in new:
        table.add_row(*(escape(c) for c in row))
    console.print(table)
    if not typer.confirm("Do these fingerprints match the hosts' own?", err=True):
        raise fail("fingerprints not confirmed: nothing was pinned or written")
    return keys


def _refuse_changed(targets: list[tuple[str, str]], pinned: dict[str, str],
                    keys: dict[str, str]) -> None:
    from sunlight.control.deploy.from_pulumi import changed_keys

    changed = changed_keys(pinned, keys)
    if changed:
        names = {a: n for n, a in targets}
        raise fail("host key changed since it was pinned, refused (never re-pinned; if the "
                   "host was rebuilt, check its key on its console and remove its line from "
                   "the deployment's known_hosts): "
                   + ", ".join(f"{names[a]} ({a})" for a in changed))


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
        help="Pin the hosts' Ed25519 keys from this OpenSSH known_hosts file (one you trust) "
             "instead of collecting them over SSH and asking to confirm the fingerprints of "
             "those not pinned yet. A key that changed since it was pinned is refused."),
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
    from sunlight.control.deploy.from_pulumi import (
        StackOutputError,
        check_sites,
        deployment_of,
        known_host_keys,
        pinned_keys,
        read_stack_outputs,
        ssh_targets,
    )
    from sunlight.control.deploy.inventory import KNOWN_HOSTS_FILE, write_inventory_files
    from sunlight.control.resources import validate_run_id
    from sunlight.control.ssh import control_key
    from sunlight.control.stack.deployment import Deployment

    say = progress_printer(as_json)
    try:
        stacks = [read_stack_outputs(path) for path in outputs]
        check_sites(stacks)
        name = validate_run_id(deployment_of(stacks, deployment))
        targets = ssh_targets(stacks)
        port = ssh_port()
        dep = Deployment(name)
        pinned = pinned_keys(dep.inventory_dir / KNOWN_HOSTS_FILE, [a for _, a in targets])
        if known_hosts is not None:
            keys = known_host_keys(known_hosts, [a for _, a in targets], port)
            _refuse_changed(targets, pinned, keys)
        else:
            keys = _scan_and_confirm(targets, port, pinned, say)
        files = write_inventory_files(
            dep.inventory_dir, [s.inventory for s in stacks], keys,
            control_key=key.resolve() if key else control_key().path, deployment=name,
            secrets_dir=dep.secrets_dir)
    except (StackOutputError, ValueError) as exc:
        raise fail(str(exc), ExitCode.USAGE) from exc
    if as_json:
        print_json({"deployment": name, "sites": [s.code for s in stacks],
                    "hosts": [n for n, _ in targets], "inventory": str(files.hosts),
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
