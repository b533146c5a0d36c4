"""``sunlight exchange definitions|status|keygen|baseline|dead-letters``: the cross-tier exchange.

``python -m sunlight.cli.exchange ...`` runs the same group on its own.

Example::

    $ sunlight exchange definitions --site 320703 --parent 320700 \\
          --parent-uri "amqp://child-320703:PW@10.9.0.3:5672/sunlight" > defs.json
    $ sunlight exchange status --url http://127.0.0.1:8003
    $ sunlight exchange status --url http://127.0.0.1:8003 --json
    $ sunlight exchange dead-letters list --reason apply_failed
    $ sunlight exchange dead-letters replay 42
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from sunlight.cli.common import (
    JSON_OPTION,
    PANEL_ON_HOST,
    ExitCode,
    console,
    fail,
    print_json,
)

exchange_app = typer.Typer(help="The cross-tier exchange (province → city → county).",
                           no_args_is_help=True)
baseline_app = typer.Typer(help="Catalogue baselines: publish (above), adopt (below).",
                           no_args_is_help=True)
exchange_app.add_typer(baseline_app, name="baseline")
dead_letters_app = typer.Typer(help="Events refused or not applied: list them; replay an "
                               "apply_failed one.", no_args_is_help=True)
exchange_app.add_typer(dead_letters_app, name="dead-letters")


@exchange_app.command("definitions")
def definitions(
    site: str = typer.Option(..., "--site", help="This broker's site (division code)."),
    parent: str = typer.Option(None, "--parent", help="The parent site, if any."),
    parent_uri: str = typer.Option(
        None, "--parent-uri", envvar="SUNLIGHT_EXCHANGE_PARENT_URI",
        help="amqp://USER:PASSWORD@HOST:5672/VHOST of the parent broker, with this child's "
             "user (prefer the environment variable: arguments show in ps)."),
    child: list[str] = typer.Option([], "--child", help="A direct child site; repeat."),
    vhost: str = typer.Option("sunlight", "--vhost", help="The virtual host."),
    max_length: int = typer.Option(None, "--max-length", help="Messages a queue holds at "
                                   "most, then it refuses publishes (default: the code's)."),
    max_bytes: int = typer.Option(None, "--max-bytes", help="Bytes a queue holds at most "
                                  "(default: the code's)."),
) -> None:
    """Print the RabbitMQ definitions (JSON) for one site's broker; users are not in it."""
    from sunlight.runtime.exchange.topology import (
        QUEUE_MAX_BYTES,
        QUEUE_MAX_LENGTH,
        broker_definitions,
    )
    from sunlight.topology.division import DivisionError

    try:
        doc = broker_definitions(site, parent=parent or None, parent_uri=parent_uri or None,
                                 children=child, vhost=vhost,
                                 max_length=QUEUE_MAX_LENGTH if max_length is None
                                 else max_length,
                                 max_bytes=QUEUE_MAX_BYTES if max_bytes is None else max_bytes)
    except (ValueError, DivisionError) as exc:
        raise fail(str(exc), ExitCode.USAGE) from exc
    print_json(doc)


def _core_url(url: str | None) -> str:
    if url:
        return url.rstrip("/")
    port = os.environ.get("SUNLIGHT_PORT")
    if not port:
        raise fail("give --url (or set SUNLIGHT_PORT to core's port)", ExitCode.USAGE)
    # On core's host, with core's settings: HTTPS when core serves it, on its own address.
    scheme = "https" if os.environ.get("SUNLIGHT_TLS_CERT_FILE") else "http"
    return f"{scheme}://{os.environ.get('SUNLIGHT_HOST') or '127.0.0.1'}:{port}"


def _core_verify() -> Any:
    """The deployment CA (SUNLIGHT_TLS_CA_FILE) when set, else the system's trust store."""
    import ssl

    ca = os.environ.get("SUNLIGHT_TLS_CA_FILE")
    return ssl.create_default_context(cafile=ca) if ca else True


@exchange_app.command("status")
def status(url: str = typer.Option(None, "--url", help="Core's base URL "
                                   "(default http://127.0.0.1:$SUNLIGHT_PORT)."),
           as_json: bool = JSON_OPTION) -> None:
    """Each link's figures from the running core's /metrics (exit 1: broker not connected,
    or a sequence gap older than the alert; exit 3: core does not answer).

    --json: {"connected": bool, "healthy": bool, "held_events", "gap_oldest_s",
    "gaps_overdue", "links": {site: {"link", "published", "delivered", "duplicates",
    "rejected": {reason: count}, "queued" (or null), "pending", "oldest_undelivered_s"}}}.
    """
    import dataclasses

    import httpx

    from sunlight.runtime.exchange.status import parse

    try:
        response = httpx.get(f"{_core_url(url)}/metrics", timeout=10, verify=_core_verify())
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise fail(f"core's /metrics did not answer: {exc}", ExitCode.ENVIRONMENT) from exc
    found = parse(response.text)
    if as_json:
        print_json({**dataclasses.asdict(found), "healthy": found.healthy})
    else:
        _print_status(found)
    if not found.healthy:
        raise typer.Exit(ExitCode.FAILED)


def _print_status(found: Any) -> None:
    from rich.table import Table

    table = Table("link", "published", "delivered", "duplicates", "rejected", "queued",
                  "outbox", "oldest undelivered")
    for link in sorted(found.links.values(), key=lambda x: x.link):
        rejected = ", ".join(f"{r} {n}" for r, n in sorted(link.rejected.items())) or "0"
        table.add_row(link.link, str(link.published), str(link.delivered),
                      str(link.duplicates), rejected,
                      "?" if link.queued is None else str(link.queued), str(link.pending),
                      f"{link.oldest_undelivered_s:.1f} s")
    console.print(table)
    state = "[green]connected[/]" if found.connected else "[red]not connected[/]"
    gap = (f"[red]{found.gaps_overdue} gap(s) past the alert[/]" if found.gaps_overdue
           else "no gap past the alert")
    console.print(f"broker {state}; {found.held_events} held events, oldest gap "
                  f"{found.gap_oldest_s:.0f} s; {gap}")


@exchange_app.command("keygen")
def keygen(site: str = typer.Argument(..., help="The site's division code."),
           out: Path = typer.Option(Path("."), "--out", help="Directory for the two files.")
           ) -> None:
    """Write SITE.key (private, 0600) and SITE.pem (public) for a new site."""
    from sunlight.runtime.exchange.signing import generate_keypair
    from sunlight.topology.division import DivisionError, check_code

    try:
        check_code(site)
    except DivisionError as exc:
        raise fail(f"SITE: {exc}", ExitCode.USAGE) from exc
    private, public = generate_keypair()
    out.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(out / f"{site}.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise fail(f"{out / (site + '.key')} exists; a key is never overwritten") from exc
    with os.fdopen(fd, "wb") as fh:
        fh.write(private)
    (out / f"{site}.pem").write_bytes(public)
    console.print(f"wrote {out / (site + '.key')} (keep it on the site) and "
                  f"{out / (site + '.pem')} (give it to every ancestor and descendant)")


def _env_site_engine() -> tuple[str, Any]:
    from sunlight.cli.onhost import core_engine, site_code

    return site_code(), core_engine()


@baseline_app.command("publish")
def baseline_publish(
    title: str = typer.Option(..., "--title", help="e.g. 2026 年版权力清单基线"),
    code: list[str] = typer.Option([], "--code", help="Only these item codes; repeat."),
    actor: str = typer.Option("cli", "--actor", help="Recorded in the audit chain."),
) -> None:
    """Publish the items in force as the next baseline version, to every child site."""
    from sunlight.runtime.core.baselines import publish
    from sunlight.runtime.db import transaction
    from sunlight.runtime.errors import ApiError
    from sunlight.runtime.exchange.signing import Keyring

    site, engine = _env_site_engine()
    keys = os.environ.get("SUNLIGHT_PEER_KEYS_DIR")
    if not keys:
        raise fail("SUNLIGHT_PEER_KEYS_DIR is required (it says who the children are)",
                   ExitCode.ENVIRONMENT)
    try:
        with transaction(engine) as session:
            row = publish(session, site, Keyring.load(site, Path(keys)).children(), actor,
                          title, code or None)
            version, count = row.version, len(row.items)
    except ApiError as exc:
        raise fail(str(exc.detail)) from exc
    console.print(f"baseline {site} v{version} published: {count} items")


@baseline_app.command("adopt")
def baseline_adopt(
    issuer: str = typer.Argument(..., help="The site that published the baseline."),
    version: int = typer.Argument(..., help="Its version."),
    localize: list[str] = typer.Option([], "--localize", help="CODE=NOTE for an item this "
                                       "site localizes; repeat. None: adopted as is."),
    note: str = typer.Option("", "--note"),
    actor: str = typer.Option("cli", "--actor"),
) -> None:
    """Record this site's adoption (or localization) of a baseline; it is reported up."""
    from sunlight.runtime.core.baselines import adopt
    from sunlight.runtime.db import transaction
    from sunlight.runtime.errors import ApiError

    pairs = [entry.partition("=") for entry in localize]
    if any(not sep or not text for _, sep, text in pairs):
        raise fail("--localize takes CODE=NOTE", ExitCode.USAGE)
    localized = [{"code": c, "note": t} for c, _, t in pairs]
    site, engine = _env_site_engine()
    try:
        with transaction(engine) as session:
            adopt(session, site, actor, issuer, version,
                  "localized" if localized else "adopted", localized, note)
    except ApiError as exc:
        raise fail(str(exc.detail)) from exc
    console.print(f"baseline {issuer} v{version}: "
                  f"{'localized ' + str(len(localized)) + ' items' if localized else 'adopted'}")


@dead_letters_app.command("list")
def dead_letters_list(
    reason: str = typer.Option(None, "--reason", help="Only this reason (e.g. apply_failed)."),
    limit: int = typer.Option(50, "--limit", min=1, help="The newest this many."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The newest dead letters of this site's core database, newest first.

    --json: [{"id", "received_at", "queue", "reason", "claimed_source", "claimed_type",
    "claimed_id", "detail", "size"}] (what a body claims is unverified).
    """
    from sqlalchemy import func, select

    from sunlight.cli.onhost import core_engine
    from sunlight.runtime.db import transaction
    from sunlight.runtime.exchange.inbound import REASONS
    from sunlight.runtime.exchange.models import DeadLetter

    if reason is not None and reason not in REASONS:
        raise fail(f"--reason must be one of {', '.join(REASONS)}", ExitCode.USAGE)
    query = select(DeadLetter.id, DeadLetter.received_at, DeadLetter.queue, DeadLetter.reason,
                   DeadLetter.claimed_source, DeadLetter.claimed_type, DeadLetter.claimed_id,
                   DeadLetter.detail, func.length(DeadLetter.body).label("size"),
                   ).order_by(DeadLetter.id.desc()).limit(limit)
    if reason is not None:
        query = query.where(DeadLetter.reason == reason)
    with transaction(core_engine()) as session:
        rows = [dict(r._mapping) for r in session.execute(query)]
    for row in rows:
        row["received_at"] = row["received_at"].isoformat()
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table("id", "received", "queue", "reason", "claims (source, type)", "detail")
    for row in rows:
        table.add_row(str(row["id"]), row["received_at"][:19], row["queue"], row["reason"],
                      f"{row['claimed_source'] or '?'} {row['claimed_type'] or '?'}",
                      row["detail"][:100])
    console.print(table)


@dead_letters_app.command("replay")
def dead_letters_replay(
    dead_letter_id: int = typer.Argument(..., help="The dead letter's id (see list)."),
) -> None:
    """Apply an apply_failed event again, once its cause is fixed: in one transaction it is
    accepted, forwarded and applied as if just delivered, and its dead letter deleted.
    Exit 1 when it is not apply_failed, is refused now, or its apply fails again (then
    nothing changed)."""
    from sunlight.runtime.core.cross_tier import register as register_handlers
    from sunlight.runtime.exchange.handlers import Handlers
    from sunlight.runtime.exchange.inbound import Inbound, NotReplayable, replay
    from sunlight.runtime.exchange.signing import KeyFileError, Keyring

    site, engine = _env_site_engine()
    keys = os.environ.get("SUNLIGHT_PEER_KEYS_DIR")
    if not keys:
        raise fail("SUNLIGHT_PEER_KEYS_DIR is required (events are verified again)",
                   ExitCode.ENVIRONMENT)
    try:
        ring = Keyring.load(site, Path(keys))
    except KeyFileError as exc:
        raise fail(str(exc), ExitCode.ENVIRONMENT) from exc
    ctx = Inbound(site, ring, tuple(ring.children()), register_handlers(Handlers()))
    try:
        outcome = replay(engine, ctx, dead_letter_id)
    except NotReplayable as exc:
        raise fail(str(exc)) from exc
    except Exception as exc:  # the apply's own failure: say it, change nothing
        raise fail(f"dead letter {dead_letter_id}: applying failed again ({exc!r}); "
                   "nothing changed") from exc
    console.print(f"dead letter {dead_letter_id}: {outcome.type} {outcome.kind}"
                  f"{', forwarded' if outcome.forwarded else ''}; the dead letter is deleted")


def register(app: typer.Typer) -> None:
    """Add the exchange group to ``app``, in the On host panel."""
    app.add_typer(exchange_app, name="exchange", rich_help_panel=PANEL_ON_HOST)


if __name__ == "__main__":
    exchange_app()
