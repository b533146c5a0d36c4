"""``sunlight serve|migrate|audit|catalogue|accounts|cases``: running one site's platform.

Settings come from ``SUNLIGHT_*`` environment variables (see :mod:`sunlight.runtime.settings`);
the playbooks write them into each role's environment file.

Example::

    $ SUNLIGHT_SITE_CODE=320703 SUNLIGHT_DATABASE_URL=... sunlight migrate core
    $ sunlight serve core --port 8003

Exit codes (:mod:`sunlight.cli.common`): 2 for bad settings or input, naming the field; 3 when
``SUNLIGHT_DATABASE_URL`` or ``SUNLIGHT_SITE_CODE`` is unset.
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from sunlight.cli.common import PANEL_ON_HOST, ExitCode, console, fail

audit_app = typer.Typer(help="The audit hash chain (网上留痕).", no_args_is_help=True)
catalogue_app = typer.Typer(help="Import and export the power-item catalogue.",
                            no_args_is_help=True)
accounts_app = typer.Typer(help="Staff accounts of core.", no_args_is_help=True)
cases_app = typer.Typer(help="Case jobs.", no_args_is_help=True)


class ServeRole(str, Enum):
    portal = "portal"
    gateway = "gateway"
    core = "core"


class DbRole(str, Enum):
    portal = "portal"
    core = "core"


def _settings(role: Any, **overrides: Any) -> Any:
    from sunlight.runtime.settings import Settings, SettingsError

    try:
        return Settings(role=role, **{k: v for k, v in overrides.items() if v is not None})
    except (ValidationError, SettingsError) as exc:
        raise fail(f"settings for {role}: {exc}", ExitCode.USAGE) from exc


def serve(role: ServeRole, host: str = typer.Option(None, help="Bind address."),
          port: int = typer.Option(None, help="Port (0: any free port).")) -> None:
    """Run one role (portal, gateway or core) with uvicorn, JSON logs on stderr."""
    import uvicorn

    from sunlight.runtime.observability import configure_logging
    from sunlight.runtime.watchdog import run

    settings = _settings(role.value, host=host, port=port)
    configure_logging(settings.log_level, role.value)
    module = {"portal": "sunlight.runtime.portal.app", "gateway": "sunlight.runtime.gateway.app",
              "core": "sunlight.runtime.core.app"}[role.value]
    create_app = __import__(module, fromlist=["create_app"]).create_app
    # core serves HTTPS when it has a certificate (the deployment CA's; both or neither).
    certfile = str(settings.tls_cert_file) if settings.tls_cert_file else None
    keyfile = str(settings.tls_key_file) if settings.tls_key_file else None
    # As uvicorn.run, and ready/watchdog notifications to systemd (runtime/watchdog.py).
    run(uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                       log_config=None, proxy_headers=True, access_log=False,
                       ssl_certfile=certfile, ssl_keyfile=keyfile))


def migrate(database: DbRole,
            database_url: str = typer.Option(None, envvar="SUNLIGHT_DATABASE_URL",
                                             help="SQLAlchemy URL of the database.")) -> None:
    """Bring the portal or core database to the latest schema (idempotent)."""
    from sunlight.runtime.migrations import current, upgrade

    if not database_url:
        raise fail("--database-url (or SUNLIGHT_DATABASE_URL) is required", ExitCode.USAGE)
    upgrade(database.value, database_url)
    console.print(f"{database.value} database at revision {current(database.value, database_url)}")


def core_engine() -> Any:
    """An engine on core's database (``SUNLIGHT_DATABASE_URL``), or exit 3 saying it is unset."""
    from sunlight.runtime.db import make_engine

    url = os.environ.get("SUNLIGHT_DATABASE_URL")
    if not url:
        raise fail("SUNLIGHT_DATABASE_URL (core database) is required", ExitCode.ENVIRONMENT)
    return make_engine(url, pool_size=2)


def site_code() -> str:
    """This site's division code (``SUNLIGHT_SITE_CODE``): exit 3 when unset, 2 when malformed."""
    site = os.environ.get("SUNLIGHT_SITE_CODE", "")
    if not site:
        raise fail("SUNLIGHT_SITE_CODE (the site's 6-digit division code) is required",
                   ExitCode.ENVIRONMENT)
    if len(site) != 6 or not site.isdigit():
        raise fail("SUNLIGHT_SITE_CODE must be the 6-digit division code", ExitCode.USAGE)
    return site


def _signing_key(path: Path | None) -> Any:
    """The site's Ed25519 key (``--key-file`` or ``SUNLIGHT_SIGNING_KEY_FILE``), or None."""
    from sunlight.runtime.exchange.signing import KeyFileError, load_private_key

    given = path or os.environ.get("SUNLIGHT_SIGNING_KEY_FILE")
    if not given:
        return None
    try:
        return load_private_key(Path(given))
    except KeyFileError as exc:
        raise fail(f"--key-file: {exc}", ExitCode.USAGE) from exc


_KEY_FILE = typer.Option(None, "--key-file", help="The site's Ed25519 signing key (PEM); "
                         "default SUNLIGHT_SIGNING_KEY_FILE.")


@audit_app.command("verify")
def audit_verify(
    anchors_file: Path = typer.Option(None, "--anchors", exists=True, dir_okay=False,
                                      help="Anchors of this site as its parent kept them "
                                      "(JSON of `sunlight audit anchors` at the parent)."),
    key_file: Path = _KEY_FILE,
) -> None:
    """Verify the site's audit chain, against its signed anchors; exit 1 naming the first
    broken record (a rewritten, re-hashed history fails with "anchor mismatch")."""
    import json

    from sunlight.runtime.core import audit_anchor
    from sunlight.runtime.core.audit_store import verify

    engine, site, key = core_engine(), site_code(), _signing_key(key_file)
    given = None
    if anchors_file is not None:
        if key is None:
            raise fail("--anchors needs the site's key to check their signatures "
                       "(--key-file or SUNLIGHT_SIGNING_KEY_FILE)", ExitCode.USAGE)
        try:
            given = audit_anchor.from_json(json.loads(anchors_file.read_text("utf-8")))
        except (ValueError, audit_anchor.BadAnchor) as exc:
            raise fail(f"--anchors {anchors_file}: {exc}", ExitCode.USAGE) from exc
    try:
        if key is not None:
            verdict = audit_anchor.verify(engine, site, key.public_key(), given)
            n = len(given) if given is not None else len(audit_anchor.anchors(engine, site))
            checked = f"{n} signed anchors"
        else:  # the anchors' hashes still pin the chain; their signatures are not checked
            kept = audit_anchor.anchors(engine, site)
            verdict = verify(engine, site, anchors=[(a.seq, a.hash) for a in kept])
            checked = f"{len(kept)} anchors, signatures not checked (no key)"
    except audit_anchor.BadAnchor as exc:
        raise fail(f"audit anchors refused: {exc}") from exc
    if verdict.ok:
        console.print(f"[green]audit chain intact[/]: {verdict.checked} records, {checked}")
        return
    raise fail(f"audit chain broken at record {verdict.first_broken_seq}: {verdict.reason} "
               f"({verdict.checked} records checked, {checked})")


@audit_app.command("anchor")
def audit_anchor_now(key_file: Path = _KEY_FILE) -> None:
    """Sign the chain's head now, keep it and send it up (core does it every hour too)."""
    from sunlight.runtime.core import audit_anchor

    key = _signing_key(key_file)
    if key is None:
        raise fail("the site's key is required (--key-file or SUNLIGHT_SIGNING_KEY_FILE)",
                   ExitCode.USAGE)
    try:
        anchor = audit_anchor.anchor_now(core_engine(), site_code(), key)
    except audit_anchor.BadAnchor as exc:
        raise fail(str(exc)) from exc
    if anchor is None:
        console.print("nothing to anchor: the head is anchored already (or the chain is empty)")
        return
    console.print(f"anchored record {anchor.seq} ({anchor.hash})")


@audit_app.command("anchors")
def audit_anchors(source: str = typer.Option(None, "--source",
                                             help="Whose anchors (a subordinate's code); "
                                             "default this site's.")) -> None:
    """Print the anchors kept here (JSON), e.g. a subordinate's, for its `audit verify
    --anchors`."""
    import json

    from sunlight.runtime.core import audit_anchor

    kept = audit_anchor.anchors(core_engine(), source or site_code())
    print(json.dumps([a.data() for a in kept], ensure_ascii=False, indent=1))


@catalogue_app.command("import")
def catalogue_import(
    path: Path = typer.Argument(None, exists=True, dir_okay=False,
                                help="A .yaml or .xlsx catalogue; omit with --sample."),
    sample: bool = typer.Option(False, "--sample", help="Import the shipped sample catalogue."),
) -> None:
    """Import a catalogue into core; errors name the sheet, row and column (or YAML path)."""
    from sunlight.catalogue.errors import CatalogueImportError
    from sunlight.catalogue.io_excel import load_excel
    from sunlight.catalogue.io_yaml import load_yaml
    from sunlight.catalogue.sample import sample_catalogue
    from sunlight.runtime.core.catalogue_store import import_catalogue
    from sunlight.runtime.db import transaction

    if (path is None) == (not sample):
        raise fail("give a PATH or --sample (not both)", ExitCode.USAGE)
    try:
        if sample:
            catalogue = sample_catalogue()
        elif path.suffix.lower() == ".xlsx":
            catalogue = load_excel(path)
        else:
            catalogue = load_yaml(path.read_text(encoding="utf-8"))
    except CatalogueImportError as exc:
        raise fail(str(exc), ExitCode.USAGE) from exc
    site = site_code()
    with transaction(core_engine()) as session:
        changed = import_catalogue(session, site, catalogue, "cli")
    console.print(f"imported {len(catalogue.items)} item versions ({changed} changed), "
                  f"{len(catalogue.departments)} departments")


@catalogue_app.command("export")
def catalogue_export(path: Path = typer.Argument(..., help="Target .yaml or .xlsx file.")) -> None:
    """Export core's catalogue (every version) as YAML or Excel."""
    from sunlight.catalogue.io_excel import dump_excel
    from sunlight.catalogue.io_yaml import dump_yaml
    from sunlight.runtime.core.catalogue_store import load
    from sunlight.runtime.db import transaction

    with transaction(core_engine()) as session:
        catalogue = load(session)
    if path.suffix.lower() == ".xlsx":
        dump_excel(catalogue, path)
    else:
        path.write_text(dump_yaml(catalogue), encoding="utf-8")
    console.print(f"wrote {len(catalogue.items)} item versions to {path}")


@accounts_app.command("add")
def accounts_add(
    username: str = typer.Argument(..., help="Login name."),
    role: list[str] = typer.Option(..., "--role", help="clerk, reviewer, approver, officer, "
                                   "legal_reviewer, admin or supervisor (监察室: never with "
                                   "a handling role); repeat for several."),
    department: str = typer.Option(None, "--department", help="Department code (scope; "
                                   "admins and supervisors may have none)."),
    display_name: str = typer.Option("", "--name", help="Shown in case history."),
    certificate: str = typer.Option(None, "--certificate", help="An officer's own "
                                    "certificate number (执法证号): the only one the "
                                    "account acts under; officer accounts only."),
    password_file: Path = typer.Option(None, "--password-file",
                                       help="Write the generated password here (0600)."),
    covers: list[str] = typer.Option(None, "--covers", help="A supervisor's departments "
                                     "(监察范围; repeat), or 'all' for the whole site and "
                                     "its subordinates; by default its --department."),
) -> None:
    """Create a staff account with a generated password (printed or written to a file)."""
    from sunlight.runtime.core.accounts import AccountError, create_account
    from sunlight.runtime.db import transaction

    try:
        with transaction(core_engine()) as session:
            password = create_account(session, site_code(), username, role, department,
                                      display_name or username, certificate=certificate,
                                      covers=covers or None)
    except AccountError as exc:
        raise fail(str(exc), ExitCode.USAGE) from exc
    if password_file:
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        console.print(f"account {username} created; password written to {password_file}")
    else:
        console.print(f"account {username} created; password: {password}")


def _change_account(username: str, change: Any) -> Any:
    from sunlight.runtime.core.accounts import AccountError
    from sunlight.runtime.db import transaction

    try:
        with transaction(core_engine()) as session:
            return change(session)
    except AccountError as exc:
        raise fail(str(exc), ExitCode.USAGE) from exc


@accounts_app.command("disable")
def accounts_disable(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Disable an account: it can no longer sign in, and every token it holds is refused
    from now on."""
    from sunlight.runtime.core.accounts import set_active

    _change_account(username, lambda s: set_active(s, site_code(), username, False))
    console.print(f"account {username} disabled; its tokens are revoked")


@accounts_app.command("enable")
def accounts_enable(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Enable a disabled account again (tokens from before stay revoked)."""
    from sunlight.runtime.core.accounts import set_active

    _change_account(username, lambda s: set_active(s, site_code(), username, True))
    console.print(f"account {username} enabled")


@accounts_app.command("roles")
def accounts_roles(
    username: str = typer.Argument(..., help="Login name."),
    role: list[str] = typer.Option(..., "--role", help="The account's roles from now on "
                                   "(checked as at creation); repeat for several."),
) -> None:
    """Replace an account's roles; every token it holds is refused from now on."""
    from sunlight.runtime.core.accounts import set_roles

    _change_account(username, lambda s: set_roles(s, site_code(), username, role))
    console.print(f"account {username}: roles {', '.join(role)}; its tokens are revoked")


@accounts_app.command("covers")
def accounts_covers(
    username: str = typer.Argument(..., help="A supervisor account's login name."),
    covers: list[str] = typer.Option(..., "--covers", help="The departments it covers from "
                                     "now on (repeat), or 'all' for the whole site."),
) -> None:
    """Replace a supervisor's coverage (监察范围); every token it holds is refused from now
    on."""
    from sunlight.runtime.core.accounts import set_covers

    done = _change_account(username, lambda s: list(
        set_covers(s, site_code(), username, covers).covers or []))
    console.print(f"account {username}: covers {', '.join(done)}; its tokens are revoked")


@accounts_app.command("totp")
def accounts_totp(username: str = typer.Argument(..., help="An admin account's login name.")
                  ) -> None:
    """Enrol an admin account in the second factor (TOTP): print the otpauth:// URI once
    (add it to an authenticator app); from now on its sign-in needs the current code. Run
    again to replace a lost authenticator."""
    from sunlight.runtime.core.accounts import enrol_totp

    uri = _change_account(username, lambda s: enrol_totp(
        s, site_code(), username, issuer=f"Sunlight {site_code()}"))
    console.print(f"account {username} enrolled in TOTP; shown once, add it to the "
                  f"authenticator now:")
    console.print(uri, markup=False, highlight=False, soft_wrap=True)


@cases_app.command("mark-overdue")
def cases_mark_overdue() -> None:
    """Flag cases past their due date now, at core's clock (core also does this
    periodically; ``sunlight supervision tick`` runs the whole tick)."""
    from sunlight.runtime.clock import Clock
    from sunlight.runtime.core.periodic import mark_overdue_once

    offset = os.environ.get("SUNLIGHT_CLOCK_OFFSET_FILE")
    engine = core_engine()
    count = mark_overdue_once(engine, site_code(), Clock(Path(offset) if offset else None).now())
    console.print(f"{count} cases marked overdue")


def register(app: typer.Typer) -> None:
    """Add the on-host commands to ``app``, in the On host panel."""
    app.command("serve", rich_help_panel=PANEL_ON_HOST)(serve)
    app.command("migrate", rich_help_panel=PANEL_ON_HOST)(migrate)
    for name, group in (("accounts", accounts_app), ("catalogue", catalogue_app),
                        ("cases", cases_app), ("audit", audit_app)):
        app.add_typer(group, name=name, rich_help_panel=PANEL_ON_HOST)
