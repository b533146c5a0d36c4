"""systemd readiness and watchdog (issue 15, point 3): a real uvicorn server, a real
``AF_UNIX`` datagram socket standing in for systemd's ``NOTIFY_SOCKET``.

Proves: ``READY=1`` arrives only once the server answers; ``WATCHDOG=1`` then arrives every
half ``WATCHDOG_USEC``; a blocking call on the event loop stops the pings for as long as it
blocks (what makes systemd restart a wedged process); ``STOPPING=1`` on shutdown; nothing is
sent without ``NOTIFY_SOCKET`` or with a ``WATCHDOG_PID`` that is not ours. Before issue 15
there was no ``sunlight.runtime.watchdog`` (ImportError) and the units were ``Type=exec``
without a watchdog: a wedged loop went on being "active".
"""

from __future__ import annotations

import itertools
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from sunlight.runtime.watchdog import Notifier, NotifyingServer

WATCHDOG_USEC = 200_000  # pings every 0.1 s
WEDGE_S = 1.5


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/wedge")
    async def wedge() -> dict[str, str]:
        time.sleep(WEDGE_S)  # a blocking call on the loop, the fault the watchdog catches
        return {"status": "unwedged"}

    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Listener:
    """The test's NOTIFY_SOCKET: every datagram with the time it arrived."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.05)

    def receive(self, until: float, stop_at: str | None = None) -> list[tuple[float, str]]:
        """Datagrams until ``until`` (or until ``stop_at`` arrives)."""
        got: list[tuple[float, str]] = []
        while time.monotonic() < until and not (got and got[-1][1] == stop_at):
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            got.append((time.monotonic(), data.decode()))
        return got

    def first(self, timeout: float) -> tuple[float, str]:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        finally:
            self.sock.settimeout(0.05)
        return time.monotonic(), data.decode()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Listener, NotifyingServer, str]]:
    listener = Listener(str(tmp_path / "notify"))
    port = _free_port()
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "notify"),
                         "WATCHDOG_USEC": str(WATCHDOG_USEC), "WATCHDOG_PID": str(os.getpid())})
    server = NotifyingServer(uvicorn.Config(_app(), host="127.0.0.1", port=port,
                                            log_config=None, access_log=False), notifier)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield listener, server, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        listener.sock.close()


def test_ready_once_serving_then_pings_that_stop_while_the_loop_is_blocked(
        served: tuple[Listener, NotifyingServer, str]) -> None:
    listener, server, url = served
    _, ready = listener.first(timeout=15)
    assert ready.startswith("READY=1"), ready
    # READY means serving: the very next request is answered.
    assert httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    pings = listener.receive(time.monotonic() + 1.0)
    assert {m for _, m in pings} == {"WATCHDOG=1"}
    assert len(pings) >= 5, pings  # every ~0.1 s
    # Block the loop: no ping while it is blocked, pings again after.
    wedged = threading.Thread(target=lambda: httpx.get(f"{url}/wedge", timeout=10))
    started = time.monotonic()
    wedged.start()
    during = listener.receive(started + WEDGE_S + 1.0)
    wedged.join(10)
    times = [started] + [t for t, _ in during]
    longest = max(b - a for a, b in itertools.pairwise(times))
    assert longest >= WEDGE_S * 0.8, f"pings went on while the loop was blocked: {during}"
    assert during and during[-1][0] > started + WEDGE_S  # and resumed after it
    server.should_exit = True
    tail = listener.receive(time.monotonic() + 10, stop_at="STOPPING=1")
    assert tail and tail[-1][1] == "STOPPING=1", tail


def test_nothing_is_sent_without_a_socket_or_for_another_pid() -> None:
    assert not Notifier({}).enabled and Notifier({}).notify("READY=1") is False
    other = Notifier({"NOTIFY_SOCKET": "/nonexistent", "WATCHDOG_USEC": "1000000",
                      "WATCHDOG_PID": str(os.getpid() + 1)})
    assert other.interval_s is None
    ours = Notifier({"NOTIFY_SOCKET": "/nonexistent", "WATCHDOG_USEC": "20000000"})
    assert ours.interval_s == 10.0
    assert ours.notify("WATCHDOG=1") is False  # no such socket: logged, never raised


def test_an_abstract_socket_address_is_used_as_systemd_gives_it() -> None:
    name = f"sunlight-test-{secrets.token_hex(8)}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).notify("READY=1")
        assert sock.recv(64) == b"READY=1"
