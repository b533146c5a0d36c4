"""``sunlight prechecks`` and ``sunlight up --hosts``: machines Sunlight did not create.

Example::

    $ sunlight prechecks --hosts hosts.yaml --known-hosts centre_known_hosts
    $ sunlight prechecks --deployment jiangsu --json
    $ sunlight up --hosts hosts.yaml              # asks to confirm each new fingerprint
    $ sunlight up --hosts hosts.yaml --known-hosts centre_known_hosts --yes

The hosts file: ``docs/hosts-file.md``; the checks: ``docs/prechecks.md``.
"""

from __future__ import annotations

import sys
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

MAX_OFFSET = typer.Option(1.0, "--max-clock-offset", min=0.0,
                          help="Largest clock offset from the control node, in seconds.")
MIN_FREE = typer.Option(4.0, "--min-free-gib", min=0.0,
                        help="Free space each host's filesystems need, in GiB.")


def _load(path: Path) -> Any:
    from sunlight.control.byoh.hostsfile import HostsFileError, load_hosts_file

    try:
        return load_hosts_file(path)
    except HostsFileError as exc:
        raise fail(str(exc), ExitCode.USAGE) from exc


def interactive() -> bool:
    """Whether someone can answer a question: stdin is a terminal."""
    return sys.stdin.isatty()


def host_key_confirmer(as_json: bool) -> Any:
    """Asks on the terminal before a new host key is pinned (stderr under --json); None when
    there is no terminal, so that a new key is refused rather than trusted."""
    if not interactive():
        return None
    from sunlight.control.byoh.hostkeys import prompt_text

    def confirm(target: Any, key: Any) -> bool:
        return bool(typer.confirm(prompt_text(target, key), default=False, err=as_json))

    return confirm


def _pin(hf: Any, known_hosts: Path | None, as_json: bool) -> Any:
    from sunlight.control.byoh.hostkeys import HostKeyError, pin_host_keys
    from sunlight.control.deploy.inventory import KNOWN_HOSTS_FILE
    from sunlight.control.stack.deployment import Deployment

    dep = Deployment(hf.deployment)
    try:
        return pin_host_keys(list(hf.hosts()), dep.inventory_dir / KNOWN_HOSTS_FILE,
                             confirm=host_key_confirmer(as_json), operator_file=known_hosts)
    except HostKeyError as exc:
        raise fail(str(exc)) from exc


def print_report(report: Any) -> None:
    """The prechecks as a table: host, check, status, found, remedy."""
    from rich.table import Table

    table = Table(title="sunlight prechecks")
    for col in ("host", "check", "status", "found", "remedy"):
        table.add_column(col)
    colour = {"ok": "green", "fail": "red", "not checked": "yellow"}
    for c in report.checks:
        table.add_row(c.host, c.name, f"[{colour[c.status.value]}]{c.status.value}[/]",
                      escape(c.detail), escape(c.remedy if c.status.value == "fail" else ""))
    console.print(table)


def prechecks_cmd(
    deployment: str = typer.Option(None, "--deployment", help="Check a deployment's hosts "
                                   "(its inventory and pinned keys)."),
    hosts: Path = typer.Option(None, "--hosts", exists=True, dir_okay=False,
                               help="Check the hosts of a hosts file (docs/hosts-file.md)."),
    known_hosts: Path = typer.Option(None, "--known-hosts", exists=True, dir_okay=False,
                                     help="Pin new hosts' keys from this OpenSSH file."),
    max_clock_offset: float = MAX_OFFSET,
    min_free_gib: float = MIN_FREE,
    as_json: bool = JSON_OPTION,
) -> None:
    """Check hosts before configuring them: OS (Debian 12), sudo, Python, disk, clock offset,
    free ports, and every flows.yaml row that must be open. Changes nothing (but pins a new
    host's key once you confirm it).

    --json: {"ok": bool, "checks": [{"host" ("control" for the control node's rows), "name",
    "status" ("ok", "fail", "not checked"), "detail", "remedy"}]}. Exit 1 when one failed.
    """
    from sunlight.control.byoh.prechecks import Limits, run_prechecks
    from sunlight.control.byoh.up import inventory_sites
    from sunlight.control.ssh import control_key

    if (deployment is None) == (hosts is None):
        raise fail("give exactly one of --deployment NAME and --hosts FILE", ExitCode.USAGE)
    limits = Limits(min_free_gib=min_free_gib, max_clock_offset_s=max_clock_offset)
    key = control_key()
    say = progress_printer(as_json)
    if hosts is not None:
        from sunlight.control.byoh.hostsfile import inventory_of
        from sunlight.control.stack.deployment import Deployment

        hf = _load(hosts)
        pins = _pin(hf, known_hosts, as_json).keys
        dep = Deployment(hf.deployment)
        inventory = inventory_of(hf, control_key=key.path, known_hosts=dep.inventory_dir /
                                 "known_hosts", secrets_dir=dep.secrets_dir)
    else:
        import yaml

        from sunlight.control.byoh.hostkeys import read_pins
        from sunlight.control.stack.deployment import Deployment

        dep = Deployment(deployment)
        if not inventory_sites(dep):
            raise fail(f"deployment {deployment} has no inventory: run `sunlight up` first",
                       ExitCode.ENVIRONMENT)
        inventory = yaml.safe_load(dep.hosts_file.read_text(encoding="utf-8"))
        pins = {a: k.line for a, k in read_pins(dep.inventory_dir / "known_hosts").items()}
    report = run_prechecks(inventory, pins, key, limits, say,
                           configured_sites=inventory_sites(dep))
    if as_json:
        print_json(report.document())
    else:
        print_report(report)
    if not report.ok:
        raise fail(f"{len(report.failures)} precheck(s) failed; apply the remedies "
                   f"{'in the checks' if as_json else 'above'}")


def up_from_hosts(hosts: Path, known_hosts: Path | None, yes: bool, configure: bool,
                  as_json: bool) -> None:
    """``sunlight up --hosts``: validate, pin, precheck, then configure (the playbooks)."""
    from sunlight.control.byoh.hostkeys import HostKeyError
    from sunlight.control.byoh.up import HostsUpError, PrechecksFailed, up_hosts
    from sunlight.control.stack.ansible import PlaybookFailed

    hf = _load(hosts)
    say = progress_printer(as_json)
    count = sum(1 for _ in hf.hosts())
    if configure and not yes:
        if not interactive():
            raise fail(f"configuring {count} machines of deployment {hf.deployment} changes "
                       "them: give --yes (no terminal to ask on)", ExitCode.USAGE)
        if not typer.confirm(f"Configure {count} machines of deployment {hf.deployment} "
                             "(after their keys are pinned and the prechecks pass)?",
                             err=as_json):
            raise typer.Exit(ExitCode.FAILED)
    try:
        result = up_hosts(hf, progress=say, confirm=host_key_confirmer(as_json),
                          known_hosts=known_hosts, configure=configure)
    except PrechecksFailed as exc:
        if as_json:
            print_json({"deployment": hf.deployment, "configured": False,
                        "prechecks": exc.report.document()})
        else:
            print_report(exc.report)
        raise fail(str(exc).splitlines()[0]) from exc
    except (HostKeyError, HostsUpError, PlaybookFailed) as exc:
        raise fail(str(exc)) from exc
    doc = hosts_up_document(result)
    if as_json:
        print_json(doc)
        return
    for site in doc["sites"]:
        console.print(f"[bold]{site['site']}[/] ({site['tier']}, {site['profile']}): "
                      f"{', '.join(site['hosts'])}")
    if not configure:
        console.print("not configured (--no-configure)")
    console.print(f"inventory {doc['inventory']}; secrets {doc['secrets']}; "
                  + "; ".join(f"{k} {v:.0f} s" for k, v in doc["stages"].items()))
    for log in doc["playbook_logs"]:
        console.print(f"log {log}")


def hosts_up_document(result: Any) -> dict[str, Any]:
    """What ``up --hosts --json`` prints (``up --json``'s shape, plus the prechecks)."""
    from sunlight.control.byoh.hostsfile import profile_of
    from sunlight.control.deploy.secrets import ca_paths
    from sunlight.topology.division import tier_of

    dep, hf = result.deployment, result.hosts_file
    return {
        "deployment": dep.name,
        "configured": bool(result.playbooks),
        "sites": [{"site": s.code, "tier": tier_of(s.code).value, "profile": profile_of(s),
                   "portal": None, "hosts": [f"{s.code}-{h.name}" for h in s.hosts]}
                  for s in hf.sites],
        "host_keys": result.pins.how,
        "prechecks": result.report.document(),
        "stages": dict(result.stages),
        "playbook_logs": [str(p.log) for p in result.playbooks],
        "secrets": str(dep.secrets_dir),
        "ca": str(ca_paths(dep.secrets_dir)[1]),
        "inventory": str(dep.hosts_file),
    }


def register(app: typer.Typer) -> None:
    """Add ``prechecks`` to ``app``, in the Deployment panel (``up --hosts`` is ``up``'s)."""
    app.command("prechecks", rich_help_panel=PANEL_DEPLOYMENT)(prechecks_cmd)
