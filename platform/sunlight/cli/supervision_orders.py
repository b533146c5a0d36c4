"""``sunlight supervision orders|inspection``: 督办 orders and random inspection (随机督查).

On-host commands, like ``sunlight accounts``: they work on core's database
(``SUNLIGHT_DATABASE_URL``, ``SUNLIGHT_SITE_CODE``) through the same services as core's API,
acting as the staff account named by ``--as`` (its roles decide, exactly as for a signed-in
user: supervisors and admins issue, accept, return and inspect; approvers answer). Times come
from core's clock (``SUNLIGHT_CLOCK_OFFSET_FILE``, :mod:`sunlight.runtime.clock`); an order to
a lower site needs the peer keys (``SUNLIGHT_PEER_KEYS_DIR``) and leaves through core's
exchange outbox. Every step is audited.

``orders_app`` (list, issue, answer, accept, return, escalate) and ``inspection_app`` (draw,
list, finding, summary) are mounted by :mod:`sunlight.cli.main`;
``python -m sunlight.cli.supervision_orders orders|inspection ...`` runs them on their own.

Exit codes (:mod:`sunlight.cli.common`): 2 for bad input (an unknown account, order, receipt
or department, a role that may not do it — the message names it); 1 when the order's state
does not allow the step (already answered, not answered yet, closed) or no exchange is
configured; 3 when a required ``SUNLIGHT_*`` setting is unset.

Example::

    $ sunlight supervision orders issue --as zhao --department 320703-SCJGJ \\
          --text "请说明 12 月超期件的原因" --due-days 3
    $ sunlight supervision orders list --as zhao --status answered --json
    $ sunlight supervision orders return ORDER_ID --as zhao --reason "未说明整改措施"
    $ sunlight supervision inspection draw --as zhao --department 320703-SCJGJ \\
          --month 2026-12 --share 0.1
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer

from sunlight.cli.common import JSON_OPTION, ExitCode, console, fail, print_json

orders_app = typer.Typer(help="督办 orders: issue, answer, accept or return, escalate.",
                         no_args_is_help=True)
inspection_app = typer.Typer(help="Random inspection (随机督查): draw, review, report.",
                             no_args_is_help=True)

AS_OPTION: Any = typer.Option(..., "--as", help="The staff account acting (its roles decide "
                              "what it may do; recorded in the audit chain).")


def _clock() -> Any:
    from sunlight.runtime.clock import Clock

    path = os.environ.get("SUNLIGHT_CLOCK_OFFSET_FILE")
    return Clock(Path(path) if path else None)


def _now() -> datetime:
    from sunlight.runtime.clock import ClockOffsetError

    try:
        now: datetime = _clock().now()
    except ClockOffsetError as exc:
        raise fail(str(exc), ExitCode.ENVIRONMENT) from exc
    return now


@contextmanager
def _session() -> Iterator[tuple[str, Any]]:
    """(site, session) in one transaction; services' ApiErrors become exit codes."""
    from sunlight.cli.onhost import core_engine, site_code
    from sunlight.runtime.db import transaction
    from sunlight.runtime.errors import ApiError

    site, engine = site_code(), core_engine()
    try:
        with transaction(engine) as session:
            yield site, session
    except ApiError as exc:
        code = ExitCode.FAILED if exc.status == 409 else ExitCode.USAGE
        where = f" ({exc.field})" if exc.field else ""
        raise fail(f"{exc.detail}{where}", code) from exc
    finally:
        engine.dispose()


def _staff(session: Any, username: str) -> Any:
    from sunlight.runtime.core.auth import staff_of
    from sunlight.runtime.core.models import Account

    account = session.get(Account, username)
    if account is None or not account.active:
        raise fail(f"--as: no active account {username} at this site", ExitCode.USAGE)
    return staff_of(account)  # a supervisor acts within its coverage, as over the API


def _keyring(site: str) -> Any:
    from sunlight.runtime.exchange.signing import KeyFileError, Keyring

    keys = os.environ.get("SUNLIGHT_PEER_KEYS_DIR")
    if not keys:
        return None
    try:
        return Keyring.load(site, Path(keys))
    except KeyFileError as exc:
        raise fail(f"SUNLIGHT_PEER_KEYS_DIR: {exc}", ExitCode.ENVIRONMENT) from exc


def _order_doc(order: Any, today: date) -> dict[str, Any]:
    from sunlight.runtime.core.supervision import is_overdue

    return {"id": str(order.id), "issuer": order.issuer, "target": order.target,
            "department": order.department, "receipt": order.receipt, "text": order.text,
            "due_on": order.due_on.isoformat() if order.due_on else None,
            "overdue": is_overdue(order, today), "status": order.status,
            "issued_by": order.issued_by, "issued_at": order.issued_at.isoformat(),
            "answer": order.answer, "answered_by": order.answered_by,
            "returns": order.returns or 0, "review_note": order.review_note,
            "rule_id": order.rule_id,
            "escalated_at": order.escalated_at.isoformat() if order.escalated_at else None,
            "escalated_to": order.escalated_to, "escalated_from": order.escalated_from,
            "history": list(order.history or [])}


def _print_order(doc: dict[str, Any], as_json: bool, verb: str) -> None:
    if as_json:
        print_json(doc)
        return
    console.print(f"order {doc['id']} {verb}: {doc['status']}, {doc['target']} "
                  f"{doc['department'] or '-'} {doc['receipt'] or '-'}, due {doc['due_on']}")


def _with_order(username: str, as_json: bool, verb: str,
                step: Callable[[str, Any, Any, datetime], Any]) -> None:
    from sunlight.runtime.clock import CHINA

    now = _now()
    with _session() as (site, session):
        order = step(site, session, _staff(session, username), now)
        doc = _order_doc(order, now.astimezone(CHINA).date())
    _print_order(doc, as_json, verb)


@orders_app.command("list")
def orders_list(
    username: str = AS_OPTION,
    status: str = typer.Option(None, "--status", help="open, answered or accepted."),
    escalated: bool = typer.Option(None, "--escalated/--not-escalated",
                                   help="Only escalated (or only not escalated) orders."),
    department: str = typer.Option(None, "--department"),
    limit: int = typer.Option(100, "--limit", min=1, max=500),
    as_json: bool = JSON_OPTION,
) -> None:
    """Orders this account may see here, newest first (supervisors: every order issued,
    addressed or escalated here; approvers: their department's).

    --json: {"orders": [{"id", "issuer", "target", "department", "receipt", "text",
    "due_on", "overdue", "status", "issued_by", "issued_at", "answer", "answered_by",
    "returns", "review_note", "rule_id", "escalated_at", "escalated_to", "escalated_from",
    "history": [{"at", "by", "action", "text", "site"}]}]}.
    """
    from sunlight.runtime.core import supervision

    if status is not None and status not in ("open", "answered", "accepted"):
        raise fail("--status: one of open, answered, accepted", ExitCode.USAGE)
    today = _clock().today()
    with _session() as (site, session):
        docs = [_order_doc(o, today) for o in supervision.orders(
            session, site, _staff(session, username), status=status, limit=limit,
            escalated=escalated, department=department)]
    if as_json:
        print_json({"orders": docs})
        return
    from rich.table import Table

    table = Table("id", "from → to", "department", "receipt", "due", "status", "escalated",
                  "text")
    for d in docs:
        escalation = (f"from {d['escalated_from']}" if d["escalated_from"] else
                      f"to {d['escalated_to']}" if d["escalated_to"] else "")
        table.add_row(d["id"][:8], f"{d['issuer']} → {d['target']}", d["department"] or "-",
                      d["receipt"] or "-", f"{d['due_on']}{' 逾期' if d['overdue'] else ''}",
                      f"{d['status']} ({d['returns']} returned)" if d["returns"] else d["status"],
                      escalation, d["text"][:40])
    console.print(table)


@orders_app.command("issue")
def orders_issue(
    username: str = AS_OPTION,
    text: str = typer.Option(..., "--text", help="What the department must answer."),
    department: str = typer.Option(None, "--department", help="A department of this site."),
    receipt: str = typer.Option(None, "--receipt", help="The case the order is about."),
    target: str = typer.Option(None, "--target", help="A subordinate site (with --receipt); "
                               "default: this site."),
    due_days: int = typer.Option(None, "--due-days", help="Working days to answer (default 3)."),
    due_on: datetime = typer.Option(None, "--due-on", formats=["%Y-%m-%d"],
                                    help="Or an explicit due date."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Issue a 督办 order (supervisors, admins) to a department here or a lower site's case."""
    from sunlight.runtime.core import supervision

    def step(site: str, session: Any, staff: Any, now: datetime) -> Any:
        return supervision.issue(session, site, _keyring(site) if target else None, staff,
                                 target=target, receipt=receipt, text=text, now=now,
                                 department=department, due_days=due_days,
                                 due_on=due_on.date() if due_on else None)

    _with_order(username, as_json, "issued", step)


@orders_app.command("answer")
def orders_answer(order_id: uuid.UUID = typer.Argument(..., help="The order's id."),
                  username: str = AS_OPTION,
                  text: str = typer.Option(..., "--text", help="The department's answer."),
                  as_json: bool = JSON_OPTION) -> None:
    """Answer an order addressed to this account's department (approvers, admins)."""
    from sunlight.runtime.core import supervision

    _with_order(username, as_json, "answered", lambda site, session, staff, now:
                supervision.answer(session, site, staff, order_id, text, now))


@orders_app.command("accept")
def orders_accept(order_id: uuid.UUID = typer.Argument(..., help="The order's id."),
                  username: str = AS_OPTION,
                  note: str = typer.Option("", "--note", help="A remark on the answer."),
                  as_json: bool = JSON_OPTION) -> None:
    """Accept the answer to an order issued here (supervisors, admins): the order closes."""
    from sunlight.runtime.core import supervision
    from sunlight.supervision.orders import OrderMove

    _with_order(username, as_json, "accepted", lambda site, session, staff, now:
                supervision.review(session, site, staff, order_id, OrderMove.accept, note, now))


@orders_app.command("return")
def orders_return(order_id: uuid.UUID = typer.Argument(..., help="The order's id."),
                  username: str = AS_OPTION,
                  reason: str = typer.Option(..., "--reason", help="Why (the department "
                                             "reads it and answers again)."),
                  as_json: bool = JSON_OPTION) -> None:
    """Return the answer to an order issued here, with the reason (supervisors, admins)."""
    from sunlight.runtime.core import supervision
    from sunlight.supervision.orders import OrderMove

    _with_order(username, as_json, "returned", lambda site, session, staff, now:
                supervision.review(session, site, staff, order_id, OrderMove.return_, reason,
                                   now))


@orders_app.command("escalate")
def orders_escalate() -> None:
    """Escalate overdue orders now (core's periodic tick does it too): each order addressed
    here and unanswered past its due date goes one tier up."""
    from sunlight.runtime.core.supervision import escalate_overdue

    now = _now()
    with _session() as (site, session):
        count = escalate_overdue(session, site, now)
    console.print(f"{count} orders escalated")


def _draw_doc(row: Any, samples: list[Any]) -> dict[str, Any]:
    return {"id": str(row.id), "department": row.department, "month": row.month,
            "seed": row.seed, "size": row.size, "share": row.share,
            "population": row.population, "population_sha256": row.population_sha256,
            "drawn_by": row.drawn_by, "drawn_at": row.drawn_at.isoformat(),
            "samples": [{"receipt": s.receipt, "result": s.result, "category": s.category,
                         "text": s.text, "reviewed_by": s.reviewed_by} for s in samples]}


def _print_draws(docs: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table("draw", "department", "month", "seed", "closed", "receipt", "finding")
    for d in docs:
        for n, s in enumerate(d["samples"] or [{"receipt": "-", "result": None}]):
            finding = s["result"] or "待审查"
            if s["result"] == "problem":
                finding = f"problem: {s['category']} {s['text']}"
            head = (d["id"][:8], d["department"], d["month"], str(d["seed"]),
                    str(d["population"])) if n == 0 else ("", "", "", "", "")
            table.add_row(*head, s["receipt"], finding)
    console.print(table)


@inspection_app.command("draw")
def inspection_draw(
    username: str = AS_OPTION,
    department: str = typer.Option(..., "--department"),
    month: str = typer.Option(..., "--month", help="YYYY-MM: cases closed that month."),
    size: int = typer.Option(None, "--size", min=1, max=1000, help="How many cases."),
    share: float = typer.Option(None, "--share", min=0.0, max=1.0,
                                help="Or which share of them (0 < share ≤ 1)."),
    seed: int = typer.Option(None, "--seed", min=0, help="Repeat a draw (default: random; "
                             "always recorded)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Draw a reproducible random sample of a department's cases closed in a month.

    --json: {"id", "department", "month", "seed", "size", "share", "population",
    "population_sha256", "drawn_by", "drawn_at", "samples": [{"receipt", "result",
    "category", "text", "reviewed_by"}]}.
    """
    from sunlight.runtime.core import inspection

    now = _now()
    with _session() as (site, session):
        staff = _staff(session, username)
        row = inspection.draw_sample(session, site, staff, department=department, month=month,
                                     now=now, size=size, share=share, seed=seed)
        doc = _draw_doc(*inspection.one_draw(session, staff, row.id))
    if as_json:
        print_json(doc)
    else:
        _print_draws([doc])


@inspection_app.command("list")
def inspection_list(username: str = AS_OPTION,
                    department: str = typer.Option(None, "--department"),
                    month: str = typer.Option(None, "--month", help="YYYY-MM"),
                    as_json: bool = JSON_OPTION) -> None:
    """Draws, newest first, with their sampled cases and findings.

    --json: {"draws": [the document of ``inspection draw --json``]}.
    """
    from sunlight.runtime.core import inspection

    with _session() as (_site, session):
        docs = [_draw_doc(row, samples) for row, samples in inspection.draws(
            session, _staff(session, username), department=department, month=month)]
    if as_json:
        print_json({"draws": docs})
    else:
        _print_draws(docs)


@inspection_app.command("finding")
def inspection_finding(
    draw_id: uuid.UUID = typer.Argument(..., help="The draw's id."),
    receipt: str = typer.Argument(..., help="A sampled case."),
    username: str = AS_OPTION,
    result: str = typer.Option(..., "--result", help="ok or problem."),
    category: str = typer.Option(None, "--category", help="With problem: timeliness, "
                                 "procedure, materials, documents, discretion, offline, other."),
    text: str = typer.Option("", "--text", help="What was found (required with problem)."),
) -> None:
    """Record (or revise) the finding on a sampled case."""
    from sunlight.runtime.core import inspection

    now = _now()
    with _session() as (site, session):
        inspection.record_finding(session, site, _staff(session, username), draw_id, receipt,
                                  result=result, category=category, text=text, now=now)
    console.print(f"finding on {receipt}: {result}{' ' + category if category else ''}")


@inspection_app.command("summary")
def inspection_summary(month: str = typer.Option(..., "--month", help="YYYY-MM"),
                       department: str = typer.Option(None, "--department"),
                       as_json: bool = JSON_OPTION) -> None:
    """Per department, the month's figures (closed, sampled, reviewed, problems).

    --json: {"months": [{"department", "month", "draws", "closed", "sampled", "reviewed",
    "problems", "categories": {category: count}}]}.
    """
    import dataclasses

    from sunlight.runtime.core import inspection

    with _session() as (_site, session):
        figures = [dataclasses.asdict(f) for f in inspection.summary(session, month, department)]
    if as_json:
        print_json({"months": figures})
        return
    from rich.table import Table

    table = Table("department", "month", "draws", "closed", "sampled", "reviewed", "problems")
    for f in figures:
        table.add_row(f["department"], f["month"], *(str(f[k]) for k in (
            "draws", "closed", "sampled", "reviewed", "problems")))
    console.print(table)


app = typer.Typer(help="督办 orders and random inspection (on their own).", no_args_is_help=True)
app.add_typer(orders_app, name="orders")
app.add_typer(inspection_app, name="inspection")

if __name__ == "__main__":
    app()
