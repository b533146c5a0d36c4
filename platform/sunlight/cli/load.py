"""``sunlight load``: load-test a running deployment against SLO gates.

Example::

    $ sunlight load --profile inspection-season --gates loadtests/gates/inspection-season.yaml
    $ sunlight load --profile smoke --duration 60 --workers 2
    $ sunlight load --find-capacity

Exit codes: 0 every gate passed, 1 a gate was breached (or no rate passed), 2 bad options,
3 the deployment cannot be reached (:mod:`sunlight.cli.common`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from sunlight.cli.common import PANEL_LOAD, ExitCode, console, fail, progress

if TYPE_CHECKING:  # the control node's tooling (psutil) is not on hosts
    from sunlight.control.load.run import LoadRequest

CAPACITY_STEP = 1.25
CAPACITY_HOLD_S = 60.0
CPU_LIMIT = 90.0


def _duration(text: str | None) -> float | None:
    if not text:
        return None
    units = {"s": 1, "m": 60, "h": 3600}
    unit = text[-1] if text[-1] in units else "s"
    try:
        value = float(text.rstrip("smh"))
    except ValueError:
        raise typer.BadParameter(f"{text!r}: a duration like 90, 90s or 2m",
                                 param_hint="--duration") from None
    if value <= 0:
        raise typer.BadParameter("must be positive", param_hint="--duration")
    return value * units[unit]


def load_cmd(
    profile: str = typer.Option("smoke", "--profile",
                                help="daily, inspection-season, deadline-spike or smoke."),
    gates: Path = typer.Option(None, "--gates", exists=True, dir_okay=False,
                               help="SLO gate file (default: the profile's, else ci.yaml)."),
    users: int = typer.Option(None, "--users", min=1,
                              help="Scale the profile's rates so that it peaks at N users."),
    duration: str = typer.Option(None, "--duration", help="Squeeze the profile into T (90s, 2m)."),
    workers: int = typer.Option(0, "--workers", min=0, max=16,
                                help="Distributed: a master and K workers on this machine."),
    name: str = typer.Option("demo", "--name", help="Deployment name."),
    find_capacity: bool = typer.Option(False, "--find-capacity",
                                       help="Raise the submission rate by 25% a minute until a "
                                       "gate fails or the generator passes 90% CPU."),
    max_steps: int = typer.Option(12, "--max-steps", min=1, max=40,
                                  help="Bound the capacity search to this many steps."),
) -> None:
    """Run Locust headless against a running deployment; the verdict is printed last."""
    from sunlight.control.load.run import LoadRequest
    from sunlight.control.load.shapes import PROFILES

    if profile not in PROFILES:
        raise typer.BadParameter(f"{profile!r} is not one of {', '.join(PROFILES)}",
                                 param_hint="--profile")
    factor = users / PROFILES[profile].peak().total if users else 1.0
    request = LoadRequest(deployment=name, profile=profile, gates=gates,
                          duration_s=_duration(duration), rate_factor=factor, workers=workers)
    if find_capacity:
        _capacity(request, max_steps)
    else:
        raise typer.Exit(int(_one(request)))


def _one(request: LoadRequest) -> ExitCode:
    from sunlight.control.load.run import run_load
    from sunlight.control.stack.access import AccessError

    try:
        outcome = run_load(request, progress)
    except AccessError as exc:
        raise fail(str(exc), ExitCode.ENVIRONMENT) from exc
    console.print(f"reports: {outcome.folder} (report.html, stats_*.csv, verdict.json)")
    console.print(f"load generator CPU: {outcome.cpu_percent:.0f}% of one core "
                  f"({outcome.cpu_share:.0%} of the machine)")
    for line in outcome.lines:
        console.print(f"  {escape(line)}")
    if outcome.passed:
        console.print("[bold green]VERDICT: PASS[/]")
        return ExitCode.OK
    console.print(f"[bold red]VERDICT: FAIL[/] ({escape(', '.join(outcome.failed))})")
    return ExitCode.FAILED


def _capacity(base: LoadRequest, max_steps: int) -> None:
    from dataclasses import replace

    from sunlight.control.load.run import run_load
    from sunlight.control.load.shapes import PROFILES
    from sunlight.control.stack.access import AccessError

    rate0 = (PROFILES[base.profile].rates_at(0) or (0.0, 0.0))[0]
    factor, best, stop = base.rate_factor, None, f"the step limit ({max_steps})"
    for _step in range(max_steps):
        try:
            outcome = run_load(replace(base, rate_factor=factor, duration_s=CAPACITY_HOLD_S),
                               progress)
        except AccessError as exc:
            raise fail(str(exc), ExitCode.ENVIRONMENT) from exc
        rate = rate0 * factor
        per_process = outcome.cpu_percent / max(1, base.workers)
        console.print(f"{rate:.2f} submissions/s: {'pass' if outcome.passed else 'FAIL'}, "
                      f"generator {per_process:.0f}% CPU")
        if not outcome.passed:
            stop = f"gate(s) {', '.join(outcome.failed)} at {rate:.2f}/s"
            break
        best = (rate, outcome)
        if per_process > CPU_LIMIT:
            stop = f"the load generator passed {CPU_LIMIT:.0f}% CPU at {rate:.2f}/s"
            break
        factor *= CAPACITY_STEP
    if best:
        console.print(f"[bold]capacity: {best[0]:.2f} submissions/s[/] (report {best[1].folder});"
                      f" stopped by {stop}")
    else:
        console.print(f"[bold red]no passing rate[/]; stopped by {stop}")
        raise typer.Exit(ExitCode.FAILED)


def register(app: typer.Typer) -> None:
    """Add ``load`` to ``app``, in the Load panel."""
    app.command("load", rich_help_panel=PANEL_LOAD)(load_cmd)
