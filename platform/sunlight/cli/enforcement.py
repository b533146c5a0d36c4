"""``sunlight enforcement officers import FILE|list``: the officer registry (执法人员库) on one
site's core (``SUNLIGHT_DATABASE_URL``, ``SUNLIGHT_SITE_CODE``); ``sunlight enforcement
oversight``: legal supervision's figures (法制监督) of one month.

``officers import FILE`` checks a registry (YAML) against this site's departments and items
and puts it in force as a new revision, or refuses it as a whole naming every problem by
YAML path and line (exit 2). ``officers list`` prints the registry in force; with
``--expiring-within DAYS`` only the certificates valid today (core's clock,
``SUNLIGHT_CLOCK_OFFSET_FILE``) that end within that many days — the expiry alert's list.
``oversight --month YYYY-MM`` prints, per department, the decisions, overrides, refused
out-of-band and unqualified attempts, decisions on major items without legal review and the
行政复议/行政诉讼 filed and decided (:func:`sunlight.runtime.core.legal_supervision.view`),
then each override with its light under the site's e-supervision rules.

Example::

    $ sunlight enforcement officers import officers.yaml
    $ sunlight enforcement officers list --expiring-within 30 --json
    $ sunlight enforcement oversight --month 2026-03
"""

from __future__ import annotations

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

enforcement_app = typer.Typer(help="Enforcement (执法办案): the officer registry, legal "
                              "supervision's figures.", no_args_is_help=True)
officers_app = typer.Typer(help="The officer registry (执法人员库): import, list.",
                           no_args_is_help=True)
enforcement_app.add_typer(officers_app, name="officers")

FILE_ARGUMENT: Any = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                    help="An officer registry (YAML).")


@officers_app.command("import")
def officers_import(
    path: Path = FILE_ARGUMENT,
    actor: str = typer.Option("cli", "--actor", help="Recorded with the revision and in the "
                                                     "audit chain."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Put an officer registry in force (a new revision), or refuse it as a whole.

    --json: {"ok": true, "revision", "officers", "changed"} or {"ok": false, "problems":
    [...]}.
    """
    from sunlight.cli.onhost import core_engine, site_code
    from sunlight.runtime.core.enforcement import RegistryRefused, import_registry
    from sunlight.runtime.db import transaction

    try:
        body = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"{path}: not UTF-8 text ({exc})", ExitCode.USAGE) from exc
    try:
        with transaction(core_engine()) as session:
            done = import_registry(session, site_code(), body, path.name, actor,
                                   now=core_clock().now(), role="cli")
    except RegistryRefused as exc:
        if as_json:
            print_json({"ok": False, "problems": exc.problems})
        else:
            for problem in exc.problems:
                err_console.print(f"  {problem}", soft_wrap=True, markup=False,
                                  highlight=False)
        raise fail(f"{path} refused: {len(exc.problems)} problem(s); nothing was changed",
                   ExitCode.USAGE) from exc
    if as_json:
        print_json({"ok": True, "revision": done.revision, "officers": done.officers,
                    "changed": done.changed})
    elif done.changed:
        console.print(f"officer registry in force: revision {done.revision} "
                      f"({done.officers} officers)")
    else:
        console.print(f"unchanged: {path} is revision {done.revision}, already in force")


@officers_app.command("list")
def officers_list(
    within: int = typer.Option(None, "--expiring-within", min=0, max=3650,
                               help="Only certificates valid today that end within DAYS."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The officers of the registry in force (or those expiring soon).

    --json: {"revision", "as_of", "officers": [{"certificate", "name", "department",
    "items", "categories", "valid_from", "valid_to"}]}.
    """
    from sunlight.cli.onhost import core_engine
    from sunlight.enforcement.officers import expiring
    from sunlight.runtime.core.enforcement import registry_in_force
    from sunlight.runtime.db import transaction

    today = core_clock().today()
    with transaction(core_engine()) as session:
        revision, registry = registry_in_force(session)
    officers = list(registry.officers) if within is None else expiring(registry, today, within)
    if as_json:
        print_json({"revision": revision, "as_of": today.isoformat(), "officers": [
            o.model_dump(mode="json") for o in officers]})
        return
    if revision == 0:
        console.print("no officer registry imported yet")
        return
    for o in officers:
        console.print(f"{o.certificate}  {o.name}  {o.department}  {o.area}  "
                      f"{o.valid_from} – {o.valid_to}", markup=False, highlight=False)
    what = f"ending within {within} days" if within is not None else "in the registry"
    console.print(f"{len(officers)} officer(s) {what} (revision {revision}, as of {today})")


@enforcement_app.command("oversight")
def oversight_view(
    month: str = typer.Option(None, "--month", help="YYYY-MM (default: this month, core's "
                                                    "clock)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Legal supervision (法制监督): one month's figures per department, and the overrides.

    At a city or the province, the subordinates' figures (through the exchange) too, each
    under its origin site.

    --json: {"site", "month", "figures": [{"site", "department", "decisions", "overrides",
    "refused_out_of_band", "refused_unqualified", "missing_legal_review", "filed",
    "outcomes"}], "overrides": [{"site", "case_id", "department", "item_code", "on",
    "reviewer", "justification", "light", "rule_ids"}]}.
    """
    from rich.table import Table

    from sunlight.cli.onhost import core_engine, site_code
    from sunlight.enforcement.oversight import check_month, month_of
    from sunlight.enforcement.review import KINDS, OUTCOMES
    from sunlight.runtime.core.legal_supervision import view
    from sunlight.runtime.db import transaction

    if month is None:
        month = month_of(core_clock().today())
    try:
        check_month(month)
    except ValueError as exc:
        raise fail(str(exc), ExitCode.USAGE) from exc
    with transaction(core_engine()) as session:
        seen = view(session, site_code(), month)
    if as_json:
        print_json({"site": seen.site, "month": seen.month, "figures": [
            {"site": f.site, "department": f.department, "decisions": f.decisions,
             "overrides": f.overrides,
             "refused_out_of_band": f.refused_out_of_band,
             "refused_unqualified": f.refused_unqualified,
             "missing_legal_review": f.missing_legal_review, "filed": f.filed,
             "outcomes": f.outcomes} for f in seen.figures], "overrides": [
            {"site": r.entry.site, "case_id": r.entry.case_id,
             "department": r.entry.department,
             "item_code": r.entry.item_code, "on": r.entry.on.isoformat(),
             "reviewer": r.entry.reviewer, "justification": r.entry.justification,
             "light": r.light, "rule_ids": list(r.rule_ids)} for r in seen.overrides]})
        return
    table = Table("站点 site", "部门 department", "决定 decisions", "超基准批准 overrides",
                  "超基准被拒 refused out of band", "无资格被拒 refused unqualified",
                  "缺法制审核 missing review", "复议/诉讼 filed", "结果 outcomes",
                  title=f"法制监督 legal supervision {seen.site} {seen.month}")
    for f in seen.figures:
        filed = ", ".join(f"{KINDS[k]} {n}" for k, n in sorted(f.filed.items()))
        outcomes = "; ".join(f"{KINDS[k]} " + ", ".join(f"{OUTCOMES[o]} {n}"
                                                         for o, n in sorted(by.items()))
                             for k, by in sorted(f.outcomes.items()))
        table.add_row(f.site, f.department, str(f.decisions), str(f.overrides),
                      str(f.refused_out_of_band), str(f.refused_unqualified),
                      str(f.missing_legal_review), filed or "0", outcomes or "-")
    console.print(table)
    for r in seen.overrides:
        console.print(f"[{r.light}] {r.entry.on} {r.entry.site} {r.entry.department} "
                      f"{r.entry.item_code} "
                      f"case {r.entry.case_id} by {r.entry.reviewer}: {r.entry.justification}"
                      f"{' (' + ', '.join(r.rule_ids) + ')' if r.rule_ids else ''}",
                      markup=False, highlight=False, soft_wrap=True)
    if not seen.figures:
        console.print(f"nothing to count in {seen.month}")


def register(app: typer.Typer) -> None:
    """Add the enforcement group to ``app``, in the On host panel."""
    app.add_typer(enforcement_app, name="enforcement", rich_help_panel=PANEL_ON_HOST)
