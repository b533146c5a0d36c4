"""``sunlight certs status|renew``: the deployment CA's certificates, on the control node.

Every TLS link of a deployment uses a certificate its own CA issued (the secrets directory,
:mod:`sunlight.control.deploy.secrets`): the portal's nginx, the databases, core's HTTPS API,
the brokers' backbone listeners and the shovels' client certificates, each Prometheus.
``status`` lists them with the days each has left (exit 1 when one expires within
``--within`` days or was not issued by the deployment's CA); ``renew`` issues again (same
key) every certificate that expires within ``--within`` days or no longer matches its spec,
then runs ``site.yml`` (limited to ``--site``'s hosts if given), which installs the new files
and restarts what serves them. Hosts also publish each certificate's expiry
(``sunlight_certificate_expiry_timestamp_seconds``; the rules' ``sunlight:certificate_expiry_days``
and the ``CertificateExpiresSoon`` alert).

Example::

    $ sunlight certs status --name demo
    $ sunlight certs status --name demo --within 60 --json
    $ sunlight certs renew --name demo --site 320703 --within 60
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer

from sunlight.cli.common import (
    JSON_OPTION,
    PANEL_OPERATIONS,
    ExitCode,
    console,
    fail,
    print_json,
    progress_printer,
)

certs_app = typer.Typer(help="The deployment CA's certificates: status (days left), renew.",
                        no_args_is_help=True)

NAME_OPTION: Any = typer.Option("demo", "--name", help="Deployment name.")
SITE_OPTION: Any = typer.Option(None, "--site", help="Only this site (division code).")


def _within(days: int) -> dt.timedelta:
    if days < 0:
        raise fail(f"--within: {days} is negative (days before expiry)", ExitCode.USAGE)
    return dt.timedelta(days=days)


def _secrets(name: str) -> Any:
    from sunlight.control.deploy.secrets import ca_paths
    from sunlight.control.stack.deployment import Deployment

    root = Deployment(name).secrets_dir
    if not ca_paths(root)[1].is_file():
        raise fail(f"deployment {name} has no CA in {root} (`sunlight up` first)",
                   ExitCode.ENVIRONMENT)
    return root


def _check_site(site: str | None) -> None:
    if site is None:
        return
    from sunlight.topology.division import DivisionError, check_code

    try:
        check_code(site)
    except DivisionError as exc:
        raise fail(f"--site: {exc}", ExitCode.USAGE) from exc


@certs_app.command("status")
def status(name: str = NAME_OPTION, site: str = SITE_OPTION,
           within: int = typer.Option(30, "--within", help="Exit 1 when a certificate "
                                      "expires within this many days."),
           as_json: bool = JSON_OPTION) -> None:
    """Every certificate of the deployment, soonest expiry first, with the days it has left.

    --json: {"deployment", "within_days", "certificates": [{"site", "name", "subject",
    "not_after" (ISO 8601), "days_left", "issued_by_ca", "due"}]}.
    """
    from sunlight.control.deploy.secrets import certificate_status

    _check_site(site)
    window = _within(within)
    found = certificate_status(_secrets(name), site=site)
    rows: list[dict[str, Any]] = [{"site": c.site, "name": c.name, "subject": c.subject,
             "not_after": c.not_after.isoformat(), "days_left": round(c.days_left, 1),
             "issued_by_ca": c.issued_by_ca,
             "due": c.days_left < window.days or not c.issued_by_ca} for c in found]
    if as_json:
        print_json({"deployment": name, "within_days": within, "certificates": rows})
    else:
        from rich.table import Table

        table = Table(title=f"certificates of deployment {name}")
        for col in ("site", "certificate", "subject", "expires", "days left", ""):
            table.add_column(col)
        for row in rows:
            note = "not from the CA" if not row["issued_by_ca"] else (
                "renew" if row["due"] else "")
            table.add_row(row["site"], row["name"], row["subject"],
                          row["not_after"][:10], f"{row['days_left']:.0f}", note)
        console.print(table)
    if not found:
        raise fail(f"deployment {name} has no certificates"
                   + (f" for site {site}" if site else ""), ExitCode.ENVIRONMENT)
    if any(r["due"] for r in rows):
        raise typer.Exit(int(ExitCode.FAILED))


@certs_app.command("renew")
def renew(name: str = NAME_OPTION, site: str = SITE_OPTION,
          within: int = typer.Option(30, "--within", help="Issue again every certificate "
                                     "that expires within this many days."),
          configure: bool = typer.Option(True, "--configure/--no-configure",
                                         help="Run site.yml to install them (default)."),
          as_json: bool = JSON_OPTION) -> None:
    """Issue again, from the deployment CA, the certificates due, and install them.

    --json: {"deployment", "site", "renewed": [path, ...], "configured": bool}.
    """
    from sunlight.control.stack.ansible import PlaybookFailed, run_playbook
    from sunlight.control.stack.deployment import Deployment

    _check_site(site)
    _within(within)
    _secrets(name)
    dep = Deployment(name)
    if not dep.hosts_file.is_file():
        raise fail(f"deployment {name} has no inventory: run `sunlight up` first",
                   ExitCode.ENVIRONMENT)
    before = _fingerprints(dep.secrets_dir)
    args = ["-e", f"sunlight_cert_renew_within_days={within}"]
    if site:
        args += ["--limit", f"site_{site}"]
    # secrets.yml issues them again; site.yml (which starts with it) also installs them.
    playbook = "site.yml" if configure else "secrets.yml"
    try:
        result = run_playbook(playbook, dep.hosts_file, dep.log("certs-renew"),
                              progress=progress_printer(as_json), extra_args=args)
    except PlaybookFailed as exc:
        raise fail(str(exc)) from exc
    after = _fingerprints(dep.secrets_dir)
    renewed = sorted(p for p, f in after.items() if before.get(p) != f)
    if as_json:
        print_json({"deployment": name, "site": site, "renewed": renewed,
                    "configured": configure})
        return
    for path in renewed:
        console.print(f"renewed {path}")
    console.print(f"[bold green]done[/] {len(renewed)} certificates issued again "
                  f"({playbook} {result.seconds:.0f} s, log {result.log})")


def _fingerprints(root: Any) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.glob("sites/*/tls/*.crt"))}


def register(app: typer.Typer) -> None:
    """Add the certs group to ``app``, in the Operations panel."""
    app.add_typer(certs_app, name="certs", rich_help_panel=PANEL_OPERATIONS)
