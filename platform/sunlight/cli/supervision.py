"""``sunlight supervision rules check|import|export|publish``, ``sunlight supervision tick``:
e-supervision (电子监察) on one site's core.

``rules check FILE`` needs no database: it loads the file as an import would (every problem
named by rule, field, YAML path and line), optionally against a catalogue (item codes and
categories), a site code and a baseline file from above (which the file may only tighten).
``rules import``, ``export`` and ``publish`` work on core's database
(``SUNLIGHT_DATABASE_URL``, ``SUNLIGHT_SITE_CODE``), like ``sunlight catalogue``; ``import``
also checks the item codes against the catalogue there, the version in force and the
baselines received from above, and refuses the file as a whole. ``tick`` runs core's
periodic tick once, now, at core's clock (``SUNLIGHT_CLOCK_OFFSET_FILE``): overdue marks,
lights, 督办 escalation.

Exit codes (:mod:`sunlight.cli.common`): 2 for a refused rule file (every problem on stderr,
or in the ``--json`` document), 3 when a needed ``SUNLIGHT_*`` variable is unset.

Example::

    $ sunlight supervision rules check county.yaml --site 320703 --baseline province.yaml
    $ sunlight supervision rules import county.yaml
    $ sunlight supervision rules export --out in-force.yaml
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
    core_clock,
    err_console,
    fail,
    print_json,
)

supervision_app = typer.Typer(help="E-supervision (电子监察): rules, lights, the tick.",
                              no_args_is_help=True)
rules_app = typer.Typer(help="The site's supervision rules: check, import, export, publish.",
                        no_args_is_help=True)
supervision_app.add_typer(rules_app, name="rules")

FILE_ARGUMENT: Any = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                    help="A rule file (YAML).")


def _problems(exc: Any) -> list[dict[str, Any]]:
    return [{"where": p.where, "message": p.message, "path": p.path, "line": p.line,
             "rule_id": p.rule_id, "field": p.field} for p in exc.all_problems]


def _refused(exc: Any, as_json: bool, what: str) -> typer.Exit:
    """Report a refused file: every problem, then exit 2."""
    problems = _problems(exc)
    if as_json:
        print_json({"ok": False, "problems": problems})
    else:
        for problem in problems:
            err_console.print(f"  {problem['where']}: {problem['message']}", soft_wrap=True,
                              markup=False, highlight=False)
    return fail(f"{what}: {len(problems)} problem(s); nothing was changed", ExitCode.USAGE)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"{path}: not UTF-8 text ({exc})", ExitCode.USAGE) from exc


@rules_app.command("check")
def rules_check(
    path: Path = FILE_ARGUMENT,
    catalogue: Path = typer.Option(None, "--catalogue", exists=True, dir_okay=False,
                                   help="Check item codes and categories against this "
                                        "catalogue (.yaml or .xlsx)."),
    sample: bool = typer.Option(False, "--sample-catalogue",
                                help="Check against the shipped sample catalogue."),
    site: str = typer.Option(None, "--site", help="The site the file must name."),
    baseline: Path = typer.Option(None, "--baseline", exists=True, dir_okay=False,
                                  help="A baseline rule file from above: the file may only "
                                       "tighten it."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Check a rule file without a database; exit 2 naming every problem.

    --json: {"ok": bool, "site", "version", "rules": [rule ids]} or {"ok": false,
    "problems": [{"where", "message", "path", "line", "rule_id", "field"}]}.
    """
    from sunlight.supervision.rules import RuleFileError, load_rules, refusal
    from sunlight.supervision.tighten import check_tighten

    body = _read(path)
    items, categories = _catalogue_scope(catalogue, sample)
    try:
        ruleset = load_rules(body, path.name, known_items=items, known_categories=categories)
        found: list[tuple[tuple[str | int, ...], str]] = []
        if site is not None and ruleset.site != site:
            found.append((("site",), f"the file is for site {ruleset.site}, not {site}"))
        if baseline is not None:
            base = load_rules(_read(baseline), baseline.name)
            index = {rule.id: n for n, rule in enumerate(ruleset.rules)}
            for v in check_tighten(base, ruleset):
                where: tuple[str | int, ...] = ("rules",)
                if v.rule_id in index:
                    where = ("rules", index[v.rule_id], *v.field.split("."))
                found.append((where, f"relaxes baseline rule {v.rule_id} ({baseline.name}), "
                                     f"field {v.field}: {v.reason}"))
        if found:
            raise refusal(body, path.name, found)
    except RuleFileError as exc:
        raise _refused(exc, as_json, f"{path} refused") from exc
    ids = [rule.id for rule in ruleset.rules]
    if as_json:
        print_json({"ok": True, "site": ruleset.site, "version": ruleset.version, "rules": ids})
    else:
        console.print(f"[green]{path}[/]: site {ruleset.site}, version {ruleset.version}, "
                      f"{len(ids)} rules ({', '.join(ids)})")


def _catalogue_scope(path: Path | None, sample: bool) -> tuple[set[str] | None, set[str] | None]:
    if path is None and not sample:
        return None, None
    from sunlight.catalogue.errors import CatalogueImportError
    from sunlight.catalogue.io_excel import load_excel
    from sunlight.catalogue.io_yaml import load_yaml
    from sunlight.catalogue.sample import sample_catalogue

    try:
        if path is None:
            found = sample_catalogue()
        elif path.suffix.lower() == ".xlsx":
            found = load_excel(path)
        else:
            found = load_yaml(_read(path))
    except CatalogueImportError as exc:
        raise fail(f"--catalogue: {exc}", ExitCode.USAGE) from exc
    return ({i.code for i in found.items}, {i.category.value for i in found.items})


@rules_app.command("import")
def rules_import(
    path: Path = FILE_ARGUMENT,
    check_only: bool = typer.Option(False, "--check-only",
                                    help="Check as an import would; store nothing."),
    actor: str = typer.Option("cli", "--actor", help="Recorded with the revision and in the "
                                                     "audit chain."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Put a rule file in force at this site (a new revision), or refuse it as a whole.

    --json: {"ok": true, "revision", "version", "rules", "changed"} or {"ok": false,
    "problems": [...]} (as ``check``).
    """
    from sunlight.cli.onhost import core_engine, site_code
    from sunlight.runtime.core.supervision_rules import import_rules
    from sunlight.runtime.db import transaction
    from sunlight.supervision.rules import RuleFileError

    body, site = _read(path), site_code()
    try:
        with transaction(core_engine()) as session:
            done = import_rules(session, site, body, path.name, actor, now=core_clock().now(),
                                check_only=check_only)
    except RuleFileError as exc:
        raise _refused(exc, as_json, f"{path} refused") from exc
    if as_json:
        print_json({"ok": True, "revision": done.revision, "version": done.version,
                    "rules": done.rules, "changed": done.changed and not check_only})
    elif check_only:
        console.print(f"{path}: would be revision {done.revision} (version {done.version}, "
                      f"{done.rules} rules); nothing stored")
    elif done.changed:
        console.print(f"rules in force at {site}: revision {done.revision} (version "
                      f"{done.version}, {done.rules} rules); lights follow at the next tick")
    else:
        console.print(f"unchanged: {path} is revision {done.revision}, already in force")


@rules_app.command("export")
def rules_export(out: Path = typer.Option(None, "--out", help="Write here (default stdout).")
                 ) -> None:
    """Export the rules in force (the shipped defaults if none was imported), stable YAML."""
    from sunlight.cli.onhost import core_engine, site_code
    from sunlight.runtime.core.supervision_rules import export_rules
    from sunlight.runtime.db import transaction

    site = site_code()
    with transaction(core_engine()) as session:
        body = export_rules(session, site)
    if out is None:
        typer.echo(body, nl=False)
        return
    out.write_text(body, encoding="utf-8")
    console.print(f"wrote the rules in force at {site} to {out}")


@rules_app.command("publish")
def rules_publish(actor: str = typer.Option("cli", "--actor", help="Recorded in the audit "
                                                                   "chain.")) -> None:
    """Publish the rules in force as a baseline for every subordinate site (which may then
    only tighten it); its version is the rule file's."""
    from sunlight.cli.onhost import core_engine, site_code
    from sunlight.runtime.core.baselines import RULES_KIND, publish_file
    from sunlight.runtime.core.supervision_rules import export_rules, in_force
    from sunlight.runtime.db import transaction
    from sunlight.runtime.errors import ApiError
    from sunlight.runtime.exchange.signing import Keyring

    site = site_code()
    keys = os.environ.get("SUNLIGHT_PEER_KEYS_DIR")
    if not keys:
        raise fail("SUNLIGHT_PEER_KEYS_DIR is required (it says who the children are)",
                   ExitCode.ENVIRONMENT)
    try:
        with transaction(core_engine()) as session:
            version = in_force(session, site).rules.version
            publish_file(session, site, Keyring.load(site, Path(keys)).children(), actor,
                         RULES_KIND, version, export_rules(session, site), now=core_clock().now())
    except ApiError as exc:
        raise fail(exc.detail) from exc
    console.print(f"supervision rules of {site}, version {version}, published as a baseline")


@supervision_app.command("tick")
def tick() -> None:
    """Run core's periodic tick once, now (overdue marks, lights, 督办 escalation)."""
    from sunlight.cli.onhost import core_engine, site_code
    from sunlight.runtime.core.periodic import run_tick

    report = run_tick(core_engine(), site_code(), core_clock())
    console.print(f"{report.marked} cases marked overdue; {report.lights.evaluated} open cases "
                  f"evaluated, {report.lights.changed} lights changed; {report.escalated} 督办 "
                  "orders escalated")


def register(app: typer.Typer) -> None:
    """Add the supervision group to ``app``, in the On host panel."""
    app.add_typer(supervision_app, name="supervision", rich_help_panel=PANEL_ON_HOST)
