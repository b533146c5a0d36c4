"""What every ``sunlight`` command shares: the consoles, progress lines, errors, exit codes,
``--json`` output and the Docker client.

Exit codes (every command, every group):

====  ========================  ========================================================
code  name                      meaning
====  ========================  ========================================================
0     ``ExitCode.OK``           done; every check passed
1     ``ExitCode.FAILED``       a check failed or the operation did not succeed: doctor
                                found problems, verify or the audit chain failed, a load
                                gate was breached, a build, playbook or scenario step
                                failed, the exchange is unhealthy, a confirmation was
                                declined
2     ``ExitCode.USAGE``        bad command line or input, and the message names the
                                option, field or row: an unknown option or bad value
                                (Click's own usage errors exit 2 too), an invalid
                                topology, catalogue, setting or account
3     ``ExitCode.ENVIRONMENT``  something the command needs is not there: no Docker
                                engine answers, the deployment is not up, a required
                                ``SUNLIGHT_*`` variable is unset, core does not answer
====  ========================  ========================================================

Errors go to stderr as ``error: MESSAGE`` (:func:`fail`); progress lines (``• ...``) go to
stdout, or to stderr under ``--json`` (:func:`progress_printer`), so that stdout then holds
the JSON document alone (:func:`print_json`).

Example::

    from sunlight.cli.common import ExitCode, fail

    if not url:
        raise fail("SUNLIGHT_DATABASE_URL (core database) is required", ExitCode.ENVIRONMENT)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import IntEnum
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

console = Console(highlight=False)
"""stdout: results, tables, progress lines."""
err_console = Console(stderr=True, highlight=False)
"""stderr: errors, and progress lines under ``--json``."""

Progress = Callable[[str], None]

# The panels of ``sunlight --help`` (which command is where: :mod:`sunlight.cli.main`).
PANEL_DEPLOYMENT = "Deployment"
PANEL_OPERATIONS = "Operations"
PANEL_LOAD = "Load"
PANEL_ON_HOST = "On host"

EXIT_CODES_HELP = ("Exit codes: 0 done; 1 a check or the operation failed; 2 bad usage or "
                   "input (the message names it); 3 something needed is missing (engine, "
                   "deployment, SUNLIGHT_* setting, core).")


class ExitCode(IntEnum):
    """The exit status of every ``sunlight`` command (see the module's table)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    ENVIRONMENT = 3


def fail(message: str, code: ExitCode = ExitCode.FAILED) -> typer.Exit:
    """Print ``error: MESSAGE`` on stderr (one line, never wrapped) and return the exit to raise.

    ``MESSAGE`` is plain text (not markup). Use as ``raise fail(...) from exc``.
    """
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(int(code))


def _line(target: Console, message: str) -> None:
    first = message.splitlines()[0] if message else ""
    line = f"[dim]•[/dim] {escape(first)}"
    if target.is_terminal:
        target.print(line, overflow="ellipsis", no_wrap=True)
    else:  # a log or a pipe keeps the whole line
        target.print(line, soft_wrap=True)


def progress(message: str) -> None:
    """One progress line on stdout: ``• MESSAGE``, its first line only; on a terminal, cut to
    the terminal's width."""
    _line(console, message)


def progress_to_stderr(message: str) -> None:
    """:func:`progress` on stderr (under ``--json``)."""
    _line(err_console, message)


def progress_printer(as_json: bool) -> Progress:
    """The progress printer for a command: stderr under ``--json``, else stdout."""
    return progress_to_stderr if as_json else progress


JSON_OPTION: Any = typer.Option(
    False, "--json",
    help="Print one JSON document on stdout instead of the table (shape: see above).")


def print_json(document: Any) -> None:
    """``document`` as indented JSON on stdout: the only thing a ``--json`` run prints there."""
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False, default=str))


def docker_client() -> Any:
    """A client of the local Docker engine, or exit 3 naming the fix.

    ``docker`` is imported here, not at module level: hosts install the CLI without it.
    """
    import docker
    import docker.errors

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise fail(
            f"no Docker engine answers ({exc}); run `make setup` or `sunlight engine ensure` "
            "(root on Debian), or start your engine", ExitCode.ENVIRONMENT,
        ) from exc
    return client


def core_clock() -> Any:
    """Core's clock: the system clock plus ``SUNLIGHT_CLOCK_OFFSET_FILE``'s offset (a drill's);
    an unreadable offset file is a usage error naming it."""
    import os
    from pathlib import Path

    from sunlight.runtime.clock import Clock, ClockOffsetError

    offset = os.environ.get("SUNLIGHT_CLOCK_OFFSET_FILE")
    clock = Clock(Path(offset) if offset else None)
    try:
        clock.offset()
    except ClockOffsetError as exc:
        raise fail(str(exc), ExitCode.USAGE) from exc
    return clock
