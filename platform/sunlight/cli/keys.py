"""``sunlight keys list|rotate``: a site's event-signing keys, in the deployment's secrets.

Run on the control node. ``rotate --site CODE [--overlap-days N]`` makes a new Ed25519 key
pair for the site in the secrets directory and keeps the former public key as retiring at
now + N days (default :data:`DEFAULT_OVERLAP_DAYS`); the configuration step (``sunlight
up``, or ``site.yml --tags keys`` on the site's and its kin's cores) then installs the new
private key on the site, which signs with it from its restart, and both public keys on every
ancestor and descendant, which accept the former key until its time and refuse it after
(dead letter ``retired_key``). ``list --site CODE`` shows each key id with its state
(current, retiring until T, retired). The procedure: playbooks/README.md, "Rotating a site's
signing key".

Example::

    $ sunlight keys rotate --site 320703 --overlap-days 7
    $ sunlight up          # or: ansible-playbook site.yml --tags keys --limit (kin's cores)
    $ sunlight keys list --site 320703 --json
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from sunlight.cli.common import JSON_OPTION, PANEL_DEPLOYMENT, ExitCode, console, fail, print_json

#: The default time a former key stays valid after a rotation (events in flight, a kin site
#: configured later than the rotated one).
DEFAULT_OVERLAP_DAYS = 7

keys_app = typer.Typer(help="A site's event-signing keys: list, rotate.", no_args_is_help=True)

SITE_OPTION = typer.Option(..., "--site", help="The site's division code.")
NAME_OPTION = typer.Option("demo", "--name", help="Deployment name (its secrets directory).")
SECRETS_OPTION = typer.Option(None, "--secrets", help="The secrets directory (default: the "
                              "deployment's, ~/.local/state/sunlight/secrets/NAME).")


def _root(name: str, secrets: Path | None) -> Path:
    from sunlight.control.deploy.inventory import default_secrets_dir

    root = secrets or default_secrets_dir(name)
    if not root.is_dir():
        raise fail(f"--secrets: {root} is not a secrets directory", ExitCode.ENVIRONMENT)
    return root


def _site(code: str) -> str:
    from sunlight.topology.division import DivisionError, check_code

    try:
        return check_code(code)
    except DivisionError as exc:
        raise fail(f"--site: {exc}", ExitCode.USAGE) from exc


@keys_app.command("list")
def keys_list(site: str = SITE_OPTION, name: str = NAME_OPTION,
              secrets: Path | None = SECRETS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """The site's keys: the current one and its former ones with their retirement time.

    --json: {"site", "keys": [{"keyid", "state" (current|retiring|retired), "retires_at"}]}.
    """
    from sunlight.control.deploy.secrets import signing_keys
    from sunlight.runtime.exchange.signing import KeyFileError

    code = _site(site)
    try:
        found = signing_keys(_root(name, secrets), code)
    except (FileNotFoundError, KeyFileError) as exc:
        raise fail(f"--site: {exc}", ExitCode.ENVIRONMENT) from exc
    if as_json:
        print_json({"site": code, "keys": [
            {"keyid": kid, "state": state, "retires_at": when.isoformat() if when else None}
            for kid, state, when in found]})
        return
    for kid, state, when in found:
        console.print(f"{kid}  {state}" + (f" until {when:%Y-%m-%d %H:%M:%S} UTC" if when
                                           and state == "retiring" else
                                           f" at {when:%Y-%m-%d %H:%M:%S} UTC" if when else ""))


@keys_app.command("rotate")
def keys_rotate(
    site: str = SITE_OPTION,
    overlap_days: int = typer.Option(DEFAULT_OVERLAP_DAYS, "--overlap-days", min=1, max=365,
                                     help="Days the former key stays valid at the kin sites."),
    name: str = NAME_OPTION,
    secrets: Path | None = SECRETS_OPTION,
) -> None:
    """Make a new signing key for SITE; its former key stays valid for --overlap-days.

    Then run the configuration step (`sunlight up`, or site.yml on the site and its kin).
    """
    from sunlight.control.deploy.secrets import rotate_signing_key
    from sunlight.runtime.exchange.signing import KeyFileError

    code = _site(site)
    try:
        done = rotate_signing_key(_root(name, secrets), code, dt.timedelta(days=overlap_days))
    except (FileNotFoundError, KeyFileError) as exc:
        raise fail(f"--site: {exc}", ExitCode.ENVIRONMENT) from exc
    console.print(f"site {code}: new key {done.new_kid}; former key {done.old_kid} retiring "
                  f"until {done.retires_at:%Y-%m-%d %H:%M:%S} UTC. Now run the configuration "
                  f"step (sunlight up, or site.yml on {code} and its kin) so that the site "
                  "signs with the new key and its kin hold both.")


def register(app: typer.Typer) -> None:
    """Add the keys group to ``app``, in the Deployment panel."""
    app.add_typer(keys_app, name="keys", rich_help_panel=PANEL_DEPLOYMENT)
