"""``sunlight exchange definitions`` and ``keygen`` (no running core needed)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sunlight.cli import exchange as cli_exchange
from sunlight.runtime.exchange.signing import load_private_key

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    cli_exchange.register(app)

    @app.callback()
    def _root() -> None:
        """A stand-in for the sunlight command."""

    return app


def test_definitions_prints_importable_json() -> None:
    result = runner.invoke(_app(), ["exchange", "definitions", "--site", "320703",
                                    "--parent", "320700"],
                           env={"SUNLIGHT_EXCHANGE_PARENT_URI": "amqp://u:pw1234@10.0.0.2/x"})
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {p["name"] for p in doc["parameters"]} == {"sunlight-up-to-320700",
                                                      "sunlight-down-from-320700"}


def test_definitions_refuses_a_uri_without_credentials() -> None:
    result = runner.invoke(_app(), ["exchange", "definitions", "--site", "320703", "--parent",
                                    "320700", "--parent-uri", "amqp://10.0.0.2/x"])
    assert result.exit_code == 2 and "credentials" in result.output


def test_keygen_writes_a_private_key_only_the_owner_reads(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["exchange", "keygen", "320703", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "320703.key").stat().st_mode) == 0o600
    assert load_private_key(tmp_path / "320703.key")
    assert (tmp_path / "320703.pem").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    again = runner.invoke(_app(), ["exchange", "keygen", "320703", "--out", str(tmp_path)])
    assert again.exit_code != 0  # never overwrites a key


def test_keygen_refuses_a_bad_code_naming_it(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["exchange", "keygen", "32070", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "SITE" in result.stderr and not list(tmp_path.iterdir())


METRICS = """\
sunlight_exchange_connected {connected}
sunlight_exchange_published_total{{link="320700"}} 12.0
sunlight_exchange_rejected_total{{link="320700",reason="bad_signature"}} 1.0
sunlight_exchange_oldest_undelivered_seconds{{link="320700"}} 3.5
"""


def _metrics(monkeypatch: pytest.MonkeyPatch, text: str | None) -> list[str]:
    import httpx

    asked: list[str] = []

    def get(url: str, timeout: float, verify: object = True) -> httpx.Response:
        asked.append(url)
        if text is None:
            raise httpx.ConnectError("refused")
        return httpx.Response(200, text=text, request=httpx.Request("GET", url))

    monkeypatch.setattr(httpx, "get", get)
    return asked


def test_status_json_has_every_link_and_the_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _metrics(monkeypatch, METRICS.format(connected="1.0"))
    result = runner.invoke(_app(), ["exchange", "status", "--json"],
                           env={"SUNLIGHT_PORT": "8003"})
    assert result.exit_code == 0, result.output
    assert asked == ["http://127.0.0.1:8003/metrics"]
    doc = json.loads(result.stdout)
    assert set(doc) == {"connected", "healthy", "held_events", "gap_oldest_s", "gaps_overdue",
                        "links"}
    assert doc["connected"] is True and doc["healthy"] is True
    assert doc["links"]["320700"] == {
        "link": "320700", "published": 12, "delivered": 0, "duplicates": 0,
        "rejected": {"bad_signature": 1}, "queued": None, "pending": 0,
        "oldest_undelivered_s": 3.5}


def test_status_of_a_disconnected_broker_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    _metrics(monkeypatch, METRICS.format(connected="0.0"))
    result = runner.invoke(_app(), ["exchange", "status", "--url", "http://core:8003/"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "not connected" in result.stdout and "bad_signature 1" in result.stdout


def test_status_without_core_is_an_environment_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _metrics(monkeypatch, None)
    result = runner.invoke(_app(), ["exchange", "status", "--url", "http://core:8003", "--json"])
    assert result.exit_code == 3
    assert result.stdout == "" and "did not answer" in result.stderr


def test_status_needs_a_url_or_a_port() -> None:
    result = runner.invoke(_app(), ["exchange", "status"], env={"SUNLIGHT_PORT": None})
    assert result.exit_code == 2 and "--url" in result.stderr


def test_dead_letters_list_refuses_an_unknown_reason() -> None:
    result = runner.invoke(_app(), ["exchange", "dead-letters", "list", "--reason", "bogus"])
    assert result.exit_code == 2 and "apply_failed" in result.output


def _replay_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from sunlight.runtime.exchange.signing import generate_keypair

    (tmp_path / "320000.pem").write_bytes(generate_keypair()[1])
    monkeypatch.setenv("SUNLIGHT_PEER_KEYS_DIR", str(tmp_path))
    monkeypatch.setattr(cli_exchange, "_env_site_engine", lambda: ("320700", object()))


def test_dead_letters_replay_says_what_happened_or_exits_1(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    from sunlight.runtime.exchange import inbound

    _replay_env(monkeypatch, tmp_path)
    calls: list[int] = []

    def replay(engine: object, ctx: inbound.Inbound, dead_letter_id: int) -> inbound.Outcome:
        calls.append(dead_letter_id)
        assert ctx.site == "320700" and not ctx.handlers.missing()  # core's handlers
        if dead_letter_id == 1:
            raise inbound.NotReplayable("dead letter 1 was refused (malformed)")
        if dead_letter_id == 2:
            raise KeyError("still broken")
        return inbound.Outcome("applied", "320703", "sunlight.case.event", forwarded=True)

    monkeypatch.setattr(inbound, "replay", replay)
    done = runner.invoke(_app(), ["exchange", "dead-letters", "replay", "3"])
    assert done.exit_code == 0 and "applied, forwarded" in done.output
    refused = runner.invoke(_app(), ["exchange", "dead-letters", "replay", "1"])
    assert refused.exit_code == 1 and "malformed" in refused.output
    again = runner.invoke(_app(), ["exchange", "dead-letters", "replay", "2"])
    assert again.exit_code == 1 and "nothing changed" in again.output
    assert calls == [3, 1, 2]
