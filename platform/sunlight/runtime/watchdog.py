"""systemd readiness and watchdog for a role's process (``sd_notify`` over its socket).

Each role runs as a ``Type=notify`` unit with ``WatchdogSec``
(``playbooks/roles/sunlight_app/templates/sunlight.service.j2``). :func:`run` runs uvicorn and
beside it, on the same event loop, a task that

- sends ``READY=1`` once uvicorn is serving (its sockets are listening, the app's start-up
  is done): until then systemd reports the unit as starting;
- then sends ``WATCHDOG=1`` every half watchdog interval (``WATCHDOG_USEC``, which systemd
  sets for the main process): an event loop that is wedged — a blocking call, a stopped
  process — stops the pings, and systemd kills and restarts the service;
- sends ``STOPPING=1`` when uvicorn shuts down.

Outside systemd (``NOTIFY_SOCKET`` unset: tests, a developer's shell) nothing is sent.
The protocol is one datagram per message on an ``AF_UNIX`` socket (``sd_notify(3)``); an
address starting with ``@`` is in the abstract namespace.

Example::

    >>> import uvicorn
    >>> from sunlight.runtime.watchdog import run
    >>> run(uvicorn.Config(app, host="127.0.0.1", port=8000))  # doctest: +SKIP

:class:`NotifyingServer` runs uvicorn and, beside it, :func:`supervise`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
from collections.abc import Mapping

import uvicorn
from uvicorn.config import STARTUP_FAILURE

log = logging.getLogger(__name__)
#: How often the start-up is looked at while waiting for uvicorn to serve.
STARTED_POLL_S = 0.05


class Notifier:
    """Sends ``sd_notify`` messages to ``NOTIFY_SOCKET``; a no-op without one."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.interval_s = _watchdog_interval(env)

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, message: str) -> bool:
        """Send one message; False (and a log line) if it could not be sent."""
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message.encode(), self.address)
        except OSError as exc:
            log.warning("systemd notification not sent", extra={"notify": message,
                                                                 "error": repr(exc)})
            return False
        return True


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Seconds between watchdog pings: half of ``WATCHDOG_USEC`` — when it is meant for this
    process (``WATCHDOG_PID``, if set, is ours) — else None."""
    usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1e6 / 2


async def supervise(server: uvicorn.Server, notifier: Notifier) -> None:
    """READY=1 once ``server`` serves, then WATCHDOG=1 from this event loop until it stops."""
    while not server.started:
        if server.should_exit:
            return
        await asyncio.sleep(STARTED_POLL_S)
    notifier.notify("READY=1\nSTATUS=serving")
    log.info("serving", extra={"systemd": notifier.enabled,
                               "watchdog_interval_s": notifier.interval_s})
    if notifier.interval_s is None:
        return
    while not server.should_exit:
        notifier.notify("WATCHDOG=1")
        await asyncio.sleep(notifier.interval_s)


class NotifyingServer(uvicorn.Server):
    """uvicorn's server with :func:`supervise` beside it on the same event loop."""

    def __init__(self, config: uvicorn.Config, notifier: Notifier | None = None) -> None:
        super().__init__(config)
        self.notifier = notifier or Notifier()

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        task = asyncio.create_task(supervise(self, self.notifier), name="sd_notify")
        try:
            await super().serve(sockets)
        finally:
            self.notifier.notify("STOPPING=1")
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def run(config: uvicorn.Config) -> None:
    """What ``uvicorn.run`` does for one process, with systemd notifications; exits 3 (as
    uvicorn does) when the app failed to start."""
    server = NotifyingServer(config)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
